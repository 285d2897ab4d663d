/**
 * Signals: a run waits for a named, schema-typed external event; early signals are kept and
 * delivered; invalid payloads are refused without writing; waits can time out; and a waiting
 * run survives an engine restart.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { InvalidPayloadError, Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const Paid = Schema.Struct({ amount: Schema.NumberFromString, ref: Schema.String })
const Prepare = Step.make("prepare", { run: () => "ready" })

const AwaitPayment = Workflow.make({
  name: "await-payment",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ timeout: Schema.optional(Schema.String) }) }) },
  *run(input) {
    yield* Prepare()
    const paid = yield* Workflow.signal("payment-received", { schema: Paid, ...(input.timeout ? { timeout: input.timeout as "1 day" } : {}) })
    if (paid._tag === "TimedOut") return { status: "expired", at: paid.at }
    return { status: "paid", amount: paid.payload.amount * 2, ref: paid.payload.ref }
  },
})

describe("signals", () => {
  it.effect("delivers a signal to a waiting run; the payload is decoded by the schema", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(AwaitPayment, {})
      yield* TestMesh.drain()
      expect((yield* mesh.inspectRun(runId, { history: true })).history!.map((e) => `${e.kind}:${e.status}`)).toEqual(["step:completed", "signal:pending"])
      expect(yield* mesh.signal(runId, "payment-received", { amount: "21", ref: "psp-1" }, { actor: "psp-webhook", idempotencyKey: "evt-1" })).toMatchObject({
        duplicate: false,
      })
      expect((yield* mesh.signal(runId, "payment-received", { amount: "21", ref: "psp-1" }, { idempotencyKey: "evt-1" })).duplicate).toBe(true)
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run).toMatchObject({ status: "completed", output: { status: "paid", amount: 42, ref: "psp-1" } })
      expect(run.commands).toMatchObject([{ kind: "signal", actor: "psp-webhook", note: "payment-received", idempotencyKey: "evt-1", seq: 2 }])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [AwaitPayment] }))),
  )

  it.effect("keeps a signal sent before the run waits and delivers it then", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(AwaitPayment, {})
      // The run has not reached its wait yet (prepare has not run).
      yield* mesh.signal(runId, "payment-received", { amount: "5", ref: "early" })
      yield* mesh.signal(runId, "other-event", { x: 1 })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "completed", output: { status: "paid", amount: 10, ref: "early" } })
      expect(yield* mesh.store.getInbox(runId)).toMatchObject([{ name: "other-event" }])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [AwaitPayment] }))),
  )

  it.effect("refuses a payload that fails the wait's schema and writes nothing", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(AwaitPayment, {})
      yield* TestMesh.drain()
      const before = yield* mesh.inspectRun(runId, { history: true })
      const error = yield* Effect.flip(mesh.signal(runId, "payment-received", { amount: "lots" }))
      expect(error).toBeInstanceOf(InvalidPayloadError)
      expect(error).toMatchObject({ missing: ["ref"], invalid: [{ field: "amount" }] })
      expect(yield* mesh.inspectRun(runId, { history: true })).toEqual(before)
      expect((yield* Effect.flip(mesh.signal(runId, "", {})))._tag).toBe("InvalidOptionError")
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [AwaitPayment] }))),
  )

  it.effect("a wait with a timeout returns TimedOut when nothing arrives", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(AwaitPayment, { timeout: "3 days" })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "completed", output: { status: "expired", at: 3 * 86_400_000 } })
      expect(yield* Effect.flip(mesh.signal(runId, "payment-received", { amount: "1", ref: "late" }))).toMatchObject({ _tag: "InvalidTransitionError" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [AwaitPayment] }))),
  )

  it.effect("a run waiting for a signal survives an engine restart", () => {
    const store = TestMesh.memoryStore()
    return Effect.gen(function* () {
      const runId = yield* Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(AwaitPayment, { timeout: "30 days" })
        yield* TestMesh.drain()
        return runId
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [AwaitPayment], store })))
      yield* TestClock.adjust("2 days")
      const run = yield* Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        yield* mesh.signal(runId, "payment-received", { amount: "7", ref: "after-restart" })
        return yield* TestMesh.runUntilDone(runId)
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [AwaitPayment], store })))
      expect(run).toMatchObject({ status: "completed", output: { amount: 14, ref: "after-restart" }, tasks: [] })
    })
  })
})
