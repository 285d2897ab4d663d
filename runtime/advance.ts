/**
 * Advance, the one core operation and the only place a run's change is committed: given what
 * happened (a resolution: a step's result, a timer fired, a child settled, a gate decided, a
 * signal received, a retry, a cancel), acquire the run's interpreter (sticky cache or replay),
 * resolve, advance it, build the one commit, commit it fenced, and do the after-commit work. A
 * sequential run's next task is claimed inline by the committing worker, so it never waits in
 * the queue. On a revision conflict (a sibling committed first) a task's result is replayed
 * from the store and committed again.
 */
import { Clock, Effect, Option, Schedule, Schema } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import { newClaim } from "../src/core/ids.js"
import type { Json } from "../src/core/json.js"
import {
  isTerminal,
  type AttemptRecord,
  type ClaimedTask,
  type CommandRecord,
  type Entry,
  type ErrorInfo,
  type FenceReason,
  type RunRecord,
  type RunStatus,
} from "../src/core/model.js"
import type { ClaimRef, Commit, CommitResult, NewTask, TransactionScope } from "../src/store/Store.js"
import { makeEnv, rebuild, type EngineContext } from "./context.js"
import { commitOf } from "./commit.js"
import { emitLogs, newTasksOf, runChangeOf } from "./decision.js"
import { ChildSpec } from "./interpreter/codecs.js"
import { prepareStart, type PreparedRun } from "./newRun.js"
import { LOCAL_TIMER_HORIZON_MS } from "./timers.js"
import type { Decision, Replayer } from "./Interpreter.js"

/** A run's interpreter at the revision it reflects. */
export interface Acquired {
  readonly _tag: "Acquired"
  readonly replayer: Replayer
  readonly revision: number
  /** What replaying the stored journal decided before the new result (normally nothing). */
  readonly pre: Decision | undefined
}

/** Why a run cannot be advanced by this worker now: nothing was written. */
export interface Fenced {
  readonly _tag: "Fenced"
  readonly reason: FenceReason
}

const fencedBy = (reason: FenceReason): Fenced => ({ _tag: "Fenced", reason })

/** How a task ended: committed (with the run's status and maybe an inline-claimed next task) or fenced. */
export type Settled = { readonly _tag: "Committed"; readonly runStatus: RunStatus; readonly next: ClaimedTask | undefined } | Fenced

const MAX_CONFLICT_RETRIES = 25

/** The run's interpreter positioned at its pending commands: from the sticky cache, else replayed. */
export const acquire = (ctx: EngineContext, runId: string, workflow: AnyWorkflow, seq: number) =>
  Effect.suspend(() => {
    const cached = ctx.cache.take(runId)
    if (cached?.replayer.commandAt(seq)) return Effect.succeed<Acquired | Fenced>({ _tag: "Acquired", ...cached, pre: undefined })
    return reload(ctx, runId, workflow)
  })

/** Replays the run from the store (cold path). */
export const reload = (ctx: EngineContext, runId: string, workflow: AnyWorkflow): Effect.Effect<Acquired | Fenced, StoreError> =>
  Effect.gen(function* () {
    const run = yield* ctx.store.getRun(runId)
    if (!run) return fencedBy("run_not_found")
    if (isTerminal(run.status)) return fencedBy("terminal_run")
    const replayer = yield* rebuild(ctx, run, workflow)
    const pre = replayer.advance(yield* makeEnv)
    return { _tag: "Acquired", replayer, revision: run.revision, pre }
  })

/** The claim a task's commit is fenced by, and whether this worker runs the run's next task. */
export interface TaskFence {
  readonly task: ClaimedTask
  readonly claim: ClaimRef
  readonly leaseMs: number
  /** Claim the run's next due task for this worker in the same commit. */
  readonly chain: boolean
}

/** What happened to a claimed task: the resolution its commit records. */
export type TaskResolution =
  /** Its entry resolved: a step's (or compensation's) result, a timer fired, a child settled. */
  | { readonly _tag: "Resolved"; readonly entry: Entry; readonly attempt?: AttemptRecord }
  /** Nothing new: commit what replaying the journal decided (a divergence, or an early end). */
  | { readonly _tag: "Replayed" }
  /** A failed attempt with retries left: the task runs again at `visibleAt`; the journal is unchanged. */
  | { readonly _tag: "Retry"; readonly attempt: AttemptRecord; readonly visibleAt: number }
  /** A parent's child wait parks until the child's end wakes it (checked against the revision). */
  | { readonly _tag: "Park"; readonly visibleAt: number }
  /** A leftover task whose entry is already resolved: done, the journal untouched. */
  | { readonly _tag: "Drop" }

