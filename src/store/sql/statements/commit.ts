/**
 * The fenced commit: a batch of commits (at most one per run) in one statement, so one round
 * trip and one transaction whatever the batch size. This is the hot path: a sequential run
 * costs one of these per step (see DESIGN.md §3, "Speed comes from round trips").
 */
import { isUuid, sha256Hex } from "../../../core/ids.js"
import type { FenceReason } from "../../../core/model.js"
import type { Commit, CommitResult } from "../../Store.js"
import type { Planned } from "../planCache.js"
import { recordSet } from "../recordSet.js"
import { ATTEMPT_RECORD, COMMAND_RECORD, ENTRY_RECORD, TASK_RECORD, attemptRecord, commandRecord, entryRecords, taskRecord, uniqueTasks } from "../records.js"
import { jsonParam, ts } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/** Every row of the commit statement is keyed by `i`, the commit's index in its batch. */
const INDEX = { i: "int" } as const

/** One commit's head: its run, fence, expected revision, claimed task's disposition and run change. */
const HEADS = recordSet({
  ...INDEX,
  run_id: "uuid",
  now: "float8",
  fence_seq: "int",
  claim_id: "text",
  token_hash: "text",
  expected: "int",
  disp: "text",
  r_attempt: "int",
  r_visible: "float8",
  status: "text",
  output: "text",
  error: "text",
  parent_id: "uuid",
  parent_seq: "int",
})
const ENTRIES = ENTRY_RECORD.keyedBy(INDEX)
const ATTEMPTS = ATTEMPT_RECORD.keyedBy(INDEX)
const TASKS = TASK_RECORD.keyedBy(INDEX)
/** Tasks the commit withdraws (their waits were cancelled). */
const WITHDRAWN = recordSet({ ...INDEX, seq: "int" })
const COMMANDS = COMMAND_RECORD.keyedBy(INDEX)
/** A signal delivered to the run's inbox. */
const DELIVERED = recordSet({ ...INDEX, name: "text", payload: "text", received_at: "float8" })
/** Inbox signals consumed by the journal entries at `seq`. */
const CONSUMED = recordSet({ ...INDEX, id: "bigint", seq: "int" })

/**
 * Locks the runs and the claimed task rows (in id order, so concurrent batches cannot
 * deadlock), decides a verdict per commit (the same reasons and precedence as the memory
 * backend), and every write joins the commits whose verdict is ok, so a rejected commit writes
 * nothing. Each locked row is modified at most once: claimed tasks by done/retry only, other
 * tasks by the withdrawal only, runs by the final update.
 */
