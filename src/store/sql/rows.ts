/**
 * Row shapes of the SQL store and their mapping to the model. The store selects JSON columns
 * as text (so SQL NULL, meaning "absent", stays distinct from the jsonb `null` literal) and
 * times as float8 epoch milliseconds (exact for any millisecond timestamp), so the mapping is
 * the same for every driver.
 */
import type { Json } from "../../core/json.js"
import type {
  AttemptRecord,
  ClaimedTask,
  CommandRecord,
  Entry,
  EntryKind,
  EntryStatus,
  ErrorInfo,
  InboxSignal,
  RunRecord,
  RunStatus,
  TaskKind,
  TaskRecord,
} from "../../core/model.js"
import type { PendingDeadline } from "../Store.js"

/** SQL expression turning a float8 epoch-ms parameter or column into a timestamptz. */
export const ts = (expr: string): string => `(timestamptz 'epoch' + ${expr}::float8 * interval '1 millisecond')`

/** SQL expression turning a timestamptz column into float8 epoch milliseconds. */
export const ms = (column: string): string => `(extract(epoch from ${column}) * 1000)::float8`

/** A value for a `$n::text::jsonb` parameter: JSON text, or null (SQL NULL) when absent. */
export const jsonParam = (value: Json | ErrorInfo | undefined): string | null => (value === undefined ? null : JSON.stringify(value))

/** A value for a `$n::float8` time parameter. */
export const msParam = (value: number | undefined): number | null => (value === undefined ? null : value)

const num = (value: unknown): number => (typeof value === "number" ? value : Number(value))
const optNum = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : num(value))
const optJson = (text: unknown): Json | undefined => (text === null || text === undefined ? undefined : (JSON.parse(String(text)) as Json))
const optError = (text: unknown): ErrorInfo | undefined => optJson(text) as ErrorInfo | undefined

/** Columns of a run, in the shape `RunRow` expects. */
export const RUN_COLUMNS = `id::text AS id, workflow, trigger, queue, status, input::text AS input, output::text AS output,
  error::text AS error, revision, idempotency_key, request_hash, definition_hash, rerun_of::text AS rerun_of,
  parent_run_id::text AS parent_run_id, parent_seq, attributes::text AS attributes, ${ms("scheduled_for")} AS scheduled_for,
  ${ms("created_at")} AS created_at, ${ms("updated_at")} AS updated_at, ${ms("finished_at")} AS finished_at`

/** A run as the store selects it (`RUN_COLUMNS`). */
export interface RunRow {
  readonly id: string
  readonly workflow: string
  readonly trigger: string
  readonly queue: string
  readonly status: string
  readonly input: string
  readonly output: string | null
  readonly error: string | null
  readonly revision: number | string
  readonly idempotency_key: string | null
  readonly request_hash: string
  readonly definition_hash: string
  readonly rerun_of: string | null
  readonly parent_run_id: string | null
  readonly parent_seq: number | string | null
  readonly attributes: string | null
  readonly scheduled_for: number | string | null
  readonly created_at: number | string
  readonly updated_at: number | string
  readonly finished_at: number | string | null
}

/** Maps a selected run row to the model. */
export const toRun = (row: RunRow): RunRecord => {
  const output = optJson(row.output)
  const error = optError(row.error)
  const finishedAt = optNum(row.finished_at)
  const scheduledFor = optNum(row.scheduled_for)
  return {
    id: row.id,
    workflow: row.workflow,
    trigger: row.trigger,
    queue: row.queue,
    status: row.status as RunStatus,
    input: JSON.parse(row.input) as Json,
    ...(output !== undefined ? { output } : {}),
    ...(error !== undefined ? { error } : {}),
    revision: num(row.revision),
    ...(row.idempotency_key !== null ? { idempotencyKey: row.idempotency_key } : {}),
    requestHash: row.request_hash,
    definitionHash: row.definition_hash,
    ...(row.rerun_of !== null && row.rerun_of !== undefined ? { rerunOf: row.rerun_of } : {}),
    ...(row.parent_run_id !== null && row.parent_run_id !== undefined ? { parentRunId: row.parent_run_id, parentSeq: num(row.parent_seq) } : {}),
    ...(row.attributes !== null && row.attributes !== undefined ? { attributes: JSON.parse(row.attributes) as Record<string, string> } : {}),
    ...(scheduledFor !== undefined ? { scheduledFor } : {}),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  }
}

/** Columns of a journal entry, in the shape `EntryRow` expects. */
export const ENTRY_COLUMNS = `seq, kind, name, status, input::text AS input, output::text AS output, error::text AS error,
  attempts, ${ms("created_at")} AS created_at, ${ms("resolved_at")} AS resolved_at, deadline::text AS deadline, irreversible`

/** A journal entry as the store selects it (`ENTRY_COLUMNS`). */
export interface EntryRow {
  readonly seq: number | string
  readonly kind: string
  readonly name: string
  readonly status: string
  readonly input: string | null
  readonly output: string | null
  readonly error: string | null
  readonly attempts: number | string
  readonly created_at: number | string
  readonly resolved_at: number | string | null
  readonly deadline: string | null
  readonly irreversible: boolean | null
}

