/**
 * The metrics a mesh reports, after running workflows on the TestClock: every value is what ran
 * (runs by status, step attempts by outcome and their durations, timers fired and their
 * lateness, claims and their latency, claims lost, queue depth, worker liveness).
 */
import { expect, it } from "@effect/vitest"
import { Chunk, Clock, Effect, Fiber, Schema, TestClock } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { Shipping } from "../fixtures/telemetry.js"
import { parseExposition } from "../support/prometheus.js"

const Gate = Workflow.make({
  name: "gate",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return yield* Workflow.approval("go")
  },
})

it.effect("reports runs by status, step attempts and durations, timers, claims, queue depth and worker liveness as they happened", () =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const ids = [] as Array<string>
    for (const orderId of ["o-1", "o-2", "o-3"]) ids.push((yield* mesh.start(Shipping, { orderId })).runId)
    for (const runId of ids) expect((yield* TestMesh.runUntilDone(runId)).status).toBe("completed")
    yield* mesh.start(Gate, {})
    yield* TestMesh.drain()
    // Two more shipping runs, started but not executed: their first steps are due.
    yield* mesh.start(Shipping, { orderId: "o-4" })
    yield* mesh.start(Shipping, { orderId: "o-5" })
    yield* mesh.store.recordWorker("default", "w-1", yield* Clock.currentTimeMillis)
    yield* TestClock.adjust("1 minute")
    const m = parseExposition(yield* mesh.metrics)

    expect(m.find("squid_mesh_runs").map((s) => [s.labels.status, s.value])).toEqual([
      ["running", 2],
      ["paused", 1],
      ["completed", 3],
      ["failed", 0],
      ["cancelled", 0],
    ])
    expect(m.value("squid_mesh_queue_depth", { queue: "default", state: "due" })).toBe(2)
    expect(m.value("squid_mesh_queue_depth", { queue: "default", state: "scheduled" })).toBe(0)
    expect(m.value("squid_mesh_queue_depth", { queue: "default", state: "claimed" })).toBe(0)

    const attempts = (step: string, outcome: string) => m.value("squid_mesh_step_attempts_total", { workflow: "shipping", step, outcome })
    expect(attempts("pack", "retry_scheduled")).toBe(3)
    expect(attempts("pack", "completed")).toBe(3)
    expect(attempts("dispatch", "completed")).toBe(3)
    expect(m.find("squid_mesh_step_attempts_total")).toHaveLength(3)
    // Each pack attempt takes 2 seconds of Clock time; dispatch none.
    const duration = (step: string, outcome: string, part: string, le?: string) =>
      m.value(`squid_mesh_step_duration_seconds_${part}`, { workflow: "shipping", step, outcome, ...(le ? { le } : {}) })
    expect(duration("pack", "completed", "sum")).toBe(6)
    expect(duration("pack", "completed", "count")).toBe(3)
    expect(duration("pack", "completed", "bucket", "1")).toBe(0)
    expect(duration("pack", "completed", "bucket", "2.5")).toBe(3)
    expect(duration("dispatch", "completed", "bucket", "0.001")).toBe(3)

    // Three sleeps fired, each exactly at its due time (runUntilDone jumps the clock to it).
    expect(m.value("squid_mesh_timer_lateness_seconds_count", { queue: "default" })).toBe(3)
    expect(m.value("squid_mesh_timer_lateness_seconds_sum", { queue: "default" })).toBe(0)
    // Every task was claimed from the queue by executeNext: per shipping run pack ×2, the
    // timer, dispatch (the gate's run waits for its approval without a task).
    expect(m.value("squid_mesh_claim_latency_seconds_count", { queue: "default" })).toBe(3 * 4)
    expect(m.find("squid_mesh_claims_lost_total")).toEqual([])
    expect(m.value("squid_mesh_worker_last_seen_seconds", { queue: "default", owner: "w-1" })).toBe(60)
    expect(m.types.get("squid_mesh_claim_latency_seconds")).toBe("histogram")
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Shipping, Gate] }))),
)

it.effect("claim latency is measured from the task's due time; timer lateness from the timer's", () =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Shipping, { orderId: "o-1" })
    yield* TestClock.adjust("3 seconds")
    yield* TestMesh.drain() // t=3: pack claimed 3 s late; it fails at t=5 and is retried at t=6
    yield* TestClock.adjust("4 seconds")
    yield* TestMesh.drain() // t=9: the retry claimed 3 s late; pack completes at t=11; the sleep is due at t=611
    yield* TestClock.adjust("15 minutes")
    yield* TestMesh.drain()
    expect((yield* mesh.inspectRun(runId)).status).toBe("completed")
    const m = parseExposition(yield* mesh.metrics)
    expect(m.value("squid_mesh_claim_latency_seconds_count", { queue: "default" })).toBe(4)
    // t=911: the timer is claimed and fires 300 s late; dispatch, due when it fired, waits 0 s.
    expect(m.value("squid_mesh_claim_latency_seconds_sum", { queue: "default" })).toBe(3 + 3 + 300 + 0)
    expect(m.value("squid_mesh_timer_lateness_seconds_sum", { queue: "default" })).toBe(300)
    expect(m.value("squid_mesh_timer_lateness_seconds_bucket", { queue: "default", le: "300" })).toBe(1)
    expect(m.value("squid_mesh_timer_lateness_seconds_bucket", { queue: "default", le: "60" })).toBe(0)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Shipping] }))),
)

it.effect("an attempt whose claim is lost counts as lost, and as a claim lost of its queue", () => {
  const Stuck = Step.make("stuck", { run: () => Effect.never })
  const Wf = Workflow.make({
    name: "stuck",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
    *run() {
      return yield* Stuck()
    },
  })
  const store = { ...TestMesh.memoryStore(), heartbeat: () => Effect.succeed(false) }
  return Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    yield* mesh.start(Wf, {})
    const fiber = yield* Effect.fork(mesh.executeNext({ leaseFor: "30 seconds" }))
    while (Chunk.isEmpty(yield* TestClock.sleeps())) yield* Effect.yieldNow()
    yield* TestClock.adjust("10 seconds")
    expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "Fenced", reason: "claim_lost" })
    const m = parseExposition(yield* mesh.metrics)
    expect(m.value("squid_mesh_claims_lost_total", { queue: "default" })).toBe(1)
    expect(m.value("squid_mesh_step_attempts_total", { workflow: "stuck", step: "stuck", outcome: "lost" })).toBe(1)
    expect(m.value("squid_mesh_step_duration_seconds_sum", { workflow: "stuck", step: "stuck", outcome: "lost" })).toBe(10)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
})
