/**
 * What a cron schedule does next, as a pure function of its trigger, its stored state and the
 * time: wait until a time, or decide about one window (start it, skip it, buffer it, or record
 * a range of windows as missed). The scheduler (Scheduler.ts) applies the decision as one
 * compare-and-set of the state; the window arithmetic lives here, on `cron-parser` in the
 * trigger's time zone.
 *
 * Windows are decided in order, after `decidedUntil`. A window due before the scheduler that
 * decides it started was missed (no scheduler ran then): the trigger's `catchUp` says which of
 * those still start (`catchUpFrom`). Every window that starts goes through `overlap` first.
 */
import { CronExpressionParser } from "cron-parser"
import type { CronTrigger } from "../dsl/Trigger.js"
import type { ScheduleEvent, ScheduleState } from "../src/core/schedule.js"
import type { ScheduleFields } from "../src/store/Store.js"

const iterator = (trigger: CronTrigger, at: number) => CronExpressionParser.parse(trigger.expression, { currentDate: at, tz: trigger.timeZone })

/** The first window of a cron trigger strictly after `after` (epoch ms). */
export const nextWindow = (trigger: CronTrigger, after: number): number => iterator(trigger, after).next().getTime()

/** The last window of a cron trigger strictly before `before` (epoch ms). */
export const previousWindow = (trigger: CronTrigger, before: number): number => iterator(trigger, before).prev().getTime()

/** The `count` first windows strictly after `after`. */
export const nextWindows = (trigger: CronTrigger, after: number, count: number): Array<number> => {
  const it = iterator(trigger, after)
  const out: Array<number> = []
  for (let i = 0; i < count; i++) out.push(it.next().getTime())
  return out
}

/**
 * The earliest missed window a scheduler started at `startedAt` may still start: missed windows
 * before it are recorded as missed, those from it on are caught up (oldest first), and windows
 * from `startedAt` on are on time. `floor` (the schedule's `decidedUntil`) bounds the walk back.
 */
export const catchUpFrom = (trigger: CronTrigger, startedAt: number, floor: number): number => {
  const { limit, withinMs } = trigger.catchUp
  const oldest = withinMs === undefined ? Number.NEGATIVE_INFINITY : startedAt - withinMs
  const it = iterator(trigger, startedAt)
  let from = startedAt
  for (let i = 0; i < limit; i++) {
    let window: number
    try {
      window = it.prev().getTime()
    } catch {
      break // before the start of the expression's range
    }
    if (window <= floor || window < oldest) break
    from = window
  }
  return from
}

/** What a scheduler knows when it plans: the state, the time, and whether the previous run is open. */
export interface PlanInput {
  readonly trigger: CronTrigger
  readonly state: ScheduleState
  readonly now: number
  /** `catchUpFrom` of the deciding scheduler. */
  readonly catchFrom: number
  /** Whether the run the schedule started last (`state.lastRunId`) is still open. */
  readonly previousOpen: boolean
  /** How often a waiting `bufferOne` window looks at the open run. */
  readonly pollMs: number
}

/**
 * A plan: wait until `until` (then look again), or one decision: the schedule's next fields,
 * the events it records, and the window whose run starts (the scheduler adds `lastFired` and
 * `lastRunId` once the run is prepared).
 */
export type Plan =
  | { readonly _tag: "Wait"; readonly until: number }
  | { readonly _tag: "Decide"; readonly next: ScheduleFields; readonly events: ReadonlyArray<ScheduleEvent>; readonly start?: number }

/** The fields of a state, to change some of them. */
export const fieldsOf = ({ workflow: _w, trigger: _t, revision: _r, updatedAt: _u, ...fields }: ScheduleState): ScheduleFields => fields

/** Decides the schedule's next step (see the module comment). */
export const planSchedule = ({ trigger, state, now, catchFrom, previousOpen, pollMs }: PlanInput): Plan => {
  const fields = fieldsOf(state)
  const event = (e: Omit<ScheduleEvent, "workflow" | "trigger" | "at">): ScheduleEvent => ({ workflow: state.workflow, trigger: state.trigger, ...e, at: now })
  if (state.paused) return { _tag: "Wait", until: nextWindow(trigger, Math.max(state.decidedUntil, now)) }
  // A buffered window starts as soon as the run it waited for is over.
  if (state.buffered !== undefined && !previousOpen) {
    const { buffered: _b, ...rest } = fields
    return { _tag: "Decide", next: rest, events: [], start: state.buffered }
  }
  const first = nextWindow(trigger, state.decidedUntil)
  if (first > now) return { _tag: "Wait", until: state.buffered === undefined ? first : Math.min(first, now + pollMs) }
  if (first < catchFrom) {
    // Missed while no scheduler ran, and beyond the catch-up policy: recorded as one range.
    const last = Math.max(first, previousWindow(trigger, catchFrom))
    return { _tag: "Decide", next: { ...fields, decidedUntil: last }, events: [event({ kind: "missed", from: first, to: last })] }
  }
  const decided = { ...fields, decidedUntil: first }
  if (trigger.overlap === "allow" || !previousOpen) return { _tag: "Decide", next: decided, events: [], start: first }
  const open = state.lastRunId === undefined ? {} : { runId: state.lastRunId }
  if (trigger.overlap === "bufferOne" && state.buffered === undefined) {
    return { _tag: "Decide", next: { ...decided, buffered: first }, events: [event({ kind: "buffered", from: first, to: first, ...open })] }
  }
  const note = trigger.overlap === "skip" ? "the previous run is still open" : "the previous run is still open and a window is already waiting"
  return { _tag: "Decide", next: decided, events: [event({ kind: "skipped", from: first, to: first, ...open, note })] }
}
