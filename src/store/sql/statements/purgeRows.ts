/**
 * Retention of what runs leave behind: cron schedule events (each schedule's audit trail) and
 * stored specs no run references any more. Each batch is one transaction that writes its own
 * `purges` audit row, like a batch of runs (purge.ts).
 */
import type { PurgeableQuery, PurgeRowsResult, PurgeScheduleEventsBatch, PurgeSpecsBatch } from "../../Store.js"
import { ts } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/**
 * Schedule events a purge may delete (alias `e`): recorded before $1, of workflow $2 (or any),
 * and not among the $3 newest events of their schedule (an index probe on
 * `schedule_events_trigger_idx`: the $3-th newer event of the same schedule exists). Events
 * are only ever appended, and only a purge deletes them, oldest first, so an event counted
 * here as newer is never one another purge deletes at the same time.
 */
const EVENT_PURGEABLE = `e.at < ${ts("$1")} AND ($2::text IS NULL OR e.workflow = $2::text)
      AND ($3::int = 0 OR EXISTS (
        SELECT 1 FROM squid_mesh.schedule_events n
        WHERE n.workflow = e.workflow AND n.trigger = e.trigger AND n.id > e.id
        ORDER BY n.id OFFSET greatest($3::int - 1, 0) LIMIT 1))`

/** $1 before, $2 workflow, $3 keep, $4 limit, $5 now, $6 reason, and with `after`, $7 the last id examined. */
const purgeEventsSql = (after: boolean) => `WITH cand AS (
      SELECT e.id FROM squid_mesh.schedule_events e
      WHERE e.at < ${ts("$1")} AND ($2::text IS NULL OR e.workflow = $2::text) ${after ? "AND e.id > $7::bigint" : ""}
      ORDER BY e.id
      LIMIT $4::int
    ), gone AS (
      DELETE FROM squid_mesh.schedule_events e USING cand c
      WHERE e.id = c.id AND ${EVENT_PURGEABLE}
      RETURNING e.id
    ), audit AS (
      INSERT INTO squid_mesh.purges (at, reason, purged, schedule_events, specs)
      SELECT ${ts("$5")}, $6::text::jsonb, 0, (SELECT count(*) FROM gone), 0
      WHERE EXISTS (SELECT 1 FROM gone)
    )
    SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM cand)::int AS scanned,
      (SELECT max(id) FROM cand)::text AS last`

const PURGE_EVENTS_FIRST = purgeEventsSql(false)
const PURGE_EVENTS_AFTER = purgeEventsSql(true)

/**
 * Whether a stored spec (alias `s`) is referenced: some run of a spec workflow has its
 * fingerprint as definition hash (`runs_spec_idx`). Any spec workflow, not only
 * `spec:<name>`: the fingerprint already names one spec text, and keeping too much is safe.
 */
const SPEC_REFERENCED = `EXISTS (SELECT 1 FROM squid_mesh.runs r WHERE r.workflow LIKE 'spec:%' AND r.definition_hash = s.fingerprint)`

/** $1 created before, $2 name, $3 limit, $4 now, $5 reason, and with `after`, $6 the last fingerprint examined. */
const purgeSpecsSql = (after: boolean) => `WITH cand AS (
      SELECT s.fingerprint FROM squid_mesh.run_specs s
      WHERE s.created_at < ${ts("$1")} AND ($2::text IS NULL OR s.name = $2::text) ${after ? "AND s.fingerprint > $6::text" : ""}
      ORDER BY s.fingerprint
      LIMIT $3::int
    ), gone AS (
      DELETE FROM squid_mesh.run_specs s USING cand c
      WHERE s.fingerprint = c.fingerprint AND NOT ${SPEC_REFERENCED}
      RETURNING s.fingerprint
    ), audit AS (
      INSERT INTO squid_mesh.purges (at, reason, purged, schedule_events, specs)
      SELECT ${ts("$4")}, $5::text::jsonb, 0, 0, (SELECT count(*) FROM gone)
      WHERE EXISTS (SELECT 1 FROM gone)
    )
    SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM cand)::int AS scanned,
      (SELECT max(fingerprint) FROM cand) AS last`

const PURGE_SPECS_FIRST = purgeSpecsSql(false)
const PURGE_SPECS_AFTER = purgeSpecsSql(true)

