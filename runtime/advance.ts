/**
 * Advance, the one core operation and the only place a run's change is committed: given what
 * happened (a resolution: a step's result, a timer fired, a child settled, a gate decided, a
 * signal received, a retry, a cancel), acquire the run's interpreter (sticky cache or replay),
 * resolve, advance it, build the one commit, commit it fenced, and do the after-commit work. A
 * sequential run's next task is claimed inline by the committing worker, so it never waits in
 * the queue. On a revision conflict (a sibling committed first) a task's result is replayed
 * from the store and committed again. A timer that wakes a step is not committed on its own:
 * the worker runs the step at once, fenced by the timer's claim, and one commit records both.
 */
import { Clock, Effect, Option, Schema } from "effect"
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
  type RunRecord,
  type RunStatus,
} from "../src/core/model.js"
import type { Commit, CommitResult, NewTask, ScheduleTransition, TransactionScope, TransitionResult } from "../src/store/Store.js"
import { makeEnv, type EngineContext } from "./context.js"
import { commitOf, retryTransient } from "./commit.js"
import { emitLogs, newTasksOf, runChangeOf } from "./decision.js"
import { ChildSpec } from "./interpreter/codecs.js"
import { prepareStart, type PreparedRun } from "./newRun.js"
import { LOCAL_TIMER_HORIZON_MS } from "./timers.js"
import { withEngineSpan } from "./tracing.js"
import { claimRefOf, fencedBy, reload, type Acquired, type Fenced } from "./acquire.js"
import { decide, fire, type Carried, type NextTask, type TaskFence } from "./carry.js"
import { settleTask, withDynamicWork } from "./dynamic/hold.js"
import { nodeCommit } from "./dynamic/settle.js"
import type { NewWork, PlannedWork } from "./dynamic/plan.js"
import { dynamicWrites } from "./dynamic/stage.js"
import type { Decision, Replayer } from "./Interpreter.js"

/**
 * How a task ended: committed (with the run's status and maybe the run's next task for this
 * worker), carried (a fired timer's step to run before anything is committed), or fenced.
 */
export type Settled =
  | { readonly _tag: "Committed"; readonly runStatus: RunStatus; readonly next: NextTask | undefined }
  | { readonly _tag: "Carried"; readonly runStatus: "running"; readonly next: NextTask }
  | Fenced

const MAX_CONFLICT_RETRIES = 25

/** What happened to a claimed task: the resolution its commit records. */
export type TaskResolution =
  /**
   * Its entry resolved: a step's (or compensation's, or dynamic node's) result, a timer's
   * deadline, a child settled; with the dynamic work a succeeding step proposed (`dynamic`).
   */
  | { readonly _tag: "Resolved"; readonly entry: Entry; readonly attempt?: AttemptRecord; readonly dynamic?: ReadonlyArray<NewWork> }
  /** A timer fired: resolved like `Resolved`, or carried into the step it wakes (see `Carried`). */
  | { readonly _tag: "Fired"; readonly entry: Entry }
  /** Nothing new: commit what replaying the journal decided (a divergence, or an early end). */
  | { readonly _tag: "Replayed" }
  /** A failed attempt with retries left: the task runs again at `visibleAt`; the journal is unchanged. */
  | { readonly _tag: "Retry"; readonly attempt: AttemptRecord; readonly visibleAt: number }
  /** A parent's child wait parks until the child's end wakes it (checked against the revision). */
  | { readonly _tag: "Park"; readonly visibleAt: number }
  /** A leftover task whose entry is already resolved: done, the journal untouched. */
  | { readonly _tag: "Drop" }
  /**
   * A settle task that cannot complete the run yet (a node is pending): done, with the tasks of
   * the nodes whose predecessors all completed (`release`, maybe none); the journal untouched.
   */
  | { readonly _tag: "Unsettled"; readonly release: ReadonlyArray<NewTask> }

