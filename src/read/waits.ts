/**
 * What an open run waits on: each pending journal entry, classified by its kind and its task
 * (due, scheduled, claimed, lease expired) into a reason, with its evidence as plain JSON.
 * `explainRun` picks the primary one (see `WAIT_PRIORITY`) and lists the others. Pending
 * dynamic nodes are waits too, ranked after every wait of the workflow's own.
 */
import { deadlineStatus, type DeadlineStatus } from "../../dsl/Deadline.js"
import { COMPENSATION_RETRY } from "../../runtime/execute.js"
import { maxAttemptsOf } from "../../runtime/retry.js"
import { SETTLE_SEQ } from "../core/dynamicWork.js"
import type { Entry, EntryKind, TaskKind, TaskRecord } from "../core/model.js"
import { dynamicInputOf, dynamicNodeId } from "./dynamic.js"
import type { RunSnapshot } from "./snapshot.js"

/**
 * Why a run is where it is.
 *
 * Open runs:
 * - `waiting_for_worker`: a task is due but no worker has claimed it (see `worker` evidence:
 *   whether any worker served the queue recently).
 * - `running`: a worker holds the task under a live lease (owner, lease expiry).
 * - `waiting_for_retry`: a step attempt failed; the next one is scheduled (attempt n of m,
 *   when, the last error's code and redacted message).
 * - `waiting_for_timer`: a `Workflow.sleep` is not due yet (due time).
 * - `paused`: waiting at a `Workflow.pause` for `resume`.
 * - `waiting_for_approval`: waiting at a `Workflow.approval` for `approve` / `reject`
 *   (its deadline and where it stands).
 * - `waiting_for_signal`: waiting for a named signal (its timeout, the signals buffered in the inbox).
 * - `waiting_for_child`: waiting for a child run (its id, workflow, status and own explanation).
 * - `compensating`: undoing completed steps after a failure (which step, which attempt).
 * - `lease_expired`: a worker's claim lapsed (it crashed or stalled); any worker of the queue
 *   reclaims the task.
 * - `waiting_for_dynamic_work`: the workflow waits on nothing, but scheduled dynamic nodes are
 *   pending (the run completes when the last one does). Each such wait's `dynamic` says where
 *   its node stands (waiting for a worker, running, waiting to retry, lease expired).
 * - `stalled`: open, yet nothing pending the engine could act on (inspect the journal).
 *
 * Either:
 * - `non_determinism`: the code no longer matches the journal: recorded when the run failed
 *   with it, or found now by replaying an open run (the diff: seq, journal's and code's command).
 *
 * Ended runs: `completed`, `failed` (the failing step, its error, compensation outcomes),
 * `cancelled` (by whom, why: from the audit events).
 */
export type ExplainReason =
  | "waiting_for_worker"
  | "running"
  | "waiting_for_retry"
  | "waiting_for_timer"
  | "paused"
  | "waiting_for_approval"
  | "waiting_for_signal"
  | "waiting_for_child"
  | "compensating"
  | "lease_expired"
  | "waiting_for_dynamic_work"
  | "stalled"
  | "non_determinism"
  | "completed"
  | "failed"
  | "cancelled"

/** Reasons a pending entry can have, most telling first: the primary wait of a parallel group is the first in this order. */
export const WAIT_PRIORITY: ReadonlyArray<ExplainReason> = [
  "compensating",
  "waiting_for_approval",
  "paused",
  "waiting_for_signal",
  "lease_expired",
  "waiting_for_worker",
  "running",
  "waiting_for_retry",
  "waiting_for_child",
  "waiting_for_timer",
  "waiting_for_dynamic_work",
  "stalled",
]

/** Where a pending entry's task stands: due (claimable now), scheduled (later), claimed (live lease), or its lease expired. */
export type TaskState = "due" | "scheduled" | "claimed" | "lease_expired"

/** A task as evidence. */
export interface TaskEvidence {
  readonly kind: TaskKind
  readonly state: TaskState
  readonly attempt: number
  readonly visibleAt: number
  readonly owner?: string
  readonly leaseUntil?: number
}

/** Where a pending dynamic node stands: its work, action and graph node, and the reason a step in its place would have. */
export interface DynamicWaitEvidence {
  readonly key: string
  readonly action: string
  /** Its node's id in the run's graph. */
  readonly node: string
  readonly state: "waiting_for_worker" | "running" | "waiting_for_retry" | "lease_expired" | "waiting_for_nodes" | "stalled"
  /** With `waiting_for_nodes`: the nodes of its work it still waits for (edges from them), by node id. */
  readonly waitsFor?: ReadonlyArray<string>
}