/**
 * The race this lock closes: a run is created with its spec row in one statement, and the
 * spec insert is ON CONFLICT DO NOTHING, which takes no row lock when the row exists. So a
 * start that found the row, not yet committed, is invisible to the purge's NOT EXISTS, and
 * nothing stops the purge from deleting the row the new run needs. Every run-creating
 * statement inserts into `run_specs` (even with no spec), so it holds ROW EXCLUSIVE on the
 * table until its transaction ends. SHARE ROW EXCLUSIVE conflicts with that (and with itself:
 * two purges take turns instead of deadlocking): once granted, every start that relied on a
 * spec row has committed, and the DELETE, a new statement with a new snapshot, sees its run;
 * a start that comes later waits, then finds the row gone and inserts it again. The lock
 * holds run creation for one batch (a few hundred index probes); `lock_timeout` bounds the
 * wait behind a long transaction that started a run, after which specs are left for the next
 * purge.
 */
const LOCK_SPECS = ["SET LOCAL lock_timeout = '2s'", "LOCK TABLE squid_mesh.run_specs IN SHARE ROW EXCLUSIVE MODE"]

interface RowsRow {
  readonly deleted: number | string
  readonly scanned: number | string
  readonly last: string | null
}

/** Deletes one batch of old schedule events (see `PurgeScheduleEventsBatch`). */
export const purgeScheduleEvents = async (client: SqlClient, batch: PurgeScheduleEventsBatch): Promise<PurgeRowsResult<number>> => {
  const params = [batch.before, batch.workflow ?? null, batch.keep, batch.limit, batch.now, JSON.stringify(batch.reason)]
  const [row] =
    batch.after !== undefined
      ? await client.query<RowsRow>(PURGE_EVENTS_AFTER, [...params, batch.after])
      : await client.query<RowsRow>(PURGE_EVENTS_FIRST, params)
  const more = Number(row?.scanned ?? 0) === batch.limit && row?.last
  return { deleted: Number(row?.deleted ?? 0), ...(more ? { next: Number(row.last) } : {}) }
}

/** SQLSTATE of a lock not granted within `lock_timeout`. */
const LOCK_NOT_AVAILABLE = "55P03"

/**
 * Deletes one batch of unreferenced old specs (see `PurgeSpecsBatch`), under the lock of
 * `LOCK_SPECS`. When run creation held the table past the lock timeout, nothing is deleted
 * and the result says `busy`.
 */
export const purgeSpecs = async (client: SqlClient, batch: PurgeSpecsBatch): Promise<PurgeRowsResult<string>> => {
  const params = [batch.createdBefore, batch.name ?? null, batch.limit, batch.now, JSON.stringify(batch.reason)]
  try {
    const [row] = await client.transaction(async (tx) => {
      for (const statement of LOCK_SPECS) await tx.query(statement)
      return batch.after !== undefined ? tx.query<RowsRow>(PURGE_SPECS_AFTER, [...params, batch.after]) : tx.query<RowsRow>(PURGE_SPECS_FIRST, params)
    })
    const more = Number(row?.scanned ?? 0) === batch.limit && row?.last
    return { deleted: Number(row?.deleted ?? 0), ...(more ? { next: row.last! } : {}) }
  } catch (cause) {
    if ((cause as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE) return { deleted: 0, busy: true }
    throw cause
  }
}

const COUNT_PURGEABLE = `SELECT
      (SELECT count(*) FROM squid_mesh.schedule_events e WHERE ${EVENT_PURGEABLE})::int AS events,
      (SELECT count(*) FROM squid_mesh.run_specs s
        WHERE NOT $4::boolean AND s.created_at < ${ts("$1")} AND ($5::text IS NULL OR s.name = $5::text) AND NOT ${SPEC_REFERENCED})::int AS specs`

/** How many schedule events and specs a purge would delete now; no spec for a workflow that is not a spec's. */
export const countPurgeable = async (client: SqlClient, query: PurgeableQuery): Promise<{ scheduleEvents: number; specs: number }> => {
  const workflow = query.workflow
  const name = workflow?.startsWith("spec:") ? workflow.slice("spec:".length) : null
  const noSpecs = workflow !== undefined && name === null
  const [row] = await client.query<{ events: number | string; specs: number | string }>(COUNT_PURGEABLE, [
    query.before,
    workflow ?? null,
    query.keep,
    noSpecs,
    name,
  ])
  return { scheduleEvents: Number(row?.events ?? 0), specs: Number(row?.specs ?? 0) }
}