/** What a control does to a run: the resolution its commit records, with its audit event. */
export type ControlResolution =
  /** A gate decided or a waited-for signal received: the interpreter advances past it. */
  | { readonly _tag: "Resolved"; readonly entry: Entry; readonly replayer: Replayer; readonly workflow: AnyWorkflow }
  /** A signal the run does not wait for yet: kept in its inbox. */
  | { readonly _tag: "Inbox"; readonly signal: { readonly name: string; readonly payload: Json; readonly receivedAt: number } }
  /** The run ends cancelled (a waiting parent is woken). */
  | { readonly _tag: "Cancel"; readonly error: ErrorInfo }
  /**
   * A gate decided or a waited-for signal received by a process without the workflow's code:
   * the entry is resolved in the journal, and a task at its seq lets a worker that has the code
   * advance the run (`status`: the run's status until then).
   */
  | { readonly _tag: "Journaled"; readonly entry: Entry; readonly status: RunStatus }
  /** Dynamic work recorded or scheduled by host code: its fact, and its nodes' entries and tasks. */
  | { readonly _tag: "Dynamic"; readonly planned: PlannedWork }

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

/** A cron schedule's decision (runtime/Scheduler.ts): its state change, with the run of the window it starts. */
export interface ScheduleRequest {
  readonly _tag: "Schedule"
  readonly transition: Omit<ScheduleTransition, "run">
  readonly prepared?: PreparedRun
}

/** `Existing` when a run with that id was already there: nothing was written. */
export type Created = { readonly _tag: "Created"; readonly run: RunRecord } | { readonly _tag: "Existing"; readonly run: RunRecord }

/**
 * Advances a run: the one place a run's change is committed. It resolves, advances the
 * interpreter, builds the one commit, commits it (fenced), does the after-commit work, and for
 * a task's result replays and retries on a revision conflict. A new run is created the same way:
 * its first advance was prepared, it is written in one create, then the after-commit work runs.
 */
export function advanceRun(ctx: EngineContext, request: ScheduleRequest): Effect.Effect<TransitionResult, StoreError>
export function advanceRun(ctx: EngineContext, request: CreateRequest): Effect.Effect<Created, StoreError>
export function advanceRun(ctx: EngineContext, request: AdvanceRequest): Effect.Effect<Advanced, StoreError>
export function advanceRun(ctx: EngineContext, request: AdvanceRequest | CreateRequest | ScheduleRequest): Effect.Effect<unknown, StoreError> {
  if (request._tag === "Schedule")
    return createRun(ctx, request.prepared, ctx.store.transitionSchedule({ ...request.transition, run: request.prepared?.newRun }))
  const advanced: Effect.Effect<Advanced | Created, StoreError> =
    request._tag === "Create"
      ? createRun(ctx, request.prepared, ctx.store.createRun(request.prepared.newRun))
      : request._tag === "Task"
        ? advanceTask(ctx, request)
        : advanceControl(ctx, request)
  return advanced.pipe(withEngineSpan("squid-mesh.advance", () => advanceSpanAttributes(request), advanceSpanOutcome))
}

/** The advance span's attributes: the run, its workflow and the kind of resolution it commits. */
const advanceSpanAttributes = (request: AdvanceRequest | CreateRequest): Record<string, unknown> => {
  if (request._tag === "Create") {
    const { run } = request.prepared.newRun
    return { runId: run.id, workflow: run.workflow, resolution: "start" }
  }
  if (request._tag === "Control") return { runId: request.run.id, workflow: request.run.workflow, resolution: `control.${request.audit.kind}` }
  const { task } = request.fence
  const tag = request.resolution._tag
  const kind = tag === "Resolved" ? RESOLVED_BY_TASK[task.kind] : TASK_RESOLUTIONS[tag]
  return { runId: task.runId, workflow: task.workflow, resolution: kind, seq: task.seq, ...(request.fence.carried ? { carriedTimer: true } : {}) }
}

const RESOLVED_BY_TASK = {
  step: "step_result",
  compensation: "compensation_result",
  timer: "timer_fired",
  child: "child_settled",
  dynamic: "dynamic_node_result",
  advance: "replayed",
} as const
const TASK_RESOLUTIONS = { Fired: "timer_fired", Retry: "retry_scheduled", Park: "park", Drop: "drop", Replayed: "replayed", Unsettled: "unsettled" } as const

