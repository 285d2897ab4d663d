/**
 * Every bad input is a tagged error at the earliest point, naming the field and the value,
 * and nothing is written. Definitions (workflows, steps, triggers, commands) are checked when
 * they are made; calls (start, workers, awaitRun, listRuns, rerun, limits) when they are made.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Mesh, Step, Trigger, Workflow, createMesh } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const payload = Schema.Struct({ orderId: Schema.String })
const manual = Trigger.manual({ payload })
const Noop = Step.make("noop", { run: () => "ok" })

/** A Schema as another major of Effect makes it: not an Effect 3 Schema (see also the effect@4 case below). */
const foreignSchema = { "~effect/Schema/Schema": true, ast: {}, fields: {} }

const definitionCases: ReadonlyArray<readonly [string, () => unknown, { readonly field: string; readonly value?: string }]> = [
  ["step timeout not a duration", () => Step.make("s", { run: () => 1, timeout: "bogus" as never }), { field: "timeout", value: '"bogus"' }],
  ["step timeout negative", () => Step.make("s", { run: () => 1, timeout: -5 }), { field: "timeout", value: "-5" }],
  ["step timeout zero", () => Step.make("s", { run: () => 1, timeout: 0 }), { field: "timeout" }],
  ["retry.maxAttempts zero", () => Step.make("s", { run: () => 1, retry: { maxAttempts: 0 } }), { field: "retry.maxAttempts", value: "0" }],
  ["retry.maxAttempts fractional", () => Step.make("s", { run: () => 1, retry: { maxAttempts: 2.5 } }), { field: "retry.maxAttempts" }],
  [
    "backoff min not a duration",
    () => Step.make("s", { run: () => 1, retry: { backoff: { type: "exponential", min: "soon" as never, max: "1 minute" } } }),
    { field: "retry.backoff.min" },
  ],
  [
    "backoff max below min",
    () => Step.make("s", { run: () => 1, retry: { backoff: { type: "exponential", min: "1 minute", max: "1 second" } } }),
    { field: "retry.backoff.max" },
  ],
  ["backoff of unknown type", () => Step.make("s", { run: () => 1, retry: { backoff: { type: "linear" } as never } }), { field: "retry.backoff" }],
  ["fixed backoff delay negative", () => Step.make("s", { run: () => 1, retry: { backoff: { type: "fixed", delay: -1 } } }), { field: "retry.backoff.delay" }],
  ["retry.schedule not a Schedule", () => Step.make("s", { run: () => 1, retry: { schedule: "daily" as never } }), { field: "retry.schedule" }],
  ["step deadline.within not a duration", () => Step.make("s", { run: () => 1, deadline: { within: "never" as never } }), { field: "deadline.within" }],
  ["step output not a Schema", () => Step.make("s", { run: () => 1, output: "number" as never }), { field: "output" }],
  ["step name empty", () => Step.make("", { run: () => 1 }), { field: "name" }],
  ["step run missing", () => Step.make("s", {} as never), { field: "run" }],
  ["workflow name empty", () => Workflow.make({ name: "", triggers: { manual }, *run() {} }), { field: "name" }],
  ["workflow without triggers", () => Workflow.make({ name: "w", triggers: {}, *run() {} }), { field: "triggers" }],
  ["workflow trigger not a trigger", () => Workflow.make({ name: "w", triggers: { manual: { payload } as never }, *run() {} }), { field: "triggers.manual" }],
  ["workflow queue malformed", () => Workflow.make({ name: "w", queue: "no spaces", triggers: { manual }, *run() {} }), { field: "queue" }],
  ["manual payload not a Schema", () => Trigger.manual({ payload: { orderId: "string" } as never }), { field: "payload" }],
  ["manual payload from another Effect", () => Trigger.manual({ payload: foreignSchema as never }), { field: "payload", value: '"a Schema"' }],
  ["cron expression malformed", () => Trigger.cron("61 * * * *"), { field: "expression" }],
  ["cron time zone unknown", () => Trigger.cron("0 * * * *", { timeZone: "Mars/Olympus" }), { field: "timeZone", value: '"Mars/Olympus"' }],
  ["today() time zone unknown", () => Trigger.today({ timeZone: "Nowhere" }), { field: "timeZone" }],
  ["sleep duration malformed", () => Workflow.sleep("wait", "a while" as never), { field: "duration" }],
  ["approval deadline malformed", () => Workflow.approval("ok", { deadline: "tomorrow" as never }), { field: "deadline.within" }],
  ["approval onDeadline unknown", () => Workflow.approval("ok", { onDeadline: "explode" as never }), { field: "onDeadline" }],
  ["signal timeout negative", () => Workflow.signal("paid", { schema: payload, timeout: -1 }), { field: "timeout" }],
  ["signal schema from another Effect", () => Workflow.signal("paid", { schema: foreignSchema as never }), { field: "schema" }],
  ["log level unknown", () => Workflow.log("hi", { level: "loud" as never }), { field: "level" }],
  ["forEach concurrency zero", () => Workflow.forEach([1], () => Noop(), { concurrency: 0 }).next(), { field: "concurrency", value: "0" }],
]

