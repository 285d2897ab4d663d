/**
 * Cron schedules: their state (one row per workflow and cron trigger) and their audit trail.
 * A transition is one transaction: a compare-and-set of the state on its revision, the
 * events it records and the run of the window it started (`CREATE_RUNS`, on the same
 * connection). A concurrent transition of the same schedule waits for the row lock, then
 * finds the revision moved and writes nothing.
 */
import type { Json } from "../../../core/json.js"
import type { ScheduleEvent, ScheduleEventKind, ScheduleState } from "../../../core/schedule.js"
import type { ScheduleTransition, TransitionResult } from "../../Store.js"
import type { Planned } from "../planCache.js"
import { ms, msParam, ts } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"
import { createRuns } from "./create.js"

const STATE_COLUMNS = `workflow, trigger, revision, ${ms("decided_until")} AS decided_until, ${ms("last_fired")} AS last_fired,
  last_run_id::text AS last_run_id, ${ms("buffered")} AS buffered, paused, paused_by, ${ms("paused_at")} AS paused_at, pause_note,
  ${ms("updated_at")} AS updated_at`

const SELECT_ALL = `SELECT ${STATE_COLUMNS} FROM squid_mesh.schedules ORDER BY workflow, trigger`
const SELECT_ONE = `SELECT ${STATE_COLUMNS} FROM squid_mesh.schedules WHERE workflow = $1 AND trigger = $2`

/** Creates ($1 workflow, $2 trigger) decided until $3, unless it exists. */
const INSERT_STATE = `INSERT INTO squid_mesh.schedules (workflow, trigger, revision, decided_until, paused, updated_at)
    VALUES ($1, $2, 0, ${ts("$3")}, false, ${ts("$3")}) ON CONFLICT (workflow, trigger) DO NOTHING`

/** The compare-and-set: sets the state of ($1, $2) when its revision is still $3. */
const UPDATE_STATE = `UPDATE squid_mesh.schedules SET revision = revision + 1, decided_until = ${ts("$4")},
    last_fired = ${ts("$5")}, last_run_id = $6::uuid, buffered = ${ts("$7")}, paused = $8, paused_by = $9,
    paused_at = ${ts("$10")}, pause_note = $11, updated_at = ${ts("$12")}
    WHERE workflow = $1 AND trigger = $2 AND revision = $3
    RETURNING ${STATE_COLUMNS}`

const INSERT_EVENT = `INSERT INTO squid_mesh.schedule_events (workflow, trigger, kind, window_from, window_to, count, run_id, actor, note, detail, at)
    VALUES ($1, $2, $3, ${ts("$4")}, ${ts("$5")}, $6, $7::uuid, $8, $9, $10::text::jsonb, ${ts("$11")})`

const SELECT_EVENTS = `SELECT workflow, trigger, kind, ${ms("window_from")} AS window_from, ${ms("window_to")} AS window_to, count,
    run_id::text AS run_id, actor, note, detail::text AS detail, ${ms("at")} AS at
    FROM squid_mesh.schedule_events WHERE workflow = $1 AND trigger = $2 ORDER BY id DESC LIMIT $3`

interface StateRow {
  readonly workflow: string
  readonly trigger: string
  readonly revision: number | string
  readonly decided_until: number | string
  readonly last_fired: number | string | null
  readonly last_run_id: string | null
  readonly buffered: number | string | null
  readonly paused: boolean
  readonly paused_by: string | null
  readonly paused_at: number | string | null
  readonly pause_note: string | null
  readonly updated_at: number | string
}

interface EventRow {
  readonly workflow: string
  readonly trigger: string
  readonly kind: string
  readonly window_from: number | string | null
  readonly window_to: number | string | null
  readonly count: number | string | null
  readonly run_id: string | null
  readonly actor: string | null
  readonly note: string | null
  readonly detail: string | null
  readonly at: number | string
}

const opt = <K extends string, V>(key: K, value: V | null | undefined): { readonly [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { readonly [P in K]?: V }
const optNum = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value))

