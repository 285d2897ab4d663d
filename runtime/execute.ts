/**
 * Executing tasks: claim, run the step (or fire the timer) under a heartbeat, then settle
 * the result in one fenced commit (runtime/advance.ts). A failed attempt with retries left
 * only reschedules its task; the journal is unchanged. Steps declared `transaction: true`
 * run inside the journal's SQL transaction, so their writes commit with their result.
 */
import { Clock, Duration, Effect, Exit } from "effect"
import type { RetryPolicy } from "../dsl/Retry.js"
import type { StepDef } from "../dsl/Step.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { invalidDuration } from "../src/core/duration.js"
import { InvalidOptionError, showValue, type StoreError } from "../src/core/errors.js"
import type { Json } from "../src/core/json.js"
import type { AttemptRecord, ClaimedTask, Entry, FenceReason, RunStatus, TaskKind } from "../src/core/model.js"
import type { TransactionScope } from "../src/store/Store.js"
import { workflowOfTask } from "./specs.js"
import { acquire, claimRefOf, type Acquired } from "./acquire.js"
import { advanceRun, type Advanced, type TaskResolution } from "./advance.js"
import type { NextTask, TaskFence } from "./carry.js"
import type { EngineContext } from "./context.js"
import { errorInfo } from "./errorInfo.js"
import { retryDelay } from "./retry.js"
import { decodeOutput } from "./payload.js"
import { runAttempt } from "./StepRunner.js"
import { withRedactedLogs } from "./logRedaction.js"
import { guardHandle } from "./txGuard.js"
import { runChildTask } from "./children.js"
import { withEngineSpan } from "./tracing.js"
import { dynamicNodeOf } from "./dynamic/node.js"
import { hasPendingNodes, nodeTask, readyNodes, withoutTask } from "./dynamic/hold.js"
import { SETTLE_SEQ } from "../src/core/dynamicWork.js"
import { entryInput, type Runnable } from "./runnable.js"
import { noDynamicWork, StagedWork, stepDynamicWork } from "./dynamic/stage.js"
import type { StepOutcome } from "./metrics.js"

/** Options of `executeNext` and of workers. */
export interface ExecuteOptions {
  /** Queue to claim from. Default "default". */
  readonly queue?: string
  /** Identifies this worker in claims and attempts. */
  readonly ownerId?: string
  /** Lease length; the lease keeper renews it every third of it. Default 60 seconds. */
  readonly leaseFor?: Duration.DurationInput
}

/** What executing one task did. */
export type ExecuteResult =
  | { readonly _tag: "Idle"; readonly nextDueAt?: number }
  | {
      readonly _tag: "Executed"
      readonly runId: string
      readonly seq: number
      readonly kind: TaskKind
      readonly name: string
      readonly attempt: number
      readonly result: "completed" | "failed" | "retry_scheduled" | "non_determinism" | "waiting"
      readonly runStatus: RunStatus
    }
  | { readonly _tag: "Fenced"; readonly runId: string; readonly seq: number; readonly reason: FenceReason | "claim_lost" }
  | { readonly _tag: "Skipped"; readonly runId: string; readonly seq: number; readonly reason: "unknown_workflow" | "unknown_action" }

/** A task's result, plus the run's next task when the commit handed it to this worker. */
export interface Executed {
  readonly result: ExecuteResult
  readonly next: NextTask | undefined
}

const UNKNOWN_WORKFLOW_BACKOFF = 30_000

/** The first malformed option of `executeNext` or a worker, if any. */
export const invalidExecuteOption = (options: ExecuteOptions): InvalidOptionError | undefined => {
  const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })
  if (typeof options !== "object" || options === null) return bad("options", options, "expected an object")
  if (options.queue !== undefined && (typeof options.queue !== "string" || options.queue.length === 0))
    return bad("queue", options.queue, "expected a queue name")
  if (options.ownerId !== undefined && (typeof options.ownerId !== "string" || options.ownerId.length === 0 || options.ownerId.length > 200)) {
    return bad("ownerId", options.ownerId, "expected a non-empty string of at most 200 characters")
  }
  return invalidDuration("leaseFor", options.leaseFor)
}

/** The defaults every entry point shares. */
export const resolveOptions = (options: ExecuteOptions) => ({
  queue: options.queue ?? "default",
  owner: options.ownerId ?? `worker-${process.pid}`,
  leaseMs: Duration.toMillis(options.leaseFor ?? "60 seconds"),
})

