/**
 * A timer that wakes a step is not committed on its own: the worker that fires it runs the step
 * at once under the timer's claim, and one commit records both. These tests count the commits
 * and check what is recorded when the step succeeds, fails with retries left, meets a revision
 * conflict (a signal arrives meanwhile), or is interrupted, on memory and on PGlite.
 */
import { expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Schema, TestClock } from "effect"
import { Mesh, MemoryStore, PgliteStore, Step, Store, Trigger, Workflow, type StoreService } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const empty = Trigger.manual({ payload: Schema.Struct({}) })

/** A Store layer over `base` that counts commits. */
const counted = (base: Layer.Layer<Store, unknown>, counter: { commits: number }) =>
  Layer.effect(
    Store,
    Effect.map(Store, (store): StoreService => ({ ...store, commit: (c) => Effect.tap(store.commit(c), () => Effect.sync(() => counter.commits++)) })),
  ).pipe(Layer.provide(base)) as Layer.Layer<Store>

/** Lets the worker's fibers run until nothing is left to do at this instant. */
const settle = Effect.repeat(Effect.yieldNow(), { times: 400 })

const backends: ReadonlyArray<readonly [string, () => Layer.Layer<Store, unknown>]> = [
  ["memory", () => MemoryStore.layer],
  ["PGlite", () => PgliteStore.layer()],
]