export const COMMIT = `WITH c AS (
      SELECT * FROM ${HEADS.from(1, "c")}
    ), run AS (
      -- The commits' runs and the parents they may wake, locked in id order.
      SELECT r.id, r.status, r.revision FROM squid_mesh.runs r
      WHERE r.id IN (SELECT run_id FROM c UNION SELECT parent_id FROM c WHERE parent_id IS NOT NULL)
      ORDER BY r.id FOR UPDATE
    ), fence AS (
      -- Joined with \`run\`, so a task row is locked only after its run's row: every commit locks
      -- a run before its tasks, and two commits cannot wait on each other (a settle task's
      -- commit locks its fence while node commits of the same run upsert that task).
      SELECT t.run_id, t.seq, t.claim_id, t.token_hash, t.lease_until FROM squid_mesh.tasks t
      JOIN run ON run.id = t.run_id
      WHERE (t.run_id, t.seq) IN (SELECT run_id, fence_seq FROM c WHERE fence_seq IS NOT NULL)
      ORDER BY t.run_id, t.seq FOR UPDATE OF t
    ), verdict AS (
      SELECT c.i, c.run_id, CASE
        WHEN r.status IS NULL THEN 'run_not_found'
        WHEN r.status IN ('completed', 'failed', 'cancelled') THEN 'terminal_run'
        WHEN c.fence_seq IS NOT NULL AND (f.claim_id = c.claim_id AND f.token_hash = c.token_hash) IS NOT TRUE THEN 'stale_claim'
        WHEN c.fence_seq IS NOT NULL AND (f.lease_until > ${ts("c.now")}) IS NOT TRUE THEN 'expired_claim'
        WHEN c.expected IS NOT NULL AND r.revision <> c.expected THEN 'revision_conflict'
        ELSE 'ok' END AS reason
      FROM c LEFT JOIN run r ON r.id = c.run_id LEFT JOIN fence f ON f.run_id = c.run_id AND f.seq = c.fence_seq
    ), ok AS (
      SELECT c.*, coalesce(c.status IN ('completed', 'failed', 'cancelled'), false) AS terminal
      FROM c JOIN verdict v ON v.i = c.i WHERE v.reason = 'ok'
    ), done AS (
      DELETE FROM squid_mesh.tasks t USING ok
      WHERE t.run_id = ok.run_id AND t.seq = ok.fence_seq AND ok.disp = 'done'
    ), retry AS (
      UPDATE squid_mesh.tasks t SET attempt = ok.r_attempt, visible_at = ${ts("ok.r_visible")}, available_at = ${ts("ok.r_visible")},
        claim_id = NULL, token_hash = NULL, owner = NULL, lease_until = NULL
      FROM ok WHERE t.run_id = ok.run_id AND t.seq = ok.fence_seq AND ok.disp = 'retry'
    ), ent AS (
      INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts, created_at, resolved_at, deadline, irreversible)
      SELECT ok.run_id, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
        ${ts("e.created_at")}, ${ts("e.resolved_at")}, e.deadline::jsonb, e.irreversible
      FROM ${ENTRIES.from(2, "e")} JOIN ok ON ok.i = e.i
      ON CONFLICT (run_id, seq) DO UPDATE SET kind = excluded.kind, name = excluded.name, status = excluded.status,
        input = excluded.input, output = excluded.output, error = excluded.error, attempts = excluded.attempts,
        created_at = excluded.created_at, resolved_at = excluded.resolved_at, deadline = excluded.deadline,
        irreversible = excluded.irreversible
    ), att AS (
      INSERT INTO squid_mesh.attempts (run_id, seq, attempt, status, error, owner, started_at, finished_at, retry_at)
      SELECT ok.run_id, a.seq, a.attempt, a.status, a.error::jsonb, a.owner,
        ${ts("a.started_at")}, ${ts("a.finished_at")}, ${ts("a.retry_at")}
      FROM ${ATTEMPTS.from(3, "a")} JOIN ok ON ok.i = a.i
    ), withdrawn AS (
      DELETE FROM squid_mesh.tasks t USING ok
      WHERE t.run_id = ok.run_id
        AND t.seq IS DISTINCT FROM (CASE WHEN ok.disp IS NULL THEN NULL ELSE ok.fence_seq END)
        AND (ok.terminal OR t.seq IN (SELECT w.seq FROM ${WITHDRAWN.from(5, "w")} WHERE w.i = ok.i))
    ), tsk AS (
      INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at, claim_id, token_hash, owner, lease_until)
      SELECT ok.run_id, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("coalesce(n.lease_until, n.visible_at)")},
        n.claim_id, n.token_hash, n.owner, ${ts("n.lease_until")}
      FROM ${TASKS.from(4, "n")} JOIN ok ON ok.i = n.i
      WHERE NOT ok.terminal
      ON CONFLICT (run_id, seq) DO UPDATE SET queue = excluded.queue, kind = excluded.kind, attempt = excluded.attempt,
        visible_at = excluded.visible_at, available_at = excluded.available_at, claim_id = excluded.claim_id,
        token_hash = excluded.token_hash, owner = excluded.owner, lease_until = excluded.lease_until
    ), written AS (
      UPDATE squid_mesh.runs r SET
        revision = r.revision + CASE WHEN ok.expected IS NULL THEN 0 ELSE 1 END,
        updated_at = ${ts("ok.now")},
        status = coalesce(ok.status, r.status),
        output = CASE WHEN ok.status IS NULL THEN r.output ELSE ok.output::jsonb END,
        error = CASE WHEN ok.status IS NULL THEN r.error ELSE ok.error::jsonb END,
        finished_at = CASE WHEN ok.terminal THEN ${ts("ok.now")} ELSE r.finished_at END
      FROM ok WHERE r.id = ok.run_id
      RETURNING r.id, r.revision
    ), parent_bump AS (
      UPDATE squid_mesh.runs p SET revision = p.revision + 1
      FROM ok WHERE p.id = ok.parent_id AND ok.terminal AND p.status NOT IN ('completed', 'failed', 'cancelled')
    ), parent_task AS (
      -- The claim test lives in SET, not WHERE: SET is re-evaluated on the newest row when the
      -- parent's park commits first (a WHERE filter would use this statement's older snapshot,
      -- see the task still claimed and skip the wake).
      UPDATE squid_mesh.tasks t
      SET visible_at = CASE WHEN t.claim_id IS NULL THEN ${ts("ok.now")} ELSE t.visible_at END,
        available_at = CASE WHEN t.claim_id IS NULL THEN ${ts("ok.now")} ELSE t.available_at END
      FROM ok WHERE t.run_id = ok.parent_id AND t.seq = ok.parent_seq AND ok.terminal
    ), cmd AS (
      INSERT INTO squid_mesh.commands (run_id, kind, actor, note, idempotency_key, metadata, seq, at)
      SELECT ok.run_id, k.kind, k.actor, k.note, k.idempotency_key, k.metadata::jsonb, k.seq, ${ts("k.at")}
      FROM ${COMMANDS.from(6, "k")} JOIN ok ON ok.i = k.i
      ON CONFLICT DO NOTHING
    ), delivered AS (
      INSERT INTO squid_mesh.signals (run_id, name, payload, received_at)
      SELECT ok.run_id, d.name, d.payload::jsonb, ${ts("d.received_at")}
      FROM ${DELIVERED.from(7, "d")} JOIN ok ON ok.i = d.i
    ), consumed AS (
      UPDATE squid_mesh.signals s SET consumed_seq = u.seq
      FROM ${CONSUMED.from(8, "u")} JOIN ok ON ok.i = u.i
      WHERE s.run_id = ok.run_id AND s.id = u.id
    )
    SELECT v.i, v.reason, w.revision FROM verdict v LEFT JOIN written w ON w.id = v.run_id ORDER BY v.i`

