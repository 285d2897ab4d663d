/**
 * The SQL Store backend, written against the tiny `SqlClient` driver interface so PGlite and
 * postgres.js share the same statements. It follows the same contract as the memory backend
 * (test/contract/): the same fence rules and rejection reasons, the same claim order.
 *
 * This module only assembles the parts: the statements (statements/*.ts, one family per file),
 * natural batching of commits and creates (batcher.ts), the plan generations of the batch
 * statements (planCache.ts), wake-ups after commits (wakeups.ts), and the classification of
 * driver failures into `StoreError`s (storeError.ts). JSON is sent as JSON text
 * (`$n::text::jsonb`) and read back as text; times are sent and read as float8 epoch
 * milliseconds (see rows.ts and records.ts).
 */
import { Effect } from "effect"
import type { StoreError } from "../../core/errors.js"
import type { Commit, CommitResult, CreateRunResult, NewRun, StoreService } from "../Store.js"
import { makeBatcher } from "./batcher.js"
import { makePlanCache } from "./planCache.js"
import type { SqlClient } from "./SqlClient.js"
import { claim, heartbeat, nextDueAt, release } from "./statements/claim.js"
import { commits } from "./statements/commit.js"
import { createRuns } from "./statements/create.js"
import { listRuns } from "./statements/listRuns.js"
import { listPurges, purgeRuns } from "./statements/purge.js"
import { countPurgeable, purgeScheduleEvents, purgeSpecs } from "./statements/purgeRows.js"
import { appendScheduleEvents, ensureSchedule, listScheduleEvents, listScheduleStates, transitionSchedule } from "./statements/schedules.js"
import { getAttempts, getChildren, getCommands, getEntry, getInbox, getJournal, getRun, getSpec, getTasks, pendingDeadlines } from "./statements/reads.js"
import { lastWorkerSeen, recordWorker } from "./statements/workers.js"
import { queueDepths, runCounts, workersSeen } from "./statements/metrics.js"
import { storeError } from "./storeError.js"
import { inTransaction } from "./transaction.js"
import { WAKE_CHANNEL, makeWakeups } from "./wakeups.js"

/** Runs one driver call as a store operation; a driver failure becomes a classified `StoreError`. */
const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({ try: f, catch: (cause) => storeError(operation, cause) })

/**
 * The Store over a SQL driver. `backend` names it in logs and inspection ("pglite",
 * "postgres"). The schema must be migrated first (see migrate.ts).
 */
