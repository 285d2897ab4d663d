/**
 * The data model shared by the interpreter, the engine and every store backend.
 * Times are epoch milliseconds read from Effect's Clock.
 */
import type { Json } from "./json.js"

/**
 * Lifecycle of a run. `paused` means it waits for a manual decision (resume, approve or
 * reject). Terminal statuses never change again.
 */
export type RunStatus = "running" | "paused" | "completed" | "failed" | "cancelled"

/** The statuses after which a run accepts no more work. */
export const TERMINAL_STATUSES: ReadonlyArray<RunStatus> = ["completed", "failed", "cancelled"]

/** Every run status, open ones first. */
export const RUN_STATUSES: ReadonlyArray<RunStatus> = ["running", "paused", "completed", "failed", "cancelled"]

/** True for `completed`, `failed` and `cancelled`. */
export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.includes(status)

/**
 * What a journal entry records. `dynamic_work` (a dynamic work fact) and `dynamic` (a scheduled
 * dynamic node) live outside the workflow's own commands (see src/core/dynamicWork.ts).
 */
export type EntryKind =
  | "step"
  | "sleep"
  | "now"
  | "random"
  | "uuid"
  | "log"
  | "pause"
  | "approval"
  | "patch"
  | "signal"
  | "compensation"
  | "child"
  | "dynamic_work"
  | "dynamic"

/** A signal in a run's inbox: sent before the run waited for it, not yet consumed. */
export interface InboxSignal {
  readonly id: number
  readonly name: string
  readonly payload: Json
  readonly receivedAt: number
}

/** `pending` entries wait for a task; the others are resolved and never change. */
export type EntryStatus = "pending" | "completed" | "failed" | "cancelled"

/**
 * A persisted error: a stable machine code plus a redacted message. Raw error objects are
 * never stored, so secrets in exception text do not reach the database.
 */
export interface ErrorInfo {
  readonly code: string
  readonly message: string
  readonly retryable?: boolean
  readonly step?: string
  readonly seq?: number
  readonly details?: Json
}

/** One journal row: a command the workflow yielded and, once resolved, its outcome. */
export interface Entry {
  readonly seq: number
  readonly kind: EntryKind
  readonly name: string
  readonly status: EntryStatus
  /** The command's argument (a step's input, a sleep's due time). */
  readonly input?: Json
  /** The command's result; absent when the step returned nothing. */
  readonly output?: Json
  readonly error?: ErrorInfo
  /** Attempts made so far (steps only). */
  readonly attempts: number
  readonly createdAt: number
  readonly resolvedAt?: number
  /** Due times of the step's or gate's deadline, persisted when it was planned. */
  readonly deadline?: { readonly dueAt: number; readonly dueSoonAt?: number; readonly escalatedAt?: number; readonly escalation?: string }
  /**
   * Steps only: whether the step is marked `irreversible` (a rerun must not repeat it unasked),
   * so a process without the workflow's code can tell. Absent on entries journaled before it was kept.
   */
  readonly irreversible?: boolean
}

/** A run as stored. `revision` increases with every change to its journal (compare-and-set). */
export interface RunRecord {
  readonly id: string
  readonly workflow: string
  readonly trigger: string
  readonly queue: string
  readonly status: RunStatus
  readonly input: Json
  readonly output?: Json
  readonly error?: ErrorInfo
  readonly revision: number
  readonly idempotencyKey?: string
  /** sha256 of the canonical request (workflow, trigger, raw payload): detects key reuse. */
  readonly requestHash: string
  /** sha256 of the workflow code when the run started (a `fromStep` rerun requires it unchanged). */
  readonly definitionHash: string
  /** The run this one reruns, if any. */
  readonly rerunOf?: string
  /** For a child run: its parent and the parent's journal entry that started it. */
  readonly parentRunId?: string
  readonly parentSeq?: number
  /**
   * String key/value pairs given at start (`tenant: "acme"`), indexed for `listRuns`. A rerun
   * keeps its source's; a child run has none.
   */
  readonly attributes?: Readonly<Record<string, string>>
  /** For a run of a cron trigger: the window it was started for (epoch ms), by the scheduler or a backfill. */
  readonly scheduledFor?: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly finishedAt?: number
}

/**
 * What a task does when claimed. `advance`: replay the run and commit what replay decides (left
 * by a control or rerun made from a process without the workflow's code, for one that has it).
 */
export type TaskKind = "step" | "compensation" | "timer" | "child" | "dynamic" | "advance"

/** A unit of work for a worker: the live attempt of a pending step, or a due timer. */
export interface TaskRecord {
  readonly runId: string
  readonly seq: number
  readonly queue: string
  readonly kind: TaskKind
  readonly attempt: number
  readonly visibleAt: number
  readonly owner?: string
  readonly claimId?: string
  readonly leaseUntil?: number
}

/** A task held by a worker. The raw `token` never leaves the worker's memory. */
export interface ClaimedTask {
  readonly runId: string
  readonly seq: number
  readonly queue: string
  readonly kind: TaskKind
  readonly attempt: number
  readonly visibleAt: number
  readonly workflow: string
  readonly owner: string
  readonly claimId: string
  readonly token: string
  readonly leaseUntil: number
  /**
   * The run's revision when the task was claimed from the queue (absent when a commit handed
   * it over inline): an interpreter cached at another revision is stale for it.
   */
  readonly revision?: number
}

/** One finished try of a step. */
export interface AttemptRecord {
  readonly seq: number
  readonly attempt: number
  readonly status: "completed" | "failed"
  readonly error?: ErrorInfo
  readonly owner: string
  readonly startedAt: number
  readonly finishedAt: number
  /** When the next attempt becomes visible, if this failure is retried. */
  readonly retryAt?: number
}

/** A control (start, resume, approve, reject, signal, cancel, rerun), recorded as an audit event in the same commit as its effect. */
export interface CommandRecord {
  readonly kind: "start" | "resume" | "approve" | "reject" | "cancel" | "signal" | "rerun" | "dynamic_work"
  readonly actor: string
  readonly note?: string
  readonly idempotencyKey?: string
  /** Caller metadata, with secret-looking keys redacted before it is stored. */
  readonly metadata?: Json
  /** The gate it resolved, if any. */
  readonly seq?: number
  readonly at: number
}

/** Why a fenced write was refused. Nothing was written. */
export type FenceReason = "stale_claim" | "expired_claim" | "terminal_run" | "revision_conflict" | "run_not_found"