/** What a control does to a run: the resolution its commit records, with its audit event. */
export type ControlResolution =
  /** A gate decided or a waited-for signal received: the interpreter advances past it. */
  | { readonly _tag: "Resolved"; readonly entry: Entry; readonly replayer: Replayer; readonly workflow: AnyWorkflow }
  /** A signal the run does not wait for yet: kept in its inbox. */
  | { readonly _tag: "Inbox"; readonly signal: { readonly name: string; readonly payload: Json; readonly receivedAt: number } }
  /** The run ends cancelled (a waiting parent is woken). */
  | { readonly _tag: "Cancel"; readonly error: ErrorInfo }

/**
 * An advance request: a claimed task's resolution, fenced by its claim (and, when the journal
 * changes, the run's revision), or a control's, fenced by the run's revision and committed with
 * its audit event.
 */
export type AdvanceRequest =
  | {
      readonly _tag: "Task"
      readonly fence: TaskFence
      readonly workflow: AnyWorkflow
      readonly acquired: Acquired
      readonly resolution: TaskResolution
      /** An open transaction to commit in (a `transaction: true` step's), instead of the store. */
      readonly transaction?: TransactionScope
    }
  | { readonly _tag: "Control"; readonly run: RunRecord; readonly audit: CommandRecord; readonly now: number; readonly resolution: ControlResolution }

/** What advancing did: committed (the run's status, and maybe the next task claimed inline) or fenced. */
export type Advanced = Settled

/** A new run to create (a start, a child, a rerun): prepared and validated, nothing written yet. */
export interface CreateRequest {
  readonly _tag: "Create"
  readonly prepared: PreparedRun
}

/** `Existing` when a run with that id was already there: nothing was written. */
export type Created = { readonly _tag: "Created"; readonly run: RunRecord } | { readonly _tag: "Existing"; readonly run: RunRecord }

/**
 * Advances a run: the one place a run's change is committed. It resolves, advances the
 * interpreter, builds the one commit, commits it (fenced), does the after-commit work, and for
 * a task's result replays and retries on a revision conflict. A new run is created the same way:
 * its first advance was prepared, it is written in one create, then the after-commit work runs.
 */
export function advanceRun(ctx: EngineContext, request: CreateRequest): Effect.Effect<Created, StoreError>
export function advanceRun(ctx: EngineContext, request: AdvanceRequest): Effect.Effect<Advanced, StoreError>
export function advanceRun(ctx: EngineContext, request: AdvanceRequest | CreateRequest): Effect.Effect<Advanced | Created, StoreError> {
  return request._tag === "Create" ? createRun(ctx, request.prepared) : request._tag === "Task" ? advanceTask(ctx, request) : advanceControl(ctx, request)
}

const createRun = (ctx: EngineContext, prepared: PreparedRun): Effect.Effect<Created, StoreError> =>
  Effect.gen(function* () {
    const { newRun, replayer, decision, keep } = prepared
    const created = yield* ctx.store.createRun(newRun)
    if (created._tag === "Existing") return created
    // Tasks nobody claimed yet: wake this process's idle workers.
    yield* afterCommit(ctx, { runId: newRun.run.id, decision, replayer, revision: 1, wake: newRun.tasks.some((t) => !t.claim) })
    if (keep) keep.keeper.keep(keep.task)
    return created
  })

/**
 * Creates the child runs of new `child` entries, once the commit that recorded them succeeded
 * (a rejected commit starts nothing). Idempotent (deterministic ids); if the process dies
 * before it, the parent's `child` task creates them. A child that cannot start (unknown
 * workflow, invalid input, an entry that does not decode) is left to the parent's task, which
 * fails the entry. Creating a run can create its children: the recursion stays in this module.
 */
const spawnChildren = (ctx: EngineContext, parentRunId: string, entries: ReadonlyArray<Entry>): Effect.Effect<void, StoreError> =>
  Effect.forEach(
    entries.filter((e) => e.kind === "child"),
    (entry) => {
      const decoded = Schema.decodeUnknownOption(ChildSpec)(entry.input)
      if (Option.isNone(decoded)) return Effect.void
      const spec = decoded.value
      const workflow = ctx.workflows.get(spec.workflow)
      if (!workflow) return Effect.void
      return prepareStart(ctx, workflow, spec.input, { runId: spec.runId }, { _tag: "Child", runId: parentRunId, seq: entry.seq }).pipe(
        Effect.flatMap((prepared) => advanceRun(ctx, { _tag: "Create", prepared })),
        Effect.catchAll((e) => (e._tag === "StoreError" ? Effect.fail(e) : Effect.void)),
      )
    },
    { discard: true },
  )