/** Claims one due task of a queue and executes it (one task: the next one is not chained). */
export const executeNext = (ctx: EngineContext, options: ExecuteOptions = {}): Effect.Effect<ExecuteResult, StoreError | InvalidOptionError> =>
  Effect.gen(function* () {
    const invalid = invalidExecuteOption(options)
    if (invalid) return yield* invalid
    const { queue, owner, leaseMs } = resolveOptions(options)
    const now = yield* Clock.currentTimeMillis
    const [task] = yield* ctx.store.claim({ queue, owner, now, leaseUntil: now + leaseMs, limit: 1 })
    if (!task) {
      const next = yield* ctx.store.nextDueAt(queue)
      return next === undefined ? { _tag: "Idle" } : { _tag: "Idle", nextDueAt: next }
    }
    ctx.metrics.claimed(queue, now - task.visibleAt)
    return (yield* executeClaimed(ctx, { task, claim: claimRefOf(task) }, leaseMs, false)).result
  })

/**
 * Executes a claimed task, then the run's next tasks while commits hand them to this worker
 * inline, until the run blocks or `stop()` says so (a pending inline claim is released).
 */
export const executeChain = (
  ctx: EngineContext,
  first: ClaimedTask,
  leaseMs: number,
  stop: () => boolean,
  onResult: (result: ExecuteResult) => void,
  defer: (task: ClaimedTask) => void,
): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    let next: NextTask | undefined = { task: first, claim: claimRefOf(first) }
    while (next) {
      const now = yield* Clock.currentTimeMillis
      if (stop()) {
        yield* ctx.store.release(next.claim, Math.max(now, next.task.visibleAt)).pipe(Effect.ignore)
        return
      }
      if (next.task.visibleAt > now) {
        // A timer kept by this worker: fired locally when due, without holding the slot.
        defer(next.task)
        return
      }
      const executed: Executed = yield* executeClaimed(ctx, next, leaseMs, true)
      onResult(executed.result)
      next = executed.next
    }
  })

/** An Executed from how advancing ended: fenced, or committed with what the task recorded. */
const executedOf = (task: ClaimedTask, advanced: Advanced, name: string, result: Extract<ExecuteResult, { _tag: "Executed" }>["result"]): Executed =>
  advanced._tag === "Fenced"
    ? { result: { _tag: "Fenced", runId: task.runId, seq: task.seq, reason: advanced.reason }, next: undefined }
    : { result: executedResult(task, name, result, advanced.runStatus), next: advanced.next }

