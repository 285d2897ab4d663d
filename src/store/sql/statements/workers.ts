/**
 * Worker liveness: a worker records that it serves a queue (an upsert whose time never moves
 * back), and readers ask which worker of a queue was seen last.
 */
import type { WorkerSeen } from "../../Store.js"
import { ms, ts } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/** Upserts ($1 queue, $2 owner) as seen at $3 (epoch ms), keeping the later time. */
export const RECORD_WORKER = `INSERT INTO squid_mesh.workers (queue, owner, last_seen) VALUES ($1, $2, ${ts("$3")})
    ON CONFLICT (queue, owner) DO UPDATE SET last_seen = GREATEST(squid_mesh.workers.last_seen, EXCLUDED.last_seen)`

/** The worker of queue $1 seen most recently (ties: the smallest owner). */
export const LAST_WORKER = `SELECT queue, owner, ${ms("last_seen")} AS last_seen FROM squid_mesh.workers
    WHERE queue = $1 ORDER BY last_seen DESC, owner LIMIT 1`

interface WorkerRow {
  readonly queue: string
  readonly owner: string
  readonly last_seen: number | string
}

/** Records that `owner` serves `queue` at `at`. */
export const recordWorker = async (client: SqlClient, queue: string, owner: string, at: number): Promise<void> => {
  await client.query(RECORD_WORKER, [queue, owner, at])
}

/** The worker of `queue` seen most recently, if any. */
export const lastWorkerSeen = async (client: SqlClient, queue: string): Promise<WorkerSeen | undefined> => {
  const [row] = await client.query<WorkerRow>(LAST_WORKER, [queue])
  return row ? { queue: row.queue, owner: row.owner, lastSeen: Number(row.last_seen) } : undefined
}
