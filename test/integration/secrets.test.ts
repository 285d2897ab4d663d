/**
 * "No secret persisted, anywhere" (invariant 9), end to end. A workflow logs, fails, retries
 * and finally fails with every secret shape of test/fixtures/secretShapes.ts (the secrets come
 * from the test module by index; the run input holds none), and operators approve, resume,
 * signal, cancel and rerun with secrets in notes, metadata and payloads. Then we search
 * (a) a pg_dump of the Postgres database, (b) every byte of the PGlite data directory after
 * closing it, and (c) everything the engine logged, for every secret value. A marker planted in
 * the run input (business data, not redacted) must be found by the same searches, so a search
 * that finds nothing proves something.
 */
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, HashMap, Layer, Logger, LogLevel, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { createMesh, Mesh, PgliteStore, PostgresStore, Step, StepError, Trigger, Workflow, type Store } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { REDACTED } from "../../src/core/redact.js"
import { freshDatabase } from "../support/database.js"
import { SECRET_SHAPES } from "../fixtures/secretShapes.js"

const S = SECRET_SHAPES
const pick = (i: number) => S[i % S.length]!

/**
 * Logs the secret (message and annotation), then fails every attempt: the first with the
 * secret in an error `code`, the second with the whole text as code and message.
 */
const Leaky = Step.make("leaky", {
  run: ({ index }: { index: number }, ctx) =>
    Effect.logWarning(`attempt ${ctx.attempt}: ${pick(index).text}`).pipe(
      Effect.annotateLogs({ apiKey: pick(index).secret }),
      Effect.zipRight(
        Effect.fail(
          ctx.attempt === 1
            ? Object.assign(new Error(pick(index).text), { code: `token=${pick(index).secret}` })
            : new StepError({ code: pick(index).text, message: `attempt 2: ${pick(index).text}`, retryable: false }),
        ),
      ),
    ),
  retry: { maxAttempts: 2 },
})
const Echo = Step.make("echo", { run: (value: { readonly password: string; readonly memo: string }) => value })

/** What the workflow body saw in its signal payloads, on every (re)play. */
const seen: Array<string> = []

const Creds = Schema.Struct({ user: Schema.String, password: Schema.String, memo: Schema.String })

const Leaking = Workflow.make({
  name: "leaking",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ planted: Schema.String }) }) },
  *run(input) {
    yield* Workflow.log(`planted ${input.planted}`)
    for (let i = 0; i < S.length; i++) {
      yield* Workflow.log(`shape ${i}: ${pick(i).text}`, { level: i % 2 === 0 ? "warning" : "info" })
      try {
        yield* Leaky({ index: i })
      } catch {
        // Caught: the failed entry (with its error) stays in the journal.
      }
    }
    yield* Workflow.approval("review")
    yield* Workflow.pause("hold")
    const early = yield* Workflow.signal("early-creds", { schema: Creds })
    const live = yield* Workflow.signal("creds", { schema: Creds })
    for (const sig of [early, live]) if (sig._tag === "Received") seen.push(sig.payload.password, sig.payload.memo)
    if (live._tag === "Received") yield* Echo({ password: live.payload.password, memo: live.payload.memo })
    return yield* Workflow.fail(`gave up: ${pick(22).text}`, { apiKey: pick(23).secret, why: pick(17).text, list: [pick(5).text, pick(40).text] })
  },
})

/** Fails from the body itself with secrets in its code and message. */
const Thrower = Workflow.make({
  name: "thrower",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ index: Schema.Number }) }) },
  *run({ index }) {
    yield* Workflow.log(`about to throw ${pick(index).text}`)
    throw Object.assign(new Error(`body failed: ${pick(index + 1).text}`), { code: `password=${pick(index + 2).secret}` })
  },
})

/** Collects every line the engine logs: message, annotations and cause. */
const captureLogger = (lines: Array<string>) =>
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message, annotations, cause }) => {
        const parts = (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m)))
        lines.push(
          `${logLevel.label} ${parts.join(" ")} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))} ${Cause.isEmpty(cause) ? "" : Cause.pretty(cause)}`,
        )
      }),
    ),
    Logger.minimumLogLevel(LogLevel.All),
  )

/** Drives every due task until nothing is left. */
const drain = (mesh: Mesh.MeshService) =>
  Effect.gen(function* () {
    for (let i = 0; i < 1000; i++) if ((yield* mesh.executeNext())._tag === "Idle") return
    throw new Error("drain did not settle")
  })

