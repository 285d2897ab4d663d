/**
 * Triggers: how a run starts, and the schema of its payload. Defaults are resolved once,
 * when the run is created, from Effect's Clock, and stored with the run (a rerun keeps them).
 */
import type { Schema } from "effect"

/** A default computed at start time from the Clock (epoch ms). */
export interface ClockDefault {
  readonly _tag: "ClockDefault"
  readonly describe: string
  readonly resolve: (nowMillis: number) => unknown
}

/** A default: a constant, or a `ClockDefault` such as `Trigger.today()`. */
export type DefaultValue = ClockDefault | string | number | boolean | null | ReadonlyArray<unknown> | { readonly [k: string]: unknown }

/** A manual trigger: started by `start(workflow, payload)`. */
export interface ManualTrigger<A = any, I = any> {
  readonly _tag: "Manual"
  readonly payload: Schema.Schema<A, I, never>
  readonly defaults: Readonly<Record<string, DefaultValue>>
}

/** Any trigger. */
export type Trigger<A = any> = ManualTrigger<A>

/** The decoded payload type of a trigger. */
export type PayloadOf<T> = T extends ManualTrigger<infer A, any> ? A : never

/**
 * A manually started trigger with a typed payload.
 *
 * @example
 * Trigger.manual({
 *   payload: Schema.Struct({ orderId: Schema.String, postedOn: Schema.String }),
 *   defaults: { postedOn: Trigger.today() },
 * })
 */
export const manual = <A, I>(options: {
  readonly payload: Schema.Schema<A, I, never>
  readonly defaults?: { readonly [K in keyof I]?: DefaultValue }
}): ManualTrigger<A, I> => ({
  _tag: "Manual",
  payload: options.payload,
  defaults: (options.defaults ?? {}) as Readonly<Record<string, DefaultValue>>,
})

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** Calendar parts of an instant in a time zone, without touching the wall clock. */
const partsIn = (millis: number, timeZone: string) => {
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
  return fmt.format(millis)
}

/** Default: today's date as `YYYY-MM-DD` (UTC unless a time zone is given), read from the Clock. */
export const today = (options: { readonly timeZone?: string } = {}): ClockDefault => ({
  _tag: "ClockDefault",
  describe: `today(${options.timeZone ?? "UTC"})`,
  resolve: (now) => partsIn(now, options.timeZone ?? "UTC"),
})

/** Default: the current instant as an ISO-8601 UTC timestamp, read from the Clock. */
export const now = (): ClockDefault => ({
  _tag: "ClockDefault",
  describe: "now()",
  resolve: (millis) => {
    const day = partsIn(millis, "UTC")
    const ms = ((millis % 86_400_000) + 86_400_000) % 86_400_000
    const h = Math.floor(ms / 3_600_000), m = Math.floor(ms / 60_000) % 60, s = Math.floor(ms / 1000) % 60
    return `${day}T${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}Z`
  },
})