/** What a commit that advanced a run left to do. */
interface Committed {
  readonly runId: string
  readonly decision: Decision
  /** The interpreter that made the decision, and the run's revision after the commit. */
  readonly replayer: Replayer
  readonly revision: number
  /** The commit made tasks other workers may take: wake this process's idle workers. */
  readonly wake: boolean
}

/** Children, logs, wake-ups and the sticky cache, after a successful commit. */
const afterCommit = (ctx: EngineContext, c: Committed): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    yield* spawnChildren(ctx, c.runId, c.decision.entries)
    yield* emitLogs(c.runId, c.decision)
    if (c.wake) yield* ctx.notifier.notify
    // A run that is still live keeps its interpreter warm; a finished one leaves the cache.
    if (c.decision.outcome._tag === "Blocked") ctx.cache.put(c.runId, { replayer: c.replayer, revision: c.revision })
  })

const committed = (runStatus: RunStatus, next?: ClaimedTask): Settled => ({ _tag: "Committed", runStatus, next })

const advanceTask = (ctx: EngineContext, r: Extract<AdvanceRequest, { _tag: "Task" }>): Effect.Effect<Advanced, StoreError> =>
  Effect.gen(function* () {
    const { fence, resolution } = r
    const runId = fence.task.runId
    const send = (commit: Commit) => retryTransient(r.transaction ? r.transaction.commit(commit) : ctx.store.commit(commit))
    switch (resolution._tag) {
      case "Drop": {
        const now = yield* Clock.currentTimeMillis
        const result = yield* send(commitOf({ runId, now, fence: fence.claim, task: { _tag: "Done" } }))
        return fencedBy(result._tag === "Rejected" ? result.reason : "stale_claim")
      }
      case "Retry": {
        const now = yield* Clock.currentTimeMillis
        const task = { _tag: "Retry", attempt: fence.task.attempt + 1, visibleAt: resolution.visibleAt } as const
        const result = yield* send(commitOf({ runId, now, fence: fence.claim, task, attempts: [resolution.attempt], wake: fence.task.queue }))
        if (result._tag === "Rejected") return fencedBy(result.reason)
        yield* ctx.notifier.notify
        // The journal did not change: the interpreter stays valid at its revision.
        const { acquired } = r
        if (!acquired.pre || acquired.pre.entries.length === 0) ctx.cache.put(runId, { replayer: acquired.replayer, revision: acquired.revision })
        return committed("running")
      }
      case "Park": {
        const now = yield* Clock.currentTimeMillis
        const task = { _tag: "Retry", attempt: fence.task.attempt, visibleAt: resolution.visibleAt } as const
        const result = yield* send(commitOf({ runId, now, fence: fence.claim, task, expectedRevision: r.acquired.revision }))
        if (result._tag === "Rejected") return fencedBy(result.reason)
        ctx.cache.put(runId, { replayer: r.acquired.replayer, revision: result.revision })
        return committed("running")
      }
      default:
        return yield* advanceWithResult(ctx, r, resolution._tag === "Resolved" ? resolution : undefined, send)
    }
  })

/** A task's result (or a replayed decision): resolve, advance, commit; replay and retry on a revision conflict. */
const advanceWithResult = (
  ctx: EngineContext,
  r: Extract<AdvanceRequest, { _tag: "Task" }>,
  result: Extract<TaskResolution, { _tag: "Resolved" }> | undefined,
  send: (commit: Commit) => Effect.Effect<CommitResult, StoreError>,
): Effect.Effect<Advanced, StoreError> =>
  Effect.gen(function* () {
    const { fence, workflow } = r
    const runId = fence.task.runId
    let acquired = r.acquired
    for (let round = 0; ; round++) {
      const { replayer, pre } = acquired
      const env = yield* makeEnv
      let decision: Decision
      if (pre && pre.outcome._tag !== "Blocked") decision = pre
      else {
        if (result) replayer.resolve(result.entry)
        const next = replayer.advance(env)
        decision =
          pre && pre.entries.length > 0
            ? { ...next, entries: [...pre.entries, ...next.entries], tasks: [...pre.tasks, ...next.tasks], consumed: [...pre.consumed, ...next.consumed] }
            : next
      }
      const run = runChangeOf(decision, ctx.limits.outputBytes)
      const { tasks, inline } = withInlineClaim(fence, newTasksOf({ id: runId, queue: workflow.queue }, decision), env.now)
      const unclaimed = tasks.some((t) => !t.claim)
      const outcome = yield* send(
        commitOf({
          runId,
          now: env.now,
          fence: fence.claim,
          task: { _tag: "Done" },
          expectedRevision: acquired.revision,
          ...(run ? { run } : {}),
          resolve: result ? [result.entry, ...decision.cancelled] : decision.cancelled,
          append: decision.entries,
          attempts: result?.attempt ? [result.attempt] : [],
          tasks,
          withdraw: decision.cancelled.map((e) => e.seq),
          ...(decision.consumed.length > 0 ? { consume: decision.consumed } : {}),
          ...(unclaimed ? { wake: workflow.queue } : {}),
          ...(replayer.parent && run && isTerminal(run.status) ? { wakeParent: replayer.parent } : {}),
        }),
      )
      if (outcome._tag === "Committed") {
        yield* afterCommit(ctx, { runId, decision, replayer, revision: outcome.revision, wake: unclaimed })
        return committed(run?.status ?? "running", inline)
      }
      if (outcome.reason !== "revision_conflict" || round >= MAX_CONFLICT_RETRIES) return fencedBy(outcome.reason)
      const again = yield* reload(ctx, runId, workflow)
      if (again._tag === "Fenced") return again
      // Our result is already in the journal (an earlier try committed before its reply was lost).
      if (result && again.replayer.entryAt(result.entry.seq)?.status !== "pending") return fencedBy("stale_claim")
      acquired = again
    }
  })

