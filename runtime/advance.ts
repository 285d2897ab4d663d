/**
 * Recording a result and advancing the run, in one fenced commit: feed the resolved entry to
 * the interpreter, advance it, and write the entry, the new entries and tasks and the run
 * status together. The next task can be claimed inline by the committing worker, so a
 * sequential run never waits in the queue. On a revision conflict (a sibling committed
 * first) the run is replayed from the store and committed again with the same result.
 */
import { Effect, Schedule } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import { newClaim } from "../src/core/ids.js"
import { isTerminal, type AttemptRecord, type ClaimedTask, type Entry, type FenceReason, type RunStatus } from "../src/core/model.js"
import type { ClaimRef, Commit, CommitResult, NewTask } from "../src/store/Store.js"
import { makeEnv, rebuild, type EngineContext } from "./context.js"
import { spawnChildren } from "./children.js"
import { emitLogs, newTasksOf, runChangeOf } from "./decision.js"
import type { Decision, Replayer } from "./Interpreter.js"

/** A run's interpreter at the revision it reflects. */
export interface Acquired {
  readonly replayer: Replayer
  readonly revision: number
  /** What replaying the stored journal decided before the new result (normally nothing). */
  readonly pre: Decision | undefined
}

/** How a task ended: committed (with the run's status and maybe an inline-claimed next task) or fenced. */
export type Settled =
  | { readonly _tag: "Committed"; readonly runStatus: RunStatus; readonly next: ClaimedTask | undefined }
  | { readonly _tag: "Fenced"; readonly reason: FenceReason }

const MAX_CONFLICT_RETRIES = 25

/** Timers due within this horizon are kept and fired locally by the worker that created them. */
export const LOCAL_TIMER_HORIZON_MS = 30_000

/** The run's interpreter positioned at its pending commands: from the sticky cache, else replayed. */
export const acquire = (ctx: EngineContext, runId: string, workflow: AnyWorkflow, seq: number) =>
  Effect.suspend(() => {
    const cached = ctx.cache.take(runId)
    if (cached && cached.replayer.commandAt(seq)) return Effect.succeed<Acquired | FenceReason>({ ...cached, pre: undefined })
    return reload(ctx, runId, workflow)
  })

/** Replays the run from the store (cold path). */
export const reload = (ctx: EngineContext, runId: string, workflow: AnyWorkflow): Effect.Effect<Acquired | FenceReason, StoreError> =>
  Effect.gen(function* () {
    const run = yield* ctx.store.getRun(runId)
    if (!run) return "run_not_found" as const
    if (isTerminal(run.status)) return "terminal_run" as const
    const replayer = yield* rebuild(ctx, run, workflow)
    const pre = replayer.advance(yield* makeEnv)
    return { replayer, revision: run.revision, pre }
  })

/** What the task being settled contributes to the commit. */
export interface Settlement {
  readonly task: ClaimedTask
  readonly claim: ClaimRef
  readonly workflow: AnyWorkflow
  readonly resolved: Entry | undefined
  readonly attempt: AttemptRecord | undefined
  readonly leaseMs: number
  /** Claim the run's next due task for this worker in the same commit. */
  readonly chain: boolean
  /** Where to commit: the store, or an open transaction (transactional steps). */
  readonly commit: (c: Commit) => Effect.Effect<CommitResult, StoreError>
}