/** Executes a task this worker holds the claim of. If interrupted (shutdown), the claim is released. */
const executeClaimed = (ctx: EngineContext, held: NextTask, leaseMs: number, chain: boolean): Effect.Effect<Executed, StoreError> => {
  const { task } = held
  const fence: TaskFence = { task, claim: held.claim, leaseMs, chain, ...(held.carried ? { carried: held.carried } : {}) }
  const program = Effect.gen(function* () {
    const workflow = yield* workflowOfTask(ctx, task)
    if (!workflow) {
      const now = yield* Clock.currentTimeMillis
      yield* ctx.store.release(fence.claim, now + UNKNOWN_WORKFLOW_BACKOFF)
      yield* Effect.logWarning(`task of unregistered workflow "${task.workflow}" released`).pipe(Effect.annotateLogs({ runId: task.runId }))
      return { result: { _tag: "Skipped", runId: task.runId, seq: task.seq, reason: "unknown_workflow" }, next: undefined } satisfies Executed
    }
    const acquired = yield* acquire(ctx, task, workflow)
    if (acquired._tag === "Fenced") return executedOf(task, acquired, "", "failed")
    const advance = (resolution: TaskResolution) => advanceRun(ctx, { _tag: "Task", fence, workflow, acquired, resolution })

    if (task.seq === SETTLE_SEQ) {
      // Settled once the workflow finished and no node is pending: commit the run's end (and a
      // replay that fails or diverges, as always). Otherwise release the nodes whose predecessors
      // all completed; a later node's settle task decides the rest.
      const outcome = acquired.pre?.outcome._tag
      const dynamic = acquired.replayer.dynamicJournal()
      const done = outcome === "Completed" ? !hasPendingNodes(dynamic) : outcome !== undefined && outcome !== "Blocked"
      if (done) return executedOf(task, yield* advance({ _tag: "Replayed" }), "", "completed")
      const now = yield* Clock.currentTimeMillis
      // The run's tasks are read only when some node is ready (most settle tasks release none).
      const ready = readyNodes(dynamic)
      const unreleased = ready.length === 0 ? [] : withoutTask(ready, yield* ctx.store.getTasks(task.runId))
      const release = unreleased.map((e) => nodeTask({ id: task.runId, queue: task.queue }, e.seq, now))
      return executedOf(task, yield* advance({ _tag: "Unsettled", release }), "", "completed")
    }
    if (task.kind === "advance" || (acquired.pre && acquired.pre.outcome._tag !== "Blocked")) {
      // A run left to a worker with the code (by a control or rerun made without it), or whose
      // code no longer matches the journal (or finishes early): commit what replay decides, fenced.
      const outcome = acquired.pre?.outcome._tag
      const result = outcome === "NonDeterminism" ? "non_determinism" : outcome === "Blocked" || outcome === undefined ? "completed" : "failed"
      return executedOf(task, yield* advance({ _tag: "Replayed" }), "", result)
    }
    if (task.kind === "child") {
      const child = yield* runChildTask(ctx, fence, acquired)
      return executedOf(task, child.advanced, child.name, child.result)
    }
    const entry = acquired.replayer.entryAt(task.seq)
    if (task.kind === "dynamic" && entry?.status === "pending") {
      const node = dynamicNodeOf(ctx, entry, (seq) => acquired.replayer.entryAt(seq))
      if (node._tag === "Unknown") {
        const now = yield* Clock.currentTimeMillis
        yield* ctx.store.release(fence.claim, now + UNKNOWN_WORKFLOW_BACKOFF)
        yield* Effect.logWarning(`dynamic node "${entry.name}" released: ${node.reason}`).pipe(Effect.annotateLogs({ runId: task.runId }))
        return { result: { _tag: "Skipped", runId: task.runId, seq: task.seq, reason: "unknown_action" }, next: undefined } satisfies Executed
      }
      return yield* runStep(ctx, fence, workflow, node.runnable, entry, acquired)
    }
    const command = acquired.replayer.commandAt(task.seq)
    if (entry?.status !== "pending" || !command) {
      // Its entry is resolved: a leftover task, dropped. Tasks stored as timers before `advance`
      // tasks existed (a codeless control's at its gate, a codeless rerun's start at seq 0) are
      // advanced as those are.
      const progressed = acquired.pre !== undefined && (acquired.pre.entries.length > 0 || task.seq === 0)
      return executedOf(task, yield* advance({ _tag: progressed ? "Replayed" : "Drop" }), "", "completed")
    }
    if (task.kind === "timer") {
      const firedAt = yield* Clock.currentTimeMillis
      ctx.metrics.timerFired(task.queue, firedAt - task.visibleAt)
      const resolved = timerResolution(entry, firedAt)
      return executedOf(task, yield* advance({ _tag: "Fired", entry: resolved }), entry.name, resolved.status === "failed" ? "failed" : "completed")
    }
    if (command._tag === "Compensation") return yield* runStep(ctx, fence, workflow, compensationOf(ctx, command.step), entry, acquired)
    if (command._tag !== "Step") return yield* Effect.dieMessage(`task kind step at seq ${task.seq} holds a ${command._tag} command`)
    return yield* runStep(ctx, fence, workflow, stepOf(ctx, command.step), entry, acquired)
  })
  return program.pipe(Effect.onInterrupt(() => Effect.flatMap(Clock.currentTimeMillis, (now) => ctx.store.release(fence.claim, now)).pipe(Effect.ignore)))
}

/** What a due timer does to its entry: a sleep wakes, a signal wait times out, an approval's deadline decides it. */
const timerResolution = (entry: Entry, now: number): Entry => {
  if (entry.kind === "signal") return { ...entry, status: "completed", resolvedAt: now, output: { _tag: "TimedOut", at: now } }
  if (entry.kind !== "approval") return { ...entry, status: "completed", resolvedAt: now }
  const onDeadline = (entry.input as { onDeadline?: string } | undefined)?.onDeadline
  if (onDeadline === "fail") {
    return {
      ...entry,
      status: "failed",
      resolvedAt: now,
      error: { code: "approval_deadline_passed", message: `approval "${entry.name}" was not decided before its deadline` },
    }
  }
  return {
    ...entry,
    status: "completed",
    resolvedAt: now,
    output: { approved: false, actor: "system:deadline", note: "deadline passed", at: now, automatic: true },
  }
}

