/**
 * The policies of a cron trigger: what happens to a window while the previous run is still
 * open (`overlap`), and which windows missed while no scheduler ran are started afterwards
 * (`catchUp`). Checked when the trigger is defined; stored normalized on the trigger.
 */
import { Duration } from "effect"
import { checkDuration, refuse } from "./validate.js"

/**
 * What a window does while the previous run the schedule started is still open:
 * - `"allow"` (default): it starts anyway;
 * - `"skip"`: it starts nothing, and the skipped window is recorded;
 * - `"bufferOne"`: it waits (at most one window waits; later ones are skipped and recorded)
 *   and starts as soon as a scheduler sees the open run finished.
 */
export type OverlapPolicy = "allow" | "skip" | "bufferOne"

/**
 * Which windows missed while no scheduler ran (downtime) start when a scheduler comes back:
 * - `"none"` (default): none; they are recorded as missed;
 * - `"latest"`: only the most recent missed window;
 * - `{ every: true, limit }`: every missed window, oldest first, but at most the `limit` most recent;
 * - `{ within, limit? }`: every missed window due within `within` of the scheduler's start
 *   (at most `limit`, default 1,000, most recent kept).
 */
export type CatchUpPolicy =
  | "none"
  | "latest"
  | { readonly every: true; readonly limit: number }
  | { readonly within: Duration.DurationInput; readonly limit?: number }

/** A catch-up policy in one shape: at most `limit` most recent missed windows, none older than `withinMs`. */
export interface CatchUp {
  /** How many missed windows may start (0: none). */
  readonly limit: number
  /** Only missed windows due at most this long before the scheduler started (absent: any age). */
  readonly withinMs?: number
}

/** The most missed windows a catch-up may start. */
export const MAX_CATCH_UP = 10_000

const DEFAULT_WITHIN_LIMIT = 1000

const OVERLAPS: ReadonlyArray<OverlapPolicy> = ["allow", "skip", "bufferOne"]

/** Checks an overlap policy (default `"allow"`). */
export const checkOverlap = (definition: string, value: unknown): OverlapPolicy => {
  if (value === undefined) return "allow"
  if (typeof value === "string" && (OVERLAPS as ReadonlyArray<string>).includes(value)) return value as OverlapPolicy
  return refuse(definition, "overlap", value, `expected one of ${OVERLAPS.map((o) => `"${o}"`).join(", ")}`)
}

const checkLimit = (definition: string, value: unknown): number =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_CATCH_UP
    ? value
    : refuse(definition, "catchUp.limit", value, `expected an integer from 1 to ${MAX_CATCH_UP}`)

/** Checks and normalizes a catch-up policy (default `"none"`). */
export const checkCatchUp = (definition: string, value: unknown): CatchUp => {
  if (value === undefined || value === "none") return { limit: 0 }
  if (value === "latest") return { limit: 1 }
  const expected = `expected "none", "latest", { every: true, limit } or { within, limit? }`
  if (typeof value !== "object" || value === null || Array.isArray(value)) return refuse(definition, "catchUp", value, expected)
  const policy = value as { readonly every?: unknown; readonly within?: unknown; readonly limit?: unknown }
  const unknownKey = Object.keys(policy).find((k) => k !== "every" && k !== "within" && k !== "limit")
  if (unknownKey !== undefined) return refuse(definition, `catchUp.${unknownKey}`, (policy as Record<string, unknown>)[unknownKey], expected)
  if (policy.within !== undefined) {
    if (policy.every !== undefined) return refuse(definition, "catchUp", value, "give either every or within, not both")
    const within = checkDuration(definition, "catchUp.within", policy.within, { positive: true })
    return { limit: policy.limit === undefined ? DEFAULT_WITHIN_LIMIT : checkLimit(definition, policy.limit), withinMs: Duration.toMillis(within) }
  }
  if (policy.every !== true) return refuse(definition, "catchUp.every", policy.every, expected)
  if (policy.limit === undefined) return refuse(definition, "catchUp.limit", undefined, "every missed window needs a bound: give limit")
  return { limit: checkLimit(definition, policy.limit) }
}

/** A catch-up policy as listings show it: as written, with `within` formatted ("1d"). */
export type CatchUpView = "none" | "latest" | { readonly every: true; readonly limit: number } | { readonly within: string; readonly limit: number }

/** The catch-up policy as a user writes it (for listings). */
export const describeCatchUp = (catchUp: CatchUp): CatchUpView =>
  catchUp.limit === 0
    ? "none"
    : catchUp.withinMs !== undefined
      ? { within: Duration.format(Duration.millis(catchUp.withinMs)), limit: catchUp.limit }
      : catchUp.limit === 1
        ? "latest"
        : { every: true, limit: catchUp.limit }