/** One thing a run waits on: a pending journal entry and what it needs. Times are epoch ms. */
export interface WaitEvidence {
  readonly reason: ExplainReason
  readonly seq: number
  /**
   * The pending entry's kind, or `advance`: a task with no entry of its own, left to replay the
   * run (a control or rerun made without the code) or to settle it (its dynamic nodes are done).
   */
  readonly kind: EntryKind | "advance"
  readonly name: string
  /** When the entry was planned, and how long it has waited since. */
  readonly since: number
  readonly waitedMs: number
  readonly task?: TaskEvidence
  /** Steps, compensations and dynamic nodes: the attempt that runs next (or now), and how many the policy allows (absent: unbounded or unknown). */
  readonly attempt?: number
  readonly maxAttempts?: number
  /** The last failed attempt's error (stored redacted). */
  readonly lastError?: { readonly code: string; readonly message: string }
  /** When the next attempt, the timer, or the signal's timeout falls due. */
  readonly dueAt?: number
  /** Approvals and steps with a deadline: where it stands now. */
  readonly deadline?: { readonly dueAt: number; readonly status: DeadlineStatus; readonly escalation?: string }
  /** Approvals: what the deadline does when it passes. */
  readonly onDeadline?: string
  /** Compensations: the step they undo. */
  readonly compensates?: { readonly seq: number; readonly step: string }
  /** Child waits: the child run. */
  readonly childRunId?: string
  readonly childWorkflow?: string
  /** Dynamic nodes (reason `waiting_for_dynamic_work`): their work and where they stand. */
  readonly dynamic?: DynamicWaitEvidence
}

/** The task state of a task at `now`. */
export const taskState = (task: TaskRecord, now: number): TaskState =>
  task.owner !== undefined
    ? task.leaseUntil !== undefined && task.leaseUntil > now
      ? "claimed"
      : "lease_expired"
    : task.visibleAt <= now
      ? "due"
      : "scheduled"

const taskEvidence = (task: TaskRecord, now: number): TaskEvidence => ({
  kind: task.kind,
  state: taskState(task, now),
  attempt: task.attempt,
  visibleAt: task.visibleAt,
  ...(task.owner !== undefined ? { owner: task.owner } : {}),
  ...(task.leaseUntil !== undefined ? { leaseUntil: task.leaseUntil } : {}),
})

const record = (value: unknown): Record<string, unknown> => (typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {})

/** A step's, compensation's or dynamic node's reason from its task: who holds it, or when it runs. */
const workReason = (task: TaskRecord | undefined, state: TaskState | undefined): Exclude<DynamicWaitEvidence["state"], "waiting_for_nodes"> => {
  if (!task || !state) return "stalled"
  if (state === "claimed") return "running"
  if (state === "lease_expired") return "lease_expired"
  if (state === "due") return "waiting_for_worker"
  return task.attempt > 1 ? "waiting_for_retry" : "waiting_for_worker"
}

/** The reason of one pending entry at `now`, given its task. */
const reasonOf = (entry: Entry, task: TaskRecord | undefined, state: TaskState | undefined, now: number): ExplainReason => {
  switch (entry.kind) {
    case "pause":
      return "paused"
    case "approval":
      return "waiting_for_approval"
    case "signal":
      return "waiting_for_signal"
    case "compensation":
      return "compensating"
    case "child":
      return state === "lease_expired" ? "lease_expired" : "waiting_for_child"
    case "dynamic":
      return "waiting_for_dynamic_work"
    case "sleep":
      if (!task || !state) return "stalled"
      // A timer kept by a worker is claimed before it is due: it still waits for its time.
      if (task.visibleAt > now) return "waiting_for_timer"
      return workReason(task, state)
    default:
      return workReason(task, state)
  }
}

/**
 * The maximum attempts of a pending step or compensation, from the code's retry policy, or of
 * a dynamic node, from its proposal (undefined: unbounded or not known here: an action's own
 * policy is not).
 */
const maxAttemptsAt = (snapshot: RunSnapshot, entry: Entry): number | undefined => {
  if (entry.kind === "dynamic") return dynamicInputOf(entry)?.retry?.maxAttempts
  if (snapshot.replay._tag !== "Replayed") return undefined
  const command = snapshot.replay.replayer.commandAt(entry.seq)
  if (command?._tag !== "Step" && command?._tag !== "Compensation") return undefined
  const max = maxAttemptsOf(command._tag === "Step" ? command.step.options.retry : (command.step.options.retry ?? COMPENSATION_RETRY))
  return Number.isFinite(max) ? max : undefined
}

/**
 * The `advance` tasks that wait for a worker with no pending entry at their seq: a run to
 * replay, or to settle (`SETTLE_SEQ`: only once no dynamic node is pending, the wait until then),
 * named for what they do.
 */
const advanceWaits = (snapshot: RunSnapshot): ReadonlyArray<WaitEvidence> => {
  const pending = snapshot.journal.filter((e) => e.status === "pending")
  const seqs = new Set(pending.map((e) => e.seq))
  const nodesPending = pending.some((e) => e.kind === "dynamic")
  return snapshot.tasks
    .filter((t) => t.kind === "advance" && !seqs.has(t.seq) && !(t.seq === SETTLE_SEQ && nodesPending))
    .map((task) => ({
      reason: workReason(task, taskState(task, snapshot.now)) as ExplainReason,
      seq: task.seq,
      kind: "advance",
      name: task.seq === SETTLE_SEQ ? "settle the run (its dynamic nodes are done)" : "replay the run",
      since: task.visibleAt,
      waitedMs: Math.max(0, snapshot.now - task.visibleAt),
      task: taskEvidence(task, snapshot.now),
    }))
}

