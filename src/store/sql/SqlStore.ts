/**
 * The SQL Store backend, written against the tiny `SqlClient` driver interface so PGlite and
 * postgres.js share the same statements. It follows the same contract as the memory backend
 * (test/contract/): the same fence rules and rejection reasons, the same claim order.
 *
 * Design notes:
 * - A task is claimable when `available_at <= now`; `available_at` is `visible_at` while the
 *   task is unclaimed and `lease_until` while it is claimed, so one index
 *   `(queue, available_at, run_id, seq)` serves claims (in claim order) and `nextDueAt`.
 * - `commit` runs in one transaction: lock the run row (`FOR UPDATE`), lock and check the
 *   claimed task row, check the revision, and only then write. A rejection writes nothing.
 * - JSON is sent as JSON text (`$n::text::jsonb`) and read back as text; times are sent and
 *   read as float8 epoch milliseconds (see rows.ts).
 * - Run ids are `uuid` columns. An id that is not a UUID cannot exist, so reads answer "not
 *   found" for it without asking the database (like the memory backend would).
 */
import { Effect, Exit, Runtime } from "effect"
import type { StoreError } from "../../core/errors.js"
import { isUuid, newClaim, sha256Hex } from "../../core/ids.js"
import type { Json } from "../../core/json.js"
import type { CommandRecord, Entry, FenceReason, InboxSignal } from "../../core/model.js"
import type { ClaimOptions, ClaimRef, Commit, CommitResult, CreateRunResult, NewRun, NewTask, PendingDeadline, RunFilter, StoreService, TransactionScope } from "../Store.js"
import { makeBatcher } from "./batcher.js"
import type { SqlClient } from "./SqlClient.js"
import {
  ATTEMPT_COLUMNS,
  ATTEMPT_RECORDSET,
  ENTRY_COLUMNS,
  ENTRY_RECORDSET,
  RUN_COLUMNS,
  TASK_COLUMNS,
  TASK_RECORDSET,
  ms,
  attemptRecord,
  entryRecord,
  jsonParam,
  msParam,
  toAttempt,
  toClaimed,
  toEntry,
  toRun,
  toTask,
  ts,
  type AttemptRow,
  type ClaimRow,
  type EntryRow,
  type RunRow,
  type TaskRow,
} from "./rows.js"
import { storeError } from "./storeError.js"

/**
 * The batch statements stay prepared (planning them costs about as much as running them), but
 * their text carries a plan generation that changes every minute, so each connection
 * re-prepares them with the tables' current sizes. A plan cached while the tables were tiny
 * (sequential scans) would otherwise outlive their growth until the next ANALYZE.
 */
const PLAN_GENERATION_MS = 60_000
const plannedCache = new Map<string, { readonly generation: number; readonly text: string }>()
const planned = (sql: string): string => {
  const generation = Math.floor(Date.now() / PLAN_GENERATION_MS)
  const hit = plannedCache.get(sql)
  if (hit && hit.generation === generation) return hit.text
  const text = `${sql}\n-- plan generation ${generation}`
  plannedCache.set(sql, { generation, text })
  return text
}

/** NOTIFYs for one queue within this window are sent once. */
const WAKE_COALESCE_MS = 5

const CLEAR_CLAIM = "claim_id = NULL, token_hash = NULL, owner = NULL, lease_until = NULL"