/** The whole scenario on one store; returns the planted marker and the run views it checked. */
const scenario = (store: Layer.Layer<Store, unknown>, logs: Array<string>) => {
  const planted = `PLANTED-${randomUUID()}`
  const program = Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Leaking, { planted }, { actor: "ops", metadata: { apiKey: pick(0).secret, why: pick(1).text } })
    yield* drain(mesh)
    expect((yield* mesh.inspectRun(runId)).status).toBe("paused")
    // An early signal waits in the inbox; it is redacted before it is stored there.
    yield* mesh.signal(runId, "early-creds", { user: "ada", password: pick(2).secret, memo: pick(3).text }, { metadata: { token: pick(4).secret } })
    yield* mesh.approve(runId, { actor: "ana", note: `ok ${pick(6).text}`, metadata: { client_secret: pick(7).secret, context: pick(8).text } })
    yield* mesh.resume(runId, { actor: "bo", reason: `resuming ${pick(9).text}`, metadata: { authorization: pick(10).secret } })
    yield* drain(mesh)
    // Replay from the journal before the live signal: the early payload must decode the same.
    yield* TestMesh.dropCache
    yield* mesh.signal(runId, "creds", { user: "ada", password: pick(11).secret, memo: pick(12).text }, { actor: "psp", metadata: { note: pick(13).text } })
    yield* drain(mesh)
    yield* TestMesh.dropCache
    const run = yield* mesh.inspectRun(runId, { history: true })

    const thrown = yield* mesh.start(Thrower, { index: 14 })
    yield* drain(mesh)
    const other = yield* mesh.start(Leaking, { planted })
    yield* mesh.cancel(other.runId, { actor: "ops", reason: `cancelled: ${pick(17).text}`, metadata: { password: pick(18).secret } })
    const again = yield* mesh.rerun(thrown.runId, { actor: "ops", metadata: { private_key: pick(19).secret, memo: pick(20).text } })
    yield* drain(mesh)
    return {
      run,
      thrown: yield* mesh.inspectRun(thrown.runId),
      cancelled: yield* mesh.inspectRun(other.runId),
      rerun: yield* mesh.inspectRun(again.runId, { history: true }),
    }
  })
  const layer = TestMesh.meshLayer({ workflows: [Leaking, Thrower] }).pipe(Layer.provide(store))
  return Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.provide(captureLogger(logs)))) as Effect.Effect<any, never, never>).then(
    (views) => ({ planted, ...views }) as { planted: string; run: any; thrown: any; cancelled: any; rerun: any },
  )
}

/** Checks what the runs recorded: redaction placeholders where secrets were, codes from redacted text. */
const checkViews = (views: { run: any; thrown: any; cancelled: any; rerun: any }) => {
  const { run } = views
  expect(run.status).toBe("failed")
  expect(run.error).toMatchObject({ code: "workflow_failed", details: { apiKey: REDACTED } })
  const steps = run.history.filter((e: any) => e.kind === "step" && e.name === "leaky")
  expect(steps).toHaveLength(S.length)
  for (const step of steps) {
    expect(step.attempts).toHaveLength(2)
    expect(step.attempts[0].error.code).toBe("token_redacted") // not token_<secret>
    expect(step.attempts[1].error.message).toContain(REDACTED)
  }
  const logsJournaled = run.history.filter((e: any) => e.kind === "log").map((e: any) => e.input.message as string)
  expect(logsJournaled.filter((m: string) => m.includes(REDACTED))).toHaveLength(S.length)
  // The workflow got the redacted signal values, live and on replay alike.
  expect(seen.length).toBeGreaterThanOrEqual(4)
  expect(new Set(seen.filter((_, i) => i % 2 === 0))).toEqual(new Set([REDACTED]))
  expect(seen.filter((_, i) => i % 2 === 1).every((memo) => memo.includes(REDACTED))).toBe(true)
  expect(run.history.find((e: any) => e.name === "echo").output).toMatchObject({ password: REDACTED })
  const byKind = Object.fromEntries(run.commands.map((c: any) => [c.kind, c]))
  expect(byKind.start.metadata).toMatchObject({ apiKey: REDACTED })
  expect(byKind.approve.metadata).toMatchObject({ client_secret: REDACTED })
  expect(run.history.find((e: any) => e.kind === "approval").output.note).toContain(REDACTED)
  expect(views.thrown.error.code).toBe("password_redacted")
  expect(views.cancelled.error.message).toContain(REDACTED)
  expect(views.rerun.commands[0].metadata).toMatchObject({ private_key: REDACTED })
}

/** Every secret found in `haystack`, by shape name. */
const leaks = (haystack: Buffer | string): Array<string> => S.filter((s) => haystack.includes(s.secret)).map((s) => s.name)

const readTree = (dir: string): Buffer =>
  Buffer.concat(
    readdirSync(dir).map((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? readTree(path) : readFileSync(path)
    }),
  )

const PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
const dirs: Array<string> = []
let db: { url: string; drop: () => Promise<void> }
beforeAll(async () => {
  db = await freshDatabase(inject("databaseUrl"), "secrets")
})
afterAll(async () => {
  await db.drop()
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

describe("no secret persisted, anywhere", () => {
  it("on Postgres: neither pg_dump nor the logs hold any secret", async () => {
    seen.length = 0
    const logs: Array<string> = []
    const views = await scenario(PostgresStore.layer({ url: db.url, max: 2 }), logs)
    checkViews(views)
    const dump = execFileSync(PG_DUMP, ["--no-owner", `--dbname=${db.url}`], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    expect(dump).toContain(views.planted) // the search can find what is there
    expect(dump).toContain("squid_mesh")
    expect(leaks(dump)).toEqual([])
    const printed = logs.join("\n")
    expect(printed).toContain(views.planted)
    expect(printed).toContain(REDACTED)
    expect(printed).toContain("attempt 2: ") // step bodies' own log lines were captured, redacted
    expect(leaks(printed)).toEqual([])
  })

  it("on embedded PGlite: no file of the data directory holds any secret", async () => {
    seen.length = 0
    const logs: Array<string> = []
    const dataDir = mkdtempSync(join(tmpdir(), "squid-mesh-secrets-"))
    dirs.push(dataDir)
    const views = await scenario(PgliteStore.layer({ dataDir }), logs)
    checkViews(views)
    const bytes = readTree(dataDir) // the store is closed: its scope ended with the scenario
    expect(bytes.includes(views.planted)).toBe(true)
    expect(leaks(bytes)).toEqual([])
    const printed = logs.join("\n")
    expect(printed).toContain(views.planted)
    expect(leaks(printed)).toEqual([])
  })

  it("the searches do find an unredacted secret (planted as business data in a run input)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "squid-mesh-secrets-plant-"))
    dirs.push(dataDir)
    const secret = pick(24).secret
    const Inputs = Workflow.make({
      name: "inputs",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({ raw: Schema.String }) }) },
      *run(input) {
        return input.raw
      },
    })
    await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(Mesh.Mesh, (m) => m.start(Inputs, { raw: secret })).pipe(
          Effect.provide(Mesh.layer({ workflows: [Inputs] }).pipe(Layer.provide(PgliteStore.layer({ dataDir })))),
        ),
      ),
    )
    expect(leaks(readTree(dataDir))).toContain(pick(24).name)
  })
})

/** A host's own secret shapes and key names, configured per engine. */
const HostRules = Workflow.make({
  name: "host-rules",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    yield* Workflow.log("customer ssn 123-45-6789, pin_code=4321")
    const sig = yield* Workflow.signal("card", { schema: Schema.Struct({ pinCode: Schema.String, last4: Schema.String }) })
    return yield* Workflow.fail("declined", { cardPin: sig._tag === "Received" ? sig.payload.pinCode : "none" })
  },
})
const redaction = { patterns: [/\bssn (?<secret>\d{3}-\d{2}-\d{4})\b/], keys: ["pin", "pinCode"] }

describe("host redaction rules", () => {
  const expectRedacted = (run: any) => {
    expect(run.history[0].input.message).toBe("customer ssn [REDACTED], pin_code=[REDACTED]")
    expect(run.history[1].output.payload).toEqual({ pinCode: REDACTED, last4: "4242" })
    expect(run.error).toMatchObject({ message: "declined", details: { cardPin: REDACTED } })
  }

  it("EngineConfig.redaction reaches logs, signal payloads and failure details", async () => {
    const run = await Effect.runPromise(
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* TestMesh.start(HostRules, {})
        yield* mesh.signal(runId, "card", { pinCode: "9876", last4: "4242" })
        yield* TestMesh.drain()
        return yield* mesh.inspectRun(runId, { history: true })
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [HostRules], redaction }))),
    )
    expectRedacted(run)
  })

  it("createMesh passes its redaction option to the engine", async () => {
    const mesh = await createMesh({ workflows: [HostRules], store: { kind: "memory" }, redaction })
    try {
      const { runId } = await mesh.start(HostRules, {})
      await mesh.signal(runId, "card", { pinCode: "9876", last4: "4242" })
      for (let i = 0; i < 10 && (await mesh.executeNext())._tag !== "Idle"; i++);
      expectRedacted(await mesh.inspectRun(runId, { history: true }))
    } finally {
      await mesh.close()
    }
  })

  it("without them, the engine keeps the built-in rules only", async () => {
    const run = await Effect.runPromise(
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* TestMesh.start(HostRules, {})
        return yield* mesh.inspectRun(runId, { history: true })
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [HostRules] }))),
    )
    expect((run as any).history[0].input.message).toBe("customer ssn 123-45-6789, pin_code=4321")
  })
})