/**
 * A control's change, with its audit event, checked against the run's revision. A conflict is
 * returned (`Fenced` with `revision_conflict`): the control looks at the run again, since its
 * idempotency key or the gate it decides may have changed meanwhile.
 */
const advanceControl = (ctx: EngineContext, r: Extract<AdvanceRequest, { _tag: "Control" }>): Effect.Effect<Advanced, StoreError> =>
  Effect.gen(function* () {
    const { run, audit, now, resolution } = r
    const base = { runId: run.id, now, expectedRevision: run.revision }
    switch (resolution._tag) {
      case "Cancel": {
        const parent = run.parentRunId !== undefined ? { wakeParent: { runId: run.parentRunId, seq: run.parentSeq ?? 0 } } : {}
        const result = yield* retryTransient(
          ctx.store.commit(commitOf({ ...base, run: { status: "cancelled", error: resolution.error }, command: audit, ...parent })),
        )
        if (result._tag === "Rejected") return fencedBy(result.reason)
        ctx.cache.clear(run.id)
        return committed("cancelled")
      }
      case "Inbox": {
        const result = yield* retryTransient(ctx.store.commit(commitOf({ ...base, deliver: resolution.signal, command: audit })))
        // The cached interpreter learns of it on its next reload (the revision moved).
        return result._tag === "Rejected" ? fencedBy(result.reason) : committed(run.status)
      }
      case "Resolved": {
        const { entry, replayer, workflow } = resolution
        replayer.resolve(entry)
        const decision = replayer.advance({ ...(yield* makeEnv), now })
        const runChange = runChangeOf(decision, ctx.limits.outputBytes)
        const tasks = newTasksOf({ id: run.id, queue: workflow.queue }, decision)
        const result = yield* retryTransient(
          ctx.store.commit(
            commitOf({
              ...base,
              ...(runChange ? { run: runChange } : {}),
              resolve: [entry, ...decision.cancelled],
              append: decision.entries,
              tasks,
              // The entry's own timer (deadline, timeout), if any, goes with the decision.
              withdraw: [entry.seq, ...decision.cancelled.map((e) => e.seq)],
              ...(decision.consumed.length > 0 ? { consume: decision.consumed } : {}),
              command: { ...audit, seq: entry.seq },
              ...(tasks.length > 0 ? { wake: workflow.queue } : {}),
              ...(replayer.parent && runChange && isTerminal(runChange.status) ? { wakeParent: replayer.parent } : {}),
            }),
          ),
        )
        if (result._tag === "Rejected") return fencedBy(result.reason)
        yield* afterCommit(ctx, { runId: run.id, decision, replayer, revision: result.revision, wake: tasks.length > 0 })
        return committed(runChange?.status ?? "running")
      }
    }
  })

/**
 * Retries a commit that failed with a transient StoreError (connection lost, database
 * restarting, serialization failure) up to 5 times with exponential backoff from 100 ms. Any
 * other StoreError (a SQL error, a constraint violation) fails at once: it would fail the same
 * way again. Safe: commits are fenced, so a retry after an unseen success is refused.
 */
const retryTransient = <A>(commit: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
  Effect.retry(commit, { schedule: Schedule.intersect(Schedule.exponential("100 millis"), Schedule.recurs(5)), while: (error) => error.transient })

/** Claims the first task due now for this worker, in the commit that creates it. */
const withInlineClaim = (s: TaskFence, tasks: ReadonlyArray<NewTask>, now: number): { tasks: ReadonlyArray<NewTask>; inline: ClaimedTask | undefined } => {
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
