/**
 * Operating cron schedules: `pauseSchedule` and `resumeSchedule` (audited, with their actor),
 * `backfill` (one run per window of a past range, idempotent per window), and the read models
 * `listSchedules` (each cron trigger's definition, policies, state and next fire times) and
 * `scheduleEvents` (its audit trail). Each state change is a compare-and-set on the schedule's
 * revision, like the scheduler's own decisions, so a pause never interleaves with a decision.
 */
import { Clock, Effect } from "effect"
import { describeCatchUp, type CatchUpView, type OverlapPolicy } from "../dsl/cronPolicy.js"
import {
  InvalidOptionError,
  InvalidTriggerError,
  InvalidWorkflowError,
  showValue,
  type InvalidPayloadError,
  type PayloadTooLargeError,
  type StoreError,
} from "../src/core/errors.js"
import type { ScheduleEvent, ScheduleState } from "../src/core/schedule.js"
import type { ScheduleFields } from "../src/store/Store.js"
import { advanceRun } from "./advance.js"
import type { EngineContext } from "./context.js"
import { prepareStart, type PreparedRun } from "./newRun.js"
import { cronTriggers, windowKey, type CronEntry } from "./Scheduler.js"
import { fieldsOf, nextWindow, nextWindows, previousWindow } from "./schedulePlan.js"

/** Who pauses or resumes a schedule, and why. */
export interface ScheduleControlOptions {
  /** Recorded in the schedule's audit trail (required). */
  readonly actor: string
  readonly note?: string
}

/** What a pause or resume did: `changed` is false when the schedule already was in that state (nothing written). */
export interface ScheduleControlOutcome {
  readonly workflow: string
  readonly trigger: string
  readonly paused: boolean
  readonly changed: boolean
}

/** Options of `backfill`: the windows in `[from, to)` each start one run. */
export interface BackfillOptions {
  /** First instant of the range (inclusive), a Date or epoch ms. */
  readonly from: Date | number
  /** End of the range (exclusive), not in the future. */
  readonly to: Date | number
  readonly actor: string
  readonly note?: string
  /** Refuse a range of more windows than this (default 1,000, at most 10,000). */
  readonly limit?: number
}

/** What a backfill did: the range's windows, the runs it started and the windows that already had one. */
export interface BackfillResult {
  readonly windows: ReadonlyArray<number>
  readonly started: number
  readonly existing: number
  readonly runIds: ReadonlyArray<string>
}

/** Errors of the schedule controls. */
export type ScheduleControlError = InvalidWorkflowError | InvalidTriggerError | InvalidOptionError | StoreError

/** A cron trigger as `listSchedules` shows it: definition, policies, stored state and next fire times (epoch ms). */
export interface ScheduleView {
  readonly workflow: string
  readonly trigger: string
  /** False for a stored schedule whose cron trigger this engine does not have: its definition fields are absent. */
  readonly registered: boolean
  readonly expression?: string
  readonly timeZone?: string
  readonly overlap?: OverlapPolicy
  readonly catchUp?: CatchUpView
  readonly paused: boolean
  readonly pausedBy?: string
  readonly pausedAt?: number
  readonly pauseNote?: string
  /** Windows at or before it are decided. Absent until a scheduler (or a control) first saw the schedule. */
  readonly decidedUntil?: number
  /** The latest window the scheduler started, and its run. */
  readonly lastFired?: number
  readonly lastRunId?: string
  /** `bufferOne`: the window waiting for the open run to finish. */
  readonly buffered?: number
  /** The next fire times after now (listed while paused too: when the windows are, not that they will start). */
  readonly nextFireTimes: ReadonlyArray<number>
}

/** Options of `listSchedules`. */
export interface ListSchedulesOptions {
  /** Only this workflow's schedules. */
  readonly workflow?: string
  /** How many next fire times to list (default 5, 0 to 100). */
  readonly next?: number
}

/** The most windows one backfill may start. */
export const MAX_BACKFILL = 10_000

const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })

const invalidControl = (options: ScheduleControlOptions): InvalidOptionError | undefined => {
  if (typeof options !== "object" || options === null) return bad("options", options, "expected { actor, note? }")
  if (typeof options.actor !== "string" || options.actor.length === 0 || options.actor.length > 256)
    return bad("actor", options.actor, "must be a non-empty string of at most 256 characters")
  if (options.note !== undefined && (typeof options.note !== "string" || options.note.length > 4096))
    return bad("note", options.note, "must be a string of at most 4,096 characters")
  return undefined
}

/** The registered cron trigger `trigger` of `workflow`, or the tagged error saying why not. */
const cronEntry = (ctx: EngineContext, workflow: string, trigger: string): Effect.Effect<CronEntry, InvalidWorkflowError | InvalidTriggerError> => {
  const wf = ctx.workflows.get(workflow)
  if (!wf) return Effect.fail(new InvalidWorkflowError({ workflow: String(workflow), reason: "not registered with this engine" }))
  const crons = cronTriggers([wf])
  const entry = crons.find((c) => c.name === trigger)
  return entry
    ? Effect.succeed(entry)
    : Effect.fail(
        new InvalidTriggerError({
          workflow,
          trigger: String(trigger),
          available: crons.map((c) => c.name),
          reason: `has no cron trigger "${String(trigger)}"`,
        }),
      )
}

