/**
 * `explainRun`: why a run is where it is. One reason code, a one-line summary (never a
 * payload), the controls that would succeed now, and the evidence as plain JSON (epoch-ms
 * times, stored errors, which are redacted before they are stored).
 */
import { Effect } from "effect"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import { dynamicWorkOf } from "../core/dynamicWork.js"
import type { InvalidOptionError, RunNotFoundError, StoreError } from "../core/errors.js"
import type { Json } from "../core/json.js"
import { isTerminal, type RunStatus } from "../core/model.js"
import type { StoreService } from "../store/Store.js"
import { nextActions, type NextAction } from "./actions.js"
import { dynamicCountsOf, type DynamicWorkCounts } from "./dynamic.js"
import { readRun, type RunSnapshot } from "./snapshot.js"
import { summarize } from "./summary.js"
import { primaryWait, waitsOf, type ExplainReason, type WaitEvidence } from "./waits.js"

export { showDuration } from "./summary.js"

/** A worker seen within this long serves its queue "recently" (workers record themselves every few seconds). */
export const WORKER_RECENT_MS = 60_000

/** How deep `explainRun` follows children waited on (a child's child...). */
export const MAX_CHILD_DEPTH = 3

/** Who serves the run's queue: the worker seen last, and whether that was recent. */
export interface WorkerEvidence {
  readonly queue: string
  readonly seenRecently: boolean
  readonly lastSeenAt?: number
  readonly owner?: string
}

/** The child run a run waits on, with its own explanation (down to `MAX_CHILD_DEPTH`). */
export interface ChildEvidence {
  readonly runId: string
  readonly workflow: string
  /** `not_started` while the child's run has not been created yet. */
  readonly status: RunStatus | "not_started"
  readonly explanation?: Explanation
}

/** Where replay against the code found the journal and the code to differ. */
export interface DivergenceEvidence {
  readonly seq: number
  readonly expected: Json
  readonly actual: Json
  /** True when the run failed with it; false when found now by replaying the open run. */
  readonly recorded: boolean
}

/** The evidence behind an explanation: plain JSON, times in epoch ms. */
export interface ExplainEvidence {
  /** When this explanation was read (Effect's Clock). */
  readonly now: number
  readonly createdAt: number
  readonly finishedAt?: number
  /** False when this engine does not register the run's workflow: controls needing its code are refused. */
  readonly workflowRegistered: boolean
  /** The run could not be replayed against the current code (why, without payloads). */
  readonly replayError?: string
  /** The primary wait behind the reason (open runs). */
  readonly wait?: WaitEvidence
  /** The run's other waits (a parallel group), in journal order. */
  readonly alsoWaiting?: ReadonlyArray<WaitEvidence>
  /** Open runs: who serves the queue. */
  readonly worker?: WorkerEvidence
  /** Signals received before the run waited for them (name and time only). */
  readonly inbox?: ReadonlyArray<{ readonly name: string; readonly receivedAt: number }>
  readonly child?: ChildEvidence
  /** The run's error (failed, cancelled): code, redacted message, and the failing step. */
  readonly error?: { readonly code: string; readonly message: string; readonly step?: string; readonly seq?: number }
  /** Failed runs: each compensation's outcome (step, seq, status, error code). */
  readonly compensations?: ReadonlyArray<Json>
  readonly divergence?: DivergenceEvidence
  /** Cancelled runs: the audit event of the cancel. */
  readonly cancelledBy?: { readonly actor: string; readonly note?: string; readonly at: number }
  /** Completed steps marked `irreversible` (a rerun needs `allowIrreversible`). */
  readonly irreversibleSteps?: ReadonlyArray<string>
  /** Ended runs that cannot be rerun as they are: the refusal a rerun would meet. */
  readonly rerunRefused?: { readonly reason: string; readonly detail: string }
  /** Runs with dynamic work: how much, and where its scheduled nodes stand (each pending one is also a wait). */
  readonly dynamicWork?: DynamicWorkCounts
}

