/**
 * Retention: deleting old terminal runs in batches, each one statement (one transaction).
 * Candidates come from `runs_finished_idx` in (finished_at, id) order after the caller's key;
 * each takes its tree of child runs along, unless a run of that tree is not terminal. Foreign
 * keys (ON DELETE CASCADE) take entries, attempts, tasks, signals, audit events and attribute
 * rows with their run. The batch writes its `purges` audit row in the same statement.
 * Schedule events and unreferenced stored specs go the same way (purgeRows.ts).
 */
import type { Json } from "../../../core/json.js"
import type { PurgeBatch, PurgeBatchResult, PurgeRecord } from "../../Store.js"
import { ms, ts } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/**
 * $1 finished before, $2 statuses (comma-separated), $3 workflow or null, $4 limit, $5 now, $6 reason, and with
 * `after`, $7/$8 the key to continue after. Two texts, so the keyset bound is always an index
 * condition (never behind an OR that a generic plan could not use).
 */
const purgeBatchSql = (after: boolean) => `WITH RECURSIVE roots AS (
      SELECT r.id, r.finished_at FROM squid_mesh.runs r
      WHERE r.finished_at IS NOT NULL AND r.finished_at < ${ts("$1")}
        AND r.status = ANY(string_to_array($2::text, ','))
        AND ($3::text IS NULL OR r.workflow = $3::text)
        ${after ? `AND (r.finished_at, r.id) > (${ts("$7")}, $8::uuid)` : ""}
        AND (r.parent_run_id IS NULL OR NOT EXISTS (SELECT 1 FROM squid_mesh.runs p WHERE p.id = r.parent_run_id))
      ORDER BY r.finished_at, r.id
      LIMIT $4::int
    ), tree AS (
      SELECT id AS root, id FROM roots
      UNION ALL
      SELECT t.root, c.id FROM squid_mesh.runs c JOIN tree t ON c.parent_run_id = t.id
    ), open AS (
      SELECT DISTINCT t.root FROM tree t JOIN squid_mesh.runs o ON o.id = t.id WHERE o.finished_at IS NULL
    ), gone AS (
      DELETE FROM squid_mesh.runs d USING tree t
      WHERE d.id = t.id AND NOT EXISTS (SELECT 1 FROM open WHERE open.root = t.root)
      RETURNING d.id
    ), kept AS (
      SELECT r.id, r.finished_at FROM roots r WHERE r.id IN (SELECT id FROM gone)
    ), audit AS (
      INSERT INTO squid_mesh.purges (at, reason, purged, schedule_events, specs, first_run_id, last_run_id)
      SELECT ${ts("$5")}, $6::text::jsonb, (SELECT count(*) FROM gone), 0, 0,
        (SELECT id FROM kept ORDER BY finished_at, id LIMIT 1), (SELECT id FROM kept ORDER BY finished_at DESC, id DESC LIMIT 1)
      WHERE EXISTS (SELECT 1 FROM kept)
    )
    SELECT (SELECT count(*) FROM gone)::int AS purged, (SELECT count(*) FROM roots)::int AS scanned,
      (SELECT ${ms("finished_at")} FROM roots ORDER BY finished_at DESC, id DESC LIMIT 1) AS last_at,
      (SELECT id::text FROM roots ORDER BY finished_at DESC, id DESC LIMIT 1) AS last_id`

const PURGE_FIRST = purgeBatchSql(false)
const PURGE_AFTER = purgeBatchSql(true)

interface PurgeRow {
  readonly purged: number | string
  readonly scanned: number | string
  readonly last_at: number | string | null
  readonly last_id: string | null
}

/** Deletes one batch (see `PurgeBatch`); `next` is where the following batch starts, absent when none is left. */
export const purgeRuns = async (client: SqlClient, batch: PurgeBatch): Promise<PurgeBatchResult> => {
  const params = [batch.finishedBefore, batch.statuses.join(","), batch.workflow ?? null, batch.limit, batch.now, JSON.stringify(batch.reason)]
  const [row] = batch.after
    ? await client.query<PurgeRow>(PURGE_AFTER, [...params, batch.after.finishedAt, batch.after.id])
    : await client.query<PurgeRow>(PURGE_FIRST, params)
  const scanned = Number(row?.scanned ?? 0)
  const next = scanned === batch.limit && row?.last_id ? { finishedAt: Number(row.last_at), id: row.last_id } : undefined
  return { purged: Number(row?.purged ?? 0), ...(next ? { next } : {}) }
}

const SELECT_PURGES = `SELECT id, ${ms("at")} AS at, reason::text AS reason, purged, schedule_events, specs,
      first_run_id::text AS first_run_id, last_run_id::text AS last_run_id
    FROM squid_mesh.purges ORDER BY id DESC LIMIT $1`

interface PurgeAuditRow {
  readonly id: number | string
  readonly at: number | string
  readonly reason: string
  readonly purged: number | string
  readonly schedule_events: number | string
  readonly specs: number | string
  readonly first_run_id: string | null
  readonly last_run_id: string | null
}

/** The purge audit trail, newest first. */
export const listPurges = async (client: SqlClient, limit: number): Promise<Array<PurgeRecord>> =>
  (await client.query<PurgeAuditRow>(SELECT_PURGES, [limit])).map((r) => ({
    id: Number(r.id),
    at: Number(r.at),
    reason: JSON.parse(r.reason) as Json,
    purged: Number(r.purged),
    scheduleEvents: Number(r.schedule_events),
    specs: Number(r.specs),
    ...(r.first_run_id !== null ? { firstRunId: r.first_run_id } : {}),
    ...(r.last_run_id !== null ? { lastRunId: r.last_run_id } : {}),
  }))
