/**
 * The durable state of a cron schedule (one per workflow and cron trigger) and its audit
 * trail. Every change of the state is a compare-and-set on `revision`, so of several
 * schedulers deciding about the same window, exactly one decision is written.
 */
import type { Json } from "./json.js"

/** A schedule's state, as stored. Times are epoch ms. */
export interface ScheduleState {
  readonly workflow: string
  readonly trigger: string
  /** Bumped by every change: the compare-and-set token. */
  readonly revision: number
  /**
   * Windows at or before this instant are decided (started, skipped, buffered or missed): a
   * scheduler decides the windows after it, in order. Set when the schedule is first seen and
   * moved forward by each decision and by `resumeSchedule`.
   */
  readonly decidedUntil: number
  /** The latest window the scheduler started a run for, and that run. */
  readonly lastFired?: number
  readonly lastRunId?: string
  /** `bufferOne`: the window waiting for the open run to finish. */
  readonly buffered?: number
  readonly paused: boolean
  readonly pausedBy?: string
  readonly pausedAt?: number
  readonly pauseNote?: string
  readonly updatedAt: number
}

/** What a schedule event records. */
export type ScheduleEventKind = "skipped" | "buffered" | "missed" | "failed" | "paused" | "resumed" | "backfill"

/**
 * One row of a schedule's audit trail: a window skipped (overlap) or buffered, a range of
 * windows missed (downtime, beyond the catch-up policy), a window whose run could not start
 * (`failed`: its payload defaults do not validate), or an operator's pause, resume or
 * backfill (with its actor). Started windows are runs (`scheduledFor`), not events.
 */
export interface ScheduleEvent {
  readonly workflow: string
  readonly trigger: string
  readonly kind: ScheduleEventKind
  /** The window (skipped, buffered), the first and last missed window, or a backfill's range `[from, to)`. */
  readonly from?: number
  readonly to?: number
  /** How many windows (missed, backfill). */
  readonly count?: number
  /** The open run that made a window skip or wait. */
  readonly runId?: string
  readonly actor?: string
  readonly note?: string
  readonly detail?: Json
  readonly at: number
}