const SQL = {
  selectRun: `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs WHERE id = $1::uuid`,
  selectJournal: `SELECT ${ENTRY_COLUMNS} FROM squid_mesh.entries WHERE run_id = $1::uuid ORDER BY seq`,
  selectAttempts: `SELECT ${ATTEMPT_COLUMNS} FROM squid_mesh.attempts WHERE run_id = $1::uuid ORDER BY seq, attempt`,
  selectChildren: `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs WHERE parent_run_id = $1::uuid ORDER BY created_at, id`,
  pendingDeadlines: `SELECT run_id::text AS run_id, seq, kind, name, deadline::text AS deadline
    FROM squid_mesh.entries WHERE status = 'pending' AND deadline IS NOT NULL LIMIT $1`,
  selectInbox: `SELECT id, name, payload::text AS payload, ${ms("received_at")} AS received_at
    FROM squid_mesh.signals WHERE run_id = $1::uuid AND consumed_seq IS NULL ORDER BY id`,
  selectCommands: `SELECT kind, actor, note, idempotency_key, metadata::text AS metadata, seq, ${ms("at")} AS at
    FROM squid_mesh.commands WHERE run_id = $1::uuid ORDER BY id`,
  selectTasks: `SELECT ${TASK_COLUMNS} FROM squid_mesh.tasks t WHERE t.run_id = $1::uuid ORDER BY t.seq`,
  /**
   * createRun for a batch of runs in one statement: each run, its first entries and tasks.
   * A run whose id exists is skipped whole (entries and tasks join the inserted ids).
   */
  createRuns: `WITH r AS (
      SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS r(id uuid, workflow text, trigger text, queue text, status text,
        input text, output text, error text, revision int, idempotency_key text, request_hash text, definition_hash text,
        rerun_of uuid, parent_run_id uuid, parent_seq int, created_at float8, updated_at float8, finished_at float8)
    ), ins AS (
      INSERT INTO squid_mesh.runs (id, workflow, trigger, queue, status, input, output, error, revision,
        idempotency_key, request_hash, definition_hash, rerun_of, parent_run_id, parent_seq, created_at, updated_at, finished_at)
      SELECT r.id, r.workflow, r.trigger, r.queue, r.status, r.input::jsonb, r.output::jsonb, r.error::jsonb, r.revision,
        r.idempotency_key, r.request_hash, r.definition_hash, r.rerun_of, r.parent_run_id, r.parent_seq,
        ${ts("r.created_at")}, ${ts("r.updated_at")}, ${ts("r.finished_at")}
      FROM r
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ), ent AS (
      INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts, created_at, resolved_at, deadline)
      SELECT e.run_id, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
        ${ts("e.created_at")}, ${ts("e.resolved_at")}, e.deadline::jsonb
      FROM jsonb_to_recordset($2::text::jsonb) AS ${ENTRY_RECORDSET.replace("e(", "e(run_id uuid, ")}
      WHERE e.run_id IN (SELECT id FROM ins)
    ), tsk AS (
      INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at, claim_id, token_hash, owner, lease_until)
      SELECT n.run_id, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("coalesce(n.lease_until, n.visible_at)")},
        n.claim_id, n.token_hash, n.owner, ${ts("n.lease_until")}
      FROM jsonb_to_recordset($3::text::jsonb) AS ${TASK_RECORDSET}
      WHERE n.run_id IN (SELECT id FROM ins)
    ), cmd AS (
      INSERT INTO squid_mesh.commands (run_id, kind, actor, note, idempotency_key, metadata, seq, at)
      SELECT k.run_id, k.kind, k.actor, k.note, k.idempotency_key, k.metadata::jsonb, k.seq, ${ts("k.at")}
      FROM jsonb_to_recordset($4::text::jsonb) AS k(run_id uuid, kind text, actor text, note text, idempotency_key text,
        metadata text, seq int, at float8)
      WHERE k.run_id IN (SELECT id FROM ins)
    )
    SELECT id::text AS id FROM ins`,
  /**
   * The fenced commit of a batch of commits (at most one per run) in one statement: one
   * round trip and one transaction. It locks the runs and the claimed task rows (in id order,
   * so concurrent batches cannot deadlock), decides a verdict per commit (the same reasons and
   * precedence as the memory backend), and every write joins the commits whose verdict is ok,
   * so a rejected commit writes nothing. Each locked row is modified at most once: claimed
   * tasks by done/retry only, other tasks by the withdrawal only, runs by the final update.
   */
  commit: `WITH c AS (
      SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS c(i int, run_id uuid, now float8, fence_seq int, claim_id text,
        token_hash text, expected int, disp text, r_attempt int, r_visible float8, status text, output text, error text,
        parent_id uuid, parent_seq int)
    ), run AS (
      -- The commits' runs and the parents they may wake, locked in id order.
      SELECT r.id, r.status, r.revision FROM squid_mesh.runs r
      WHERE r.id IN (SELECT run_id FROM c UNION SELECT parent_id FROM c WHERE parent_id IS NOT NULL)
      ORDER BY r.id FOR UPDATE
    ), fence AS (
      SELECT t.run_id, t.seq, t.claim_id, t.token_hash, t.lease_until FROM squid_mesh.tasks t
      WHERE (t.run_id, t.seq) IN (SELECT run_id, fence_seq FROM c WHERE fence_seq IS NOT NULL)
      ORDER BY t.run_id, t.seq FOR UPDATE
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
      INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts, created_at, resolved_at, deadline)
      SELECT ok.run_id, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
        ${ts("e.created_at")}, ${ts("e.resolved_at")}, e.deadline::jsonb
      FROM jsonb_to_recordset($2::text::jsonb) AS ${ENTRY_RECORDSET.replace("e(", "e(i int, ")} JOIN ok ON ok.i = e.i
      ON CONFLICT (run_id, seq) DO UPDATE SET kind = excluded.kind, name = excluded.name, status = excluded.status,
        input = excluded.input, output = excluded.output, error = excluded.error, attempts = excluded.attempts,
        created_at = excluded.created_at, resolved_at = excluded.resolved_at, deadline = excluded.deadline
    ), att AS (
      INSERT INTO squid_mesh.attempts (run_id, seq, attempt, status, error, owner, started_at, finished_at, retry_at)
      SELECT ok.run_id, a.seq, a.attempt, a.status, a.error::jsonb, a.owner,
        ${ts("a.started_at")}, ${ts("a.finished_at")}, ${ts("a.retry_at")}
      FROM jsonb_to_recordset($3::text::jsonb) AS ${ATTEMPT_RECORDSET.replace("a(", "a(i int, ")} JOIN ok ON ok.i = a.i
    ), withdrawn AS (
      DELETE FROM squid_mesh.tasks t USING ok
      WHERE t.run_id = ok.run_id
        AND t.seq IS DISTINCT FROM (CASE WHEN ok.disp IS NULL THEN NULL ELSE ok.fence_seq END)
        AND (ok.terminal OR t.seq IN (SELECT w.seq FROM jsonb_to_recordset($5::text::jsonb) AS w(i int, seq int) WHERE w.i = ok.i))
    ), tsk AS (
      INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at, claim_id, token_hash, owner, lease_until)
      SELECT ok.run_id, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("coalesce(n.lease_until, n.visible_at)")},
        n.claim_id, n.token_hash, n.owner, ${ts("n.lease_until")}
      FROM jsonb_to_recordset($4::text::jsonb) AS ${TASK_RECORDSET.replace("n(run_id uuid, ", "n(i int, ")} JOIN ok ON ok.i = n.i
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
      FROM jsonb_to_recordset($6::text::jsonb) AS k(i int, kind text, actor text, note text, idempotency_key text,
        metadata text, seq int, at float8) JOIN ok ON ok.i = k.i
      ON CONFLICT DO NOTHING
    ), delivered AS (
      INSERT INTO squid_mesh.signals (run_id, name, payload, received_at)
      SELECT ok.run_id, d.name, d.payload::jsonb, ${ts("d.received_at")}
      FROM jsonb_to_recordset($7::text::jsonb) AS d(i int, name text, payload text, received_at float8) JOIN ok ON ok.i = d.i
    ), consumed AS (
      UPDATE squid_mesh.signals s SET consumed_seq = u.seq
      FROM jsonb_to_recordset($8::text::jsonb) AS u(i int, id bigint, seq int) JOIN ok ON ok.i = u.i
      WHERE s.run_id = ok.run_id AND s.id = u.id
    )
    SELECT v.i, v.reason, w.revision FROM verdict v LEFT JOIN written w ON w.id = v.run_id ORDER BY v.i`,
  // Locks up to $3 due tasks in claim order (skipping rows other transactions hold), pairs each
  // with one of the claim ids / token hashes generated by the caller, and claims it.
  claim: `WITH due AS (
      SELECT run_id, seq, available_at FROM squid_mesh.tasks
      WHERE queue = $1 AND available_at <= ${ts("$2")}
      ORDER BY available_at, run_id, seq
      LIMIT $3
      FOR UPDATE SKIP LOCKED
    ), numbered AS (
      SELECT run_id, seq, row_number() OVER (ORDER BY available_at, run_id, seq) AS rn FROM due
    ), claims AS (
      SELECT c.rn, c.value->>'claimId' AS claim_id, c.value->>'tokenHash' AS token_hash
      FROM jsonb_array_elements($4::text::jsonb) WITH ORDINALITY AS c(value, rn)
    )
    UPDATE squid_mesh.tasks t
    SET claim_id = claims.claim_id, token_hash = claims.token_hash, owner = $5,
      lease_until = ${ts("$6")}, available_at = ${ts("$6")}
    FROM numbered JOIN claims ON claims.rn = numbered.rn JOIN squid_mesh.runs r ON r.id = numbered.run_id
    WHERE t.run_id = numbered.run_id AND t.seq = numbered.seq
    RETURNING ${TASK_COLUMNS}, r.workflow, numbered.rn`,
  heartbeat: `UPDATE squid_mesh.tasks SET lease_until = ${ts("$5")}, available_at = ${ts("$5")}
    WHERE run_id = $1::uuid AND seq = $2 AND claim_id = $3 AND token_hash = $4 AND lease_until > ${ts("$6")}
    RETURNING seq`,
  release: `UPDATE squid_mesh.tasks SET visible_at = ${ts("$5")}, available_at = ${ts("$5")}, ${CLEAR_CLAIM}
    WHERE run_id = $1::uuid AND seq = $2 AND claim_id = $3 AND token_hash = $4
    RETURNING seq`,
  nextDueAt: `SELECT (extract(epoch from min(available_at)) * 1000)::float8 AS due FROM squid_mesh.tasks WHERE queue = $1`,
} as const

