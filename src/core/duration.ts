/**
 * Duration options, checked. Effect's `Duration.decode` throws an untagged `Error` on a bad
 * string and quietly turns negative or NaN numbers into zero; every duration a user gives
 * goes through `parseDuration` instead, so a bad one becomes a tagged error naming its field.
 */
import { Duration } from "effect"
import { InvalidOptionError, showValue } from "./errors.js"

/** Why a duration input was refused, or the decoded duration. */
export type ParsedDuration = { readonly ok: true; readonly duration: Duration.Duration } | { readonly ok: false; readonly reason: string }

/**
 * Decodes a `Duration.DurationInput`: a finite, non-negative number of milliseconds, a string
 * such as `"5 seconds"`, or a `Duration`. With `positive`, zero is refused too.
 */
export const parseDuration = (value: unknown, options: { readonly positive?: boolean } = {}): ParsedDuration => {
  const expected = `expected a duration such as "30 seconds" or a number of milliseconds${options.positive ? " above zero" : ""}`
  if (typeof value === "number" && (!Number.isFinite(value) || value < 0)) return { ok: false, reason: expected }
  if (typeof value === "string" && value.trim().startsWith("-")) return { ok: false, reason: expected }
  if (typeof value !== "number" && typeof value !== "string" && typeof value !== "bigint" && !Duration.isDuration(value) && !Array.isArray(value)) {
    return { ok: false, reason: expected }
  }
  let duration: Duration.Duration
  try {
    duration = Duration.decode(value as Duration.DurationInput)
  } catch {
    return { ok: false, reason: expected }
  }
  if (!Duration.isFinite(duration)) return { ok: false, reason: `${expected}, finite` }
  if (options.positive && Duration.toMillis(duration) <= 0) return { ok: false, reason: expected }
  return { ok: true, duration }
}

/** A duration option of a call: undefined when absent or valid, else an InvalidOptionError naming it. */
export const invalidDuration = (
  option: string,
  value: unknown,
  options: { readonly positive?: boolean } = { positive: true },
): InvalidOptionError | undefined => {
  if (value === undefined) return undefined
  const parsed = parseDuration(value, options)
  return parsed.ok ? undefined : new InvalidOptionError({ option, value: showValue(value), reason: parsed.reason })
}
