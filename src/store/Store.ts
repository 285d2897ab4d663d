/**
 * The Store port: everything the engine needs from persistence. Each backend (memory,
 * PGlite, postgres.js) implements it and passes the same contract suite
 * (test/contract/). All writes that belong together are one atomic `commit`, fenced by the
 * claim (id + token hash + lease) and, when the journal changes, the run's revision.
 */
import { Context, type Effect, type Scope } from "effect"
import type { StoreError } from "../core/errors.js"
import type { Json } from "../core/json.js"
import type {
  AttemptRecord,
  ClaimedTask,
  CommandRecord,
  Entry,
  InboxSignal,
  ErrorInfo,
  FenceReason,
  RunRecord,
  RunStatus,
  TaskKind,
  TaskRecord,
} from "../core/model.js"
import type { ScheduleEvent, ScheduleState } from "../core/schedule.js"

/** A claim written together with a new task: the committing worker runs it next. */
export interface InlineClaim {
  readonly claimId: string
  /** sha256 (hex) of the claim token the worker keeps in memory. */
  readonly tokenHash: string
  readonly owner: string
  readonly leaseUntil: number
}

/** A task to create, optionally already claimed. */
export interface NewTask {
  readonly runId: string
  readonly seq: number
  readonly queue: string
  readonly kind: TaskKind
  readonly attempt: number
  readonly visibleAt: number
  readonly claim?: InlineClaim
}

/**
 * A runtime-authored spec as stored: its fingerprint (the run's `definitionHash`), its name and
 * its exact JSON text. Shared by every run of the same spec version.
 */
export interface StoredSpec {
  readonly fingerprint: string
  readonly name: string
  readonly text: string
}

/** A run with its first journal entries and tasks (and the command that made it), written atomically. */
export interface NewRun {
  readonly run: RunRecord
  readonly entries: ReadonlyArray<Entry>
  readonly tasks: ReadonlyArray<NewTask>
  readonly command?: CommandRecord
  /** The spec a spec run runs: stored with the run (once per fingerprint) when the run is created. */
  readonly spec?: StoredSpec
}

/** `Existing` when a run with that id was already there (nothing written). */
export type CreateRunResult = { readonly _tag: "Created"; readonly run: RunRecord } | { readonly _tag: "Existing"; readonly run: RunRecord }

/** Proof of a claim. Only the sha256 of `token` is stored. */
export interface ClaimRef {
  readonly runId: string
  readonly seq: number
  readonly claimId: string
  readonly token: string
}

/** What to do with the fenced (claimed) task. */
export type TaskDisposition = { readonly _tag: "Done" } | { readonly _tag: "Retry"; readonly attempt: number; readonly visibleAt: number }

/** One atomic, fenced change to a run. */
export interface Commit {
  readonly runId: string
  readonly now: number
  /** The claim this commit completes; absent for engine commands that hold no claim. */
  readonly fence?: ClaimRef
  readonly task?: TaskDisposition
  /** Compare-and-set on the run's revision; given whenever the journal changes (bumps it). */
  readonly expectedRevision?: number
  /** New run status (and output or error when terminal). */
  readonly run?: { readonly status: RunStatus; readonly output?: Json; readonly error?: ErrorInfo }
  /** Entries whose status changed (replaced whole, matched by seq). */
  readonly resolve: ReadonlyArray<Entry>
  /** New journal entries. */
  readonly append: ReadonlyArray<Entry>
  readonly attempts: ReadonlyArray<AttemptRecord>
  readonly tasks: ReadonlyArray<NewTask>
  /** Seqs whose tasks are withdrawn (cancelled siblings). */
  readonly withdraw: ReadonlyArray<number>
  /** Wake idle workers of this queue (Postgres NOTIFY) once committed: tasks others may take. */
  readonly wake?: string
  /** The manual command this commit carries out, stored as an audit event. */
  readonly command?: CommandRecord
  /** A signal to keep in the run's inbox (the run does not wait for it yet). */
  readonly deliver?: { readonly name: string; readonly payload: Json; readonly receivedAt: number }
  /**
   * When this commit makes a child run terminal: bump its parent's revision and make the
   * parent's waiting task (at `seq`) due now, so the parent picks up the result.
   */
  readonly wakeParent?: { readonly runId: string; readonly seq: number }
  /** Inbox signals consumed by the journal entries at these seqs. */
  readonly consume?: ReadonlyArray<{ readonly id: number; readonly seq: number }>
}

/** A transaction scope: the driver's handle (given to `transaction: true` steps) and a commit inside it. */
export interface TransactionScope {
  readonly handle: unknown
  readonly commit: (commit: Commit) => Effect.Effect<CommitResult, StoreError>
}

