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
import { Effect } from "effect"
import { StoreError } from "../../core/errors.js"
import { isUuid, newClaimToken, sha256Hex } from "../../core/ids.js"
import { isTerminal, type Entry, type RunStatus } from "../../core/model.js"
import type { ClaimOptions, ClaimRef, Commit, CommitResult, CreateRunResult, NewRun, NewTask, RunFilter, StoreService } from "../Store.js"
import type { SqlClient } from "./SqlClient.js"
import {
  ATTEMPT_COLUMNS,
  ATTEMPT_RECORDSET,
  ENTRY_COLUMNS,
  ENTRY_RECORDSET,
  RUN_COLUMNS,
  TASK_COLUMNS,
  TASK_RECORDSET,
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

const CLEAR_CLAIM = "claim_id = NULL, token_hash = NULL, owner = NULL, lease_until = NULL"

const SQL = {
  insertRun: `INSERT INTO squid_mesh.runs (id, workflow, trigger, queue, status, input, output, error, revision,
      idempotency_key, request_hash, definition_hash, created_at, updated_at, finished_at)
    VALUES ($1::uuid, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb, $9, $10, $11, $12,
      ${ts("$13")}, ${ts("$14")}, ${ts("$15")})
    ON CONFLICT (id) DO NOTHING
    RETURNING id`,
  selectRun: `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs WHERE id = $1::uuid`,
  lockRun: `SELECT status, revision FROM squid_mesh.runs WHERE id = $1::uuid FOR UPDATE`,
  selectJournal: `SELECT ${ENTRY_COLUMNS} FROM squid_mesh.entries WHERE run_id = $1::uuid ORDER BY seq`,
  selectAttempts: `SELECT ${ATTEMPT_COLUMNS} FROM squid_mesh.attempts WHERE run_id = $1::uuid ORDER BY seq, attempt`,
  selectTasks: `SELECT ${TASK_COLUMNS} FROM squid_mesh.tasks t WHERE t.run_id = $1::uuid ORDER BY t.seq`,
  // Entries are replaced whole, matched by seq (an insert when the seq is new).
  upsertEntries: `INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts,
      created_at, resolved_at)
    SELECT $1::uuid, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
      ${ts("e.created_at")}, ${ts("e.resolved_at")}
    FROM jsonb_to_recordset($2::text::jsonb) AS ${ENTRY_RECORDSET}
    ON CONFLICT (run_id, seq) DO UPDATE SET kind = excluded.kind, name = excluded.name, status = excluded.status,
      input = excluded.input, output = excluded.output, error = excluded.error, attempts = excluded.attempts,
      created_at = excluded.created_at, resolved_at = excluded.resolved_at`,
  insertAttempts: `INSERT INTO squid_mesh.attempts (run_id, seq, attempt, status, error, owner, started_at, finished_at, retry_at)
    SELECT $1::uuid, a.seq, a.attempt, a.status, a.error::jsonb, a.owner,
      ${ts("a.started_at")}, ${ts("a.finished_at")}, ${ts("a.retry_at")}
    FROM jsonb_to_recordset($2::text::jsonb) AS ${ATTEMPT_RECORDSET}`,
  // A new task replaces any task at the same (run, seq), claim included.
  upsertTasks: `INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at)
    SELECT n.run_id, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("n.visible_at")}
    FROM jsonb_to_recordset($1::text::jsonb) AS ${TASK_RECORDSET}
    ON CONFLICT (run_id, seq) DO UPDATE SET queue = excluded.queue, kind = excluded.kind, attempt = excluded.attempt,
      visible_at = excluded.visible_at, available_at = excluded.available_at, ${CLEAR_CLAIM}`,
  withdrawTasks: `DELETE FROM squid_mesh.tasks
    WHERE run_id = $1::uuid AND seq IN (SELECT value::int FROM jsonb_array_elements_text($2::text::jsonb))`,
  withdrawAllTasks: `DELETE FROM squid_mesh.tasks WHERE run_id = $1::uuid`,
  lockFence: `SELECT claim_id = $3 AND token_hash = $4 AS current, lease_until > ${ts("$5")} AS live
    FROM squid_mesh.tasks WHERE run_id = $1::uuid AND seq = $2 FOR UPDATE`,
  deleteTask: `DELETE FROM squid_mesh.tasks WHERE run_id = $1::uuid AND seq = $2`,
  retryTask: `UPDATE squid_mesh.tasks SET attempt = $3, visible_at = ${ts("$4")}, available_at = ${ts("$4")}, ${CLEAR_CLAIM}
    WHERE run_id = $1::uuid AND seq = $2`,
  touchRun: `UPDATE squid_mesh.runs SET revision = $2, updated_at = ${ts("$3")} WHERE id = $1::uuid`,
  // Setting a status replaces output and error (absent means cleared), like the memory backend.
  setRunStatus: (terminal: boolean) => `UPDATE squid_mesh.runs SET revision = $2, updated_at = ${ts("$3")}, status = $4,
      output = $5::text::jsonb, error = $6::text::jsonb${terminal ? `, finished_at = ${ts("$3")}` : ""}
    WHERE id = $1::uuid`,
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

const taskRecords = (tasks: ReadonlyArray<NewTask>) =>
  JSON.stringify(
    dedupe(tasks, (t) => `${t.runId}#${t.seq}`).map((t) => ({
      run_id: t.runId,
      seq: t.seq,
      queue: t.queue,
      kind: t.kind,
      attempt: t.attempt,
      visible_at: t.visibleAt,
    })),
  )

const upsertTasks = async (tx: SqlClient, tasks: ReadonlyArray<NewTask>) => {
  if (tasks.length > 0) await tx.query(SQL.upsertTasks, [taskRecords(tasks)])
}

const upsertEntries = async (tx: SqlClient, runId: string, entries: ReadonlyArray<Entry>) => {
  if (entries.length > 0) await tx.query(SQL.upsertEntries, [runId, JSON.stringify(dedupe(entries, (e) => String(e.seq)).map(entryRecord))])
}

const createRun = (client: SqlClient, { run, entries, tasks }: NewRun): Promise<CreateRunResult> =>
  client.transaction(async (tx) => {
    const inserted = await tx.query(SQL.insertRun, [
      run.id,
      run.workflow,
      run.trigger,
      run.queue,
      run.status,
      jsonParam(run.input),
      jsonParam(run.output),
      jsonParam(run.error),
      run.revision,
      run.idempotencyKey ?? null,
      run.requestHash,
      run.definitionHash,
      run.createdAt,
      run.updatedAt,
      msParam(run.finishedAt),
    ])
    if (inserted.length === 0) {
      const [existing] = await tx.query<RunRow>(SQL.selectRun, [run.id])
      if (!existing) throw new Error(`run ${run.id} conflicted on insert but cannot be read`)
      return { _tag: "Existing", run: toRun(existing) }
    }
    await upsertEntries(tx, run.id, entries)
    await upsertTasks(tx, tasks)
    return { _tag: "Created", run }
  })

/** The fenced commit, inside a transaction. Checks come first; a rejection writes nothing. */
const commitIn = async (tx: SqlClient, c: Commit): Promise<CommitResult> => {
  const [run] = await tx.query<{ status: string; revision: number | string }>(SQL.lockRun, [c.runId])
  if (!run) return { _tag: "Rejected", reason: "run_not_found" }
  if (isTerminal(run.status as RunStatus)) return { _tag: "Rejected", reason: "terminal_run" }
  if (c.fence) {
    const f = c.fence
    const [task] = isUuid(f.runId)
      ? await tx.query<{ current: boolean | null; live: boolean | null }>(SQL.lockFence, [f.runId, f.seq, f.claimId, sha256Hex(f.token), c.now])
      : []
    if (!task || task.current !== true) return { _tag: "Rejected", reason: "stale_claim" }
    if (task.live !== true) return { _tag: "Rejected", reason: "expired_claim" }
  }
  const current = Number(run.revision)
  if (c.expectedRevision !== undefined && current !== c.expectedRevision) return { _tag: "Rejected", reason: "revision_conflict" }

  // The same order of effects as the memory backend: disposition, journal, attempts,
  // withdrawals, new tasks, run.
  if (c.fence && c.task) {
    if (c.task._tag === "Done") await tx.query(SQL.deleteTask, [c.fence.runId, c.fence.seq])
    else await tx.query(SQL.retryTask, [c.fence.runId, c.fence.seq, c.task.attempt, c.task.visibleAt])
  }
  await upsertEntries(tx, c.runId, [...c.resolve, ...c.append])
  if (c.attempts.length > 0) await tx.query(SQL.insertAttempts, [c.runId, JSON.stringify(c.attempts.map(attemptRecord))])
  if (c.withdraw.length > 0) await tx.query(SQL.withdrawTasks, [c.runId, JSON.stringify(c.withdraw)])
  await upsertTasks(tx, c.tasks)

  const revision = c.expectedRevision !== undefined ? current + 1 : current
  if (c.run) {
    const terminal = isTerminal(c.run.status)
    await tx.query(SQL.setRunStatus(terminal), [c.runId, revision, c.now, c.run.status, jsonParam(c.run.output), jsonParam(c.run.error)])
    // A terminal run has no work left: withdraw whatever tasks remain.
    if (terminal) await tx.query(SQL.withdrawAllTasks, [c.runId])
  } else await tx.query(SQL.touchRun, [c.runId, revision, c.now])
  return { _tag: "Committed", revision }
}

const commit = (client: SqlClient, c: Commit): Promise<CommitResult> =>
  isUuid(c.runId) ? client.transaction((tx) => commitIn(tx, c)) : Promise.resolve({ _tag: "Rejected", reason: "run_not_found" })

const claim = async (client: SqlClient, { queue, owner, now, leaseUntil, limit }: ClaimOptions) => {
  const count = Math.max(0, Math.floor(limit))
  if (count === 0) return []
  const tokens = new Map<string, string>()
  const claims = Array.from({ length: count }, () => {
    const token = newClaimToken()
    const claimId = newClaimToken().slice(0, 22)
    tokens.set(claimId, token)
    return { claimId, tokenHash: sha256Hex(token) }
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
    Effect.tryPromise({ try: f, catch: (cause) => new StoreError({ operation, cause }) })

  return {
    backend,
    createRun: (newRun) => run("createRun", () => createRun(client, newRun)),
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
    getTasks: (runId) =>
      run("getTasks", async () => (isUuid(runId) ? (await client.query<TaskRow>(SQL.selectTasks, [runId])).map(toTask) : [])),
    listRuns: (filter) => run("listRuns", () => listRuns(client, filter)),
    claim: (options) => run("claim", () => claim(client, options)),
    commit: (c) => run("commit", () => commit(client, c)),
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