/** What `explainRun` returns. */
export interface Explanation {
  readonly runId: string
  readonly workflow: string
  readonly queue: string
  readonly status: RunStatus
  readonly reason: ExplainReason
  /** One line for a human; never a payload. */
  readonly summary: string
  /** The controls that would succeed now (the same rules the controls enforce). */
  readonly nextActions: ReadonlyArray<NextAction>
  readonly evidence: ExplainEvidence
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** A divergence as the run's stored error records it, or as replaying it now finds it. */
const divergenceOf = (snapshot: RunSnapshot): DivergenceEvidence | undefined => {
  const { run, replay } = snapshot
  if (run.error?.code === "non_determinism") {
    const details = record(run.error.details)
    return { seq: run.error.seq ?? 0, expected: (details.expected ?? null) as Json, actual: (details.actual ?? null) as Json, recorded: true }
  }
  if (isTerminal(run.status) || replay._tag !== "Replayed" || replay.outcome._tag !== "NonDeterminism") return undefined
  const e = replay.outcome.error
  return { seq: e.seq, expected: e.expected as Json, actual: e.actual as Json, recorded: false }
}

/** The explanation of a run at `depth` (children are explained down to `MAX_CHILD_DEPTH`). */
const explainAt = (
  store: StoreService,
  workflows: ReadonlyMap<string, AnyWorkflow>,
  runId: string,
  depth: number,
): Effect.Effect<Explanation, InvalidOptionError | RunNotFoundError | StoreError> =>
  Effect.gen(function* () {
    const snapshot = yield* readRun(store, workflows, runId)
    const { run, now, replay } = snapshot
    const actions = nextActions(snapshot)
    const dynamicWork = dynamicCountsOf(dynamicWorkOf(snapshot.journal))
    const base = {
      now,
      createdAt: run.createdAt,
      ...(run.finishedAt !== undefined ? { finishedAt: run.finishedAt } : {}),
      workflowRegistered: replay._tag !== "Unregistered",
      ...(replay._tag === "Failed" ? { replayError: replay.message } : {}),
      ...(dynamicWork ? { dynamicWork } : {}),
    }
    const explained = (reason: ExplainReason, more: Omit<ExplainEvidence, keyof typeof base> = {}): Explanation => {
      const evidence: ExplainEvidence = { ...base, ...more }
      return {
        runId: run.id,
        workflow: run.workflow,
        queue: run.queue,
        status: run.status,
        reason,
        summary: summarize(reason, run.status, evidence),
        nextActions: actions.actions,
        evidence,
      }
    }
    const error = run.error
      ? {
          error: {
            code: run.error.code,
            message: run.error.message,
            ...(run.error.step ? { step: run.error.step } : {}),
            ...(run.error.seq !== undefined ? { seq: run.error.seq } : {}),
          },
        }
      : {}
    const rerun = {
      ...(actions.irreversibleSteps.length > 0 ? { irreversibleSteps: actions.irreversibleSteps } : {}),
      ...(actions.rerunRefused ? { rerunRefused: { reason: actions.rerunRefused.reason, detail: actions.rerunRefused.detail } } : {}),
    }
    const divergence = divergenceOf(snapshot)

    if (isTerminal(run.status)) {
      if (divergence) return explained("non_determinism", { ...error, divergence, ...rerun })
      if (run.status === "completed") return explained("completed", rerun)
      if (run.status === "cancelled") {
        const cancel = snapshot.commands.filter((c) => c.kind === "cancel").at(-1)
        const cancelledBy = cancel ? { actor: cancel.actor, ...(cancel.note !== undefined ? { note: cancel.note } : {}), at: cancel.at } : undefined
        return explained("cancelled", { ...error, ...(cancelledBy ? { cancelledBy } : {}), ...rerun })
      }
      const compensations = Array.isArray(record(run.error?.details).compensations) ? (record(run.error?.details).compensations as ReadonlyArray<Json>) : []
      return explained("failed", {
        ...error,
        ...(compensations.length > 0 ? { compensations } : {}),
        ...rerun,
      })
    }

    const seen = yield* store.lastWorkerSeen(run.queue)
    const worker: WorkerEvidence = {
      queue: run.queue,
      seenRecently: seen !== undefined && now - seen.lastSeen <= WORKER_RECENT_MS,
      ...(seen ? { lastSeenAt: seen.lastSeen, owner: seen.owner } : {}),
    }
    const inbox = snapshot.inbox.length > 0 ? { inbox: snapshot.inbox.map((s) => ({ name: s.name, receivedAt: s.receivedAt })) } : {}
    const { primary, others } = primaryWait(waitsOf(snapshot))
    const waits = { ...(primary ? { wait: primary } : {}), ...(others.length > 0 ? { alsoWaiting: others } : {}) }
    if (divergence) {
      return explained("non_determinism", { ...waits, worker, ...inbox, divergence })
    }
    if (!primary) return explained("stalled", { worker, ...inbox })

    let child: ChildEvidence | undefined
    if (primary.reason === "waiting_for_child" && primary.childRunId !== undefined) {
      const stored = snapshot.children.find((c) => c.id === primary.childRunId)
      const explanation = stored && depth < MAX_CHILD_DEPTH ? yield* explainAt(store, workflows, stored.id, depth + 1) : undefined
      child = {
        runId: primary.childRunId,
        workflow: primary.childWorkflow ?? stored?.workflow ?? "",
        status: stored?.status ?? "not_started",
        ...(explanation ? { explanation } : {}),
      }
    }
    return explained(primary.reason, { ...waits, worker, ...inbox, ...(child ? { child } : {}) })
  })

/**
 * Explains a run: why it is where it is (a reason code), a one-line summary, the controls
 * that would succeed now, and the evidence. A malformed id is an InvalidOptionError; an
 * unknown one a RunNotFoundError. Reads only; the time is Effect's Clock.
 */
export const explainRun = (
  store: StoreService,
  workflows: ReadonlyMap<string, AnyWorkflow>,
  runId: string,
): Effect.Effect<Explanation, InvalidOptionError | RunNotFoundError | StoreError> => explainAt(store, workflows, runId, 0)