describe("definitions refuse bad options when they are made", () => {
  it("a Schema from Effect 4 (installed beside our Effect 3) is refused with a tagged error that says so", async () => {
    const { Schema: SchemaV4 } = await import("effect-v4")
    const v4 = SchemaV4.Struct({ orderId: SchemaV4.String })
    let thrown: unknown
    try {
      Trigger.manual({ payload: v4 as never })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ _tag: "InvalidDefinitionError", field: "payload" })
    expect((thrown as Error).message).toMatch(/another copy or major of Effect.*Effect 3\.x/)
  })

  for (const [name, make, expected] of definitionCases) {
    it(name, () => {
      let thrown: unknown
      try {
        make()
      } catch (error) {
        thrown = error
      }
      expect(thrown).toMatchObject({ _tag: "InvalidDefinitionError", ...expected })
      expect((thrown as Error).message).toContain(expected.field)
    })
  }
})

const Order = Workflow.make({
  name: "order",
  triggers: { manual, nightly: Trigger.cron("0 2 * * *") },
  *run(input) {
    return (yield* Noop()) + ("orderId" in input ? String(input.orderId) : "")
  },
})
const Nightly = Workflow.make({ name: "nightly-only", triggers: { nightly: Trigger.cron("0 3 * * *") }, *run() {} })
const Gate = Workflow.make({
  name: "gate",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    yield* Workflow.pause("hold")
  },
})
const Big = Step.make("big", { run: () => "x".repeat(5_000) })
const BigOutput = Workflow.make({
  name: "big-output",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return yield* Big()
  },
})

const BigResult = Workflow.make({
  name: "big-result",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ afterStep: Schema.Boolean }) }) },
  *run({ afterStep }) {
    if (afterStep) yield* Noop()
    return "x".repeat(5_000)
  },
})

/** Runs, tasks and audit events: what a refused call must leave as it was. */
const snapshot = Effect.gen(function* () {
  const mesh = yield* Mesh.Mesh
  const { runs } = yield* mesh.listRuns({ limit: 1000 })
  const details = yield* Effect.forEach(runs, (r) => mesh.inspectRun(r.id, { history: true }))
  return JSON.stringify({ details, next: yield* mesh.store.nextDueAt("default") })
})

