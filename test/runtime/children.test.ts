/**
 * Child runs: typed results, failures thrown into the parent, one child per (parent, key)
 * across replays, fire-and-forget children, the cancel cascade, and a restart mid-child.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Mesh, Step, StepFailedError, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const Label = Step.make("print-label", {
  run: (orderId: string) => (orderId === "bad" ? Effect.fail(Step.fatal("printer_jam")) : Effect.succeed({ label: `LBL-${orderId}` })),
})
const PrintLabel = Workflow.make({
  name: "print-label",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String }) }) },
  *run({ orderId }) {
    yield* Workflow.sleep("queue", "10 minutes")
    return yield* Label(orderId)
  },
})
const Ship = Workflow.make({
  name: "ship",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String, recover: Schema.Boolean }) }) },
  *run({ orderId, recover }) {
    try {
      const printed = yield* Workflow.child(PrintLabel, { orderId }, { key: "label" })
      return { label: printed.label }
    } catch (e) {
      if (!recover || !(e instanceof StepFailedError)) throw e
      return { label: null, because: e.error.code }
    }
  },
})
const Notify = Workflow.make({
  name: "notify-later",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String }) }) },
  *run({ orderId }) {
    const started = yield* Workflow.startChild(PrintLabel, { orderId })
    return started.runId
  },
})
const SignOff = Workflow.make({
  name: "sign-off",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return (yield* Workflow.approval("boss")).actor
  },
})
const Contract = Workflow.make({
  name: "contract",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return { signedBy: yield* Workflow.child(SignOff, {}) }
  },
})
const workflows = [PrintLabel, Ship, Notify, SignOff, Contract]

describe("child runs", () => {
  it.effect("waits for a child's typed result; parent and child link both ways; replays reuse the same child", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Ship, { orderId: "o1", recover: false })
      yield* TestMesh.dropCache
      yield* TestMesh.drain() // the parent's child task parks; nothing else is due
      const waiting = yield* mesh.inspectRun(runId, { history: true })
      expect(waiting.children).toHaveLength(1)
      const childId = waiting.children![0]!.id
      expect(yield* mesh.inspectRun(childId)).toMatchObject({ parentRunId: runId, parentSeq: 1, status: "running" })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "completed", output: { label: "LBL-o1" } })
      expect((yield* mesh.inspectRun(childId)).status).toBe("completed")
      expect((yield* mesh.listRuns({ workflow: "print-label" })).runs).toHaveLength(1) // never a second child
    }).pipe(Effect.provide(TestMesh.layer({ workflows }))),
  )

  it.effect("a child's failure is thrown into the parent (catchable) or fails it", () =>
    Effect.gen(function* () {
      const caught = yield* TestMesh.start(Ship, { orderId: "bad", recover: true })
      expect(yield* TestMesh.runUntilDone(caught.runId)).toMatchObject({ status: "completed", output: { label: null, because: "child_failed" } })
      const uncaught = yield* TestMesh.start(Ship, { orderId: "bad", recover: false })
      const run = yield* TestMesh.runUntilDone(uncaught.runId)
      expect(run).toMatchObject({ status: "failed", error: { code: "child_failed", details: { status: "failed", error: { code: "printer_jam" } } } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows }))),
  )

  it.effect("startChild does not wait; the child runs on after its parent completed", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId, status } = yield* mesh.start(Notify, { orderId: "o2" })
      expect(status).toBe("completed")
      const childId = (yield* mesh.inspectRun(runId)).output as string
      const child = yield* TestMesh.runUntilDone(childId)
      expect(child).toMatchObject({ status: "completed", parentRunId: runId, output: { label: "LBL-o2" } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows }))),
  )

  it.effect("cancelling a parent cancels its children; cancelling a child fails the waiting parent", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const a = yield* mesh.start(Ship, { orderId: "o3", recover: false })
      yield* TestMesh.drain()
      const childA = (yield* mesh.inspectRun(a.runId, { history: true })).children![0]!.id
      yield* mesh.cancel(a.runId, { actor: "ops" })
      expect(yield* mesh.inspectRun(childA)).toMatchObject({ status: "cancelled", error: { message: `parent run ${a.runId} was cancelled` } })
      const b = yield* mesh.start(Ship, { orderId: "o4", recover: true })
      yield* TestMesh.drain()
      const childB = (yield* mesh.inspectRun(b.runId, { history: true })).children![0]!.id
      yield* mesh.cancel(childB, { actor: "ops" })
      expect(yield* TestMesh.runUntilDone(b.runId)).toMatchObject({ status: "completed", output: { because: "child_failed" } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows }))),
  )

  it.effect("a parent waiting on a running child survives an engine restart", () => {
    const store = TestMesh.memoryStore()
    return Effect.gen(function* () {
      const runId = yield* Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Ship, { orderId: "o5", recover: false })
        yield* TestMesh.drain()
        return runId
      }).pipe(Effect.provide(TestMesh.layer({ workflows, store })))
      const run = yield* TestMesh.runUntilDone(runId).pipe(Effect.provide(TestMesh.layer({ workflows, store })))
      expect(run).toMatchObject({ status: "completed", output: { label: "LBL-o5" } })
    })
  })

  it.effect("a command that ends a child (approving its gate) wakes the waiting parent at once", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Contract, {})
      yield* TestMesh.drain()
      const childId = (yield* mesh.inspectRun(runId, { history: true })).children![0]!.id
      yield* mesh.approve(childId, { actor: "boss" })
      yield* TestMesh.drain() // no clock movement: the wake, not the backstop, brings the parent on
      expect(yield* mesh.inspectRun(runId)).toMatchObject({ status: "completed", output: { signedBy: "boss" } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows }))),
  )
})