/** Everything a run waits on: its pending entries in journal order, each classified, then its `advance` tasks. */
export const waitsOf = (snapshot: RunSnapshot): ReadonlyArray<WaitEvidence> => [...entryWaits(snapshot), ...advanceWaits(snapshot)]

const entryWaits = (snapshot: RunSnapshot): ReadonlyArray<WaitEvidence> => {
  const { now, journal, tasks, attempts } = snapshot
  const taskAt = new Map(tasks.map((t) => [t.seq, t]))
  return journal
    .filter((e) => e.status === "pending")
    .map((entry): WaitEvidence => {
      const task = taskAt.get(entry.seq)
      const state = task ? taskState(task, now) : undefined
      const reason = reasonOf(entry, task, state, now)
      const input = record(entry.input)
      const failed = attempts.filter((a) => a.seq === entry.seq && a.status === "failed").at(-1)
      const work = entry.kind === "step" || entry.kind === "compensation" || entry.kind === "dynamic"
      const max = work ? maxAttemptsAt(snapshot, entry) : undefined
      const origin = entry.kind === "compensation" && typeof input.seq === "number" ? journal.find((e) => e.seq === input.seq) : undefined
      const dynamicInput = entry.kind === "dynamic" ? dynamicInputOf(entry) : undefined
      // A node waiting for others has no task until they completed (the settle task releases it).
      const waitsFor = task ? [] : (dynamicInput?.after ?? []).filter((a) => journal.find((e) => e.seq === a.seq)?.status !== "completed").map((a) => a.node)
      const dynamic: DynamicWaitEvidence | undefined = dynamicInput
        ? {
            key: dynamicInput.key,
            action: dynamicInput.action,
            node: dynamicNodeId(dynamicInput.key, entry.name),
            ...(waitsFor.length > 0 ? { state: "waiting_for_nodes" as const, waitsFor } : { state: workReason(task, state) }),
          }
        : undefined
      const dueAt =
        reason === "waiting_for_retry" || reason === "waiting_for_timer" || dynamic?.state === "waiting_for_retry"
          ? task?.visibleAt
          : entry.kind === "signal" && typeof input.timeoutAt === "number"
            ? input.timeoutAt
            : undefined
      return {
        reason,
        seq: entry.seq,
        kind: entry.kind,
        name: entry.name,
        since: entry.createdAt,
        waitedMs: Math.max(0, now - entry.createdAt),
        ...(task ? { task: taskEvidence(task, now) } : {}),
        ...(work && task ? { attempt: task.attempt } : {}),
        ...(max !== undefined ? { maxAttempts: max } : {}),
        ...(failed?.error ? { lastError: { code: failed.error.code, message: failed.error.message } } : {}),
        ...(dueAt !== undefined ? { dueAt } : {}),
        ...(entry.deadline
          ? {
              deadline: {
                dueAt: entry.deadline.dueAt,
                status: deadlineStatus(entry.deadline, now),
                ...(entry.deadline.escalation !== undefined ? { escalation: entry.deadline.escalation } : {}),
              },
            }
          : {}),
        ...(entry.kind === "approval" && typeof input.onDeadline === "string" ? { onDeadline: input.onDeadline } : {}),
        ...(origin ? { compensates: { seq: origin.seq, step: origin.name } } : {}),
        ...(entry.kind === "child" && typeof input.runId === "string" ? { childRunId: input.runId } : {}),
        ...(entry.kind === "child" && typeof input.workflow === "string" ? { childWorkflow: input.workflow } : {}),
        ...(dynamic ? { dynamic } : {}),
      }
    })
}

/** The primary wait (first by `WAIT_PRIORITY`, then, among dynamic nodes, by where they stand, then journal order) and the others. */
export const primaryWait = (
  waits: ReadonlyArray<WaitEvidence>,
): { readonly primary: WaitEvidence | undefined; readonly others: ReadonlyArray<WaitEvidence> } => {
  const rank = (w: WaitEvidence) => WAIT_PRIORITY.indexOf(w.reason)
  // A node waiting for other nodes stands behind every node that can run.
  const stands = (w: WaitEvidence) =>
    w.dynamic ? (w.dynamic.state === "waiting_for_nodes" ? WAIT_PRIORITY.length : WAIT_PRIORITY.indexOf(w.dynamic.state)) : 0
  const primary = [...waits].sort((a, b) => rank(a) - rank(b) || stands(a) - stands(b) || a.seq - b.seq)[0]
  return { primary, others: waits.filter((w) => w !== primary) }
}