const executedResult = (
  task: ClaimedTask,
  name: string,
  result: Extract<ExecuteResult, { _tag: "Executed" }>["result"],
  runStatus: RunStatus,
): ExecuteResult => ({
  _tag: "Executed",
  runId: task.runId,
  seq: task.seq,
  kind: task.kind,
  name,
  attempt: task.attempt,
  result,
  runStatus,
})

const stepOf = (ctx: EngineContext, step: StepDef<any, any>): Runnable => ({
  name: step.stepName,
  def: step,
  body: (ctx.stubs.get(step.stepName) ?? step.options.run) as Runnable["body"],
  retry: step.options.retry,
  transaction: step.options.transaction === true,
  output: step.options.output,
  inputOf: entryInput,
  proposes: true,
})

/** Compensations retry by the step's policy, or a few times with backoff. Stub them as "compensate:<step>". */
export const COMPENSATION_RETRY: RetryPolicy = { maxAttempts: 3, backoff: { type: "exponential", min: "1 second", max: "1 minute" } }

const compensationOf = (ctx: EngineContext, step: StepDef<any, any>): Runnable => {
  const stub = ctx.stubs.get(`compensate:${step.stepName}`)
  const undo = step.options.compensate!
  return {
    name: `compensate:${step.stepName}`,
    def: step,
    body: (payload, stepCtx) => {
      const p = (payload ?? {}) as { input?: unknown; output?: unknown }
      return stub ? stub(p, stepCtx) : undo(p.input, decodeOutput(step, p.output), stepCtx)
    },
    retry: step.options.retry ?? COMPENSATION_RETRY,
    transaction: false,
    output: undefined,
    inputOf: entryInput,
    proposes: false,
  }
}

class Rollback {
  constructor(
    readonly reason: "lost" | "failed" | "fenced",
    readonly value: unknown,
  ) {}
}

