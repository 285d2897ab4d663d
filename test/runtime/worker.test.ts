import { expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Schema, TestClock } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { Order } from "../fixtures/workflows.js"

const empty = Trigger.manual({ payload: Schema.Struct({}) })

it.scoped("a worker runs many runs concurrently, waking on new work and on due timers", () =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    let inFlight = 0
    let peak = 0
    yield* TestMesh.stubStep("ship", () =>
      Effect.gen(function* () {
        inFlight++
        peak = Math.max(peak, inFlight)
        yield* Effect.repeat(Effect.yieldNow(), { times: 20 })
        inFlight--
        return { tracking: "T" }
      }),
    )
    const worker = yield* mesh.worker({ concurrency: 4, pollInterval: "365 days" })
    const ids = yield* Effect.forEach(
      Array.from({ length: 20 }, (_, i) => i),
      (i) => Effect.map(mesh.start(Order, { orderId: `o${i}`, cents: i }), (r) => r.runId),
    )
    // Every run reaches its 30-day sleep without any clock movement: wakeups, not polling.
    yield* Effect.repeat(Effect.yieldNow(), { until: () => false, times: 200 })
    const sleeping = yield* Effect.forEach(ids, (id) => mesh.inspectRun(id, { history: true }))
    expect(sleeping.every((r) => r.history!.some((e) => e.name === "cool-off" && e.status === "pending"))).toBe(true)
    yield* TestClock.adjust("30 days")
    yield* Effect.repeat(Effect.yieldNow(), { until: () => false, times: 400 })
    const done = yield* Effect.forEach(ids, (id) => mesh.inspectRun(id))
    expect(done.map((r) => r.status)).toEqual(ids.map(() => "completed"))
    expect(peak).toBeGreaterThan(1)
    expect(peak).toBeLessThanOrEqual(4)
    const stats = yield* worker.stats
    expect(stats.executed).toBe(20 * 5) // reserve, charge, the timer, ship and email, once each
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
)

it.scoped("shutdown stops claiming and waits for the in-flight step to finish and commit", () => {
  const gate = Deferred.unsafeMake<void>(undefined as never)
  let started = 0
  const Slow = Step.make("slow", {
    run: () =>
      Effect.zipRight(
        Effect.sync(() => started++),
        Deferred.await(gate),
      ).pipe(Effect.as("ok")),
  })
  const Wf = Workflow.make({
    name: "slow",
    triggers: { manual: empty },
    *run() {
      return yield* Slow()
    },
  })
  return Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const worker = yield* mesh.worker({ concurrency: 1 })
    const a = yield* mesh.start(Wf, {})
    const b = yield* mesh.start(Wf, {})
    while (started < 1) yield* Effect.yieldNow()
    const stopping = yield* Effect.fork(worker.stop)
    yield* Effect.repeat(Effect.yieldNow(), { times: 50 })
    expect(stopping.unsafePoll()).toBeNull() // still draining the in-flight step
    yield* Deferred.succeed(gate, undefined)
    yield* Fiber.join(stopping)
    const runs = yield* Effect.forEach([a, b], (r) => mesh.inspectRun(r.runId))
    expect(runs.map((r) => r.status).sort()).toEqual(["completed", "running"]) // the second was never claimed
    expect(started).toBe(1)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.scoped("a worker keeps a short timer it created and fires it locally on time; shutdown gives it back", () => {
  const After = Step.make("after-nap", { run: () => "woke" })
  const Nap = Workflow.make({
    name: "nap",
    triggers: { manual: empty },
    *run() {
      yield* Workflow.sleep("nap", "5 seconds")
      return yield* After()
    },
  })
  return Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const worker = yield* mesh.worker({ concurrency: 2, pollInterval: "365 days", ownerId: "w-1" })
    const { runId } = yield* mesh.start(Nap, {})
    const second = yield* mesh.start(Nap, {})
    yield* Effect.repeat(Effect.yieldNow(), { times: 50 })
    // The timer task exists (durable) and is held by this worker until due + lease.
    const held = yield* mesh.inspectRun(runId, { history: true })
    expect(held.tasks).toMatchObject([{ seq: 1, kind: "timer", visibleAt: 5_000, owner: "w-1" }])
    yield* TestClock.adjust("5 seconds")
    yield* Effect.repeat(Effect.yieldNow(), { times: 50 })
    const run = yield* mesh.inspectRun(runId, { history: true })
    expect(run).toMatchObject({ status: "completed", output: "woke" })
    expect(run.history![0]!.resolvedAt).toBe(5_000)
    // A timer still held at shutdown goes back to the queue, visible at its due time.
    const third = yield* mesh.start(Nap, {})
    yield* Effect.repeat(Effect.yieldNow(), { times: 50 })
    expect((yield* mesh.inspectRun(third.runId, { history: true })).tasks).toMatchObject([{ owner: "w-1" }])
    yield* worker.stop
    const released = yield* mesh.inspectRun(third.runId, { history: true })
    expect(released.tasks).toEqual([{ runId: third.runId, seq: 1, queue: "default", kind: "timer", attempt: 1, visibleAt: 10_000 }])
    expect((yield* mesh.inspectRun(second.runId)).status).toBe("completed")
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Nap] })))
})