/** `Rejected` means nothing was written; the reason says why. */
export type CommitResult = { readonly _tag: "Committed"; readonly revision: number } | { readonly _tag: "Rejected"; readonly reason: FenceReason }

/** Options of `claim`. */
export interface ClaimOptions {
  readonly queue: string
  readonly owner: string
  readonly now: number
  readonly leaseUntil: number
  readonly limit: number
}

/** A pending step or gate with a deadline. */
export interface PendingDeadline {
  readonly runId: string
  readonly seq: number
  readonly kind: Entry["kind"]
  readonly name: string
  readonly deadline: NonNullable<Entry["deadline"]>
}

/** The worker of a queue seen most recently (workers record themselves every few seconds). */
export interface WorkerSeen {
  readonly queue: string
  readonly owner: string
  /** When it last recorded itself (epoch ms). */
  readonly lastSeen: number
}

/** A queue's tasks at one moment (what the metrics endpoint reports as queue depth). */
export interface QueueDepth {
  readonly queue: string
  /** Claimable now: unclaimed and visible, or claimed under a lease that has run out. */
  readonly due: number
  /** Unclaimed and not visible yet: timers, backoffs, delayed steps. */
  readonly scheduled: number
  /** Held by a worker under a live lease. */
  readonly claimed: number
}

/** How many runs have a status. */
export interface RunCount {
  readonly status: RunStatus
  readonly count: number
}

/** Where a page of `listRuns` ends: the last run it returned, in (createdAt desc, id desc) order. */
export interface RunKey {
  readonly createdAt: number
  readonly id: string
}

/**
 * Filter of `listRuns`, already validated (src/listRuns.ts checks what callers give). Every
 * given field must match; time ranges are `[from, to)` in epoch ms. Runs come newest first,
 * by (createdAt desc, id desc).
 */
export interface RunFilter {
  /** Any of these statuses (none given: any status). */
  readonly statuses?: ReadonlyArray<RunStatus>
  readonly workflow?: string
  readonly trigger?: string
  readonly createdFrom?: number
  readonly createdTo?: number
  readonly updatedFrom?: number
  readonly updatedTo?: number
  readonly parentRunId?: string
  readonly idempotencyKey?: string
  /** Every pair must be among the run's attributes. */
  readonly attributes?: Readonly<Record<string, string>>
  /** Only runs after this one in the listing order (the keyset cursor). */
  readonly after?: RunKey
  /** Default 100. */
  readonly limit?: number
}

/** Where a purge stands: the last candidate run examined, in (finishedAt, id) order. */
export interface PurgeKey {
  readonly finishedAt: number
  readonly id: string
}

/**
 * One batch of a purge. Candidates are terminal runs finished before `finishedBefore` with
 * one of `statuses` (and of `workflow`), that are not the child of a run still stored, taken
 * in (finishedAt, id) order after `after`, at most `limit`. Each candidate is deleted with
 * its child runs (their whole tree), unless some run of that tree is not terminal. Entries,
 * attempts, tasks, signals, audit events and attributes go with their run. A batch that
 * deletes something writes one `purges` row (`reason`, count, first and last candidate).
 */
export interface PurgeBatch {
  readonly finishedBefore: number
  readonly statuses: ReadonlyArray<RunStatus>
  readonly workflow?: string
  readonly after?: PurgeKey
  readonly limit: number
  readonly now: number
  /** What asked for it (the filter of `purge`, or a workflow's retention policy): kept in the audit row. */
  readonly reason: Json
}

/** What a purge batch did. `next` is absent when there are no candidates left. */
export interface PurgeBatchResult {
  /** Runs deleted, children included. */
  readonly purged: number
  readonly next?: PurgeKey
}

/**
 * One batch of the purge of cron schedule events (each schedule's audit trail): events
 * recorded before `before` (of `workflow`'s schedules), except the `keep` newest events of
 * each schedule, which stay whatever their age (a quiet schedule keeps its last pause note).
 * Candidates are taken in id order after `after`, at most `limit`; a batch that deletes
 * something writes one `purges` row.
 */
export interface PurgeScheduleEventsBatch {
  readonly before: number
  readonly keep: number
  readonly workflow?: string
  /** The last event id the previous batch examined (a backend without ids may ignore it). */
  readonly after?: number
  readonly limit: number
  readonly now: number
  readonly reason: Json
}

/**
 * One batch of the purge of stored specs (`run_specs`): specs stored before `createdBefore`
 * (named `name`) that no stored run references (a run of workflow `spec:<name>` whose
 * definition hash is the fingerprint). Never a spec a run still needs, even one being created
 * while the batch runs. Candidates in fingerprint order after `after`, at most `limit`.
 */