export const makeSqlStore = (client: SqlClient, backend: string): StoreService => {
  const planned = makePlanCache()
  const wake = makeWakeups(client)

  // Natural batching: concurrent commits (and creates) share one statement and transaction.
  const batchedCommit = makeBatcher<Commit, CommitResult>({
    keys: (c) => (c.wakeParent ? [c.runId, c.wakeParent.runId] : [c.runId]),
    send: (b) => commits(client, b, planned),
    maxBatch: 64,
    maxInFlight: 3,
  })
  const batchedCreate = makeBatcher<NewRun, CreateRunResult>({
    keys: (r) => [r.run.id],
    send: (b) => createRuns(client, b, planned),
    maxBatch: 64,
    maxInFlight: 3,
  })

  /** Commits one `Commit` through `send`, then wakes the queue it made work for. */
  const commitThen = async (send: () => Promise<CommitResult>, c: Commit): Promise<CommitResult> => {
    const result = await send()
    if (result._tag === "Committed" && c.wake) wake(c.wake)
    return result
  }
  const createRun = async (newRun: NewRun): Promise<CreateRunResult> => {
    const result = await batchedCreate(newRun)
    if (result._tag === "Created" && newRun.tasks.some((t) => !t.claim)) wake(newRun.run.queue)
    return result
  }

  return {
    backend,
    createRun: (newRun) => attempt("createRun", () => createRun(newRun)),
    getRun: (runId) => attempt("getRun", () => getRun(client, runId)),
    getSpec: (fingerprint) => attempt("getSpec", () => getSpec(client, fingerprint)),
    getJournal: (runId) => attempt("getJournal", () => getJournal(client, runId)),
    getEntry: (runId, seq) => attempt("getEntry", () => getEntry(client, runId, seq)),
    getAttempts: (runId) => attempt("getAttempts", () => getAttempts(client, runId)),
    getChildren: (runId) => attempt("getChildren", () => getChildren(client, runId)),
    pendingDeadlines: (limit) => attempt("pendingDeadlines", () => pendingDeadlines(client, limit)),
    getInbox: (runId) => attempt("getInbox", () => getInbox(client, runId)),
    getCommands: (runId) => attempt("getCommands", () => getCommands(client, runId)),
    getTasks: (runId) => attempt("getTasks", () => getTasks(client, runId)),
    listRuns: (filter) => attempt("listRuns", () => listRuns(client, filter)),
    purgeRuns: (batch) => attempt("purgeRuns", () => purgeRuns(client, batch)),
    purgeScheduleEvents: (batch) => attempt("purgeScheduleEvents", () => purgeScheduleEvents(client, batch)),
    purgeSpecs: (batch) => attempt("purgeSpecs", () => purgeSpecs(client, batch)),
    countPurgeable: (query) => attempt("countPurgeable", () => countPurgeable(client, query)),
    listPurges: (limit) => attempt("listPurges", () => listPurges(client, limit)),
    listScheduleStates: () => attempt("listScheduleStates", () => listScheduleStates(client)),
    ensureSchedule: (workflow, trigger, now) => attempt("ensureSchedule", () => ensureSchedule(client, workflow, trigger, now)),
    transitionSchedule: (t) =>
      attempt("transitionSchedule", async () => {
        const result = await transitionSchedule(client, t, planned)
        if (result._tag === "Applied" && result.created && t.run?.tasks.some((task) => !task.claim)) wake(t.run.run.queue)
        return result
      }),
    appendScheduleEvents: (events) => attempt("appendScheduleEvents", () => appendScheduleEvents(client, events)),
    listScheduleEvents: (workflow, trigger, limit) => attempt("listScheduleEvents", () => listScheduleEvents(client, workflow, trigger, limit)),
    claim: (options) => attempt("claim", () => claim(client, options)),
    commit: (c) => attempt("commit", () => commitThen(() => batchedCommit(c), c)),
    // Inside a transaction the commit is not batched: it must run on the transaction's connection.
    transaction: (f) => inTransaction(client, (tx, c) => attempt("commit", () => commitThen(async () => (await commits(tx, [c], planned))[0]!, c)), f),
    ...(client.listen
      ? {
          listen: (onWake: (queue: string) => void) =>
            Effect.acquireRelease(
              attempt("listen", () => client.listen!(WAKE_CHANNEL, onWake)),
              (subscription) => Effect.promise(() => subscription.unlisten().catch(() => undefined)),
            ).pipe(Effect.asVoid),
        }
      : {}),
    heartbeat: (ref, now, leaseUntil) => attempt("heartbeat", () => heartbeat(client, ref, now, leaseUntil)),
    release: (ref, visibleAt) => attempt("release", () => release(client, ref, visibleAt)),
    nextDueAt: (queue) => attempt("nextDueAt", () => nextDueAt(client, queue)),
    recordWorker: (queue, owner, at) => attempt("recordWorker", () => recordWorker(client, queue, owner, at)),
    lastWorkerSeen: (queue) => attempt("lastWorkerSeen", () => lastWorkerSeen(client, queue)),
    workersSeen: (since) => attempt("workersSeen", () => workersSeen(client, since)),
    queueDepths: (now) => attempt("queueDepths", () => queueDepths(client, now)),
    runCounts: () => attempt("runCounts", () => runCounts(client)),
  }
}
