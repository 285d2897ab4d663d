/**
 * The record sets the write statements share (runs, journal entries, attempts, tasks, audit
 * events), each declared once next to the function that encodes a model value as one of its
 * rows. JSON values travel as JSON text and times as float8 epoch milliseconds (see rows.ts).
 */
import type { AttemptRecord, CommandRecord, Entry, RunRecord } from "../../core/model.js"
import type { NewTask, StoredSpec } from "../Store.js"
import { recordSet, type RecordOf } from "./recordSet.js"
import { jsonParam, msParam } from "./rows.js"

/** Last one wins, by key, keeping first-seen order (one upsert statement cannot touch a row twice). */
export const dedupe = <A>(items: ReadonlyArray<A>, key: (a: A) => string): Array<A> => [...new Map(items.map((a) => [key(a), a])).values()]

/** A run, as `createRuns` inserts it. */
export const RUN_RECORD = recordSet({
  id: "uuid",
  workflow: "text",
  trigger: "text",
  queue: "text",
  status: "text",
  input: "text",
  output: "text",
  error: "text",
  revision: "int",
  idempotency_key: "text",
  request_hash: "text",
  definition_hash: "text",
  rerun_of: "uuid",
  parent_run_id: "uuid",
  parent_seq: "int",
  attributes: "text",
  scheduled_for: "float8",
  created_at: "float8",
  updated_at: "float8",
  finished_at: "float8",
})

/** A run as a row of `RUN_RECORD`. */
export const runRecord = (run: RunRecord): RecordOf<typeof RUN_RECORD.columns> => ({
  id: run.id,
  workflow: run.workflow,
  trigger: run.trigger,
  queue: run.queue,
  status: run.status,
  input: jsonParam(run.input),
  output: jsonParam(run.output),
  error: jsonParam(run.error),
  revision: run.revision,
  idempotency_key: run.idempotencyKey ?? null,
  request_hash: run.requestHash,
  definition_hash: run.definitionHash,
  rerun_of: run.rerunOf ?? null,
  parent_run_id: run.parentRunId ?? null,
  parent_seq: run.parentSeq ?? null,
  attributes: run.attributes === undefined ? null : JSON.stringify(run.attributes),
  scheduled_for: msParam(run.scheduledFor),
  created_at: run.createdAt,
  updated_at: run.updatedAt,
  finished_at: msParam(run.finishedAt),
})

/** A journal entry, without its run (statements key it by run id or commit index). */
export const ENTRY_RECORD = recordSet({
  seq: "int",
  kind: "text",
  name: "text",
  status: "text",
  input: "text",
  output: "text",
  error: "text",
  attempts: "int",
  created_at: "float8",
  resolved_at: "float8",
  deadline: "text",
  irreversible: "bool",
})

/** An entry as a row of `ENTRY_RECORD`. */
export const entryRecord = (entry: Entry): RecordOf<typeof ENTRY_RECORD.columns> => ({
  seq: entry.seq,
  kind: entry.kind,
  name: entry.name,
  status: entry.status,
  input: jsonParam(entry.input),
  output: jsonParam(entry.output),
  error: jsonParam(entry.error),
  attempts: entry.attempts,
  created_at: entry.createdAt,
  resolved_at: msParam(entry.resolvedAt),
  deadline: entry.deadline === undefined ? null : JSON.stringify(entry.deadline),
  irreversible: entry.irreversible ?? null,
})

/** Entries as rows, one per seq (the last given wins). */
export const entryRecords = (entries: ReadonlyArray<Entry>) => dedupe(entries, (e) => String(e.seq)).map(entryRecord)

/** An attempt of a step, without its run. */
export const ATTEMPT_RECORD = recordSet({
  seq: "int",
  attempt: "int",
  status: "text",
  error: "text",
  owner: "text",
  started_at: "float8",
  finished_at: "float8",
  retry_at: "float8",
})

/** An attempt as a row of `ATTEMPT_RECORD`. */
export const attemptRecord = (a: AttemptRecord): RecordOf<typeof ATTEMPT_RECORD.columns> => ({
  seq: a.seq,
  attempt: a.attempt,
  status: a.status,
  error: jsonParam(a.error),
  owner: a.owner,
  started_at: a.startedAt,
  finished_at: a.finishedAt,
  retry_at: msParam(a.retryAt),
})

/** A new task, without its run, with its inline claim when it has one. */
export const TASK_RECORD = recordSet({
  seq: "int",
  queue: "text",
  kind: "text",
  attempt: "int",
  visible_at: "float8",
  claim_id: "text",
  token_hash: "text",
  owner: "text",
  lease_until: "float8",
})

/** A new task as a row of `TASK_RECORD`. */
export const taskRecord = (t: NewTask): RecordOf<typeof TASK_RECORD.columns> => ({
  seq: t.seq,
  queue: t.queue,
  kind: t.kind,
  attempt: t.attempt,
  visible_at: t.visibleAt,
  claim_id: t.claim?.claimId ?? null,
  token_hash: t.claim?.tokenHash ?? null,
  owner: t.claim?.owner ?? null,
  lease_until: t.claim?.leaseUntil ?? null,
})

/** New tasks, one per (run, seq) (the last given wins). */
export const uniqueTasks = (tasks: ReadonlyArray<NewTask>): Array<NewTask> => dedupe(tasks, (t) => `${t.runId}#${t.seq}`)

/** An audit event (a control and its actor), without its run. */
export const COMMAND_RECORD = recordSet({
  kind: "text",
  actor: "text",
  note: "text",
  idempotency_key: "text",
  metadata: "text",
  seq: "int",
  at: "float8",
})

/** An audit event as a row of `COMMAND_RECORD`. */
export const commandRecord = (k: CommandRecord): RecordOf<typeof COMMAND_RECORD.columns> => ({
  kind: k.kind,
  actor: k.actor,
  note: k.note ?? null,
  idempotency_key: k.idempotencyKey ?? null,
  metadata: jsonParam(k.metadata),
  seq: k.seq ?? null,
  at: k.at,
})

/** A stored spec, keyed by the run it came with (only the specs of inserted runs are written). */
export const SPEC_RECORD = recordSet({
  run_id: "uuid",
  fingerprint: "text",
  name: "text",
  spec: "text",
  created_at: "float8",
})

/** A run's spec as a row of `SPEC_RECORD`. */
export const specRecord = (runId: string, spec: StoredSpec, createdAt: number): RecordOf<typeof SPEC_RECORD.columns> => ({
  run_id: runId,
  fingerprint: spec.fingerprint,
  name: spec.name,
  spec: spec.text,
  created_at: createdAt,
})