type Call = Effect.Effect<unknown, unknown, Mesh.Mesh>
const callCases: ReadonlyArray<readonly [string, Call, Record<string, unknown>]> = [
  [
    "start: actor not a string",
    Effect.flatMap(Mesh.Mesh, (m) => m.start(Order, { orderId: "o" }, { actor: 42 as never })),
    { _tag: "InvalidOptionError", option: "actor", value: "42" },
  ],
  [
    "start: metadata not an object",
    Effect.flatMap(Mesh.Mesh, (m) => m.start(Order, { orderId: "o" }, { metadata: "x" as never })),
    { _tag: "InvalidOptionError", option: "metadata" },
  ],
  [
    "start: runId not a UUID",
    Effect.flatMap(Mesh.Mesh, (m) => m.start(Order, { orderId: "o" }, { runId: "nope" })),
    { _tag: "InvalidOptionError", option: "runId" },
  ],
  [
    "start: empty idempotency key",
    Effect.flatMap(Mesh.Mesh, (m) => m.start(Order, { orderId: "o" }, { idempotencyKey: "" })),
    { _tag: "InvalidOptionError", option: "idempotencyKey" },
  ],
  [
    "start: a cron trigger",
    Effect.flatMap(Mesh.Mesh, (m) => m.start("order", {}, { trigger: "nightly" })),
    { _tag: "InvalidTriggerError", trigger: "nightly", available: ["manual"] },
  ],
  ["start: a cron-only workflow", Effect.flatMap(Mesh.Mesh, (m) => m.start("nightly-only", {})), { _tag: "InvalidTriggerError", available: [] }],
  [
    "start: unknown trigger",
    Effect.flatMap(Mesh.Mesh, (m) => m.start("order", { orderId: "o" }, { trigger: "nope" })),
    { _tag: "InvalidTriggerError", trigger: "nope" },
  ],
  [
    "start: payload over the limit",
    Effect.flatMap(Mesh.Mesh, (m) => m.start(Order, { orderId: "x".repeat(5_000) })),
    { _tag: "PayloadTooLargeError", what: "payload", limit: 4096 },
  ],
  ["start: payload of the wrong shape", Effect.flatMap(Mesh.Mesh, (m) => m.start("order", { orderId: 7 })), { _tag: "InvalidPayloadError" }],
  [
    "awaitRun: timeout malformed",
    Effect.flatMap(Mesh.Mesh, (m) => m.awaitRun("7f1c0b9e-8f0e-4f59-9a57-3f1d2b1c0a11", { timeout: "soon" as never })),
    { _tag: "InvalidOptionError", option: "timeout" },
  ],
  [
    "awaitRun: pollInterval zero",
    Effect.flatMap(Mesh.Mesh, (m) => m.awaitRun("7f1c0b9e-8f0e-4f59-9a57-3f1d2b1c0a11", { pollInterval: 0 })),
    { _tag: "InvalidOptionError", option: "pollInterval" },
  ],
  [
    "worker: concurrency negative",
    Effect.scoped(Effect.flatMap(Mesh.Mesh, (m) => m.worker({ concurrency: -1 }))),
    { _tag: "InvalidOptionError", option: "concurrency", value: "-1" },
  ],
  [
    "worker: concurrency fractional",
    Effect.scoped(Effect.flatMap(Mesh.Mesh, (m) => m.worker({ concurrency: 1.5 }))),
    { _tag: "InvalidOptionError", option: "concurrency" },
  ],
  [
    "worker: pollInterval malformed",
    Effect.scoped(Effect.flatMap(Mesh.Mesh, (m) => m.worker({ pollInterval: "often" as never }))),
    { _tag: "InvalidOptionError", option: "pollInterval" },
  ],
  ["worker: leaseFor zero", Effect.scoped(Effect.flatMap(Mesh.Mesh, (m) => m.worker({ leaseFor: 0 }))), { _tag: "InvalidOptionError", option: "leaseFor" }],
  [
    "executeNext: leaseFor malformed",
    Effect.flatMap(Mesh.Mesh, (m) => m.executeNext({ leaseFor: "long" as never })),
    { _tag: "InvalidOptionError", option: "leaseFor" },
  ],
  [
    "listRuns: unknown status",
    Effect.flatMap(Mesh.Mesh, (m) => m.listRuns({ status: "bogus" as never })),
    { _tag: "InvalidOptionError", option: "status", value: '"bogus"' },
  ],
  ["listRuns: negative limit", Effect.flatMap(Mesh.Mesh, (m) => m.listRuns({ limit: -5 })), { _tag: "InvalidOptionError", option: "limit", value: "-5" }],
  ["listRuns: limit too large", Effect.flatMap(Mesh.Mesh, (m) => m.listRuns({ limit: 50_000 })), { _tag: "InvalidOptionError", option: "limit" }],
  ["listRuns: unknown filter", Effect.flatMap(Mesh.Mesh, (m) => m.listRuns({ tenant: "acme" } as never)), { _tag: "InvalidOptionError", option: "tenant" }],
  [
    "listRuns: unknown deadline status",
    Effect.flatMap(Mesh.Mesh, (m) => m.listRuns({ deadline: "late" as never })),
    { _tag: "InvalidOptionError", option: "deadline" },
  ],
]

