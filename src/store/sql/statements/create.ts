/**
 * Creating runs: a batch of new runs, each with its first journal entries, tasks, attributes
 * (one `run_attributes` row per pair, for listing), the audit event of the control that
 * started it and, for a spec run, its spec (one `run_specs` row per fingerprint), in one
 * statement (one round trip, one transaction).
 */
import type { CreateRunResult, NewRun } from "../../Store.js"
import type { Planned } from "../planCache.js"
import {
  COMMAND_RECORD,
  ENTRY_RECORD,
  RUN_RECORD,
  SPEC_RECORD,
  TASK_RECORD,
  commandRecord,
  entryRecords,
  runRecord,
  specRecord,
  taskRecord,
  uniqueTasks,
} from "../records.js"
import { toRun, ts, type RunRow } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"
import { SELECT_RUN } from "./reads.js"

const RUN_ID = { run_id: "uuid" } as const
const ENTRIES = ENTRY_RECORD.keyedBy(RUN_ID)
const TASKS = TASK_RECORD.keyedBy(RUN_ID)
const COMMANDS = COMMAND_RECORD.keyedBy(RUN_ID)

/**
 * Inserts the runs, and the entries, tasks and audit events of the runs it inserted. A run
 * whose id exists is skipped whole (entries, tasks and events join the inserted ids), so a
 * retried start writes nothing twice.
 */
export const CREATE_RUNS = `WITH r AS (
      SELECT * FROM ${RUN_RECORD.from(1, "r")}
    ), ins AS (
      INSERT INTO squid_mesh.runs (id, workflow, trigger, queue, status, input, output, error, revision,
        idempotency_key, request_hash, definition_hash, rerun_of, parent_run_id, parent_seq, attributes, scheduled_for, created_at, updated_at, finished_at)
      SELECT r.id, r.workflow, r.trigger, r.queue, r.status, r.input::jsonb, r.output::jsonb, r.error::jsonb, r.revision,
        r.idempotency_key, r.request_hash, r.definition_hash, r.rerun_of, r.parent_run_id, r.parent_seq, r.attributes::jsonb,
        ${ts("r.scheduled_for")}, ${ts("r.created_at")}, ${ts("r.updated_at")}, ${ts("r.finished_at")}
      FROM r
      ON CONFLICT (id) DO NOTHING
      RETURNING id, attributes, created_at
    ), att AS (
      INSERT INTO squid_mesh.run_attributes (run_id, key, value, created_at)
      SELECT ins.id, kv.key, kv.value, ins.created_at
      FROM ins, jsonb_each_text(ins.attributes) AS kv
      WHERE ins.attributes IS NOT NULL
    ), ent AS (
      INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts, created_at, resolved_at, deadline, irreversible)
      SELECT e.run_id, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
        ${ts("e.created_at")}, ${ts("e.resolved_at")}, e.deadline::jsonb, e.irreversible
      FROM ${ENTRIES.from(2, "e")}
      WHERE e.run_id IN (SELECT id FROM ins)
    ), tsk AS (
      INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at, claim_id, token_hash, owner, lease_until)
      SELECT n.run_id, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("coalesce(n.lease_until, n.visible_at)")},
        n.claim_id, n.token_hash, n.owner, ${ts("n.lease_until")}
      FROM ${TASKS.from(3, "n")}
      WHERE n.run_id IN (SELECT id FROM ins)
    ), cmd AS (
      INSERT INTO squid_mesh.commands (run_id, kind, actor, note, idempotency_key, metadata, seq, at)
      SELECT k.run_id, k.kind, k.actor, k.note, k.idempotency_key, k.metadata::jsonb, k.seq, ${ts("k.at")}
      FROM ${COMMANDS.from(4, "k")}
      WHERE k.run_id IN (SELECT id FROM ins)
    ), spc AS (
      INSERT INTO squid_mesh.run_specs (fingerprint, name, spec, created_at)
      SELECT DISTINCT ON (s.fingerprint) s.fingerprint, s.name, s.spec, ${ts("s.created_at")}
      FROM ${SPEC_RECORD.from(5, "s")}
      WHERE s.run_id IN (SELECT id FROM ins)
      ON CONFLICT (fingerprint) DO NOTHING
    )
    SELECT id::text AS id FROM ins`

/**
 * Inserts a batch of runs (at most one per id) with `CREATE_RUNS`; returns one result per
 * input, in order: `Created`, or `Existing` with the stored run when the id was taken.
 */
export const createRuns = async (client: SqlClient, batch: ReadonlyArray<NewRun>, planned: Planned): Promise<ReadonlyArray<CreateRunResult>> => {
  const runs = batch.map(({ run }) => runRecord(run))
  const entries = batch.flatMap(({ run, entries: es }) => entryRecords(es).map((e) => ({ run_id: run.id, ...e })))
  const tasks = batch.flatMap(({ tasks: ts }) => uniqueTasks(ts).map((t) => ({ run_id: t.runId, ...taskRecord(t) })))
  const commands = batch.flatMap(({ run, command }) => (command ? [{ run_id: run.id, ...commandRecord(command) }] : []))
  const specs = batch.flatMap(({ run, spec }) => (spec ? [specRecord(run.id, spec, run.createdAt)] : []))
  const rows = await client.query<{ id: string }>(planned(CREATE_RUNS), [
    RUN_RECORD.param(runs),
    ENTRIES.param(entries),
    TASKS.param(tasks),
    COMMANDS.param(commands),
    SPEC_RECORD.param(specs),
  ])
  const inserted = new Set(rows.map((r) => r.id))
  return Promise.all(
    batch.map(async ({ run }): Promise<CreateRunResult> => {
      if (inserted.has(run.id)) return { _tag: "Created", run }
      const [existing] = await client.query<RunRow>(SELECT_RUN, [run.id])
      if (!existing) throw new Error(`run ${run.id} conflicted on insert but cannot be read`)
      return { _tag: "Existing", run: toRun(existing) }
    }),
  )
}