/** The advance span's outcome: committed (with the run's status), carried into the step it woke, existing, or fenced. */
const advanceSpanOutcome = (advanced: Advanced | Created): Record<string, unknown> =>
  advanced._tag === "Fenced"
    ? { outcome: "fenced", fenceReason: advanced.reason }
    : advanced._tag === "Committed" || advanced._tag === "Carried"
      ? { outcome: advanced._tag.toLowerCase(), runStatus: advanced.runStatus }
      : { outcome: advanced._tag.toLowerCase(), runStatus: advanced.run.status }

/** Writes a new run (`write`: a create, or a schedule's decision with its window's run), then does the after-commit work. */
const createRun = <R extends Created | TransitionResult>(ctx: EngineContext, prepared: PreparedRun | undefined, write: Effect.Effect<R, StoreError>) =>
  Effect.gen(function* () {
    const created = yield* write
    if (!prepared || created._tag === "Existing" || created._tag === "Moved" || (created._tag === "Applied" && !created.created)) return created
    const { newRun, replayer, decision, keep } = prepared
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
  /** The interpreter that made the decision (none without the workflow's code), and the run's revision after the commit. */
  readonly replayer: Replayer | undefined
  readonly revision: number
  /** The commit made tasks other workers may take: wake this process's idle workers. */
  readonly wake: boolean
}

/** Children, logs, wake-ups and the sticky cache, after a successful commit. */
const afterCommit = (ctx: EngineContext, c: Committed): Effect.Effect<void, StoreError> => {
  // A run that is still live keeps its interpreter warm; a finished one leaves the cache.
  if (c.decision.outcome._tag === "Blocked" && c.replayer) ctx.cache.put(c.runId, { replayer: c.replayer, revision: c.revision })
  // The common case (a step's result, nothing to start, log or wake) needs no effect at all.
  const children = c.decision.entries.some((e) => e.kind === "child")
  if (!children && c.decision.logs.length === 0 && !c.wake) return Effect.void
  return Effect.gen(function* () {
    if (children) yield* spawnChildren(ctx, c.runId, c.decision.entries)
    yield* emitLogs(c.runId, c.decision)
    if (c.wake) yield* ctx.notifier.notify
  })
}

const committed = (runStatus: RunStatus, next?: NextTask): Settled => ({ _tag: "Committed", runStatus, next })

const advanceTask = (ctx: EngineContext, r: Extract<AdvanceRequest, { _tag: "Task" }>): Effect.Effect<Advanced, StoreError> =>
  Effect.gen(function* () {
    const { fence, resolution } = r
    const runId = fence.task.runId
    const send = (commit: Commit) => retryTransient(r.transaction ? r.transaction.commit(commit) : ctx.store.commit(commit))
    switch (resolution._tag) {
      case "Drop":
      case "Unsettled": {
        const now = yield* Clock.currentTimeMillis
        // Released nodes need no revision: only the settle task (one claim at a time) releases them.
        const tasks = resolution._tag === "Unsettled" ? resolution.release : []
        const result = yield* send(
          commitOf({ runId, now, fence: fence.claim, task: { _tag: "Done" }, tasks, ...(tasks.length > 0 ? { wake: fence.task.queue } : {}) }),
        )
        if (result._tag === "Rejected") return fencedBy(result.reason)
        if (tasks.length > 0) yield* ctx.notifier.notify
        return resolution._tag === "Drop" ? fencedBy("stale_claim") : committed("running")
      }
      case "Retry": {
        const now = yield* Clock.currentTimeMillis
        if (fence.carried) return yield* retryCarried(ctx, r, fence.carried, resolution, now)
        const task = { _tag: "Retry", attempt: fence.task.attempt + 1, visibleAt: resolution.visibleAt } as const
        const result = yield* send(commitOf({ runId, now, fence: fence.claim, task, attempts: [resolution.attempt], wake: fence.task.queue }))
        if (result._tag === "Rejected") return fencedBy(result.reason)
        yield* ctx.notifier.notify
        // The journal did not change: the interpreter stays valid at its revision.
        const { acquired } = r
        if ((!acquired.pre || acquired.pre.entries.length === 0) && fence.task.kind !== "dynamic")
          ctx.cache.put(runId, { replayer: acquired.replayer, revision: acquired.revision })
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
      case "Fired": {
        const fired = fire(fence, r.acquired, r.workflow, resolution.entry, yield* makeEnv)
        if (fired._tag === "Carried") {
          // Nothing is committed yet: the interpreter stays valid at the stored revision.
          ctx.cache.put(runId, { replayer: r.acquired.replayer, revision: r.acquired.revision })
          return fired
        }
        return yield* advanceWithResult(ctx, r, { _tag: "Resolved", entry: resolution.entry }, send, fired.decision)
      }
      case "Resolved": {
        if (fence.task.kind !== "dynamic") return yield* advanceWithResult(ctx, r, resolution, send, undefined)
        // A dynamic node's result: fenced by its claim alone (see runtime/dynamic/settle.ts).
        const now = yield* Clock.currentTimeMillis
        const { entry, attempt } = resolution
        const parent = r.acquired.replayer.parent
        const result = yield* send(nodeCommit({ run: { id: runId, queue: r.workflow.queue }, claim: fence.claim, entry, attempt, parent, now }))
        if (result._tag === "Rejected") return fencedBy(result.reason)
        if (entry.status === "failed") ctx.cache.clear(runId)
        yield* ctx.notifier.notify
        return committed(entry.status === "failed" ? "failed" : "running")
      }
      case "Replayed":
        return yield* advanceWithResult(ctx, r, undefined, send, undefined)
    }
  })

/** A task's result (or a replayed decision): resolve, advance, commit; replay and retry on a revision conflict. */
const advanceWithResult = (
  ctx: EngineContext,
  r: Extract<AdvanceRequest, { _tag: "Task" }>,
  result: Extract<TaskResolution, { _tag: "Resolved" }> | undefined,
  send: (commit: Commit) => Effect.Effect<CommitResult, StoreError>,
  decided: Decision | undefined,
): Effect.Effect<Advanced, StoreError> =>
  Effect.gen(function* () {
    const { fence, workflow } = r
    const { carried } = fence
    const runId = fence.task.runId
    // Every entry this commit resolves: a carried timer's, then the task's own.
    const results = [...(carried ? [carried.fired] : []), ...(result ? [result.entry] : [])]
    const resolvedBySeq = new Map(results.map((e) => [e.seq, e]))
    let acquired = r.acquired
    for (let round = 0; ; round++) {
      const env = yield* makeEnv
      // The first round goes on from the interpreter as acquired (a carried timer is applied to it
      // already); after a reload, every result is applied again to the replayed journal.
      const decision = round === 0 ? (decided ?? decide(acquired, result ? [result.entry] : [], env, carried?.decision)) : decide(acquired, results, env)
      if (!decision) {
        // The reloaded journal no longer waits where this task's result goes.
        if (carried) yield* ctx.store.release(fence.claim, env.now).pipe(Effect.ignore)
        return fencedBy("stale_claim")
      }
      const { replayer } = acquired
      // The dynamic work the step proposed, written with its result.
      const staged = dynamicWrites(replayer, { id: runId, queue: workflow.queue }, result?.dynamic ?? [], env.now)
      if (staged.dropped.length > 0)
        yield* Effect.logWarning(`dynamic work dropped: its key was used by other work meanwhile: ${staged.dropped.join(", ")}`).pipe(
          Effect.annotateLogs({ runId }),
        )
      const { change: run, held } = withDynamicWork(runChangeOf(decision, ctx.limits.outputBytes), replayer)
      // An entry appended and resolved in this commit (a carried step's) is written resolved, once.
      const appended = new Set(decision.entries.map((e) => e.seq))
      const pending = { ...decision, tasks: decision.tasks.filter((t) => !resolvedBySeq.has(t.seq)) }
      const claimed = withInlineClaim(fence, newTasksOf({ id: runId, queue: workflow.queue }, pending), env.now)
      const { inline } = claimed
      const tasks = [...claimed.tasks, ...staged.tasks, ...(held ? [settleTask({ id: runId, queue: workflow.queue }, env.now)] : [])]
      const unclaimed = tasks.some((t) => !t.claim)
      const outcome = yield* send(
        commitOf({
          runId,
          now: env.now,
          fence: fence.claim,
          task: { _tag: "Done" },
          expectedRevision: acquired.revision,
          ...(run ? { run } : {}),
          resolve: [...results.filter((e) => !appended.has(e.seq)), ...decision.cancelled],
          append: [...decision.entries.map((e) => resolvedBySeq.get(e.seq) ?? e), ...staged.entries],
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
        return committed(run?.status ?? "running", inline ? { task: inline, claim: claimRefOf(inline) } : undefined)
      }
      if (outcome.reason !== "revision_conflict" || round >= MAX_CONFLICT_RETRIES) return fencedBy(outcome.reason)
      const again = yield* reload(ctx, runId, workflow)
      if (again._tag === "Fenced") return again
      // Our result is already in the journal (an earlier try committed before its reply was lost).
      if (results.length > 0 && again.replayer.entryAt(results[0]!.seq)?.status !== "pending") return fencedBy("stale_claim")
      acquired = again
    }
  })

/**
 * A carried step's failed attempt with retries left: the fired timer and the step's pending
 * entry are committed, and the step's task is created for the retry. On a revision conflict the
 * timer's claim is given back, so the timer fires again at once (the step runs again).
 */
const retryCarried = (
  ctx: EngineContext,
  r: Extract<AdvanceRequest, { _tag: "Task" }>,
  carried: Carried,
  retry: Extract<TaskResolution, { _tag: "Retry" }>,
  now: number,
): Effect.Effect<Advanced, StoreError> =>
  Effect.gen(function* () {
    const { fence, workflow, acquired } = r
    const runId = fence.task.runId
    const tasks = newTasksOf({ id: runId, queue: workflow.queue }, carried.decision).map((t) =>
      t.seq === fence.task.seq ? { ...t, attempt: fence.task.attempt + 1, visibleAt: retry.visibleAt } : t,
    )
    const result = yield* retryTransient(
      ctx.store.commit(
        commitOf({
          runId,
          now,
          fence: fence.claim,
          task: { _tag: "Done" },
          expectedRevision: acquired.revision,
          resolve: [carried.fired],
          append: carried.decision.entries,
          attempts: [retry.attempt],
          tasks,
          wake: workflow.queue,
        }),
      ),
    )
    if (result._tag === "Rejected") {
      if (result.reason === "revision_conflict") yield* ctx.store.release(fence.claim, now).pipe(Effect.ignore)
      return fencedBy(result.reason)
    }
    yield* afterCommit(ctx, { runId, decision: carried.decision, replayer: acquired.replayer, revision: result.revision, wake: true })
    return committed("running")
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
      case "Journaled": {
        const { entry } = resolution
        // Upserted over the entry's own timer (a deadline, a timeout), if it has one.
        const task: NewTask = { runId: run.id, seq: entry.seq, queue: run.queue, kind: "advance", attempt: 1, visibleAt: now }
        const result = yield* retryTransient(
          ctx.store.commit(
            commitOf({ ...base, run: { status: resolution.status }, resolve: [entry], tasks: [task], command: { ...audit, seq: entry.seq }, wake: run.queue }),
          ),
        )
        if (result._tag === "Rejected") return fencedBy(result.reason)
        ctx.cache.clear(run.id)
        yield* ctx.notifier.notify
        return committed(resolution.status)
      }
      case "Dynamic": {
        const { entries, tasks } = resolution.planned
        const result = yield* retryTransient(
          ctx.store.commit(commitOf({ ...base, append: entries, tasks, command: audit, ...(tasks.length > 0 ? { wake: run.queue } : {}) })),
        )
        if (result._tag === "Rejected") return fencedBy(result.reason)
        // A cached interpreter lacks the new entries: the next task replays the run.
        ctx.cache.clear(run.id)
        if (tasks.length > 0) yield* ctx.notifier.notify
        return committed(run.status)
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
        const { change: runChange, held } = withDynamicWork(runChangeOf(decision, ctx.limits.outputBytes), replayer)
        const tasks = [...newTasksOf({ id: run.id, queue: workflow.queue }, decision), ...(held ? [settleTask(run, now)] : [])]
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
