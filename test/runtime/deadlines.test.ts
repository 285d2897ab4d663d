/**
 * Deadlines: due times persisted when a step or gate is planned (retries keep them), status
 * evaluated from the Clock, runs listed by deadline status.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const MIN = 60_000
const Slow = Step.make("fulfil", {
  run: () => Effect.fail(new Error("warehouse offline")),
  retry: { maxAttempts: 10, backoff: { type: "fixed", delay: "40 minutes" } },
  deadline: { within: "1 hour", dueSoon: "15 minutes", escalateAfter: "2 hours", escalation: "page the on-call" },
})
const Fulfil = Workflow.make({
  name: "fulfil",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return yield* Slow()
  },
})
const Review = Workflow.make({
  name: "review",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return yield* Workflow.approval("legal", { deadline: { within: "2 days", dueSoon: "1 day" }, onDeadline: "none" })
  },
})

describe("deadlines", () => {
  it.effect("a step's deadline goes on_time → due_soon → overdue → escalated; retries keep it", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Fulfil, {})
      const at = (ms: number) =>
        Effect.gen(function* () {
          yield* TestClock.setTime(ms)
          yield* TestMesh.drain()
          return yield* mesh.inspectRun(runId, { history: true })
        })
      expect((yield* at(0)).deadline).toEqual({
        status: "on_time",
        seq: 1,
        kind: "step",
        name: "fulfil",
        dueAt: 60 * MIN,
        remainingMs: 60 * MIN,
        escalation: "page the on-call",
      })
      expect((yield* at(50 * MIN)).deadline).toMatchObject({ status: "due_soon", remainingMs: 10 * MIN })
      const overdue = yield* at(61 * MIN)
      expect(overdue.deadline).toMatchObject({ status: "overdue", remainingMs: -1 * MIN })
      expect(overdue.history![0]).toMatchObject({ deadlineStatus: "overdue", deadline: { dueAt: 60 * MIN, dueSoonAt: 45 * MIN, escalatedAt: 180 * MIN } })
      const escalated = yield* at(181 * MIN)
      expect(escalated.deadline).toMatchObject({ status: "escalated", dueAt: 60 * MIN })
      expect(escalated.history![0]!.attempts.map((a) => a.startedAt)).toEqual([0, 50 * MIN, 181 * MIN]) // retried meanwhile, same deadline
      expect((yield* mesh.listRuns({ deadline: "escalated" })).runs).toMatchObject([{ id: runId, deadline: { status: "escalated" } }])
      expect(yield* mesh.listRuns({ deadline: "on_time" })).toEqual({ runs: [] })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Fulfil] }))),
  )

  it.effect("an approval's deadline is reported without deciding it (onDeadline: none), and lists by status", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const late = yield* mesh.start(Review, {})
      yield* TestClock.adjust("36 hours")
      const fresh = yield* mesh.start(Review, {})
      expect((yield* mesh.inspectRun(late.runId, { history: true })).deadline).toMatchObject({ status: "due_soon", kind: "approval", name: "legal" })
      yield* TestClock.adjust("13 hours")
      expect(yield* TestMesh.drain()).toEqual([]) // nothing decides it
      expect((yield* mesh.listRuns({ deadline: "overdue" })).runs.map((r) => r.id)).toEqual([late.runId])
      expect((yield* mesh.listRuns({ deadline: "on_time" })).runs.map((r) => r.id)).toEqual([fresh.runId])
      yield* mesh.approve(late.runId, { actor: "legal-team" })
      const done = yield* mesh.inspectRun(late.runId, { history: true })
      expect(done.status).toBe("completed")
      expect(done.deadline).toBeUndefined()
      expect(yield* mesh.listRuns({ deadline: "overdue" })).toEqual({ runs: [] })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Review] }))),
  )
})