/** Last one wins, by key, keeping first-seen order (one upsert statement cannot touch a row twice). */
const dedupe = <A>(items: ReadonlyArray<A>, key: (a: A) => string): Array<A> => [...new Map(items.map((a) => [key(a), a])).values()]

/** Rows of `TASK_RECORDSET` (optionally tagged with the commit index `i`), with inline claims. */
const taskRows = (tasks: ReadonlyArray<NewTask>, i?: number) =>
  dedupe(tasks, (t) => `${t.runId}#${t.seq}`).map((t) => ({
    ...(i === undefined ? { run_id: t.runId } : { i }),
    seq: t.seq,
    queue: t.queue,
    kind: t.kind,
    attempt: t.attempt,
    visible_at: t.visibleAt,
    claim_id: t.claim?.claimId ?? null,
    token_hash: t.claim?.tokenHash ?? null,
    owner: t.claim?.owner ?? null,
    lease_until: t.claim?.leaseUntil ?? null,
  }))

/** Inserts a batch of runs (at most one per id); returns one result per input, in order. */
const createRuns = async (client: SqlClient, batch: ReadonlyArray<NewRun>): Promise<ReadonlyArray<CreateRunResult>> => {
  const runs = batch.map(({ run }) => ({
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
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    finished_at: msParam(run.finishedAt),
  }))
  const entries = batch.flatMap(({ run, entries: es }) => dedupe(es, (e) => String(e.seq)).map((e) => ({ run_id: run.id, ...entryRecord(e) })))
  const tasks = batch.flatMap(({ tasks: ts }) => taskRows(ts))
  const commands = batch.flatMap(({ run, command: k }) =>
    k ? [{ run_id: run.id, kind: k.kind, actor: k.actor, note: k.note ?? null, idempotency_key: k.idempotencyKey ?? null, metadata: jsonParam(k.metadata), seq: k.seq ?? null, at: k.at }] : [],
  )
  const rows = await client.query<{ id: string }>(planned(SQL.createRuns), [JSON.stringify(runs), JSON.stringify(entries), JSON.stringify(tasks), JSON.stringify(commands)])
  const inserted = new Set(rows.map((r) => r.id))
  return Promise.all(
    batch.map(async ({ run }): Promise<CreateRunResult> => {
      if (inserted.has(run.id)) return { _tag: "Created", run }
      const [existing] = await client.query<RunRow>(SQL.selectRun, [run.id])
      if (!existing) throw new Error(`run ${run.id} conflicted on insert but cannot be read`)
      return { _tag: "Existing", run: toRun(existing) }
    }),
  )
}

