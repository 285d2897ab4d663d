/**
 * Reads of one run (the run, its journal, attempts, tasks, children, inbox and audit events)
 * and pending deadlines across runs (listing runs is in listRuns.ts). Run ids are `uuid` columns: an id that is not a
 * UUID cannot exist, so a read answers "not found" for it without asking the database (as the
 * memory backend would).
 */
import { isUuid } from "../../../core/ids.js"
import type { AttemptRecord, CommandRecord, Entry, InboxSignal, RunRecord, TaskRecord } from "../../../core/model.js"
import type { PendingDeadline, StoredSpec } from "../../Store.js"
import {
  ATTEMPT_COLUMNS,
  ENTRY_COLUMNS,
  RUN_COLUMNS,
  TASK_COLUMNS,
  ms,
  toAttempt,
  toCommand,
  toEntry,
  toInboxSignal,
  toPendingDeadline,
  toRun,
  toTask,
  type AttemptRow,
  type CommandRow,
  type DeadlineRow,
  type EntryRow,
  type InboxRow,
  type RunRow,
  type TaskRow,
} from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/** One run by id. */
export const SELECT_RUN = `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs WHERE id = $1::uuid`
const SELECT_JOURNAL = `SELECT ${ENTRY_COLUMNS} FROM squid_mesh.entries WHERE run_id = $1::uuid ORDER BY seq`
const SELECT_ENTRY = `SELECT ${ENTRY_COLUMNS} FROM squid_mesh.entries WHERE run_id = $1::uuid AND seq = $2::int`
const SELECT_ATTEMPTS = `SELECT ${ATTEMPT_COLUMNS} FROM squid_mesh.attempts WHERE run_id = $1::uuid ORDER BY seq, attempt`
const SELECT_CHILDREN = `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs WHERE parent_run_id = $1::uuid ORDER BY created_at, id`
const SELECT_TASKS = `SELECT ${TASK_COLUMNS} FROM squid_mesh.tasks t WHERE t.run_id = $1::uuid ORDER BY t.seq`
const SELECT_INBOX = `SELECT id, name, payload::text AS payload, ${ms("received_at")} AS received_at
    FROM squid_mesh.signals WHERE run_id = $1::uuid AND consumed_seq IS NULL ORDER BY id`
const SELECT_COMMANDS = `SELECT kind, actor, note, idempotency_key, metadata::text AS metadata, seq, ${ms("at")} AS at
    FROM squid_mesh.commands WHERE run_id = $1::uuid ORDER BY id`
const PENDING_DEADLINES = `SELECT run_id::text AS run_id, seq, kind, name, deadline::text AS deadline
    FROM squid_mesh.entries WHERE status = 'pending' AND deadline IS NOT NULL LIMIT $1`

/** The rows of a per-run statement, mapped; none for an id that is not a UUID. */
const ofRun = async <R, A>(client: SqlClient, text: string, runId: string, map: (row: R) => A): Promise<Array<A>> =>
  isUuid(runId) ? (await client.query<R>(text, [runId])).map(map) : []

/** The run, or undefined when there is none. */
export const getRun = async (client: SqlClient, runId: string): Promise<RunRecord | undefined> => (await ofRun(client, SELECT_RUN, runId, toRun))[0]

/** The run's journal, by seq. */
export const getJournal = (client: SqlClient, runId: string): Promise<Array<Entry>> => ofRun(client, SELECT_JOURNAL, runId, (r: EntryRow) => toEntry(r))

/** One entry of a run's journal, if there is one at `seq`. */
export const getEntry = async (client: SqlClient, runId: string, seq: number): Promise<Entry | undefined> => {
  if (!isUuid(runId)) return undefined
  const [row] = await client.query<EntryRow>(SELECT_ENTRY, [runId, seq])
  return row ? toEntry(row) : undefined
}

/** The run's step attempts, by seq then attempt. */
export const getAttempts = (client: SqlClient, runId: string): Promise<Array<AttemptRecord>> =>
  ofRun(client, SELECT_ATTEMPTS, runId, (r: AttemptRow) => toAttempt(r))

/** The run's child runs, oldest first. */
export const getChildren = (client: SqlClient, runId: string): Promise<Array<RunRecord>> => ofRun(client, SELECT_CHILDREN, runId, (r: RunRow) => toRun(r))

/** The run's tasks, by seq. */
export const getTasks = (client: SqlClient, runId: string): Promise<Array<TaskRecord>> => ofRun(client, SELECT_TASKS, runId, (r: TaskRow) => toTask(r))

/** The run's unconsumed inbox signals, oldest first. */
export const getInbox = (client: SqlClient, runId: string): Promise<Array<InboxSignal>> => ofRun(client, SELECT_INBOX, runId, (r: InboxRow) => toInboxSignal(r))

/** The run's audit events, oldest first. */
export const getCommands = (client: SqlClient, runId: string): Promise<Array<CommandRecord>> =>
  ofRun(client, SELECT_COMMANDS, runId, (r: CommandRow) => toCommand(r))

/** Up to `limit` pending journal entries that have a deadline. */
export const pendingDeadlines = async (client: SqlClient, limit: number): Promise<Array<PendingDeadline>> =>
  (await client.query<DeadlineRow>(PENDING_DEADLINES, [limit])).map(toPendingDeadline)

const SELECT_SPEC = "SELECT fingerprint, name, spec FROM squid_mesh.run_specs WHERE fingerprint = $1"

/** A stored spec by fingerprint, or undefined. */
export const getSpec = async (client: SqlClient, fingerprint: string): Promise<StoredSpec | undefined> => {
  const [row] = await client.query<{ fingerprint: string; name: string; spec: string }>(SELECT_SPEC, [fingerprint])
  return row ? { fingerprint: row.fingerprint, name: row.name, text: row.spec } : undefined
}