/** Runs one step attempt and settles it: success, retry, or final failure. */
const runStep = (
  ctx: EngineContext,
  fence: TaskFence,
  workflow: AnyWorkflow,
  runnable: Runnable,
  entry: Entry,
  acquired: Acquired,
): Effect.Effect<Executed, StoreError> =>
  Effect.gen(function* () {
    const { task } = fence
    const step = runnable.def
    const body = runnable.body
    const startedAt = yield* Clock.currentTimeMillis
    const staged = new StagedWork()
    const dynamicWork = runnable.proposes
      ? stepDynamicWork(
          task.runId,
          {
            status: "running",
            steps: [],
            dynamic: acquired.replayer.dynamicJournal(),
            actions: ctx.specs.actions,
            redactor: ctx.redactor,
            limitBytes: ctx.limits.payloadBytes,
            origin: { step: runnable.name, seq: task.seq, attempt: task.attempt },
          },
          staged,
        )
      : noDynamicWork(task.runId, task.kind === "dynamic" ? "a dynamic node" : "a compensation")
    const stepCtx = { runId: task.runId, step: runnable.name, seq: task.seq, attempt: task.attempt, idempotencyKey: `${task.runId}:${task.seq}`, dynamicWork }
    const attemptOf = (sql: unknown) =>
      ctx.leases
        .guard(
          fence.claim,
          fence.leaseMs,
          withRedactedLogs(
            ctx.redactor,
            runAttempt(step, body as never, runnable.inputOf(entry), sql === undefined ? stepCtx : { ...stepCtx, sql }, {
              schema: runnable.output,
              limitBytes: ctx.limits.outputBytes,
            }),
          ),
        )
        .pipe(Effect.annotateLogs({ runId: task.runId, step: runnable.name, attempt: task.attempt }))
    const succeeded = (output: Json | undefined, finishedAt: number): TaskResolution => ({
      _tag: "Resolved",
      entry: { ...entry, status: "completed", attempts: task.attempt, resolvedAt: finishedAt, ...(output === undefined ? {} : { output }) },
      attempt: { seq: task.seq, attempt: task.attempt, owner: task.owner, startedAt, finishedAt, status: "completed" },
      ...(staged.works.length > 0 ? { dynamic: staged.works } : {}),
    })
    /** Counts the attempt for the metrics endpoint, as it ended. */
    const settle = (outcome: StepOutcome, finishedAt: number) => ctx.metrics.stepSettled(task.workflow, runnable.name, outcome, finishedAt - startedAt)
    const advance = (resolution: TaskResolution, transaction?: TransactionScope) =>
      advanceRun(ctx, { _tag: "Task", fence, workflow, acquired, resolution, ...(transaction ? { transaction } : {}) })

    let outcome: Exit.Exit<Json | undefined, unknown> | "lost"
    const transactional = runnable.transaction && ctx.store.transaction !== undefined
    if (transactional) {
      // The step's writes and its recorded result commit together, or roll back together.
      const settled = yield* ctx.store.transaction!((scope) =>
        Effect.gen(function* () {
          const guard = guardHandle(scope.handle)
          const exit = yield* Effect.ensuring(attemptOf(guard.handle), Effect.sync(guard.close))
          if (exit === "lost") return yield* Effect.fail(new Rollback("lost", undefined))
          if (Exit.isFailure(exit)) return yield* Effect.fail(new Rollback("failed", exit))
          const doneAt = yield* Clock.currentTimeMillis
          settle("completed", doneAt)
          const advanced = yield* advance(succeeded(exit.value, doneAt), scope)
          if (advanced._tag === "Fenced") return yield* Effect.fail(new Rollback("fenced", advanced))
          return advanced
        }),
      ).pipe(Effect.either)
      if (settled._tag === "Right") return executedOf(task, settled.right, entry.name, "completed")
      const rollback = settled.left
      if (!(rollback instanceof Rollback)) return yield* Effect.fail(rollback)
      if (rollback.reason === "fenced") return executedOf(task, rollback.value as Advanced, entry.name, "completed")
      outcome = rollback.reason === "lost" ? "lost" : (rollback.value as Exit.Exit<Json | undefined, unknown>)
    } else outcome = yield* attemptOf(undefined)

    const finishedAt = yield* Clock.currentTimeMillis
    if (outcome === "lost") {
      settle("lost", finishedAt)
      ctx.metrics.claimLost(task.queue)
      return { result: { _tag: "Fenced", runId: task.runId, seq: task.seq, reason: "claim_lost" }, next: undefined } satisfies Executed
    }
    if (Exit.isSuccess(outcome)) {
      settle("completed", finishedAt)
      return executedOf(task, yield* advance(succeeded(outcome.value, finishedAt)), entry.name, "completed")
    }
    const cause = outcome.cause
    const raw = cause._tag === "Fail" ? cause.error : cause
    const info = errorInfo(raw, ctx.redactor)
    const delay = yield* retryDelay(runnable.retry, task.attempt, raw, info.retryable !== false, finishedAt)
    const failedAttempt: AttemptRecord = { seq: task.seq, attempt: task.attempt, owner: task.owner, startedAt, finishedAt, status: "failed", error: info }
    settle(delay === undefined ? "failed" : "retry_scheduled", finishedAt)
    if (delay !== undefined) {
      const retryAt = finishedAt + delay
      return executedOf(task, yield* advance({ _tag: "Retry", attempt: { ...failedAttempt, retryAt }, visibleAt: retryAt }), entry.name, "retry_scheduled")
    }
    const resolved: Entry = { ...entry, status: "failed", attempts: task.attempt, resolvedAt: finishedAt, error: info }
    return executedOf(task, yield* advance({ _tag: "Resolved", entry: resolved, attempt: failedAttempt }), entry.name, "failed")
  }).pipe(
    withEngineSpan(
      "squid-mesh.step",
      () => ({ runId: fence.task.runId, workflow: fence.task.workflow, step: runnable.name, attempt: fence.task.attempt }),
      stepSpanOutcome,
    ),
  )

/** The outcome of a step attempt's span: how it ended (`lost`: its claim was), or the commit's fence reason. */
const stepSpanOutcome = ({ result }: Executed): Record<string, unknown> =>
  result._tag === "Executed"
    ? { outcome: result.result, runStatus: result.runStatus }
    : result._tag === "Fenced"
      ? result.reason === "claim_lost"
        ? { outcome: "lost" }
        : { outcome: "fenced", fenceReason: result.reason }
      : {}
