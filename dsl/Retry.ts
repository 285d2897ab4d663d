/**
 * Retry policies for steps. `maxAttempts` counts every attempt, the first included.
 * The delay after failed attempt n is `min(min * 2^(n-1), max)` for exponential backoff,
 * or whatever an Effect `Schedule` decides. A `retryAfter` carried by the error wins.
 */
import type { Duration, Schedule } from "effect"

/** Exponential backoff: `min · 2^(n−1)` capped at `max`. */
export interface ExponentialBackoff {
  readonly type: "exponential"
  readonly min: Duration.DurationInput
  readonly max: Duration.DurationInput
}

/** The same delay between every attempt. */
export interface FixedBackoff {
  readonly type: "fixed"
  readonly delay: Duration.DurationInput
}

/** How a step retries. */
export interface RetryPolicy {
  /** Total attempts, the first included. Default 3 (or unbounded when `schedule` is given). */
  readonly maxAttempts?: number
  /** Delay between attempts. Without it (and without `schedule`) retries are immediate. */
  readonly backoff?: ExponentialBackoff | FixedBackoff
  /** Any Effect schedule; its n-th delay is used after attempt n. Stops retrying when it is done. */
  readonly schedule?: Schedule.Schedule<unknown, unknown>
  /** Errors for which this returns true fail the step at once. */
  readonly nonRetryable?: (error: unknown) => boolean
}