/** Applies `change` to the schedule's state with a compare-and-set, reading again when another writer moved it. */
const changeState = (
  ctx: EngineContext,
  entry: CronEntry,
  change: (state: ScheduleState, now: number) => { readonly next: ScheduleFields; readonly event: ScheduleEvent } | undefined,
): Effect.Effect<ScheduleState | undefined, StoreError> =>
  Effect.gen(function* () {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const state = yield* ctx.store.ensureSchedule(entry.workflow.name, entry.name, now)
      const changed = change(state, now)
      if (!changed) return undefined
      const transition = {
        workflow: state.workflow,
        trigger: state.trigger,
        expectedRevision: state.revision,
        next: changed.next,
        events: [changed.event],
        now,
      }
      const result = yield* advanceRun(ctx, { _tag: "Schedule", transition })
      if (result._tag === "Applied") return result.state
    }
  })

/** What pausing or resuming changes in a schedule's state (undefined: nothing to change). */
type Control = (
  entry: CronEntry,
  state: ScheduleState,
  now: number,
  note: string | undefined,
) => { readonly next: ScheduleFields; readonly event: ScheduleEvent } | undefined

/** A pause or resume: the options checked, the trigger found, the change applied with a compare-and-set and audited. */
const controlSchedule = (
  ctx: EngineContext,
  workflow: string,
  trigger: string,
  options: ScheduleControlOptions,
  paused: boolean,
  control: Control,
): Effect.Effect<ScheduleControlOutcome, ScheduleControlError> =>
  Effect.gen(function* () {
    const invalid = invalidControl(options)
    if (invalid) return yield* invalid
    const entry = yield* cronEntry(ctx, workflow, trigger)
    const note = options.note === undefined ? undefined : ctx.redactor.text(options.note)
    const applied = yield* changeState(ctx, entry, (state, now) => control(entry, state, now, note))
    return { workflow, trigger, paused, changed: applied !== undefined }
  })

/** Pauses a schedule: no scheduler starts its windows until it is resumed. Audited with the actor. */
export const pauseSchedule = (ctx: EngineContext, workflow: string, trigger: string, options: ScheduleControlOptions) =>
  controlSchedule(ctx, workflow, trigger, options, true, (_entry, state, now, note) =>
    state.paused
      ? undefined
      : {
          next: { ...fieldsOf(state), paused: true, pausedBy: options.actor, pausedAt: now, ...(note !== undefined ? { pauseNote: note } : {}) },
          event: { workflow, trigger, kind: "paused", actor: options.actor, ...(note !== undefined ? { note } : {}), at: now },
        },
  )

/**
 * Resumes a paused schedule. Windows due while it was paused are not started (backfill them
 * if they are wanted): its next window is the first after the resume. Audited with the actor.
 */
export const resumeSchedule = (ctx: EngineContext, workflow: string, trigger: string, options: ScheduleControlOptions) =>
  controlSchedule(ctx, workflow, trigger, options, false, (entry, state, now, note) => {
    if (!state.paused) return undefined
    const { pausedBy: _b, pausedAt: _a, pauseNote: _n, ...rest } = fieldsOf(state)
    const dropped = nextWindow(entry.trigger, state.decidedUntil)
    return {
      next: { ...rest, paused: false, decidedUntil: Math.max(state.decidedUntil, now) },
      event: {
        workflow,
        trigger,
        kind: "resumed",
        actor: options.actor,
        ...(note !== undefined ? { note } : {}),
        // The windows the pause left out, when there were any.
        ...(dropped <= now ? { from: dropped, to: Math.max(dropped, previousWindow(entry.trigger, now + 1)) } : {}),
        at: now,
      },
    }
  })

const toMs = (value: unknown): number | undefined =>
  value instanceof Date
    ? Number.isFinite(value.getTime())
      ? value.getTime()
      : undefined
    : typeof value === "number" && Number.isFinite(value)
      ? value
      : undefined

/**
 * Starts one run per window of `[from, to)`, oldest first, each exactly as the scheduler would
 * have (same run id, defaults resolved at the window, `scheduledFor`), so a window that already
 * has its run keeps it. Allowed while the schedule is paused (a pause stops the scheduler, not
 * operators); the overlap policy does not apply. A range of more than `limit` windows, or one
 * that ends in the future, is refused before anything is written. Recorded in the schedule's
 * audit trail with the actor.
 */