export interface PurgeSpecsBatch {
  readonly createdBefore: number
  readonly name?: string
  readonly after?: string
  readonly limit: number
  readonly now: number
  readonly reason: Json
}

/** What a batch of `purgeScheduleEvents` or `purgeSpecs` did; `next` is absent when no candidate is left. */
export interface PurgeRowsResult<K> {
  readonly deleted: number
  readonly next?: K
  /** Specs only: run creation held the table longer than the purge waits; nothing was deleted, try again later. */
  readonly busy?: true
}

/** What `countPurgeable` counts: the schedule events and specs a purge would delete now (runs are counted with `listRuns`). */
export interface PurgeableQuery {
  readonly before: number
  readonly keep: number
  readonly workflow?: string
}

/** One row of the purge audit trail: one batch, of runs, schedule events or specs. */
export interface PurgeRecord {
  readonly id: number
  readonly at: number
  readonly reason: Json
  /** Runs deleted, child runs included. */
  readonly purged: number
  /** Schedule events deleted. */
  readonly scheduleEvents: number
  /** Stored specs deleted. */
  readonly specs: number
  /** The first and last candidate run of a batch of runs (absent for a batch of events or specs). */
  readonly firstRunId?: string
  readonly lastRunId?: string
}

/** What a schedule transition sets (everything but the key, revision and time). */
export type ScheduleFields = Omit<ScheduleState, "workflow" | "trigger" | "revision" | "updatedAt">

/**
 * One decision about a schedule, written in one transaction: a compare-and-set of its state
 * on `expectedRevision`, its events, and the run of the window it started (if any). When the
 * revision moved (another scheduler decided, or an operator paused), nothing is written.
 */
export interface ScheduleTransition {
  readonly workflow: string
  readonly trigger: string
  readonly expectedRevision: number
  readonly next: ScheduleFields
  readonly events: ReadonlyArray<ScheduleEvent>
  /** The run of a started window; an existing run with its id (a backfill's) is kept as is. */
  readonly run?: NewRun | undefined
  readonly now: number
}

/** `Moved`: the revision had changed, nothing was written; `state` is the current one. */
export type TransitionResult =
  | { readonly _tag: "Applied"; readonly state: ScheduleState; readonly created: boolean }
  | { readonly _tag: "Moved"; readonly state: ScheduleState | undefined }

