/**
 * Triggers: how a run starts, and the schema of its payload. Defaults are resolved once,
 * when the run is created, from Effect's Clock, and stored with the run (a rerun keeps them).
 */
import { Schema } from "effect"

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

/**
 * A cron trigger: a scheduler (`mesh.scheduler()`) starts a run at every window of
 * `expression`, in `timeZone` (default UTC), with a payload made of its defaults.
 */
export interface CronTrigger<A = any, I = any> {
  readonly _tag: "Cron"
  readonly expression: string
  readonly timeZone: string
  readonly payload: Schema.Schema<A, I, never>
  readonly defaults: Readonly<Record<string, DefaultValue>>
}

/** Any trigger. */
export type Trigger<A = any> = ManualTrigger<A> | CronTrigger<A>

/** The decoded payload type of a trigger. */
export type PayloadOf<T> = T extends ManualTrigger<infer A, any> ? A : T extends CronTrigger<infer A, any> ? A : never

/**
 * A cron trigger. Each window starts one run, even with several schedulers running: its
 * idempotency key is the (workflow, trigger, window) triple. Payload fields come from defaults,
 * e.g. `{ postedOn: Trigger.today({ timeZone: "Europe/Lisbon" }) }`.
 *
 * @example
 * Trigger.cron("0 21 * * *", { timeZone: "Europe/Lisbon", payload: Schema.Struct({ postedOn: Schema.String }), defaults: { postedOn: Trigger.today() } })
 */
export const cron = <A = {}, I = {}>(
  expression: string,
  options: {
    readonly timeZone?: string
    readonly payload?: Schema.Schema<A, I, never>
    readonly defaults?: { readonly [K in keyof I]?: DefaultValue }
  } = {},
): CronTrigger<A, I> => ({
  _tag: "Cron",
  expression,
  timeZone: options.timeZone ?? "UTC",
  payload: (options.payload ?? Schema.Struct({})) as unknown as Schema.Schema<A, I, never>,
  defaults: (options.defaults ?? {}) as Readonly<Record<string, DefaultValue>>,
})

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