/** Commits a batch (at most one commit per run); returns one result per input, in order. */
const commits = async (client: SqlClient, batch: ReadonlyArray<Commit>): Promise<ReadonlyArray<CommitResult>> => {
  const results: Array<CommitResult | undefined> = batch.map((c) => (isUuid(c.runId) ? undefined : { _tag: "Rejected", reason: "run_not_found" }))
  const live = batch.map((c, i) => ({ c, i })).filter(({ i }) => results[i] === undefined)
  if (live.length > 0) {
    const heads = live.map(({ c, i }) => {
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
    })
    const entries = live.flatMap(({ c, i }) => dedupe([...c.resolve, ...c.append], (e) => String(e.seq)).map((e) => ({ i, ...entryRecord(e) })))
    const attempts = live.flatMap(({ c, i }) => c.attempts.map((a) => ({ i, ...attemptRecord(a) })))
    const tasks = live.flatMap(({ c, i }) => taskRows(c.tasks, i))
    const withdraw = live.flatMap(({ c, i }) => c.withdraw.map((seq) => ({ i, seq })))
    const commands = live.flatMap(({ c, i }) =>
      c.command
        ? [{ i, kind: c.command.kind, actor: c.command.actor, note: c.command.note ?? null, idempotency_key: c.command.idempotencyKey ?? null,
            metadata: jsonParam(c.command.metadata), seq: c.command.seq ?? null, at: c.command.at }]
        : [],
    )
    const rows = await client.query<{ i: number; reason: string; revision: number | string | null }>(planned(SQL.commit), [
      JSON.stringify(heads),
      JSON.stringify(entries),
      JSON.stringify(attempts),
      JSON.stringify(tasks),
      JSON.stringify(withdraw),
      JSON.stringify(commands),
      JSON.stringify(live.flatMap(({ c, i }) => (c.deliver ? [{ i, name: c.deliver.name, payload: JSON.stringify(c.deliver.payload), received_at: c.deliver.receivedAt }] : []))),
      JSON.stringify(live.flatMap(({ c, i }) => (c.consume ?? []).map(({ id, seq }) => ({ i, id, seq })))),
    ])
    for (const row of rows) {
      results[Number(row.i)] =
        row.reason === "ok" ? { _tag: "Committed", revision: Number(row.revision) } : { _tag: "Rejected", reason: row.reason as FenceReason }
    }
  }
  return results.map((r) => r ?? { _tag: "Rejected", reason: "run_not_found" })
}