/** Maps a selected journal entry row to the model. */
export const toEntry = (row: EntryRow): Entry => {
  const input = optJson(row.input)
  const output = optJson(row.output)
  const error = optError(row.error)
  const resolvedAt = optNum(row.resolved_at)
  return {
    seq: num(row.seq),
    kind: row.kind as EntryKind,
    name: row.name,
    status: row.status as EntryStatus,
    ...(input !== undefined ? { input } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(error !== undefined ? { error } : {}),
    attempts: num(row.attempts),
    createdAt: num(row.created_at),
    ...(resolvedAt !== undefined ? { resolvedAt } : {}),
    ...(row.deadline !== null && row.deadline !== undefined ? { deadline: JSON.parse(row.deadline) as NonNullable<Entry["deadline"]> } : {}),
    ...(typeof row.irreversible === "boolean" ? { irreversible: row.irreversible } : {}),
  }
}

/** Columns of an attempt, in the shape `AttemptRow` expects. */
export const ATTEMPT_COLUMNS = `seq, attempt, status, error::text AS error, owner,
  ${ms("started_at")} AS started_at, ${ms("finished_at")} AS finished_at, ${ms("retry_at")} AS retry_at`

/** An attempt as the store selects it (`ATTEMPT_COLUMNS`). */
export interface AttemptRow {
  readonly seq: number | string
  readonly attempt: number | string
  readonly status: string
  readonly error: string | null
  readonly owner: string
  readonly started_at: number | string
  readonly finished_at: number | string
  readonly retry_at: number | string | null
}

/** Maps a selected attempt row to the model. */
export const toAttempt = (row: AttemptRow): AttemptRecord => {
  const error = optError(row.error)
  const retryAt = optNum(row.retry_at)
  return {
    seq: num(row.seq),
    attempt: num(row.attempt),
    status: row.status as AttemptRecord["status"],
    ...(error !== undefined ? { error } : {}),
    owner: row.owner,
    startedAt: num(row.started_at),
    finishedAt: num(row.finished_at),
    ...(retryAt !== undefined ? { retryAt } : {}),
  }
}

/** Columns of a task (qualified by `t.`), in the shape `TaskRow` expects. */
export const TASK_COLUMNS = `t.run_id::text AS run_id, t.seq, t.queue, t.kind, t.attempt, ${ms("t.visible_at")} AS visible_at,
  t.claim_id, t.owner, ${ms("t.lease_until")} AS lease_until`

/** A task as the store selects it (`TASK_COLUMNS`). */
export interface TaskRow {
  readonly run_id: string
  readonly seq: number | string
  readonly queue: string
  readonly kind: string
  readonly attempt: number | string
  readonly visible_at: number | string
  readonly claim_id: string | null
  readonly owner: string | null
  readonly lease_until: number | string | null
}

/** Maps a selected task row to the model; its claim (owner, claim id, lease) when it has one. */
export const toTask = (row: TaskRow): TaskRecord => ({
  runId: row.run_id,
  seq: num(row.seq),
  queue: row.queue,
  kind: row.kind as TaskKind,
  attempt: num(row.attempt),
  visibleAt: num(row.visible_at),
  ...(row.owner !== null ? { owner: row.owner, claimId: row.claim_id ?? "", leaseUntil: num(row.lease_until) } : {}),
})

/** A claimed task row: a task plus its run's workflow. */
export interface ClaimRow extends TaskRow {
  readonly workflow: string
  readonly revision: number | string
}

/** Maps a row the claim statement returned to a claimed task, with the token only this worker knows. */
export const toClaimed = (row: ClaimRow, token: string): ClaimedTask => ({
  runId: row.run_id,
  seq: num(row.seq),
  queue: row.queue,
  kind: row.kind as TaskKind,
  attempt: num(row.attempt),
  visibleAt: num(row.visible_at),
  workflow: row.workflow,
  owner: row.owner ?? "",
  claimId: row.claim_id ?? "",
  token,
  leaseUntil: num(row.lease_until),
  revision: num(row.revision),
})

/** An unconsumed inbox signal, as `getInbox` selects it. */
export interface InboxRow {
  readonly id: number | string
  readonly name: string
  readonly payload: string
  readonly received_at: number | string
}

/** Maps a selected inbox row to the model. */
export const toInboxSignal = (row: InboxRow): InboxSignal => ({
  id: num(row.id),
  name: row.name,
  payload: JSON.parse(row.payload) as Json,
  receivedAt: num(row.received_at),
})

/** An audit event, as `getCommands` selects it. */
export interface CommandRow {
  readonly kind: string
  readonly actor: string
  readonly note: string | null
  readonly idempotency_key: string | null
  readonly metadata: string | null
  readonly seq: number | string | null
  readonly at: number | string
}

/** Maps a selected audit event row to the model (absent fields stay absent). */
export const toCommand = (row: CommandRow): CommandRecord => ({
  kind: row.kind as CommandRecord["kind"],
  actor: row.actor,
  ...(row.note !== null ? { note: row.note } : {}),
  ...(row.idempotency_key !== null ? { idempotencyKey: row.idempotency_key } : {}),
  ...(row.metadata !== null ? { metadata: JSON.parse(row.metadata) as Json } : {}),
  ...(row.seq !== null ? { seq: num(row.seq) } : {}),
  at: num(row.at),
})

/** A pending entry with a deadline, as `pendingDeadlines` selects it. */
export interface DeadlineRow {
  readonly run_id: string
  readonly seq: number | string
  readonly kind: string
  readonly name: string
  readonly deadline: string
}

/** Maps a selected deadline row to the model. */
export const toPendingDeadline = (row: DeadlineRow): PendingDeadline => ({
  runId: row.run_id,
  seq: num(row.seq),
  kind: row.kind as PendingDeadline["kind"],
  name: row.name,
  deadline: JSON.parse(row.deadline) as PendingDeadline["deadline"],
})
