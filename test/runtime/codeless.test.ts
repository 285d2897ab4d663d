/**
 * Controls from a process that has not registered the run's workflow (a CLI, a dashboard,
 * another service): approve, reject, resume, signal, cancel and rerun are validated on the
 * journal alone (the pending gate, the signal's journaled JSON Schema, the irreversible flags),
 * written with their audit event, and a worker that has the code advances the run. Two engines
 * share one store: `operator` registers no workflow, `worker` registers it and caches runs.
 */
import { expect, it } from "@effect/vitest"
import { Effect, type Layer, Schema, type Scope, TestClock } from "effect"
import { Mesh, MemoryStore, PgliteStore, Step, Store, Trigger, Workflow } from "../../src/index.js"

const Review = Workflow.make({
  name: "codeless-review",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ order: Schema.String }) }) },
  *run({ order }) {
    yield* Workflow.pause("check")
    const vote = yield* Workflow.approval("review", { deadline: "1 day", onDeadline: "reject" })
    const stamped = yield* Step.make("stamp", { run: (o: string) => `${o}:${vote.approved ? "ok" : "no"}` })(order)
    const go = yield* Workflow.signal("go", { schema: Schema.Struct({ word: Schema.String, n: Schema.Int.pipe(Schema.positive()) }) })
    return { stamped, by: vote.actor, word: go._tag === "Received" ? `${go.payload.word}${go.payload.n}` : "none" }
  },
})

let ships = 0
const Ship = Step.make("ship", { run: (order: string) => `shipped ${order} #${++ships}`, irreversible: true })
const Shipping = Workflow.make({
  name: "codeless-ship",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ order: Schema.String }) }) },
  *run({ order }) {
    return yield* Ship(order)
  },
})

const Quick = Workflow.make({
  name: "codeless-quick",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
  *run({ n }) {
    return yield* Step.make("double", { run: (x: number) => x * 2 })(n)
  },
})

/** Both engines over one store, in the current scope. */
const engines = Effect.gen(function* () {
  const store = yield* Store
  const worker = yield* Mesh.make({ workflows: [Review, Shipping, Quick] }).pipe(Effect.provideService(Store, store))
  const operator = yield* Mesh.make({ workflows: [] }).pipe(Effect.provideService(Store, store))
  return { worker, operator }
})

/** Executes every task due now on the worker engine. */
const drain = (mesh: Mesh.MeshService) =>
  Effect.gen(function* () {
    for (let i = 0; i < 1000; i++) if ((yield* mesh.executeNext({ ownerId: "w" }))._tag === "Idle") return
  })

const backends: ReadonlyArray<readonly [string, () => Layer.Layer<Store, unknown>]> = [
  ["memory", () => MemoryStore.layer],
  ["PGlite", () => PgliteStore.layer()],
]

const on =
  (layer: () => Layer.Layer<Store, unknown>) =>
  <A, E>(effect: Effect.Effect<A, E, Store | Scope.Scope>) =>
    Effect.scoped(Effect.provide(effect, layer() as Layer.Layer<Store>))

