import { expect, it, describe } from "@effect/vitest"
import { Chunk, Effect, Schedule, Schema, TestClock } from "effect"
import { Step, StepError, Trigger, Workflow, type RunView } from "../../src/index.js"
import { backoffMillis } from "../../runtime/retry.js"
import * as TestMesh from "../../src/testing/index.js"

const HOUR = 3_600_000
const empty = Trigger.manual({ payload: Schema.Struct({}) })

describe("backoff math", () => {
  it("is min(min·2^(n−1), max)", () => {
    const policy = { backoff: { type: "exponential", min: "1 second", max: "30 seconds" } } as const
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMillis(policy, n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
    expect(backoffMillis({ backoff: { type: "fixed", delay: "5 seconds" } }, 4)).toBe(5000)
    expect(backoffMillis({}, 4)).toBe(0)
  })
})

/** A workflow whose single step fails the way `fail(attempt)` says. */
const failing = (name: string, retry: Step.StepOptions<void, unknown>["retry"], fail: (attempt: number) => unknown) => {
  const Flaky = Step.make(name, {
    run: (_: void, ctx) =>
      Effect.suspend(() => {
        const outcome = fail(ctx.attempt)
        return outcome === "ok" ? Effect.succeed({ attempt: ctx.attempt }) : Effect.fail(outcome)
      }),
    ...(retry ? { retry } : {}),
  })
  return Workflow.make({
    name,
    triggers: { manual: empty },
    *run() {
      return yield* Flaky()
    },
  })
}

const attemptsOf = (run: RunView) => run.history![0]!.attempts

it.effect("retries with exponential backoff, counting every attempt, then fails the run", () => {
  const Wf = failing(
    "always-fails",
    { maxAttempts: 4, backoff: { type: "exponential", min: "1 hour", max: "3 hours" } },
    () => new Error("gateway said password=hunter2 and no"),
  )
  return Effect.gen(function* () {
    const { runId } = yield* TestMesh.start(Wf, {})
    const run = yield* TestMesh.runUntilDone(runId)
    expect(run.status).toBe("failed")
    const attempts = attemptsOf(run)
    expect(attempts.map((a) => a.startedAt)).toEqual([0, 1 * HOUR, 3 * HOUR, 6 * HOUR])
    expect(attempts.map((a) => a.retryAt)).toEqual([1 * HOUR, 3 * HOUR, 6 * HOUR, undefined])
    expect(attempts.every((a) => a.error?.code === "error")).toBe(true)
    expect(attempts[0]!.error!.message).toBe("gateway said password=[REDACTED] and no")
    expect(run.error).toMatchObject({ code: "error", step: "always-fails", seq: 1 })
    expect(run.history![0]).toMatchObject({ status: "failed", attemptCount: 4 })
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("succeeds on a later attempt and feeds the result on", () => {
  const Wf = failing("third-time-lucky", { maxAttempts: 5 }, (n) => (n < 3 ? new Error("flaky") : "ok"))
  return Effect.gen(function* () {
    const { runId } = yield* TestMesh.start(Wf, {})
    const run = yield* TestMesh.runUntilDone(runId)
    expect(run).toMatchObject({ status: "completed", output: { attempt: 3 } })
    expect(attemptsOf(run).map((a) => a.status)).toEqual(["failed", "failed", "completed"])
    expect(attemptsOf(run).map((a) => a.startedAt)).toEqual([0, 0, 0]) // no backoff: immediate
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("never retries a non-retryable error", () => {
  const Wf = failing("card-declined", { maxAttempts: 5 }, () => Step.fatal("card_declined", "card declined"))
  return Effect.gen(function* () {
    const { runId } = yield* TestMesh.start(Wf, {})
    const run = yield* TestMesh.runUntilDone(runId)
    expect(run.status).toBe("failed")
    expect(attemptsOf(run)).toHaveLength(1)
    expect(run.error).toMatchObject({ code: "card_declined", retryable: false })
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("honours nonRetryable predicates in the policy", () => {
  const Wf = failing("teapot", { maxAttempts: 5, nonRetryable: (e) => (e as Error).message === "teapot" }, () => new Error("teapot"))
  return Effect.gen(function* () {
    const run = yield* TestMesh.runUntilDone((yield* TestMesh.start(Wf, {})).runId)
    expect(attemptsOf(run)).toHaveLength(1)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("lets retryAfter from the error override the backoff", () => {
  const Wf = failing("rate-limited", { maxAttempts: 3, backoff: { type: "exponential", min: "1 hour", max: "1 hour" } }, (n) =>
    n === 1 ? Step.retryAfter("90 seconds", "rate_limited") : n === 2 ? new StepError({ code: "busy", message: "busy" }) : "ok",
  )
  return Effect.gen(function* () {
    const run = yield* TestMesh.runUntilDone((yield* TestMesh.start(Wf, {})).runId)
    expect(run.status).toBe("completed")
    expect(attemptsOf(run).map((a) => a.startedAt)).toEqual([0, 90_000, 90_000 + HOUR])
    expect(attemptsOf(run)[0]!.error!.code).toBe("rate_limited")
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("uses any Effect Schedule as the retry policy, stopping when it is done", () => {
  const schedule = Schedule.exponential("10 minutes", 3).pipe(Schedule.intersect(Schedule.recurs(2)))
  const Wf = failing("scheduled", { schedule }, () => new Error("nope"))
  return Effect.gen(function* () {
    const run = yield* TestMesh.runUntilDone((yield* TestMesh.start(Wf, {})).runId)
    expect(run.status).toBe("failed")
    expect(attemptsOf(run).map((a) => a.startedAt)).toEqual([0, 600_000, 600_000 + 1_800_000])
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("times an attempt out with step_timeout and retries it", () => {
  const Slow = Step.make("slow", {
    run: (_: void, ctx) => (ctx.attempt === 1 ? Effect.sleep("2 minutes").pipe(Effect.as("late")) : Effect.succeed("fast")),
    timeout: "1 minute",
    retry: { maxAttempts: 2 },
  })
  const Wf = Workflow.make({
    name: "timeouts",
    triggers: { manual: empty },
    *run() {
      return yield* Slow()
    },
  })
  return Effect.gen(function* () {
    const { runId } = yield* TestMesh.start(Wf, {})
    const fiber = yield* Effect.fork(TestMesh.runUntilDone(runId))
    while (Chunk.isEmpty(yield* TestClock.sleeps())) yield* Effect.yieldNow()
    yield* TestClock.adjust("1 minute")
    const run = yield* fiber.await.pipe(Effect.flatten)
    expect(run).toMatchObject({ status: "completed", output: "fast" })
    expect(attemptsOf(run)[0]!.error!.code).toBe("step_timeout")
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
})

it.effect("a run restarted mid-backoff (new engine, same store) retries exactly on time", () => {
  let calls = 0
  const Flaky = Step.make("flaky-psp", {
    run: () => Effect.suspend(() => (++calls < 2 ? Effect.fail(new Error("503")) : Effect.succeed("ok"))),
    retry: { maxAttempts: 3, backoff: { type: "exponential", min: "6 hours", max: "1 day" } },
  })
  const Wf = Workflow.make({
    name: "backoff-restart",
    triggers: { manual: empty },
    *run() {
      return yield* Flaky()
    },
  })
  const store = TestMesh.memoryStore()
  return Effect.gen(function* () {
    const runId = yield* Effect.gen(function* () {
      const { runId } = yield* TestMesh.start(Wf, {})
      yield* TestMesh.drain() // attempt 1 fails; attempt 2 is due in 6 hours
      return runId
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
    const run = yield* TestMesh.runUntilDone(runId).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
    expect(run).toMatchObject({ status: "completed", output: "ok" })
    expect(attemptsOf(run).map((a) => a.startedAt)).toEqual([0, 6 * HOUR])
  })
})
