/**
 * Compensation (saga): an uncaught failure undoes the completed steps newest first, each as a
 * durable task with retries, then the run fails with the original error; a failed compensation
 * is recorded, never dropped; Workflow.compensate() undoes on demand; a restart mid-saga resumes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Mesh, Step, type StepFailedError, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const undone: Array<string> = []
const Reserve = Step.make("reserve", {
  run: (sku: string) => ({ reservation: `res-${sku}` }),
  compensate: (sku, out) => Effect.sync(() => void undone.push(`release ${out.reservation} (${sku})`)),
})
const Charge = Step.make("charge", {
  run: (cents: number) => ({ chargeId: `ch-${cents}` }),
  compensate: (_cents, out) => Effect.sync(() => void undone.push(`refund ${out.chargeId}`)),
})
const Notify = Step.make("notify", { run: () => "sent" }) // nothing to undo
const Ship = Step.make("ship", { run: () => Effect.fail(Step.fatal("no_courier", "no courier available")) })

const input = Trigger.manual({ payload: Schema.Struct({ catchIt: Schema.Boolean }) })
const Order = Workflow.make({
  name: "saga-order",
  triggers: { manual: input },
  *run({ catchIt }) {
    yield* Reserve("sku-1")
    yield* Notify()
    yield* Charge(500)
    try {
      return yield* Ship()
    } catch (e) {
      if (!catchIt) throw e
      yield* Workflow.compensate()
      return { refundedBecause: (e as StepFailedError).error.code }
    }
  },
})

describe("saga compensation", () => {
  it.effect("undoes completed steps newest first, then fails with the original error", () =>
    Effect.gen(function* () {
      undone.length = 0
      const { runId } = yield* TestMesh.start(Order, { catchIt: false })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(undone).toEqual(["refund ch-500", "release res-sku-1 (sku-1)"])
      expect(run.status).toBe("failed")
      expect(run.error).toMatchObject({
        code: "no_courier",
        step: "ship",
        details: {
          compensations: [
            { step: "charge", status: "completed" },
            { step: "reserve", status: "completed" },
          ],
        },
      })
      expect(run.history!.map((e) => `${e.kind}:${e.name}:${e.status}`)).toEqual([
        "step:reserve:completed",
        "step:notify:completed",
        "step:charge:completed",
        "step:ship:failed",
        "compensation:compensate:charge:completed",
        "compensation:compensate:reserve:completed",
      ])
      expect(run.history![4]!.input).toEqual({ seq: 3, input: 500, output: { chargeId: "ch-500" } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("records a compensation that fails for good and still runs the others", () =>
    Effect.gen(function* () {
      undone.length = 0
      let tries = 0
      yield* TestMesh.stubStep("compensate:charge", () => Effect.sync(() => ++tries).pipe(Effect.zipRight(Effect.fail(new Error("psp down")))))
      const { runId } = yield* TestMesh.start(Order, { catchIt: false })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(tries).toBe(3) // the default compensation retry: 3 attempts with backoff
      expect(undone).toEqual(["release res-sku-1 (sku-1)"])
      expect(run.error).toMatchObject({
        code: "no_courier",
        details: {
          compensations: [
            { step: "charge", status: "failed", error: "error" },
            { step: "reserve", status: "completed" },
          ],
        },
      })
      const failed = run.history!.find((e) => e.name === "compensate:charge")!
      expect(failed).toMatchObject({ status: "failed", attemptCount: 3 })
      expect(failed.attempts.map((a) => a.startedAt)).toEqual([0, 1000, 3000])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("Workflow.compensate() in a catch undoes on demand and the workflow continues", () =>
    Effect.gen(function* () {
      undone.length = 0
      const { runId } = yield* TestMesh.start(Order, { catchIt: true })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "completed", output: { refundedBecause: "no_courier" } })
      expect(undone).toEqual(["refund ch-500", "release res-sku-1 (sku-1)"])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("a restart in the middle of compensating resumes it without repeating finished undos", () => {
    const store = TestMesh.memoryStore()
    return Effect.gen(function* () {
      undone.length = 0
      const runId = yield* Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* mesh.start(Order, { catchIt: false })
        for (let i = 0; i < 5; i++) yield* mesh.executeNext() // reserve, notify, charge, ship (fails), compensate:charge
        return runId
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order], store })))
      expect(undone).toEqual(["refund ch-500"])
      const run = yield* TestMesh.runUntilDone(runId).pipe(Effect.provide(TestMesh.layer({ workflows: [Order], store })))
      expect(undone).toEqual(["refund ch-500", "release res-sku-1 (sku-1)"])
      expect(run).toMatchObject({ status: "failed", error: { code: "no_courier" } })
    })
  })
})
