/**
 * Run control on the SQL backends: the same gate, signal and cancel scenario on PGlite and on
 * Postgres, with a fresh engine (empty cache) for every command, as after restarts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit, Layer, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { Mesh, PgliteStore, PostgresStore, Step, Trigger, Workflow, type Store } from "../../src/index.js"
import { freshDatabase } from "../support/database.js"

const Note = Step.make("note", { run: (s: string) => s.toUpperCase() })
const Flow = Workflow.make({
  name: "control-flow",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ id: Schema.String }) }) },
  *run(input) {
    const vote = yield* Workflow.approval("review", { deadline: "7 days" })
    const sig = yield* Workflow.signal("go", { schema: Schema.Struct({ word: Schema.String }) })
    const word = sig._tag === "Received" ? sig.payload.word : "none"
    yield* Workflow.pause("final-check")
    return { id: input.id, approvedBy: vote.actor, word: yield* Note(word) }
  },
})

const Child = Workflow.make({
  name: "control-child",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
  *run({ n }) {
    return yield* Step.make("double", { run: (x: number) => x * 2 })(n)
  },
})
const Parent = Workflow.make({
  name: "control-parent",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
  *run({ n }) {
    const [a, b] = [yield* Workflow.child(Child, { n }, { key: "a" }), yield* Workflow.child(Child, { n: n + 1 }, { key: "b" })]
    return a + b
  },
})

const scenario = (name: string, store: () => Layer.Layer<Store, unknown>) =>
  it(`gates, early signals, idempotency and cancel on ${name}, across engine restarts`, async () => {
    // Each command runs in a fresh engine: nothing survives in memory between them.
    const step = <A>(f: (mesh: Mesh.MeshService) => Effect.Effect<A, unknown>) =>
      Effect.runPromiseExit(
        Effect.scoped(
          Effect.flatMap(Mesh.Mesh, f).pipe(Effect.provide(Mesh.layer({ workflows: [Flow, Parent, Child] }).pipe(Layer.provide(store())))),
        ) as Effect.Effect<A, unknown, never>,
      ).then((exit) => (Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))))
    const { runId } = await step((m) => m.start(Flow, { id: "r1" }, { idempotencyKey: `k-${name}` }))
    const opened = await step((m) => m.inspectRun(runId, { history: true }))
    expect(opened.status).toBe("paused")
    expect(opened.deadline).toMatchObject({ status: "on_time", kind: "approval", name: "review", dueAt: opened.createdAt + 7 * 86_400_000 })
    await step((m) => m.signal(runId, "go", { word: "early" }, { idempotencyKey: "sig-1" }))
    await step((m) => m.approve(runId, { actor: "ana", idempotencyKey: "ap-1", metadata: { password: "x" } }))
    expect((await step((m) => m.approve(runId, { actor: "ana", idempotencyKey: "ap-1" }))).duplicate).toBe(true)
    const paused = await step((m) => m.inspectRun(runId, { history: true }))
    expect(paused.status).toBe("paused")
    expect(paused.history!.map((e) => `${e.kind}:${e.status}`)).toEqual(["approval:completed", "signal:completed", "pause:pending"])
    await step((m) => m.resume(runId, { actor: "bo" }))
    for (let i = 0; i < 5; i++) await step((m) => m.executeNext())
    const done = await step((m) => m.inspectRun(runId, { history: true }))
    expect(done).toMatchObject({ status: "completed", output: { id: "r1", approvedBy: "ana", word: "EARLY" }, tasks: [] })
    expect(done.commands!.map((c) => c.kind)).toEqual(["start", "signal", "approve", "resume"])
    expect(done.commands![2]!.metadata).toEqual({ password: "[REDACTED]" })
    // Rerun it: a linked run with the same input, waiting at its first gate again.
    const again = await step((m) => m.rerun(runId, { actor: "ops", idempotencyKey: "re-1", metadata: { token: "t" } }))
    const rerun = await step((m) => m.inspectRun(again.runId, { history: true }))
    expect(rerun).toMatchObject({ status: "paused", rerunOf: runId, input: { id: "r1" } })
    expect(rerun.commands).toMatchObject([{ kind: "rerun", actor: "ops", idempotencyKey: "re-1", metadata: { token: "[REDACTED]" } }])
    expect((await step((m) => m.rerun(runId, { actor: "ops", idempotencyKey: "re-1" }))).duplicate).toBe(true)
    // Cancel a second run waiting at its gate.
    const other = await step((m) => m.start(Flow, { id: "r2" }))
    await step((m) => m.cancel(other.runId, { actor: "ops", reason: "duplicate order" }))
    const cancelled = await step((m) => m.inspectRun(other.runId, { history: true }))
    expect(cancelled).toMatchObject({ status: "cancelled", tasks: [] })
    await expect(step((m) => m.approve(other.runId, { actor: "ana" }))).rejects.toMatchObject({ _tag: "InvalidTransitionError" })
    // Child runs: the parent waits for two children, woken by their terminal commits.
    const parent = await step((m) => m.start(Parent, { n: 5 }))
    for (let i = 0; i < 12 && (await step((m) => m.inspectRun(parent.runId))).status !== "completed"; i++) await step((m) => m.executeNext())
    const family = await step((m) => m.inspectRun(parent.runId, { history: true }))
    expect(family).toMatchObject({ status: "completed", output: 22 })
    expect(family.children!.map((c) => c.status)).toEqual(["completed", "completed"])
  })

const dirs: Array<string> = []
let db: { url: string; drop: () => Promise<void> }
beforeAll(async () => {
  db = await freshDatabase(inject("databaseUrl"), "control")
})
afterAll(async () => {
  await db.drop()
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

describe("run control on SQL stores", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "squid-mesh-control-"))
  dirs.push(dataDir)
  scenario("PGlite", () => PgliteStore.layer({ dataDir }))
  scenario("Postgres", () => PostgresStore.layer({ url: db.url, max: 2 }))
})