export const backfill = (
  ctx: EngineContext,
  workflow: string,
  trigger: string,
  options: BackfillOptions,
): Effect.Effect<BackfillResult, ScheduleControlError | InvalidPayloadError | PayloadTooLargeError> =>
  Effect.gen(function* () {
    const invalid = invalidControl(options)
    if (invalid) return yield* invalid
    const entry = yield* cronEntry(ctx, workflow, trigger)
    const from = toMs(options.from)
    const to = toMs(options.to)
    const limit = options.limit ?? 1000
    const now = yield* Clock.currentTimeMillis
    if (from === undefined) return yield* bad("from", options.from, "expected a Date or epoch milliseconds")
    if (to === undefined) return yield* bad("to", options.to, "expected a Date or epoch milliseconds")
    if (to <= from) return yield* bad("to", options.to, "must be after from")
    if (to > now) return yield* bad("to", options.to, "must not be in the future: the scheduler starts future windows")
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BACKFILL)
      return yield* bad("limit", options.limit, `expected an integer from 1 to ${MAX_BACKFILL}`)
    const windows: Array<number> = []
    for (let w = nextWindow(entry.trigger, from - 1); w < to; w = nextWindow(entry.trigger, w)) {
      if (windows.length === limit) {
        return yield* bad("to", options.to, `the range holds more than ${limit} windows; backfill a shorter range, or raise limit (at most ${MAX_BACKFILL})`)
      }
      windows.push(w)
    }
    // Every run is prepared (validated) before the first is written.
    const prepared: Array<PreparedRun> = []
    for (const window of windows) {
      const start = { trigger, idempotencyKey: windowKey(window), actor: options.actor, metadata: { backfill: true } }
      prepared.push(yield* prepareStart(ctx, entry.workflow, {}, start, { _tag: "Schedule", window }))
    }
    let started = 0
    for (const p of prepared) if ((yield* advanceRun(ctx, { _tag: "Create", prepared: p }))._tag === "Created") started++
    const note = options.note === undefined ? undefined : ctx.redactor.text(options.note)
    yield* ctx.store.appendScheduleEvents([
      {
        workflow,
        trigger,
        kind: "backfill",
        from,
        to,
        count: windows.length,
        actor: options.actor,
        ...(note !== undefined ? { note } : {}),
        detail: { started, existing: windows.length - started },
        at: now,
      },
    ])
    return { windows, started, existing: windows.length - started, runIds: prepared.map((p) => p.newRun.run.id) }
  })

/** Every cron trigger of the engine's workflows (and stored schedules it does not have), with state and next fire times. */
export const listSchedules = (
  ctx: EngineContext,
  options: ListSchedulesOptions = {},
): Effect.Effect<ReadonlyArray<ScheduleView>, InvalidOptionError | StoreError> =>
  Effect.gen(function* () {
    if (typeof options !== "object" || options === null) return yield* bad("options", options, "expected { workflow?, next? }")
    const count = options.next ?? 5
    if (!Number.isInteger(count) || count < 0 || count > 100) return yield* bad("next", options.next, "expected an integer from 0 to 100")
    if (options.workflow !== undefined && typeof options.workflow !== "string") return yield* bad("workflow", options.workflow, "expected a workflow name")
    const now = yield* Clock.currentTimeMillis
    const stored = new Map((yield* ctx.store.listScheduleStates()).map((s) => [`${s.workflow}\u0000${s.trigger}`, s]))
    const views: Array<ScheduleView> = []
    for (const entry of cronTriggers(ctx.workflows.values())) {
      const key = `${entry.workflow.name}\u0000${entry.name}`
      const state = stored.get(key)
      stored.delete(key)
      views.push({
        workflow: entry.workflow.name,
        trigger: entry.name,
        registered: true,
        expression: entry.trigger.expression,
        timeZone: entry.trigger.timeZone,
        overlap: entry.trigger.overlap,
        catchUp: describeCatchUp(entry.trigger.catchUp),
        ...stateView(state),
        nextFireTimes: nextWindows(entry.trigger, now, count),
      })
    }
    for (const state of stored.values())
      views.push({ workflow: state.workflow, trigger: state.trigger, registered: false, ...stateView(state), nextFireTimes: [] })
    return views
      .filter((v) => options.workflow === undefined || v.workflow === options.workflow)
      .sort((a, b) => (a.workflow < b.workflow ? -1 : a.workflow > b.workflow ? 1 : a.trigger < b.trigger ? -1 : a.trigger > b.trigger ? 1 : 0))
  })

const stateView = (state: ScheduleState | undefined) => {
  if (!state) return { paused: false }
  const { workflow: _w, trigger: _t, revision: _r, updatedAt: _u, ...fields } = state
  return fields
}

/** A schedule's audit trail, newest first (default the last 100, at most 1,000). */
export const scheduleEvents = (
  ctx: EngineContext,
  workflow: string,
  trigger: string,
  options: { readonly limit?: number } = {},
): Effect.Effect<ReadonlyArray<ScheduleEvent>, InvalidOptionError | StoreError> => {
  const limit = options?.limit ?? 100
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return Effect.fail(bad("limit", limit, "expected an integer from 1 to 1000"))
  if (typeof workflow !== "string" || typeof trigger !== "string") return Effect.fail(bad("trigger", trigger, "expected a workflow and a trigger name"))
  return ctx.store.listScheduleEvents(workflow, trigger, limit)
}
