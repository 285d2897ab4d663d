/**
 * Triggers: how a run starts, and the schema of its payload. Defaults are resolved once,
 * when the run is created, from Effect's Clock, and stored with the run (a rerun keeps them).
 */
import { CronExpressionParser } from "cron-parser"
import { Schema } from "effect"
import { checkCatchUp, checkOverlap, type CatchUp, type CatchUpPolicy, type OverlapPolicy } from "./cronPolicy.js"
import { checkSchema, checkTimeZone, refuse } from "./validate.js"

export type { CatchUpPolicy, OverlapPolicy } from "./cronPolicy.js"

/** A default computed at start time from the Clock (epoch ms). */
export interface ClockDefault {
  readonly _tag: "ClockDefault"
  readonly describe: string
  readonly resolve: (nowMillis: number) => unknown
}

/** A default: a constant, or a `ClockDefault` such as `Trigger.today()`. */
export type DefaultValue = ClockDefault | string | number | boolean | null | ReadonlyArray<unknown> | { readonly [k: string]: unknown }

/**
 * A manual trigger: started by `start(workflow, payload)`. `D` names the payload fields that
 * have defaults, which `start` lets the caller leave out.
 */
export interface ManualTrigger<A = any, I = any, D extends PropertyKey = any> {
  readonly _tag: "Manual"
  readonly payload: Schema.Schema<A, I, never>
  readonly defaults: Readonly<Record<string, DefaultValue>>
  /** Type-level only: the defaulted fields. */
  readonly _defaulted?: D
}

/**
 * A cron trigger: a scheduler (`mesh.scheduler()`) starts a run at every window of
 * `expression`, in `timeZone` (default UTC), with a payload made of its defaults (resolved at
 * the window's instant). `overlap` and `catchUp` are its policies (see dsl/cronPolicy.ts).
 */
export interface CronTrigger<A = any, I = any> {
  readonly _tag: "Cron"
  readonly expression: string
  readonly timeZone: string
  readonly overlap: OverlapPolicy
  readonly catchUp: CatchUp
  readonly payload: Schema.Schema<A, I, never>
  readonly defaults: Readonly<Record<string, DefaultValue>>
}

/** Any trigger. */
export type Trigger<A = any> = ManualTrigger<A> | CronTrigger<A>

/** The decoded payload type of a trigger. */
export type PayloadOf<T> = T extends ManualTrigger<infer A, any, any> ? A : T extends CronTrigger<infer A, any> ? A : never

type Simplify<T> = { [K in keyof T]: T[K] } & {}

/**
 * What `start` accepts for a manual trigger: the schema's encoded input, with the fields that
 * have defaults made optional. Never for a cron trigger.
 */
export type StartPayloadOf<T> =
  T extends ManualTrigger<any, infer I, infer D>
    ? [D] extends [never]
      ? I
      : string extends D
        ? I
        : Simplify<Omit<I, D> & Partial<Pick<I, D & keyof I>>>
    : never

/**
 * A cron trigger. Each window starts at most one run, even with several schedulers running:
 * the decision about a window is one compare-and-set of the schedule's state, committed with
 * the run, whose id derives from the (workflow, trigger, window) triple. Payload fields come
 * from defaults, resolved at the window's instant, e.g. `{ postedOn: Trigger.today({ timeZone:
 * "Europe/Lisbon" }) }`. `overlap` (default `"allow"`) and `catchUp` (default `"none"`) are the
 * schedule's policies; a malformed option is an `InvalidDefinitionError`.
 *
 * @example
 * Trigger.cron("0 21 * * *", {
 *   timeZone: "Europe/Lisbon",
 *   overlap: "skip",
 *   catchUp: "latest",
 *   payload: Schema.Struct({ postedOn: Schema.String }),
 *   defaults: { postedOn: Trigger.today() },
 * })
 */
export const cron = <A = {}, I = {}>(
  expression: string,
  options: {
    readonly timeZone?: string
    readonly payload?: Schema.Schema<A, I, never>
    readonly defaults?: { readonly [K in keyof I]?: DefaultValue }
    readonly overlap?: OverlapPolicy
    readonly catchUp?: CatchUpPolicy
  } = {},
): CronTrigger<A, I> => {
  const definition = `cron trigger "${expression}"`
  const timeZone = options.timeZone ?? "UTC"
  checkTimeZone(definition, "timeZone", timeZone)
  try {
    CronExpressionParser.parse(expression, { tz: timeZone })
  } catch (cause) {
    refuse(definition, "expression", expression, `not a cron expression: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  if (options.payload !== undefined) checkSchema(definition, "payload", options.payload)
  checkDefaults(definition, options.defaults)
  const overlap = checkOverlap(definition, options.overlap)
  const catchUp = checkCatchUp(definition, options.catchUp)
  return {
    _tag: "Cron",
    expression,
    timeZone,
    overlap,
    catchUp,
    payload: (options.payload ?? Schema.Struct({})) as unknown as Schema.Schema<A, I, never>,
    defaults: (options.defaults ?? {}) as Readonly<Record<string, DefaultValue>>,
  }
}

const checkDefaults = (definition: string, defaults: unknown): void => {
  if (defaults !== undefined && (typeof defaults !== "object" || defaults === null || Array.isArray(defaults))) {
    refuse(definition, "defaults", defaults, "expected an object of field defaults")
  }
}

/**
 * A manually started trigger with a typed payload.
 *
 * @example
 * Trigger.manual({
 *   payload: Schema.Struct({ orderId: Schema.String, postedOn: Schema.String }),
 *   defaults: { postedOn: Trigger.today() },
 * })
 */
export const manual = <A, I, const D extends { readonly [K in keyof I]?: DefaultValue } = {}>(options: {
  readonly payload: Schema.Schema<A, I, never>
  readonly defaults?: D
}): ManualTrigger<A, I, keyof D & keyof I> => {
  checkSchema("manual trigger", "payload", options?.payload)
  checkDefaults("manual trigger", options.defaults)
  return {
    _tag: "Manual",
    payload: options.payload,
    defaults: (options.defaults ?? {}) as Readonly<Record<string, DefaultValue>>,
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** Calendar parts of an instant in a time zone, without touching the wall clock. */
const partsIn = (millis: number, timeZone: string) => {
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
  return fmt.format(millis)
}

/** Default: today's date as `YYYY-MM-DD` (UTC unless a time zone is given), read from the Clock. */
export const today = (options: { readonly timeZone?: string } = {}): ClockDefault => {
  if (options.timeZone !== undefined) checkTimeZone("Trigger.today()", "timeZone", options.timeZone)
  const timeZone = options.timeZone ?? "UTC"
  return { _tag: "ClockDefault", describe: `today(${timeZone})`, resolve: (now) => partsIn(now, timeZone) }
}

/** Default: the current instant as an ISO-8601 UTC timestamp, read from the Clock. */
export const now = (): ClockDefault => ({
  _tag: "ClockDefault",
  describe: "now()",
  resolve: (millis) => {
    const day = partsIn(millis, "UTC")
    const ms = ((millis % 86_400_000) + 86_400_000) % 86_400_000
    const h = Math.floor(ms / 3_600_000),
      m = Math.floor(ms / 60_000) % 60,
      s = Math.floor(ms / 1000) % 60
    return `${day}T${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}Z`
  },
})