/** Resolves, advances and commits; replays and retries on revision conflicts. */
export const settle = (ctx: EngineContext, s: Settlement, first: Acquired): Effect.Effect<Settled, StoreError> =>
  Effect.gen(function* () {
    let acquired = first
    for (let round = 0; ; round++) {
      const { replayer, pre } = acquired
      const env = yield* makeEnv
      let decision: Decision
      if (pre && pre.outcome._tag !== "Blocked") decision = pre
      else {
        if (s.resolved) replayer.resolve(s.resolved)
        const next = replayer.advance(env)
        decision = pre && pre.entries.length > 0
          ? { ...next, entries: [...pre.entries, ...next.entries], tasks: [...pre.tasks, ...next.tasks], consumed: [...pre.consumed, ...next.consumed] }
          : next
      }
      const run = runChangeOf(decision)
      const { tasks, inline } = withInlineClaim(s, newTasksOf({ id: s.task.runId, queue: s.workflow.queue }, decision), env.now)
      const unclaimed = tasks.some((t) => !t.claim)
      const result = yield* retryTransient(s.commit({
        runId: s.task.runId,
        now: env.now,
        fence: s.claim,
        task: { _tag: "Done" },
        expectedRevision: acquired.revision,
        ...(run ? { run } : {}),
        resolve: s.resolved ? [s.resolved, ...decision.cancelled] : decision.cancelled,
        append: decision.entries,
        attempts: s.attempt ? [s.attempt] : [],
        tasks,
        withdraw: decision.cancelled.map((e) => e.seq),
        ...(decision.consumed.length > 0 ? { consume: decision.consumed } : {}),
        ...(unclaimed ? { wake: s.workflow.queue } : {}),
        ...(replayer.parent && run && isTerminal(run.status) ? { wakeParent: replayer.parent } : {}),
      }))
      if (result._tag === "Committed") {
        yield* spawnChildren(ctx, s.task.runId, decision.entries)
        yield* emitLogs(s.task.runId, decision)
        if (unclaimed) yield* ctx.notifier.notify
        if (decision.outcome._tag === "Blocked") ctx.cache.put(s.task.runId, { replayer, revision: result.revision })
        return { _tag: "Committed", runStatus: run?.status ?? "running", next: inline }
      }
      if (result.reason !== "revision_conflict" || round >= MAX_CONFLICT_RETRIES) return { _tag: "Fenced", reason: result.reason }
      const again = yield* reload(ctx, s.task.runId, s.workflow)
      if (typeof again === "string") return { _tag: "Fenced", reason: again }
      // Our result is already in the journal (an earlier try committed before its reply was lost).
      if (s.resolved && again.replayer.entryAt(s.resolved.seq)?.status !== "pending") return { _tag: "Fenced", reason: "stale_claim" }
      acquired = again
    }
  })

/**
 * Retries a commit that failed with a transient StoreError (connection lost, database
 * restarting, serialization failure) up to 5 times with exponential backoff from 100 ms. Any
 * other StoreError (a SQL error, a constraint violation) fails at once: it would fail the same
 * way again. Safe: commits are fenced, so a retry after an unseen success is refused.
 */
export const retryTransient = <A>(commit: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
  Effect.retry(commit, { schedule: Schedule.intersect(Schedule.exponential("100 millis"), Schedule.recurs(5)), while: (error) => error.transient })

/** Claims the first task due now for this worker, in the commit that creates it. */
const withInlineClaim = (s: Settlement, tasks: ReadonlyArray<NewTask>, now: number): { tasks: ReadonlyArray<NewTask>; inline: ClaimedTask | undefined } => {
  if (!s.chain) return { tasks, inline: undefined }
  // A task due now runs next in this slot. Otherwise a timer due soon is kept by this worker and
  // fired from a local timer (no claim round trip at its due time); its lease runs past the due
  // time, so if this worker dies any other takes the timer at most one lease late.
  let index = tasks.findIndex((t) => t.visibleAt <= now)
  if (index < 0) index = tasks.findIndex((t) => t.kind === "timer" && t.visibleAt - now <= LOCAL_TIMER_HORIZON_MS)
  if (index < 0) return { tasks, inline: undefined }
  const picked = tasks[index]!
  const { token, ...minted } = newClaim()
  const claim = { ...minted, owner: s.task.owner, leaseUntil: Math.max(now, picked.visibleAt) + s.leaseMs }
  const inline: ClaimedTask = {
    runId: picked.runId,
    seq: picked.seq,
    queue: picked.queue,
    kind: picked.kind,
    attempt: picked.attempt,
    visibleAt: picked.visibleAt,
    workflow: s.task.workflow,
    owner: claim.owner,
    claimId: claim.claimId,
    token,
    leaseUntil: claim.leaseUntil,
  }
  return { tasks: tasks.map((t, i) => (i === index ? { ...t, claim } : t)), inline }
}