/** The persistence operations the engine uses. */
export interface StoreService {
  /** Human-readable backend name, for logs and inspection. */
  readonly backend: string
  readonly createRun: (run: NewRun) => Effect.Effect<CreateRunResult, StoreError>
  readonly getRun: (runId: string) => Effect.Effect<RunRecord | undefined, StoreError>
  /** A stored spec by fingerprint (written by `createRun` with the first run of that spec version). */
  readonly getSpec: (fingerprint: string) => Effect.Effect<StoredSpec | undefined, StoreError>
  readonly getJournal: (runId: string) => Effect.Effect<ReadonlyArray<Entry>, StoreError>
  /** One journal entry (a dynamic node's, read without the rest of its journal). */
  readonly getEntry: (runId: string, seq: number) => Effect.Effect<Entry | undefined, StoreError>
  readonly getAttempts: (runId: string) => Effect.Effect<ReadonlyArray<AttemptRecord>, StoreError>
  readonly getTasks: (runId: string) => Effect.Effect<ReadonlyArray<TaskRecord>, StoreError>
  /** The child runs of a run (oldest first). */
  readonly getChildren: (runId: string) => Effect.Effect<ReadonlyArray<RunRecord>, StoreError>
  /** Pending journal entries that carry a deadline, across runs (for listing by deadline status). */
  readonly pendingDeadlines: (limit: number) => Effect.Effect<ReadonlyArray<PendingDeadline>, StoreError>
  /** The run's unconsumed inbox signals, oldest first. */
  readonly getInbox: (runId: string) => Effect.Effect<ReadonlyArray<InboxSignal>, StoreError>
  /** The run's manual commands (audit events), oldest first. */
  readonly getCommands: (runId: string) => Effect.Effect<ReadonlyArray<CommandRecord>, StoreError>
  /** Runs matching the filter, newest first (createdAt desc, id desc), at most `limit`. */
  readonly listRuns: (filter: RunFilter) => Effect.Effect<ReadonlyArray<RunRecord>, StoreError>
  /** Deletes one batch of old terminal runs (see `PurgeBatch`), in one transaction. */
  readonly purgeRuns: (batch: PurgeBatch) => Effect.Effect<PurgeBatchResult, StoreError>
  /** Deletes one batch of old schedule events (see `PurgeScheduleEventsBatch`), in one transaction. */
  readonly purgeScheduleEvents: (batch: PurgeScheduleEventsBatch) => Effect.Effect<PurgeRowsResult<number>, StoreError>
  /** Deletes one batch of unreferenced old specs (see `PurgeSpecsBatch`), in one transaction. */
  readonly purgeSpecs: (batch: PurgeSpecsBatch) => Effect.Effect<PurgeRowsResult<string>, StoreError>
  /** How many schedule events and specs a purge would delete now (for a dry run). */
  readonly countPurgeable: (query: PurgeableQuery) => Effect.Effect<{ readonly scheduleEvents: number; readonly specs: number }, StoreError>
  /** The purge audit trail, newest first. */
  readonly listPurges: (limit: number) => Effect.Effect<ReadonlyArray<PurgeRecord>, StoreError>
  /** The stored state of every schedule, by workflow then trigger. */
  readonly listScheduleStates: () => Effect.Effect<ReadonlyArray<ScheduleState>, StoreError>
  /** A schedule's state; created (revision 0, decided until `now`) when it has none yet. */
  readonly ensureSchedule: (workflow: string, trigger: string, now: number) => Effect.Effect<ScheduleState, StoreError>
  /** Applies one schedule decision atomically (see `ScheduleTransition`). */
  readonly transitionSchedule: (transition: ScheduleTransition) => Effect.Effect<TransitionResult, StoreError>
  /** Appends events to a schedule's audit trail without changing its state (a backfill's record). */
  readonly appendScheduleEvents: (events: ReadonlyArray<ScheduleEvent>) => Effect.Effect<void, StoreError>
  /** A schedule's audit trail, newest first, at most `limit`. */
  readonly listScheduleEvents: (workflow: string, trigger: string, limit: number) => Effect.Effect<ReadonlyArray<ScheduleEvent>, StoreError>
  /** Claims up to `limit` due tasks (visible and unclaimed, or with an expired lease). */
  readonly claim: (options: ClaimOptions) => Effect.Effect<ReadonlyArray<ClaimedTask>, StoreError>
  readonly commit: (commit: Commit) => Effect.Effect<CommitResult, StoreError>
  /** Extends a live claim's lease; false when the claim is no longer current. */
  readonly heartbeat: (claim: ClaimRef, now: number, leaseUntil: number) => Effect.Effect<boolean, StoreError>
  /** Gives a claimed task back, visible again at `visibleAt`; false when the claim is not current. */
  readonly release: (claim: ClaimRef, visibleAt: number) => Effect.Effect<boolean, StoreError>
  /** The earliest time a task of the queue becomes claimable, if any. */
  readonly nextDueAt: (queue: string) => Effect.Effect<number | undefined, StoreError>
  /** Records that worker `owner` serves `queue` at `at` (an upsert; a later record never moves the time back). */
  readonly recordWorker: (queue: string, owner: string, at: number) => Effect.Effect<void, StoreError>
  /** The worker of `queue` seen most recently, if any (ties: the smallest owner). */
  readonly lastWorkerSeen: (queue: string) => Effect.Effect<WorkerSeen | undefined, StoreError>
  /** Every worker seen at or after `since`, by queue then owner (worker liveness metrics). */
  readonly workersSeen: (since: number) => Effect.Effect<ReadonlyArray<WorkerSeen>, StoreError>
  /** Each queue that has tasks, with its due, scheduled and claimed counts at `now`, by queue name (one grouped read). */
  readonly queueDepths: (now: number) => Effect.Effect<ReadonlyArray<QueueDepth>, StoreError>
  /**
   * The number of runs of every status (zero included), in `RUN_STATUSES` order. On SQL: one
   * count per status; open statuses use the status index, a status holding most of history is
   * a table scan (about 0.23 s at 1M runs on PostgreSQL).
   */
  readonly runCounts: () => Effect.Effect<ReadonlyArray<RunCount>, StoreError>
  /**
   * Runs `f` in one database transaction: committed when it succeeds, rolled back when it
   * fails. Steps declared `transaction: true` run inside it and commit through `scope.commit`.
   * Absent on stores without transactions (memory).
   */
  readonly transaction?: <A, E, R>(f: (scope: TransactionScope) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
  /**
   * Subscribes to wakeups from other processes (Postgres LISTEN) for the life of the scope.
   * Absent on single-process stores.
   */
  readonly listen?: (onWake: (queue: string) => void) => Effect.Effect<void, StoreError, Scope.Scope>
}

/** The Store service tag. Provide a backend layer: `MemoryStore.layer`, `PgliteStore.layer(...)`. */
export class Store extends Context.Tag("squid-mesh/Store")<Store, StoreService>() {}