for (const [backend, layer] of backends) {
  it.effect(`${backend}: resume, approve and signal from a process without the code; a worker with it advances the run`, () =>
    on(layer)(
      Effect.gen(function* () {
        const { worker, operator } = yield* engines
        const { runId } = yield* worker.start(Review, { order: "o-1" })
        yield* drain(worker)
        expect((yield* operator.inspectRun(runId)).status).toBe("paused")

        // The gate is read from the journal: approving a run paused at "check" is refused, and writes nothing.
        const wrong = yield* Effect.flip(operator.approve(runId, { actor: "ann" }))
        expect(wrong).toMatchObject({ _tag: "InvalidTransitionError", control: "approve", reason: 'the run waits on pause "check", not an approval' })
        expect((yield* operator.explainRun(runId)).nextActions).toEqual([{ action: "resume", gate: "check" }, { action: "cancel" }])

        expect(yield* operator.resume(runId, { actor: "ops", reason: "checked" })).toEqual({ runId, status: "running", duplicate: false })
        // Nothing advanced yet (no code here): the worker's cached interpreter is stale, the claim's revision tells it.
        expect((yield* operator.inspectRun(runId, { history: true })).history!.map((e) => [e.name, e.status])).toEqual([["check", "completed"]])
        yield* drain(worker)
        const atReview = yield* operator.inspectRun(runId, { history: true })
        expect(atReview.status).toBe("paused")
        expect(atReview.history!.map((e) => [e.name, e.status])).toEqual([
          ["check", "completed"],
          ["review", "pending"],
        ])

        expect(yield* operator.approve(runId, { actor: "ann", note: "fine" })).toMatchObject({ status: "running" })
        // The approval's deadline timer was replaced by the advance task: moving past the deadline rejects nothing.
        yield* TestClock.adjust("2 days")
        yield* drain(worker)
        const waiting = yield* operator.inspectRun(runId, { history: true })
        expect(waiting.history!.map((e) => [e.name, e.status])).toEqual([
          ["check", "completed"],
          ["review", "completed"],
          ["stamp", "completed"],
          ["go", "pending"],
        ])
        expect((yield* operator.explainRun(runId)).nextActions).toEqual([{ action: "signal", signal: "go" }, { action: "cancel" }])

        // The signal's schema was journaled as JSON Schema: a bad payload is refused here, before anything is written.
        const bad = yield* Effect.flip(operator.signal(runId, "go", { word: 7, extra: true }))
        expect(bad).toMatchObject({ _tag: "InvalidPayloadError", trigger: "signal:go", missing: ["n"], unknown: ["extra"] })
        expect(bad._tag === "InvalidPayloadError" && bad.invalid).toEqual([{ field: "word", message: "expected string, got integer" }])
        const notPositive = yield* Effect.flip(operator.signal(runId, "go", { word: "hi", n: 0 }))
        expect(notPositive).toMatchObject({ _tag: "InvalidPayloadError", invalid: [{ field: "n", message: "expected more than 0" }] })
        expect((yield* operator.inspectRun(runId, { history: true })).commands!.map((c) => c.kind)).toEqual(["resume", "approve"])

        expect(yield* operator.signal(runId, "go", { word: "hi", n: 3 }, { actor: "bot" })).toMatchObject({ status: "running" })
        yield* drain(worker)
        const done = yield* operator.inspectRun(runId, { history: true })
        expect(done.status).toBe("completed")
        expect(done.output).toEqual({ stamped: "o-1:ok", by: "ann", word: "hi3" })
        expect(done.commands!.map((c) => [c.kind, c.actor])).toEqual([
          ["resume", "ops"],
          ["approve", "ann"],
          ["signal", "bot"],
        ])
        expect(done.tasks).toEqual([])
      }),
    ),
  )

  it.effect(`${backend}: reject, an early signal kept in the inbox, and cancel, without the code`, () =>
    on(layer)(
      Effect.gen(function* () {
        const { worker, operator } = yield* engines
        const { runId } = yield* worker.start(Review, { order: "o-2" })
        yield* drain(worker)
        // Not waiting for "go" yet: kept in the inbox (no schema needed), delivered when the run gets there.
        yield* operator.signal(runId, "go", { word: "early", n: 1 })
        yield* operator.resume(runId, { actor: "ops" })
        yield* drain(worker)
        yield* operator.reject(runId, { actor: "bob", note: "no" })
        yield* drain(worker)
        const done = yield* operator.inspectRun(runId)
        expect(done.status).toBe("completed")
        expect(done.output).toEqual({ stamped: "o-2:no", by: "bob", word: "early1" })

        const other = yield* worker.start(Review, { order: "o-3" })
        yield* drain(worker)
        expect(yield* operator.cancel(other.runId, { actor: "ops" })).toMatchObject({ status: "cancelled" })
        yield* drain(worker)
        expect((yield* worker.inspectRun(other.runId)).status).toBe("cancelled")
      }),
    ),
  )

  it.effect(`${backend}: rerun without the code: refused over an irreversible step unless allowed, then run by the worker`, () =>
    on(layer)(
      Effect.gen(function* () {
        const { worker, operator } = yield* engines
        const shipped = yield* worker.start(Shipping, { order: "o-4" }, { attributes: { tenant: "acme" } })
        yield* drain(worker)
        const refused = yield* Effect.flip(operator.rerun(shipped.runId, { actor: "ops" }))
        expect(refused).toMatchObject({ _tag: "RerunRefusedError", reason: "irreversible_steps", steps: ["ship"] })
        const fork = yield* Effect.flip(operator.rerun(shipped.runId, { actor: "ops", fromStep: "ship" }))
        expect(fork).toMatchObject({ _tag: "InvalidWorkflowError", workflow: "codeless-ship" })
        const before = ships
        const again = yield* operator.rerun(shipped.runId, { actor: "ops", allowIrreversible: true })
        expect(again).toMatchObject({ rerunOf: shipped.runId, status: "running", duplicate: false })
        yield* drain(worker)
        const rerun = yield* operator.inspectRun(again.runId, { history: true })
        expect(rerun.status).toBe("completed")
        expect(rerun.output).toBe(`shipped o-4 #${before + 1}`)
        expect(rerun.rerunOf).toBe(shipped.runId)
        expect(rerun.attributes).toEqual({ tenant: "acme" })

        const quick = yield* worker.start(Quick, { n: 21 })
        yield* drain(worker)
        expect((yield* operator.explainRun(quick.runId)).nextActions).toEqual([{ action: "rerun" }])
        const second = yield* operator.rerun(quick.runId, { actor: "ops", idempotencyKey: "k1" })
        expect(yield* operator.rerun(quick.runId, { actor: "ops", idempotencyKey: "k1" })).toMatchObject({ runId: second.runId, duplicate: true })
        yield* drain(worker)
        expect((yield* operator.inspectRun(second.runId)).output).toBe(42)
        // Codeless reruns leave an `advance` task; one stored as a timer at seq 0 (before `advance`
        // tasks existed) is advanced the same way.
        const store = yield* Store
        expect(yield* store.getTasks(second.runId)).toEqual([])
        const { output: _output, finishedAt: _finished, ...source } = (yield* store.getRun(quick.runId))!
        const legacyId = "00000000-0000-4000-8000-00000000a001"
        const now = yield* TestClock.currentTimeMillis
        yield* store.createRun({
          run: { ...source, id: legacyId, status: "running", revision: 1, createdAt: now, updatedAt: now },
          entries: [],
          tasks: [{ runId: legacyId, seq: 0, queue: source.queue, kind: "timer", attempt: 1, visibleAt: now }],
        })
        yield* drain(worker)
        expect((yield* operator.inspectRun(legacyId)).output).toBe(42)
      }),
    ),
  )
}
