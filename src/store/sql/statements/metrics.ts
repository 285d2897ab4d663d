/**
 * The reads behind the metrics endpoint: queue depth per queue (one grouped scan of the tasks
 * table, which only holds live work), the number of runs per status, and the workers seen lately.
 */
import { RUN_STATUSES, type RunStatus } from "../../../core/model.js"
import type { QueueDepth, RunCount, WorkerSeen } from "../../Store.js"
import { ms, ts } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/**
 * Due, scheduled and claimed tasks per queue at $1. `available_at` is `visible_at` while a task
 * is unclaimed and `lease_until` while claimed, so "due" is `available_at <= now` either way.
 */
export const QUEUE_DEPTHS = `SELECT queue,
      count(*) FILTER (WHERE available_at <= ${ts("$1")}) AS due,
      count(*) FILTER (WHERE claim_id IS NULL AND available_at > ${ts("$1")}) AS scheduled,
      count(*) FILTER (WHERE claim_id IS NOT NULL AND available_at > ${ts("$1")}) AS claimed
    FROM squid_mesh.tasks GROUP BY queue ORDER BY queue`

/**
 * The runs of each status in $1 (a JSON array), one count per status: each is an index-only range scan of
 * `runs_status_created_idx` (status, created_at, id), never a scan of the runs' rows. Open
 * statuses are cheap; the terminal ones grow with history (about a linear index scan).
 */
export const RUN_COUNTS = `SELECT s.status, (SELECT count(*) FROM squid_mesh.runs r WHERE r.status = s.status) AS count
    FROM jsonb_array_elements_text($1::text::jsonb) WITH ORDINALITY AS s(status, n) ORDER BY s.n`

/** Workers seen at or after $1, by queue then owner. */
export const WORKERS_SEEN = `SELECT queue, owner, ${ms("last_seen")} AS last_seen FROM squid_mesh.workers
    WHERE last_seen >= ${ts("$1")} ORDER BY queue, owner`

/** Each queue's due, scheduled and claimed tasks at `now`. */
export const queueDepths = async (client: SqlClient, now: number): Promise<Array<QueueDepth>> => {
  const rows = await client.query<{ queue: string; due: number | string; scheduled: number | string; claimed: number | string }>(QUEUE_DEPTHS, [now])
  return rows.map((r) => ({ queue: r.queue, due: Number(r.due), scheduled: Number(r.scheduled), claimed: Number(r.claimed) }))
}

/** The number of runs of every status. */
export const runCounts = async (client: SqlClient): Promise<Array<RunCount>> => {
  const rows = await client.query<{ status: RunStatus; count: number | string }>(RUN_COUNTS, [JSON.stringify(RUN_STATUSES)])
  return rows.map((r) => ({ status: r.status, count: Number(r.count) }))
}

/** Workers seen at or after `since`. */
export const workersSeen = async (client: SqlClient, since: number): Promise<Array<WorkerSeen>> => {
  const rows = await client.query<{ queue: string; owner: string; last_seen: number | string }>(WORKERS_SEEN, [since])
  return rows.map((r) => ({ queue: r.queue, owner: r.owner, lastSeen: Number(r.last_seen) }))
}