/** The head row of a commit (index `i` in its batch). */
const headRecord = (c: Commit, i: number) => {
  const f = c.fence
  return {
    i,
    run_id: c.runId,
    now: c.now,
    fence_seq: f?.seq ?? null,
    // A claim on another run's task can never fence this run: make it unmatchable (stale).
    claim_id: f ? (f.runId === c.runId ? f.claimId : "") : null,
    token_hash: f ? sha256Hex(f.token) : null,
    expected: c.expectedRevision ?? null,
    disp: f && c.task ? (c.task._tag === "Done" ? "done" : "retry") : null,
    r_attempt: c.task?._tag === "Retry" ? c.task.attempt : null,
    r_visible: c.task?._tag === "Retry" ? c.task.visibleAt : null,
    status: c.run?.status ?? null,
    output: jsonParam(c.run?.output),
    error: jsonParam(c.run?.error),
    parent_id: c.wakeParent?.runId ?? null,
    parent_seq: c.wakeParent?.seq ?? null,
  }
}

/**
 * Commits a batch (at most one commit per run) with `COMMIT`; returns one result per input,
 * in order. A commit on an id that is not a UUID is `run_not_found` without asking.
 */
export const commits = async (client: SqlClient, batch: ReadonlyArray<Commit>, planned: Planned): Promise<ReadonlyArray<CommitResult>> => {
  const results: Array<CommitResult | undefined> = batch.map((c) => (isUuid(c.runId) ? undefined : { _tag: "Rejected", reason: "run_not_found" }))
  const live = batch.map((c, i) => ({ c, i })).filter(({ i }) => results[i] === undefined)
  if (live.length > 0) {
    const rows = await client.query<{ i: number; reason: string; revision: number | string | null }>(planned(COMMIT), [
      HEADS.param(live.map(({ c, i }) => headRecord(c, i))),
      ENTRIES.param(live.flatMap(({ c, i }) => entryRecords([...c.resolve, ...c.append]).map((e) => ({ i, ...e })))),
      ATTEMPTS.param(live.flatMap(({ c, i }) => c.attempts.map((a) => ({ i, ...attemptRecord(a) })))),
      TASKS.param(live.flatMap(({ c, i }) => uniqueTasks(c.tasks).map((t) => ({ i, ...taskRecord(t) })))),
      WITHDRAWN.param(live.flatMap(({ c, i }) => c.withdraw.map((seq) => ({ i, seq })))),
      COMMANDS.param(live.flatMap(({ c, i }) => (c.command ? [{ i, ...commandRecord(c.command) }] : []))),
      DELIVERED.param(
        live.flatMap(({ c, i }) =>
          c.deliver ? [{ i, name: c.deliver.name, payload: JSON.stringify(c.deliver.payload), received_at: c.deliver.receivedAt }] : [],
        ),
      ),
      CONSUMED.param(live.flatMap(({ c, i }) => (c.consume ?? []).map(({ id, seq }) => ({ i, id, seq })))),
    ])
    for (const row of rows) {
      results[Number(row.i)] =
        row.reason === "ok" ? { _tag: "Committed", revision: Number(row.revision) } : { _tag: "Rejected", reason: row.reason as FenceReason }
    }
  }
  return results.map((r) => r ?? { _tag: "Rejected", reason: "run_not_found" })
}