const claim = async (client: SqlClient, { queue, owner, now, leaseUntil, limit }: ClaimOptions) => {
  const count = Math.max(0, Math.floor(limit))
  if (count === 0) return []
  const tokens = new Map<string, string>()
  const claims = Array.from({ length: count }, () => {
    const { claimId, token, tokenHash } = newClaim()
    tokens.set(claimId, token)
    return { claimId, tokenHash }
  })
  const rows = await client.query<ClaimRow & { rn: number | string }>(SQL.claim, [queue, now, count, JSON.stringify(claims), owner, leaseUntil])
  return rows
    .sort((a, b) => Number(a.rn) - Number(b.rn))
    .map((row) => toClaimed(row, tokens.get(row.claim_id ?? "") ?? ""))
}

const listRuns = async (client: SqlClient, filter: RunFilter) => {
  const where: Array<string> = []
  const params: Array<unknown> = []
  if (filter.status !== undefined) {
    params.push(filter.status)
    where.push(`status = $${params.length}`)
  }
  if (filter.workflow !== undefined) {
    params.push(filter.workflow)
    where.push(`workflow = $${params.length}`)
  }
  params.push(Math.max(0, Math.floor(filter.limit ?? 100)))
  const rows = await client.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY created_at DESC, id LIMIT $${params.length}`,
    params,
  )
  return rows.map(toRun)
}

const claimParams = (ref: ClaimRef) => [ref.runId, ref.seq, ref.claimId, sha256Hex(ref.token)]

/**
 * The Store over a SQL driver. `backend` names it in logs and inspection ("pglite",
 * "postgres"). The schema must be migrated first (see migrate.ts).
 */
export const makeSqlStore = (client: SqlClient, backend: string): StoreService => {
  const run = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({ try: f, catch: (cause) => storeError(operation, cause) })

  // Natural batching: concurrent commits (and creates) share one statement and transaction.
  const batchedCommit = makeBatcher<Commit, CommitResult>({
    keys: (c) => (c.wakeParent ? [c.runId, c.wakeParent.runId] : [c.runId]),
    send: (b) => commits(client, b),
    maxBatch: 64,
    maxInFlight: 3,
  })
  const batchedCreate = makeBatcher<NewRun, CreateRunResult>({ keys: (r) => [r.run.id], send: (b) => createRuns(client, b), maxBatch: 64, maxInFlight: 3 })
  const commit = async (c: Commit): Promise<CommitResult> => {
    const result = await batchedCommit(c)
    if (result._tag === "Committed" && c.wake) wakeup(c.wake)
    return result
  }
  const createRun = async (newRun: NewRun): Promise<CreateRunResult> => {
    const result = await batchedCreate(newRun)
    if (result._tag === "Created" && newRun.tasks.some((t) => !t.claim)) wakeup(newRun.run.queue)
    return result
  }

  // Cross-process wakeups: NOTIFY is sent after the commit, coalesced per queue over a few
  // milliseconds. Inside the commit it would serialise every commit on Postgres' notify lock.
  // A lost wakeup costs at most a poll interval: NOTIFY is a hint, polling the fallback.
  const pending = new Set<string>()
  let flushing: ReturnType<typeof setTimeout> | undefined
  const wakeup = (queue: string) => {
    if (!client.listen) return
    pending.add(queue)
    flushing ??= setTimeout(() => {
      flushing = undefined
      const queues = [...pending]
      pending.clear()
      for (const q of queues) client.query("SELECT pg_notify('squid_mesh', $1::text)", [q]).catch(() => undefined)
    }, WAKE_COALESCE_MS)
  }

  /** Runs an Effect inside one driver transaction; its failure (or defect) rolls it back. */
  const transaction = <A, E, R>(f: (scope: TransactionScope) => Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
    Effect.flatMap(Effect.runtime<R>(), (runtime) => {
      const rollback = Symbol("rollback")
      let failed: Exit.Exit<A, E> | undefined
      return Effect.tryPromise({
        try: () =>
          client.transaction(async (tx) => {
            const exit = await Runtime.runPromiseExit(runtime)(
              f({
                handle: tx.handle,
                commit: (c) =>
                  run("commit", async () => {
                    const [result] = await commits(tx, [c])
                    if (result!._tag === "Committed" && c.wake) wakeup(c.wake)
                    return result!
                  }),
              }),
            )
            if (Exit.isFailure(exit)) {
              failed = exit
              throw rollback
            }
            return exit.value
          }),
        catch: (cause) => (cause === rollback ? rollback : storeError("transaction", cause)),
      }).pipe(
        Effect.catchAll((e): Effect.Effect<A, E | StoreError> => (e === rollback ? (failed as Exit.Exit<A, E>) : Effect.fail(e as StoreError))),
      )
    })

  return {
    backend,
    createRun: (newRun) => run("createRun", () => createRun(newRun)),
    getRun: (runId) =>
      run("getRun", async () => {
        if (!isUuid(runId)) return undefined
        const [row] = await client.query<RunRow>(SQL.selectRun, [runId])
        return row ? toRun(row) : undefined
      }),
    getJournal: (runId) =>
      run("getJournal", async () => (isUuid(runId) ? (await client.query<EntryRow>(SQL.selectJournal, [runId])).map(toEntry) : [])),
    getAttempts: (runId) =>
      run("getAttempts", async () => (isUuid(runId) ? (await client.query<AttemptRow>(SQL.selectAttempts, [runId])).map(toAttempt) : [])),
    getChildren: (runId) =>
      run("getChildren", async () => (isUuid(runId) ? (await client.query<RunRow>(SQL.selectChildren, [runId])).map(toRun) : [])),
    pendingDeadlines: (limit) =>
      run("pendingDeadlines", async () =>
        (await client.query<{ run_id: string; seq: number | string; kind: string; name: string; deadline: string }>(SQL.pendingDeadlines, [limit])).map(
          (r): PendingDeadline => ({ runId: r.run_id, seq: Number(r.seq), kind: r.kind as PendingDeadline["kind"], name: r.name, deadline: JSON.parse(r.deadline) as PendingDeadline["deadline"] }),
        ),
      ),
    getInbox: (runId) =>
      run("getInbox", async () =>
        isUuid(runId)
          ? (await client.query<{ id: number | string; name: string; payload: string; received_at: number | string }>(SQL.selectInbox, [runId])).map(
              (r): InboxSignal => ({ id: Number(r.id), name: r.name, payload: JSON.parse(r.payload) as Json, receivedAt: Number(r.received_at) }),
            )
          : [],
      ),
    getCommands: (runId) =>
      run("getCommands", async () =>
        isUuid(runId)
          ? (await client.query<{ kind: string; actor: string; note: string | null; idempotency_key: string | null; metadata: string | null; seq: number | null; at: number | string }>(SQL.selectCommands, [runId])).map(
              (r): CommandRecord => ({
                kind: r.kind as CommandRecord["kind"],
                actor: r.actor,
                ...(r.note !== null ? { note: r.note } : {}),
                ...(r.idempotency_key !== null ? { idempotencyKey: r.idempotency_key } : {}),
                ...(r.metadata !== null ? { metadata: JSON.parse(r.metadata) as Json } : {}),
                ...(r.seq !== null ? { seq: Number(r.seq) } : {}),
                at: Number(r.at),
              }),
            )
          : [],
      ),
    getTasks: (runId) =>
      run("getTasks", async () => (isUuid(runId) ? (await client.query<TaskRow>(SQL.selectTasks, [runId])).map(toTask) : [])),
    listRuns: (filter) => run("listRuns", () => listRuns(client, filter)),
    claim: (options) => run("claim", () => claim(client, options)),
    commit: (c) => run("commit", () => commit(c)),
    transaction,
    ...(client.listen
      ? {
          listen: (onWake: (queue: string) => void) =>
            Effect.acquireRelease(
              run("listen", () => client.listen!("squid_mesh", onWake)),
              (subscription) => Effect.promise(() => subscription.unlisten().catch(() => undefined)),
            ).pipe(Effect.asVoid),
        }
      : {}),
    heartbeat: (ref, now, leaseUntil) =>
      run("heartbeat", async () => isUuid(ref.runId) && (await client.query(SQL.heartbeat, [...claimParams(ref), leaseUntil, now])).length > 0),
    release: (ref, visibleAt) =>
      run("release", async () => isUuid(ref.runId) && (await client.query(SQL.release, [...claimParams(ref), visibleAt])).length > 0),
    nextDueAt: (queue) =>
      run("nextDueAt", async () => {
        const [row] = await client.query<{ due: number | string | null }>(SQL.nextDueAt, [queue])
        return row?.due === null || row?.due === undefined ? undefined : Number(row.due)
      }),
  }
}
