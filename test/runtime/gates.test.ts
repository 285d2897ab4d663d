/**
 * Manual gates and commands on the simulated clock: pause/resume, approve/reject with actor
 * and note, idempotent commands with audit events, approval deadlines, durability across an
 * engine restart, and cancellation (immediate, final, fencing in-flight work).
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Schema, TestClock } from "effect"
import { ConflictError, InvalidTransitionError, Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const empty = Trigger.manual({ payload: Schema.Struct({}) })
const Ship = Step.make("ship", { run: (note: string) => ({ shipped: note }) })

const Reviewed = Workflow.make({
  name: "reviewed",
  triggers: { manual: empty },
  *run() {
    const hold = yield* Workflow.pause("hold")
    const vote = yield* Workflow.approval("manager-review")
    if (!vote.approved) return { rejectedBy: vote.actor, note: vote.note ?? null }
    return yield* Ship(`${hold.actor}/${vote.actor}`)
  },
})

const Expiring = (onDeadline: "reject" | "fail") =>
  Workflow.make({
    name: `expiring-${onDeadline}`,
    triggers: { manual: empty },
    *run() {
      const vote = yield* Workflow.approval("sign-off", { deadline: "30 days", onDeadline })
      return vote
    },
  })

describe("pause and approval gates", () => {
  it.effect("pause → resume → approve completes, with typed results and audit events", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId, status } = yield* mesh.start(Reviewed, {})
      expect(status).toBe("paused")
      yield* TestClock.adjust("2 hours")
      expect(yield* mesh.resume(runId, { actor: "ops:ana", reason: "stock checked" })).toEqual({ runId, status: "paused", duplicate: false })
      expect(yield* mesh.approve(runId, { actor: "mgr:bo", note: "ok", metadata: { ticket: "T-1", apiToken: "s3cr3t" } })).toMatchObject({ status: "running" })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "completed", output: { shipped: "ops:ana/mgr:bo" } })
      expect(run.history!.find((e) => e.name === "hold")!.output).toEqual({ actor: "ops:ana", reason: "stock checked", at: 7_200_000 })
      // Commands without a caller key get an internal one, so a retried commit recognises itself.
      expect(run.commands!.map(({ idempotencyKey, ...c }) => ({ ...c, auto: idempotencyKey!.startsWith("auto:") }))).toEqual([
        { kind: "resume", actor: "ops:ana", note: "stock checked", seq: 1, at: 7_200_000, auto: true },
        { kind: "approve", actor: "mgr:bo", note: "ok", metadata: { ticket: "T-1", apiToken: "[REDACTED]" }, seq: 2, at: 7_200_000, auto: true },
      ])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Reviewed] }))),
  )

  it.effect("reject returns a typed rejection to the workflow", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Reviewed, {})
      yield* mesh.resume(runId, { actor: "a" })
      yield* mesh.reject(runId, { actor: "mgr:bo", note: "budget" })
      expect(yield* mesh.inspectRun(runId)).toMatchObject({ status: "completed", output: { rejectedBy: "mgr:bo", note: "budget" } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Reviewed] }))),
  )

  it.effect("a command that does not fit the gate is a tagged error and writes nothing", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Reviewed, {})
      const before = yield* mesh.inspectRun(runId, { history: true })
      const wrongGate = yield* Effect.flip(mesh.approve(runId, { actor: "x" }))
      expect(wrongGate).toBeInstanceOf(InvalidTransitionError)
      expect(wrongGate).toMatchObject({ control: "approve", status: "paused", reason: 'the run waits on pause "hold", not an approval' })
      expect((yield* Effect.flip(mesh.resume(runId, { actor: "" })))._tag).toBe("InvalidOptionError")
      expect((yield* Effect.flip(mesh.resume("nope", { actor: "a" })))._tag).toBe("InvalidOptionError")
      expect((yield* Effect.flip(mesh.resume("0b6f3f2e-8a57-4c39-9d51-6f0a3c1b2e4d", { actor: "a" })))._tag).toBe("RunNotFoundError")
      expect(yield* mesh.inspectRun(runId, { history: true })).toEqual(before)
      // Not paused at all: a run blocked on a step cannot be resumed.
      const order = yield* mesh.start(Reviewed, {})
      yield* mesh.resume(order.runId, { actor: "a" })
      yield* mesh.approve(order.runId, { actor: "b" })
      expect(yield* Effect.flip(mesh.resume(order.runId, { actor: "a" }))).toMatchObject({
        _tag: "InvalidTransitionError",
        reason: "the run is not paused at a gate",
      })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Reviewed] }))),
  )

  it.effect("idempotent commands: a repeat returns the same outcome and writes nothing; reusing the key for another command conflicts", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Reviewed, {})
      yield* mesh.resume(runId, { actor: "a", idempotencyKey: "r-1" })
      const again = yield* mesh.resume(runId, { actor: "a", idempotencyKey: "r-1" })
      expect(again).toEqual({ runId, status: "paused", duplicate: true })
      yield* mesh.approve(runId, { actor: "b", idempotencyKey: "a-1" })
      expect((yield* mesh.approve(runId, { actor: "b", idempotencyKey: "a-1" })).duplicate).toBe(true)
      expect(yield* Effect.flip(mesh.reject(runId, { actor: "b", idempotencyKey: "a-1" }))).toBeInstanceOf(ConflictError)
      // A different command for the already-decided gate.
      expect((yield* Effect.flip(mesh.reject(runId, { actor: "c", idempotencyKey: "a-2" })))._tag).toBe("InvalidTransitionError")
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run.commands!.map((c) => `${c.kind}:${c.idempotencyKey}`)).toEqual(["resume:r-1", "approve:a-1"])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Reviewed] }))),
  )

  it.effect("an approval deadline of 30 days rejects automatically, on the simulated clock", () => {
    const Wf = Expiring("reject")
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Wf, {})
      yield* TestClock.adjust("29 days")
      expect(yield* TestMesh.drain()).toEqual([])
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run).toMatchObject({ status: "completed", output: { approved: false, actor: "system:deadline", automatic: true, at: 30 * 86_400_000 } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
  })

  it.effect("an approval deadline can fail the gate instead; deciding in time withdraws the deadline", () => {
    const Wf = Expiring("fail")
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const late = yield* mesh.start(Wf, {})
      const run = yield* TestMesh.runUntilDone(late.runId)
      expect(run).toMatchObject({ status: "failed", error: { code: "approval_deadline_passed", step: "sign-off" } })
      const early = yield* mesh.start(Wf, {})
      yield* mesh.approve(early.runId, { actor: "x" })
      const done = yield* mesh.inspectRun(early.runId, { history: true })
      expect(done).toMatchObject({ status: "completed", output: { approved: true }, tasks: [] })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
  })

  it.effect("a paused run survives an engine restart (new engine, empty cache, same store)", () => {
    const store = TestMesh.memoryStore()
    const first = TestMesh.layer({ workflows: [Reviewed], store })
    const second = TestMesh.layer({ workflows: [Reviewed], store })
    return Effect.gen(function* () {
      const runId = yield* Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* mesh.start(Reviewed, {})
        yield* mesh.resume(runId, { actor: "a" })
        return runId
      }).pipe(Effect.provide(first))
      const run = yield* Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        expect((yield* mesh.inspectRun(runId)).status).toBe("paused")
        yield* mesh.approve(runId, { actor: "after-deploy" })
        return yield* TestMesh.runUntilDone(runId)
      }).pipe(Effect.provide(second))
      expect(run).toMatchObject({ status: "completed", output: { shipped: "a/after-deploy" } })
    })
  })
})

describe("cancel", () => {
  it.effect("is immediate and final: pending work is withdrawn, an in-flight result is fenced out", () => {
    const gate = Deferred.unsafeMake<void>(undefined as never)
    let started = 0
    const Slow = Step.make("slow", {
      run: () =>
        Effect.zipRight(
          Effect.sync(() => started++),
          Deferred.await(gate),
        ).pipe(Effect.as("late")),
    })
    const Wf = Workflow.make({
      name: "cancellable",
      triggers: { manual: empty },
      *run() {
        yield* Slow()
        return yield* Slow()
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Wf, {})
      const inFlight = yield* Effect.fork(mesh.executeNext())
      while (started < 1) yield* Effect.yieldNow()
      expect(yield* mesh.cancel(runId, { actor: "ops", reason: "customer asked", idempotencyKey: "c-1" })).toEqual({
        runId,
        status: "cancelled",
        duplicate: false,
      })
      expect((yield* mesh.cancel(runId, { actor: "ops", idempotencyKey: "c-1" })).duplicate).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(inFlight)).toMatchObject({ _tag: "Fenced", reason: "terminal_run" })
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run).toMatchObject({ status: "cancelled", error: { code: "cancelled", message: "customer asked" }, tasks: [] })
      expect(run.history!.map((e) => e.status)).toEqual(["pending"])
      expect(run.commands).toMatchObject([{ kind: "cancel", actor: "ops", idempotencyKey: "c-1" }])
      expect(yield* mesh.executeNext()).toEqual({ _tag: "Idle" })
      expect(yield* Effect.flip(mesh.cancel(runId, { actor: "ops" }))).toMatchObject({ _tag: "InvalidTransitionError", status: "cancelled" })
      expect(started).toBe(1)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
  })
})
