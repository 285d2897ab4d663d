/**
 * explainRun on the memory store and on PGlite, driven by the TestClock: every reason, with
 * its summary, evidence and next actions, and every action rule checked against the controls
 * themselves (an offered control succeeds; one not offered is refused).
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Mesh, Store, type NextAction } from "../../src/index.js"
import { showDuration } from "../../src/read/explain.js"
import * as TestMesh from "../../src/testing/index.js"
import { evolvingV2, flows, freshQueue, memory, meshOn, pgliteBackend, type Backend, storedRun } from "./fixtures.js"

const pglite = pgliteBackend()
beforeAll(pglite.open)
afterAll(pglite.close)

const names = (actions: ReadonlyArray<NextAction>) => actions.map((a) => (a.signal ? `signal:${a.signal}` : a.gate ? `${a.action}:${a.gate}` : a.action))

const explain = (runId: string) => Effect.flatMap(Mesh.Mesh, (m) => m.explainRun(runId))

const cases = (backend: Backend) =>
  describe(`explainRun on ${backend.name}`, () => {
    /** Runs `body` on a fresh queue, with a Mesh over the backend's store registering every test workflow. */
    const test = (name: string, body: (queue: string, F: ReturnType<typeof flows>) => Effect.Effect<void, unknown, Mesh.Mesh | TestMesh.MeshHooks | Store>) =>
      it.effect(name, () => {
        const queue = freshQueue(backend)
        const F = flows(queue)
        return body(queue, F).pipe(Effect.provide(meshOn(backend.store(), Object.values(F))))
      })

    test("waiting_for_worker: how long, and whether a worker served the queue recently", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Single, {})
        yield* TestClock.adjust("12 seconds")
        const first = yield* explain(runId)
        expect(first).toMatchObject({ runId, workflow: "single", queue, status: "running", reason: "waiting_for_worker" })
        expect(first.summary).toBe(`step "work" has waited 12s for a worker on queue "${queue}"; no worker has been seen on it`)
        expect(first.evidence).toMatchObject({
          now: 12_000,
          createdAt: 0,
          workflowRegistered: true,
          worker: { queue, seenRecently: false },
          wait: {
            reason: "waiting_for_worker",
            seq: 1,
            kind: "step",
            name: "work",
            since: 0,
            waitedMs: 12_000,
            attempt: 1,
            task: { kind: "step", state: "due", attempt: 1, visibleAt: 0 },
          },
        })
        expect(first.evidence.alsoWaiting).toBeUndefined()
        expect(names(first.nextActions)).toEqual(["cancel"])

        const store = yield* Store
        yield* store.recordWorker(queue, "w-1", 9_000)
        const seen = yield* explain(runId)
        expect(seen.evidence.worker).toEqual({ queue, seenRecently: true, lastSeenAt: 9_000, owner: "w-1" })
        expect(seen.summary).toContain('worker "w-1" was last seen 3s ago')
        yield* TestClock.adjust("2 minutes")
        expect((yield* explain(runId)).evidence.worker).toEqual({ queue, seenRecently: false, lastSeenAt: 9_000, owner: "w-1" })
      }))

    test("a running worker records its liveness every few seconds", (queue) =>
      Effect.scoped(
        Effect.gen(function* () {
          const mesh = yield* Mesh.Mesh
          const store = yield* Store
          yield* TestClock.adjust("1 second")
          yield* mesh.worker({ queue, ownerId: "w-live", pollInterval: "1 second" })
          yield* TestClock.adjust(0)
          expect(yield* store.lastWorkerSeen(queue)).toEqual({ queue, owner: "w-live", lastSeen: 1_000 })
          yield* TestClock.adjust("4 seconds")
          expect((yield* store.lastWorkerSeen(queue))!.lastSeen).toBe(1_000) // at most once per 5 s
          yield* TestClock.adjust("1 second")
          expect((yield* store.lastWorkerSeen(queue))!.lastSeen).toBe(6_000)
        }),
      ))

    test("running, then lease_expired: the lease owner and expiry; any worker reclaims it", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Single, {})
        const store = yield* Store
        const [claimed] = yield* store.claim({ queue, owner: "w-9", now: 0, leaseUntil: 60_000, limit: 1 })
        expect(claimed?.runId).toBe(runId)
        yield* TestClock.adjust("15 seconds")
        const running = yield* explain(runId)
        expect(running.reason).toBe("running")
        expect(running.summary).toBe('step "work" attempt 1 is running on worker "w-9" (lease expires in 45s)')
        expect(running.evidence.wait).toMatchObject({ reason: "running", task: { state: "claimed", owner: "w-9", leaseUntil: 60_000 } })
        expect(names(running.nextActions)).toEqual(["cancel"])

        yield* TestClock.adjust("50 seconds")
        const expired = yield* explain(runId)
        expect(expired.reason).toBe("lease_expired")
        expect(expired.summary).toBe(`the lease of worker "w-9" on step "work" expired 5s ago; a worker of queue "${queue}" will reclaim it`)
        expect(expired.evidence.wait).toMatchObject({ reason: "lease_expired", task: { state: "lease_expired", owner: "w-9", leaseUntil: 60_000 } })
        expect(names(expired.nextActions)).toEqual(["cancel"])
        // Recovered by another worker: it completes.
        expect((yield* TestMesh.runUntilDone(runId, { queue })).status).toBe("completed")
      }))

    test("waiting_for_retry: attempt n of m, when, the last error (redacted), never in the summary", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Retrying, {})
        yield* TestMesh.drain({ queue })
        yield* TestClock.adjust("4 seconds")
        const e = yield* explain(runId)
        expect(e.reason).toBe("waiting_for_retry")
        expect(e.summary).toBe('step "charge" waits to retry: attempt 2 of 3 in 6s (last error: card_declined)')
        expect(e.evidence.wait).toMatchObject({ attempt: 2, maxAttempts: 3, dueAt: 10_000, task: { state: "scheduled", attempt: 2, visibleAt: 10_000 } })
        expect(e.evidence.wait!.lastError!.code).toBe("card_declined")
        expect(e.evidence.wait!.lastError!.message).toContain("card declined")
        expect(JSON.stringify(e)).not.toContain("hunter2")
        expect(names(e.nextActions)).toEqual(["cancel"])
      }))

    test("waiting_for_timer, then waiting_for_worker once the timer is due and nobody fires it", (_queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Sleepy, {})
        yield* TestClock.adjust("4 minutes")
        const timer = yield* explain(runId)
        expect(timer.reason).toBe("waiting_for_timer")
        expect(timer.summary).toBe('sleep "cool-off" is due in 6m')
        expect(timer.evidence.wait).toMatchObject({ kind: "sleep", name: "cool-off", dueAt: 600_000, task: { kind: "timer", state: "scheduled" } })
        expect(names(timer.nextActions)).toEqual(["cancel"])
        yield* TestClock.adjust("7 minutes")
        const due = yield* explain(runId)
        expect(due.reason).toBe("waiting_for_worker")
        expect(due.summary).toContain('sleep "cool-off" has waited 1m for a worker')
      }))

    test("paused, waiting_for_approval, waiting_for_signal: each offers exactly its control, and the controls agree", (queue, F) =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* TestMesh.start(F.Gates, {})
        yield* TestClock.adjust("2 hours")
        const paused = yield* explain(runId)
        expect(paused).toMatchObject({ status: "paused", reason: "paused", summary: 'paused at "hold" for 2h; resume continues it' })
        expect(names(paused.nextActions)).toEqual(["resume:hold", "cancel"])
        // Not offered: refused by the controls.
        expect(yield* Effect.flip(mesh.approve(runId, { actor: "a" }))).toMatchObject({ _tag: "InvalidTransitionError" })
        expect(yield* Effect.flip(mesh.rerun(runId, { actor: "a" }))).toMatchObject({ _tag: "RerunRefusedError", reason: "not_terminal" })
        yield* mesh.resume(runId, { actor: "ops" })

        yield* TestClock.adjust("30 hours")
        const approval = yield* explain(runId)
        expect(approval.reason).toBe("waiting_for_approval")
        expect(approval.summary).toBe('waiting 1d 6h for approval "sign-off"; deadline in 18h (due_soon)')
        expect(approval.evidence.wait).toMatchObject({ kind: "approval", deadline: { dueAt: 7_200_000 + 172_800_000, status: "due_soon" }, onDeadline: "none" })
        expect(names(approval.nextActions)).toEqual(["approve:sign-off", "reject:sign-off", "cancel"])
        expect(yield* Effect.flip(mesh.resume(runId, { actor: "a" }))).toMatchObject({ _tag: "InvalidTransitionError" })
        // A signal of another name waits in the inbox.
        yield* mesh.signal(runId, "other", { any: 1 })
        yield* mesh.approve(runId, { actor: "mgr" })

        yield* TestClock.adjust("10 minutes")
        const signal = yield* explain(runId)
        expect(signal).toMatchObject({ status: "running", reason: "waiting_for_signal" })
        expect(signal.summary).toBe('waiting 10m for signal "go"; times out in 50m; 1 signal(s) in the inbox')
        expect(signal.evidence.wait).toMatchObject({ kind: "signal", name: "go", dueAt: 115_200_000 + 3_600_000 })
        expect(signal.evidence.inbox).toEqual([{ name: "other", receivedAt: 115_200_000 }])
        expect(JSON.stringify(signal.evidence)).not.toContain("any")
        expect(names(signal.nextActions)).toEqual(["signal:go", "cancel"])
        expect(yield* Effect.flip(mesh.approve(runId, { actor: "a" }))).toMatchObject({ _tag: "InvalidTransitionError" })
        yield* mesh.signal(runId, "go", { word: "hi" })
        const done = yield* TestMesh.runUntilDone(runId, { queue })
        expect(done).toMatchObject({ status: "completed", output: { approved: true, word: "hi" } })
      }))

    test("waiting_for_child: the child's id, workflow, status and own explanation", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Outer, {})
        yield* TestMesh.drain({ queue })
        const e = yield* explain(runId)
        const childId = e.evidence.child!.runId
        expect(e.reason).toBe("waiting_for_child")
        expect(e.evidence.child).toMatchObject({ workflow: "inner", status: "paused", explanation: { runId: childId, reason: "paused" } })
        expect(e.evidence.child!.explanation!.nextActions.map((a) => a.action)).toEqual(["resume", "cancel"])
        expect(e.summary).toBe(`waiting for child run ${childId} (inner): paused: paused at "inner-hold" for 0ms; resume continues it`)
        expect(e.evidence.wait).toMatchObject({ kind: "child", name: "inner", childRunId: childId, childWorkflow: "inner" })
        expect(names(e.nextActions)).toEqual(["cancel"])
      }))

    test("compensating: which step, which attempt; then failed with the failing step and the compensation outcomes", (queue, F) =>
      Effect.gen(function* () {
        let tries = 0
        yield* TestMesh.stubStep("compensate:reserve", () => (++tries === 1 ? Effect.fail(new Error("psp down")) : Effect.void))
        const { runId } = yield* TestMesh.start(F.Saga, {})
        yield* TestMesh.drain({ queue })
        const e = yield* explain(runId)
        expect(e.reason).toBe("compensating")
        expect(e.summary).toBe('compensating step "reserve" (seq 1), attempt 2 of 3, scheduled')
        expect(e.evidence.wait).toMatchObject({
          kind: "compensation",
          name: "compensate:reserve",
          compensates: { seq: 1, step: "reserve" },
          attempt: 2,
          maxAttempts: 3,
        })
        expect(names(e.nextActions)).toEqual(["cancel"])

        yield* TestMesh.runUntilDone(runId, { queue })
        const failed = yield* explain(runId)
        expect(failed).toMatchObject({ status: "failed", reason: "failed" })
        expect(failed.summary).toBe('failed at step "ship": no_courier; 1 compensation(s) ran (1 completed)')
        expect(failed.evidence.error).toEqual({ code: "no_courier", message: "no courier available", step: "ship", seq: 2 })
        expect(failed.evidence.compensations).toEqual([{ step: "reserve", seq: 3, status: "completed" }])
        expect(names(failed.nextActions)).toEqual(["rerun"])
        expect(yield* Effect.flatMap(Mesh.Mesh, (m) => m.rerun(runId, { actor: "ops" }))).toMatchObject({ rerunOf: runId })
      }))

    test("completed offers rerun; a completed irreversible step withholds it, as rerun itself refuses", (queue, F) =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const plain = yield* TestMesh.start(F.Single, {})
        yield* TestClock.adjust("3 seconds")
        yield* TestMesh.drain({ queue })
        const completed = yield* explain(plain.runId)
        expect(completed).toMatchObject({ status: "completed", reason: "completed", summary: "completed in 3s" })
        expect(completed.evidence).toMatchObject({ createdAt: 0, finishedAt: 3_000 })
        expect(completed.evidence.rerunRefused).toBeUndefined()
        expect(names(completed.nextActions)).toEqual(["rerun"])
        expect(yield* Effect.flip(mesh.cancel(plain.runId, { actor: "a" }))).toMatchObject({ _tag: "InvalidTransitionError" })

        const paid = yield* TestMesh.start(F.Irreversible, {})
        yield* TestMesh.drain({ queue })
        const e = yield* explain(paid.runId)
        expect(e.reason).toBe("completed")
        expect(names(e.nextActions)).toEqual([])
        expect(e.evidence.irreversibleSteps).toEqual(["pay"])
        expect(e.evidence.rerunRefused).toMatchObject({ reason: "irreversible_steps" })
        expect(yield* Effect.flip(mesh.rerun(paid.runId, { actor: "ops" }))).toMatchObject({ _tag: "RerunRefusedError", reason: "irreversible_steps" })
      }))

    test("cancelled: by whom and why, from the audit events", (_queue, F) =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* TestMesh.start(F.Sleepy, {})
        yield* TestClock.adjust("1 minute")
        yield* mesh.cancel(runId, { actor: "ops:ana", reason: "duplicate order" })
        const e = yield* explain(runId)
        expect(e).toMatchObject({ status: "cancelled", reason: "cancelled", summary: 'cancelled by "ops:ana" (duplicate order) after 1m' })
        expect(e.evidence.cancelledBy).toEqual({ actor: "ops:ana", note: "duplicate order", at: 60_000 })
        expect(e.evidence.error).toEqual({ code: "cancelled", message: "duplicate order" })
        expect(names(e.nextActions)).toEqual(["rerun"])
      }))

    test("a parallel group: the primary wait, and the others in evidence", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Parallel, {})
        const both = yield* explain(runId)
        expect(both.reason).toBe("waiting_for_worker")
        expect(both.evidence.wait).toMatchObject({ seq: 2, kind: "step", name: "work" })
        expect(both.evidence.alsoWaiting).toMatchObject([{ reason: "waiting_for_timer", seq: 3, kind: "sleep", name: "t", dueAt: 3_600_000 }])
        expect(both.summary).toContain("(and 1 more wait(s))")
        yield* TestMesh.drain({ queue })
        const timer = yield* explain(runId)
        expect(timer.reason).toBe("waiting_for_timer")
        expect(timer.evidence.alsoWaiting).toBeUndefined()
      }))

    test("non_determinism: found by replaying an open run, then recorded when the run fails; no rerun", (queue, F) =>
      Effect.gen(function* () {
        const store = yield* Store
        const { runId } = yield* TestMesh.start(F.Evolving, {})
        yield* TestMesh.drain({ queue })
        expect((yield* explain(runId)).reason).toBe("waiting_for_timer")
        // The code changes under the open run.
        const deployed = Effect.gen(function* () {
          const open = yield* explain(runId)
          expect(open.reason).toBe("non_determinism")
          expect(open.summary).toBe(
            'the code no longer matches the journal at seq 1: journal has step "a", code yielded step "b"; the run stops at its next step',
          )
          expect(open.evidence.divergence).toEqual({ seq: 1, expected: { kind: "step", name: "a" }, actual: { kind: "step", name: "b" }, recorded: false })
          expect(open.evidence.wait).toMatchObject({ kind: "sleep", name: "later" })
          expect(names(open.nextActions)).toEqual(["cancel"])
          yield* TestClock.adjust("1 minute")
          yield* TestMesh.drain({ queue })
          const failed = yield* explain(runId)
          expect(failed).toMatchObject({ status: "failed", reason: "non_determinism" })
          expect(failed.evidence.divergence).toEqual({ seq: 1, expected: { kind: "step", name: "a" }, actual: { kind: "step", name: "b" }, recorded: true })
          expect(failed.evidence.error).toMatchObject({ code: "non_determinism", seq: 1 })
          expect(failed.evidence.rerunRefused).toMatchObject({ reason: "replay_failed" })
          expect(names(failed.nextActions)).toEqual([])
        })
        yield* deployed.pipe(Effect.provide(meshOn(store, [evolvingV2(queue)])))
      }))

    test("stalled, on a workflow this engine does not register: only cancel is offered, then a rerun decided on the journal", (queue) =>
      Effect.gen(function* () {
        const store = yield* Store
        const id = randomUUID()
        const run = storedRun(id, "elsewhere", queue)
        yield* store.createRun({ run, entries: [{ seq: 1, kind: "step", name: "lost", status: "pending", attempts: 0, createdAt: 0 }], tasks: [] })
        yield* TestClock.adjust("5 seconds")
        const e = yield* explain(id)
        expect(e).toMatchObject({ reason: "stalled", summary: 'step "lost" is pending but has no task the engine can act on; inspect the run\'s journal' })
        expect(e.evidence).toMatchObject({ workflowRegistered: false, wait: { reason: "stalled", seq: 1, waitedMs: 5_000 } })
        expect(e.evidence.wait!.task).toBeUndefined()
        expect(names(e.nextActions)).toEqual(["cancel"])
        yield* Effect.flatMap(Mesh.Mesh, (m) => m.cancel(id, { actor: "ops" }))
        // No step completed, so the journal shows nothing irreversible: the rerun is offered, and accepted.
        expect((yield* explain(id)).nextActions).toEqual([{ action: "rerun" }])
        const rerun = yield* Effect.flatMap(Mesh.Mesh, (m) => m.rerun(id, { actor: "ops" }))
        expect(rerun).toMatchObject({ rerunOf: id, status: "running", duplicate: false })
      }))

    test("a malformed id is an InvalidOptionError, an unknown one a RunNotFoundError", () =>
      Effect.gen(function* () {
        expect(yield* Effect.flip(explain("nope"))).toMatchObject({ _tag: "InvalidOptionError", option: "runId" })
        expect(yield* Effect.flip(explain(randomUUID()))).toMatchObject({ _tag: "RunNotFoundError" })
      }))
  })

cases(memory)
cases(pglite.backend)

describe("showDuration", () => {
  it("shows the two largest units of a duration", () => {
    expect([0, 250, 1_000, 61_000, 3_600_000, 3_660_000, 90_061_000, 172_800_000].map(showDuration)).toEqual([
      "0ms",
      "250ms",
      "1s",
      "1m 1s",
      "1h",
      "1h 1m",
      "1d 1h",
      "2d",
    ])
  })
})