for (const [backend, base] of backends) {
  it.scoped(`${backend}: a fired timer and the step it wakes are one commit`, () => {
    const counter = { commits: 0 }
    let bodies = 0
    const Ping = Step.make("ping", { run: () => ++bodies })
    const Pong = Step.make("pong", { run: (n: number) => n * 10 })
    const Nap = Workflow.make({
      name: "nap-then-steps",
      triggers: { manual: empty },
      *run() {
        yield* Workflow.sleep("nap", "1 hour")
        const n = yield* Ping()
        return yield* Pong(n)
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      yield* mesh.worker({ concurrency: 2, pollInterval: "365 days" })
      const { runId } = yield* mesh.start(Nap, {})
      yield* settle
      const asleep = yield* mesh.inspectRun(runId, { history: true })
      expect(asleep.history!.map((e) => [e.name, e.status])).toEqual([["nap", "pending"]])
      const before = counter.commits
      const startedAt = asleep.history![0]!.createdAt
      yield* TestClock.adjust("1 hour")
      yield* waitFor(mesh, runId)
      const done = yield* mesh.inspectRun(runId, { history: true })
      expect(done.status).toBe("completed")
      expect(done.output).toBe(10)
      expect(bodies).toBe(1)
      expect(done.history!.map((e) => [e.name, e.status, e.resolvedAt])).toEqual([
        ["nap", "completed", startedAt + 3_600_000],
        ["ping", "completed", startedAt + 3_600_000],
        ["pong", "completed", startedAt + 3_600_000],
      ])
      expect(done.tasks).toEqual([])
      // nap + ping in one commit (pong claimed inline), then pong with the run's end.
      expect(counter.commits - before).toBe(2)
    }).pipe(Effect.provide(TestMesh.meshLayer({ workflows: [Nap] }).pipe(Layer.provide(counted(base(), counter)))))
  })

  it.scoped(`${backend}: a carried step that fails with retries left records the timer and schedules the retry`, () => {
    let calls = 0
    const Flaky = Step.make("flaky", {
      run: () => (++calls === 1 ? Effect.fail(new Error("not yet")) : Effect.succeed("ok")),
      retry: { maxAttempts: 3, backoff: { type: "fixed", delay: "1 minute" } },
    })
    const Wf = Workflow.make({
      name: "nap-then-flaky",
      triggers: { manual: empty },
      *run() {
        yield* Workflow.sleep("nap", "1 hour")
        return yield* Flaky()
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      yield* mesh.worker({ concurrency: 2, pollInterval: "365 days" })
      const { runId } = yield* mesh.start(Wf, {})
      yield* settle
      yield* TestClock.adjust("1 hour")
      yield* settle
      const waiting = yield* mesh.inspectRun(runId, { history: true })
      expect(calls).toBe(1)
      expect(waiting.status).toBe("running")
      expect(waiting.history!.map((e) => [e.name, e.status, e.attempts.map((a) => a.status)])).toEqual([
        ["nap", "completed", []],
        ["flaky", "pending", ["failed"]],
      ])
      expect(waiting.tasks!.map((t) => [t.seq, t.kind, t.attempt, t.visibleAt - waiting.history![1]!.createdAt])).toEqual([
        [waiting.history![1]!.seq, "step", 2, 60_000],
      ])
      yield* TestClock.adjust("1 minute")
      yield* waitFor(mesh, runId)
      const done = yield* mesh.inspectRun(runId, { history: true })
      expect(done.status).toBe("completed")
      expect(done.output).toBe("ok")
      expect(calls).toBe(2)
      expect(done.history![1]!.attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, "failed"],
        [2, "completed"],
      ])
    }).pipe(Effect.provide(TestMesh.meshLayer({ workflows: [Wf] }).pipe(Layer.provide(base()))))
  })

  it.scoped(`${backend}: a signal arriving during a carried step forces a replay, and both still commit once`, () => {
    const gate = Deferred.unsafeMake<void>(undefined as never)
    let calls = 0
    const Slow = Step.make("slow", {
      run: () =>
        Effect.zipRight(
          Effect.sync(() => calls++),
          Deferred.await(gate),
        ).pipe(Effect.as("slow-done")),
    })
    const Wf = Workflow.make({
      name: "nap-then-slow",
      triggers: { manual: empty },
      *run() {
        yield* Workflow.sleep("nap", "1 hour")
        const slow = yield* Slow()
        const later = yield* Workflow.signal("later", { schema: Schema.Struct({ n: Schema.Number }) })
        return { slow, later: later._tag === "Received" ? later.payload.n : -1 }
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      yield* mesh.worker({ concurrency: 2, pollInterval: "365 days" })
      const { runId } = yield* mesh.start(Wf, {})
      yield* settle
      yield* TestClock.adjust("1 hour")
      yield* settle
      expect(calls).toBe(1)
      // The run waits for nothing named "later" yet: the signal goes to its inbox (the revision moves).
      yield* mesh.signal(runId, "later", { n: 7 })
      yield* Deferred.succeed(gate, undefined)
      yield* waitFor(mesh, runId)
      const done = yield* mesh.inspectRun(runId, { history: true })
      expect(done.status).toBe("completed")
      expect(done.output).toEqual({ slow: "slow-done", later: 7 })
      expect(calls).toBe(1)
      expect(done.history!.map((e) => [e.name, e.status])).toEqual([
        ["nap", "completed"],
        ["slow", "completed"],
        ["later", "completed"],
      ])
    }).pipe(Effect.provide(TestMesh.meshLayer({ workflows: [Wf] }).pipe(Layer.provide(base()))))
  })

  it.scoped(`${backend}: a worker stopped during a carried step gives the timer back; it fires again`, () => {
    let calls = 0
    const Stuck = Step.make("stuck", { run: () => (++calls === 1 ? Effect.never : Effect.succeed("second")) })
    const Wf = Workflow.make({
      name: "nap-then-stuck",
      triggers: { manual: empty },
      *run() {
        yield* Workflow.sleep("nap", "1 hour")
        return yield* Stuck()
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const first = yield* mesh.worker({ concurrency: 1, pollInterval: "365 days", shutdownTimeout: 0 })
      const { runId } = yield* mesh.start(Wf, {})
      yield* settle
      yield* TestClock.adjust("1 hour")
      yield* settle
      expect(calls).toBe(1)
      yield* first.stop
      const given = yield* mesh.inspectRun(runId, { history: true })
      // Nothing of the carried step was written: the timer is pending and claimable again.
      expect(given.history!.map((e) => [e.name, e.status])).toEqual([["nap", "pending"]])
      expect(given.tasks!.map((t) => [t.kind, t.claimId ?? null])).toEqual([["timer", null]])
      yield* mesh.worker({ concurrency: 1, pollInterval: "1 second" })
      yield* TestClock.adjust("1 second")
      yield* waitFor(mesh, runId)
      const done = yield* mesh.inspectRun(runId, { history: true })
      expect(done.output).toBe("second")
      expect(calls).toBe(2)
      expect(done.history!.map((e) => [e.name, e.status])).toEqual([
        ["nap", "completed"],
        ["stuck", "completed"],
      ])
    }).pipe(Effect.provide(TestMesh.meshLayer({ workflows: [Wf] }).pipe(Layer.provide(base()))))
  })
}

/** Yields until the run is terminal (progress decides, not the wall clock: PGlite answers asynchronously). */
const waitFor = (mesh: Mesh.MeshService, runId: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100_000; i++) {
      const run = yield* mesh.inspectRun(runId)
      if (run.status === "completed" || run.status === "failed" || run.status === "cancelled") return run
      yield* Effect.sleep(0)
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`run ${runId} did not finish`)
  })