describe("calls refuse bad input with a tagged error and write nothing", () => {
  const layer = TestMesh.layer({ workflows: [Order, Nightly, Gate, BigOutput, BigResult], limits: { payloadBytes: 4096, outputBytes: 4096 } })
  for (const [name, call, expected] of callCases) {
    it.effect(name, () =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const open = yield* mesh.start(Gate) // a run that is there before, and must stay as it is
        const before = yield* snapshot
        const error = yield* Effect.flip(call)
        expect(error).toMatchObject(expected)
        expect(yield* snapshot).toBe(before)
        expect(open.status).toBe("paused")
      }).pipe(Effect.provide(layer)),
    )
  }

  it.effect("controls refuse malformed options and oversized signals, writing nothing", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Gate)
      const before = yield* snapshot
      const refused = [
        [mesh.resume(runId, { actor: 42 as never }), { _tag: "InvalidOptionError", option: "actor", value: "42" }],
        [mesh.resume(runId, { actor: "" }), { _tag: "InvalidOptionError", option: "actor" }],
        [mesh.cancel(runId, { actor: "ops", metadata: "x" as never }), { _tag: "InvalidOptionError", option: "metadata" }],
        [mesh.approve(runId, { actor: "ops", note: 7 as never }), { _tag: "InvalidOptionError", option: "note" }],
        [mesh.cancel("not-a-uuid", { actor: "ops" }), { _tag: "InvalidOptionError", option: "runId" }],
        [mesh.signal(runId, "paid", { blob: "x".repeat(300 * 1024) }), { _tag: "PayloadTooLargeError", what: "signal", limit: 256 * 1024 }],
        [mesh.signal(runId, "", {}), { _tag: "InvalidOptionError", option: "name" }],
      ] as const
      for (const [call, expected] of refused) expect(yield* Effect.flip(call as Effect.Effect<unknown, unknown>)).toMatchObject(expected)
      expect(yield* snapshot).toBe(before)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("rerun of a run that is not terminal is refused with not_terminal", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Gate)
      const before = yield* snapshot
      expect(yield* Effect.flip(mesh.rerun(runId, { actor: "ops" }))).toMatchObject({ _tag: "RerunRefusedError", reason: "not_terminal" })
      expect(yield* snapshot).toBe(before)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("awaitRun on a run that does not finish in time fails with AwaitTimeoutError", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Gate)
      const waiting = yield* Effect.fork(Effect.flip(mesh.awaitRun(runId, { timeout: "5 seconds", pollInterval: "1 second" })))
      yield* TestMesh.advance("6 seconds")
      expect(yield* waiting.await.pipe(Effect.flatten)).toMatchObject({ _tag: "AwaitTimeoutError", runId, status: "paused", timeoutMs: 5000 })
    }).pipe(Effect.provide(layer)),
  )

  it.effect("a step result over the output limit fails the step for good with output_too_large", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(BigOutput)
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.status).toBe("failed")
      expect(run.history?.[0]).toMatchObject({ status: "failed", attemptCount: 1, error: { code: "output_too_large", retryable: false } })
    }).pipe(Effect.provide(layer)),
  )

  it.effect("a workflow result over the output limit fails the run with output_too_large, at start or after a step", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const atOnce = yield* mesh.start(BigResult, { afterStep: false })
      expect(atOnce.status).toBe("failed")
      expect(yield* mesh.inspectRun(atOnce.runId)).toMatchObject({ status: "failed", error: { code: "output_too_large" } })
      const { runId } = yield* mesh.start(BigResult, { afterStep: true })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "failed", error: { code: "output_too_large" } })
      expect(run.output).toBeUndefined()
    }).pipe(Effect.provide(layer)),
  )

  it("engine options are checked when the mesh is made", async () => {
    await expect(createMesh({ workflows: [Order], store: { kind: "memory" }, limits: { payloadBytes: 0 } })).rejects.toMatchObject({
      _tag: "InvalidOptionError",
      option: "limits.payloadBytes",
    })
    await expect(createMesh({ workflows: [Order], store: { kind: "memory" }, cacheSize: -1 })).rejects.toMatchObject({
      _tag: "InvalidOptionError",
      option: "cacheSize",
    })
  })

  it("idempotent start compares the resolved input: a defaulted field written out is the same request", async () => {
    const Dated = Workflow.make({
      name: "dated",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({ id: Schema.String, region: Schema.String }), defaults: { region: "eu" } }) },
      *run() {},
    })
    const mesh = await createMesh({ workflows: [Dated], store: { kind: "memory" } })
    try {
      const first = await mesh.start(Dated, { id: "a" }, { idempotencyKey: "k" })
      const again = await mesh.start(Dated, { id: "a", region: "eu" }, { idempotencyKey: "k" })
      expect(again).toEqual({ runId: first.runId, status: first.status, created: false })
      await expect(mesh.start(Dated, { id: "a", region: "us" }, { idempotencyKey: "k" })).rejects.toMatchObject({ _tag: "ConflictError" })
    } finally {
      await mesh.close()
    }
  })
})
