/**
 * Durable retry decisions. The delay is computed once, when an attempt fails, and stored as
 * the next attempt's visibility time, so a crash during a long backoff resumes on time.
 */
import { Duration, Effect, ScheduleIntervals } from "effect"
import type { RetryPolicy } from "../dsl/Retry.js"
import { retryAfterMillis } from "./errorInfo.js"

/** Attempts a policy allows in total (the first included). */
export const maxAttemptsOf = (policy: RetryPolicy | undefined): number =>
  policy === undefined ? 1 : (policy.maxAttempts ?? (policy.schedule ? Number.POSITIVE_INFINITY : 3))

/** The delay before attempt `attempt + 1` from the policy alone: `min(min·2^(n−1), max)` for exponential. */
export const backoffMillis = (policy: RetryPolicy, attempt: number): number => {
  const backoff = policy.backoff
  if (!backoff) return 0
  if (backoff.type === "fixed") return Duration.toMillis(backoff.delay)
  const min = Duration.toMillis(backoff.min)
  const max = Duration.toMillis(backoff.max)
  return Math.min(min * 2 ** (attempt - 1), max)
}

/** Steps a schedule `attempt` times from its initial state; undefined when it is done by then. */
const scheduleMillis = (policy: RetryPolicy, attempt: number, now: number, error: unknown) =>
  Effect.gen(function* () {
    const schedule = policy.schedule!
    let state = schedule.initial
    let delay = 0
    for (let i = 0; i < attempt; i++) {
      const [next, , decision] = yield* schedule.step(now, error, state)
      if (decision._tag === "Done") return undefined
      state = next
      delay = ScheduleIntervals.start(decision.intervals) - now
    }
    return Math.max(0, delay)
  })

/**
 * Decides whether failed attempt `attempt` is retried, and after how long (ms).
 * `undefined` means the failure is final: non-retryable, or the budget is spent.
 */
export const retryDelay = (
  policy: RetryPolicy | undefined,
  attempt: number,
  error: unknown,
  retryable: boolean,
  now: number,
): Effect.Effect<number | undefined> => {
  if (!policy || !retryable || attempt >= maxAttemptsOf(policy)) return Effect.succeed(undefined)
  if (policy.nonRetryable?.(error)) return Effect.succeed(undefined)
  const after = retryAfterMillis(error)
  if (policy.schedule) {
    return Effect.map(scheduleMillis(policy, attempt, now, error), (d) => (d === undefined ? undefined : (after ?? d)))
  }
  return Effect.succeed(after ?? backoffMillis(policy, attempt))
}