const toState = (row: StateRow): ScheduleState => ({
  workflow: row.workflow,
  trigger: row.trigger,
  revision: Number(row.revision),
  decidedUntil: Number(row.decided_until),
  ...opt("lastFired", optNum(row.last_fired)),
  ...opt("lastRunId", row.last_run_id),
  ...opt("buffered", optNum(row.buffered)),
  paused: row.paused,
  ...opt("pausedBy", row.paused_by),
  ...opt("pausedAt", optNum(row.paused_at)),
  ...opt("pauseNote", row.pause_note),
  updatedAt: Number(row.updated_at),
})

const toEvent = (row: EventRow): ScheduleEvent => ({
  workflow: row.workflow,
  trigger: row.trigger,
  kind: row.kind as ScheduleEventKind,
  ...opt("from", optNum(row.window_from)),
  ...opt("to", optNum(row.window_to)),
  ...opt("count", optNum(row.count)),
  ...opt("runId", row.run_id),
  ...opt("actor", row.actor),
  ...opt("note", row.note),
  ...opt("detail", row.detail === null ? undefined : (JSON.parse(row.detail) as Json)),
  at: Number(row.at),
})

/** Every schedule's state. */
export const listScheduleStates = async (client: SqlClient): Promise<ReadonlyArray<ScheduleState>> => (await client.query<StateRow>(SELECT_ALL)).map(toState)

/** A schedule's state, created decided until `now` when missing. */
export const ensureSchedule = async (client: SqlClient, workflow: string, trigger: string, now: number): Promise<ScheduleState> => {
  await client.query(INSERT_STATE, [workflow, trigger, now])
  const [row] = await client.query<StateRow>(SELECT_ONE, [workflow, trigger])
  if (!row) throw new Error(`schedule ${workflow}/${trigger} was created but cannot be read`)
  return toState(row)
}

const insertEvents = async (client: SqlClient, events: ReadonlyArray<ScheduleEvent>): Promise<void> => {
  for (const e of events) {
    await client.query(INSERT_EVENT, [
      e.workflow,
      e.trigger,
      e.kind,
      msParam(e.from),
      msParam(e.to),
      e.count ?? null,
      e.runId ?? null,
      e.actor ?? null,
      e.note ?? null,
      e.detail === undefined ? null : JSON.stringify(e.detail),
      e.at,
    ])
  }
}

/** Applies a transition in one transaction (see the module comment). */
export const transitionSchedule = (client: SqlClient, t: ScheduleTransition, planned: Planned): Promise<TransitionResult> =>
  client.transaction(async (tx): Promise<TransitionResult> => {
    const n = t.next
    const [row] = await tx.query<StateRow>(UPDATE_STATE, [
      t.workflow,
      t.trigger,
      t.expectedRevision,
      n.decidedUntil,
      msParam(n.lastFired),
      n.lastRunId ?? null,
      msParam(n.buffered),
      n.paused,
      n.pausedBy ?? null,
      msParam(n.pausedAt),
      n.pauseNote ?? null,
      t.now,
    ])
    if (!row) {
      const [current] = await tx.query<StateRow>(SELECT_ONE, [t.workflow, t.trigger])
      return { _tag: "Moved", state: current ? toState(current) : undefined }
    }
    await insertEvents(tx, t.events)
    const created = t.run ? (await createRuns(tx, [t.run], planned))[0]!._tag === "Created" : false
    return { _tag: "Applied", state: toState(row), created }
  })

/** Appends events (no state change). */
export const appendScheduleEvents = (client: SqlClient, events: ReadonlyArray<ScheduleEvent>): Promise<void> =>
  events.length === 0 ? Promise.resolve() : client.transaction((tx) => insertEvents(tx, events))

/** A schedule's events, newest first. */
export const listScheduleEvents = async (client: SqlClient, workflow: string, trigger: string, limit: number): Promise<ReadonlyArray<ScheduleEvent>> =>
  (await client.query<EventRow>(SELECT_EVENTS, [workflow, trigger, limit])).map(toEvent)
