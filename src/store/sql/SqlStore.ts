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
import { StoreError } from "../../core/errors.js"
import { isUuid, newClaimToken, sha256Hex } from "../../core/ids.js"
import type { Entry, FenceReason } from "../../core/model.js"
import type { ClaimOptions, ClaimRef, Commit, CommitResult, CreateRunResult, NewRun, NewTask, RunFilter, StoreService, TransactionScope } from "../Store.js"
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

/** NOTIFYs for one queue within this window are sent once. */
const WAKE_COALESCE_MS = 5

const CLEAR_CLAIM = "claim_id = NULL, token_hash = NULL, owner = NULL, lease_until = NULL"

const SQL = {
  selectRun: `SELECT ${RUN_COLUMNS} FROM squid_mesh.runs WHERE id = $1::uuid`,
  selectJournal: `SELECT ${ENTRY_COLUMNS} FROM squid_mesh.entries WHERE run_id = $1::uuid ORDER BY seq`,
  selectAttempts: `SELECT ${ATTEMPT_COLUMNS} FROM squid_mesh.attempts WHERE run_id = $1::uuid ORDER BY seq, attempt`,
  selectTasks: `SELECT ${TASK_COLUMNS} FROM squid_mesh.tasks t WHERE t.run_id = $1::uuid ORDER BY t.seq`,
  /**
   * createRun in one statement: the run, its first entries and tasks. When the
   * id exists nothing is written (every insert is guarded by the run insert's result).
   */
  createRun: `WITH ins AS (
      INSERT INTO squid_mesh.runs (id, workflow, trigger, queue, status, input, output, error, revision,
        idempotency_key, request_hash, definition_hash, created_at, updated_at, finished_at)
      VALUES ($1::uuid, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb, $9, $10, $11, $12,
        ${ts("$13")}, ${ts("$14")}, ${ts("$15")})
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ), ent AS (
      INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts, created_at, resolved_at)
      SELECT $1::uuid, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
        ${ts("e.created_at")}, ${ts("e.resolved_at")}
      FROM jsonb_to_recordset($16::text::jsonb) AS ${ENTRY_RECORDSET}
      WHERE EXISTS (SELECT 1 FROM ins)
    ), tsk AS (
      INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at)
      SELECT $1::uuid, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("n.visible_at")}
      FROM jsonb_to_recordset($17::text::jsonb) AS ${TASK_RECORDSET}
      WHERE EXISTS (SELECT 1 FROM ins)
    )
    SELECT (SELECT id::text FROM ins) AS inserted`,
  /**
   * The fenced commit in one statement (one round trip). It locks the run row and the claimed
   * task row, decides a verdict (the same reasons and precedence as the memory backend), and
   * every write below is guarded by that verdict, so a rejection writes nothing. Rows locked
   * here are modified at most once in the statement: the claimed task by done/retry only, the
   * other tasks by the withdrawal only, the run by the final update only.
   */
  commit: `WITH run AS (
      SELECT status, revision FROM squid_mesh.runs WHERE id = $1::uuid FOR UPDATE
    ), fence AS (
      SELECT claim_id = $4::text AND token_hash = $5::text AS current, lease_until > ${ts("$2")} AS live
      FROM squid_mesh.tasks WHERE $3::int IS NOT NULL AND run_id = $1::uuid AND seq = $3::int FOR UPDATE
    ), verdict AS (
      SELECT CASE
        WHEN r.status IS NULL THEN 'run_not_found'
        WHEN r.status IN ('completed', 'failed', 'cancelled') THEN 'terminal_run'
        WHEN $3::int IS NOT NULL AND f.current IS NOT TRUE THEN 'stale_claim'
        WHEN $3::int IS NOT NULL AND f.live IS NOT TRUE THEN 'expired_claim'
        WHEN $6::int IS NOT NULL AND r.revision <> $6::int THEN 'revision_conflict'
        ELSE 'ok' END AS reason
      FROM (SELECT 1) AS one LEFT JOIN run r ON true LEFT JOIN fence f ON true
    ), ok AS (
      SELECT 1 FROM verdict WHERE reason = 'ok'
    ), done AS (
      DELETE FROM squid_mesh.tasks
      WHERE run_id = $1::uuid AND seq = $3::int AND $7::text = 'done' AND EXISTS (SELECT 1 FROM ok)
    ), retry AS (
      UPDATE squid_mesh.tasks SET attempt = $8::int, visible_at = ${ts("$9")}, available_at = ${ts("$9")}, ${CLEAR_CLAIM}
      WHERE run_id = $1::uuid AND seq = $3::int AND $7::text = 'retry' AND EXISTS (SELECT 1 FROM ok)
    ), ent AS (
      INSERT INTO squid_mesh.entries (run_id, seq, kind, name, status, input, output, error, attempts, created_at, resolved_at)
      SELECT $1::uuid, e.seq, e.kind, e.name, e.status, e.input::jsonb, e.output::jsonb, e.error::jsonb, e.attempts,
        ${ts("e.created_at")}, ${ts("e.resolved_at")}
      FROM jsonb_to_recordset($13::text::jsonb) AS ${ENTRY_RECORDSET}
      WHERE EXISTS (SELECT 1 FROM ok)
      ON CONFLICT (run_id, seq) DO UPDATE SET kind = excluded.kind, name = excluded.name, status = excluded.status,
        input = excluded.input, output = excluded.output, error = excluded.error, attempts = excluded.attempts,
        created_at = excluded.created_at, resolved_at = excluded.resolved_at
    ), att AS (
      INSERT INTO squid_mesh.attempts (run_id, seq, attempt, status, error, owner, started_at, finished_at, retry_at)
      SELECT $1::uuid, a.seq, a.attempt, a.status, a.error::jsonb, a.owner,
        ${ts("a.started_at")}, ${ts("a.finished_at")}, ${ts("a.retry_at")}
      FROM jsonb_to_recordset($14::text::jsonb) AS ${ATTEMPT_RECORDSET}
      WHERE EXISTS (SELECT 1 FROM ok)
    ), withdrawn AS (
      DELETE FROM squid_mesh.tasks
      WHERE run_id = $1::uuid AND EXISTS (SELECT 1 FROM ok)
        AND seq IS DISTINCT FROM (CASE WHEN $7::text IS NULL THEN NULL ELSE $3::int END)
        AND (coalesce($10::text IN ('completed', 'failed', 'cancelled'), false)
          OR seq IN (SELECT value::int FROM jsonb_array_elements_text($16::text::jsonb)))
    ), tsk AS (
      INSERT INTO squid_mesh.tasks (run_id, seq, queue, kind, attempt, visible_at, available_at, claim_id, token_hash, owner, lease_until)
      SELECT $1::uuid, n.seq, n.queue, n.kind, n.attempt, ${ts("n.visible_at")}, ${ts("coalesce(n.lease_until, n.visible_at)")},
        n.claim_id, n.token_hash, n.owner, ${ts("n.lease_until")}
      FROM jsonb_to_recordset($15::text::jsonb) AS ${TASK_RECORDSET}
      WHERE EXISTS (SELECT 1 FROM ok) AND NOT coalesce($10::text IN ('completed', 'failed', 'cancelled'), false)
      ON CONFLICT (run_id, seq) DO UPDATE SET queue = excluded.queue, kind = excluded.kind, attempt = excluded.attempt,
        visible_at = excluded.visible_at, available_at = excluded.available_at, claim_id = excluded.claim_id,
        token_hash = excluded.token_hash, owner = excluded.owner, lease_until = excluded.lease_until
    ), written AS (
      UPDATE squid_mesh.runs SET
        revision = revision + CASE WHEN $6::int IS NULL THEN 0 ELSE 1 END,
        updated_at = ${ts("$2")},
        status = coalesce($10::text, status),
        output = CASE WHEN $10::text IS NULL THEN output ELSE $11::text::jsonb END,
        error = CASE WHEN $10::text IS NULL THEN error ELSE $12::text::jsonb END,
        finished_at = CASE WHEN $10::text IN ('completed', 'failed', 'cancelled') THEN ${ts("$2")} ELSE finished_at END
      WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM ok)
      RETURNING revision
    )
    SELECT (SELECT reason FROM verdict) AS reason, (SELECT revision FROM written) AS revision`,
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

/** Rows of `TASK_RECORDSET`: new tasks, with their inline claim if any. */
const taskRecords = (tasks: ReadonlyArray<NewTask>) =>
  JSON.stringify(
    dedupe(tasks, (t) => `${t.runId}#${t.seq}`).map((t) => ({
      run_id: t.runId,
      seq: t.seq,
      queue: t.queue,
      kind: t.kind,
      attempt: t.attempt,
      visible_at: t.visibleAt,
      claim_id: t.claim?.claimId ?? null,
      token_hash: t.claim?.tokenHash ?? null,
      owner: t.claim?.owner ?? null,
      lease_until: t.claim?.leaseUntil ?? null,
    })),
  )

const entryRecords = (entries: ReadonlyArray<Entry>) => JSON.stringify(dedupe(entries, (e) => String(e.seq)).map(entryRecord))

const createRun = async (client: SqlClient, { run, entries, tasks }: NewRun, wakeup: (queue: string) => void): Promise<CreateRunResult> => {
  const wake = tasks.some((t) => !t.claim) ? run.queue : null
  const [row] = await client.query<{ inserted: string | null }>(SQL.createRun, [
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
    entryRecords(entries),
    taskRecords(tasks),
  ])
  if (row?.inserted) {
    if (wake) wakeup(wake)
    return { _tag: "Created", run }
  }
  const [existing] = await client.query<RunRow>(SQL.selectRun, [run.id])
  if (!existing) throw new Error(`run ${run.id} conflicted on insert but cannot be read`)
  return { _tag: "Existing", run: toRun(existing) }
}

/** The fenced commit: one statement, so one round trip; a rejection writes nothing. */
const commit = async (client: SqlClient, c: Commit, wakeup: (queue: string) => void): Promise<CommitResult> => {
  if (!isUuid(c.runId)) return { _tag: "Rejected", reason: "run_not_found" }
  const f = c.fence
  // A claim on another run's task can never fence this run: make it unmatchable (stale).
  const claimId = f && f.runId === c.runId ? f.claimId : ""
  const [row] = await client.query<{ reason: string; revision: number | string | null }>(SQL.commit, [
    c.runId,
    c.now,
    f?.seq ?? null,
    f ? claimId : null,
    f ? sha256Hex(f.token) : null,
    c.expectedRevision ?? null,
    f && c.task ? (c.task._tag === "Done" ? "done" : "retry") : null,
    c.task?._tag === "Retry" ? c.task.attempt : null,
    c.task?._tag === "Retry" ? c.task.visibleAt : null,
    c.run?.status ?? null,
    jsonParam(c.run?.output),
    jsonParam(c.run?.error),
    entryRecords([...c.resolve, ...c.append]),
    JSON.stringify(c.attempts.map(attemptRecord)),
    taskRecords(c.tasks),
    JSON.stringify(c.withdraw),
  ])
  if (!row || row.reason !== "ok") return { _tag: "Rejected", reason: (row?.reason ?? "run_not_found") as FenceReason }
  if (c.wake) wakeup(c.wake)
  return { _tag: "Committed", revision: Number(row.revision) }
}

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
              f({ handle: tx.handle, commit: (c) => run("commit", () => commit(tx, c, wakeup)) }),
            )
            if (Exit.isFailure(exit)) {
              failed = exit
              throw rollback
            }
            return exit.value
          }),
        catch: (cause) => (cause === rollback ? rollback : new StoreError({ operation: "transaction", cause })),
      }).pipe(
        Effect.catchAll((e): Effect.Effect<A, E | StoreError> => (e === rollback ? (failed as Exit.Exit<A, E>) : Effect.fail(e as StoreError))),
      )
    })

  return {
    backend,
    createRun: (newRun) => run("createRun", () => createRun(client, newRun, wakeup)),
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
    commit: (c) => run("commit", () => commit(client, c, wakeup)),
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
