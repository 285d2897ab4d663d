/**
 * Executing tasks: claim, run the step (or fire the timer) under a heartbeat, then settle
 * the result in one fenced commit (runtime/advance.ts). A failed attempt with retries left
 * only reschedules its task; the journal is unchanged. Steps declared `transaction: true`
 * run inside the journal's SQL transaction, so their writes commit with their result.
 */
import { Clock, Duration, Effect, Exit, type Schema } from "effect"
import type { RetryPolicy } from "../dsl/Retry.js"
import type { StepContext, StepDef } from "../dsl/Step.js"
import { invalidDuration } from "../src/core/duration.js"
import { InvalidOptionError, showValue, type StoreError } from "../src/core/errors.js"
import type { Json } from "../src/core/json.js"
import type { ClaimedTask, Entry, FenceReason, RunStatus, TaskKind } from "../src/core/model.js"
import type { ClaimRef, Commit, CommitResult } from "../src/store/Store.js"
import { acquire, retryTransient, settle, type Acquired, type Settled, type Settlement } from "./advance.js"
import type { EngineContext } from "./context.js"
import { commitOf } from "./commit.js"
import { errorInfo } from "./errorInfo.js"
import { retryDelay } from "./retry.js"
import { decodeOutput } from "./payload.js"
import { runAttempt } from "./StepRunner.js"
import { withRedactedLogs } from "./logRedaction.js"
import { guardHandle } from "./txGuard.js"
import { runChildTask } from "./children.js"

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
  | { readonly _tag: "Skipped"; readonly runId: string; readonly seq: number; readonly reason: "unknown_workflow" }

/** A task's result, plus the run's next task when it was claimed inline for this worker. */
export interface Executed {
  readonly result: ExecuteResult
  readonly next: ClaimedTask | undefined
}

const UNKNOWN_WORKFLOW_BACKOFF = 30_000

/** The first malformed option of `executeNext` or a worker, if any. */
export const invalidExecuteOption = (options: ExecuteOptions): InvalidOptionError | undefined => {
  const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })
  if (typeof options !== "object" || options === null) return bad("options", options, "expected an object")
  if (options.queue !== undefined && (typeof options.queue !== "string" || options.queue.length === 0)) return bad("queue", options.queue, "expected a queue name")
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
    return (yield* executeClaimed(ctx, task, leaseMs, false)).result
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
    let task: ClaimedTask | undefined = first
    while (task) {
      const now = yield* Clock.currentTimeMillis
      if (stop()) {
        yield* ctx.store.release(refOf(task), Math.max(now, task.visibleAt)).pipe(Effect.ignore)
        return
      }
      if (task.visibleAt > now) {
        // A timer kept by this worker: fired locally when due, without holding the slot.
        defer(task)
        return
      }
      const executed: Executed = yield* executeClaimed(ctx, task, leaseMs, true)
      onResult(executed.result)
      task = executed.next
    }
  })

/** The proof of a claimed task's claim. */
export const refOf = (task: ClaimedTask): ClaimRef => ({ runId: task.runId, seq: task.seq, claimId: task.claimId, token: task.token })

/** Executes a task this worker has claimed. If interrupted (shutdown), the claim is released. */
export const executeClaimed = (ctx: EngineContext, task: ClaimedTask, leaseMs: number, chain: boolean): Effect.Effect<Executed, StoreError> => {
  const claim = refOf(task)
  const done = (result: ExecuteResult, next?: ClaimedTask): Executed => ({ result, next })
  const fenced = (reason: FenceReason | "claim_lost"): Executed => done({ _tag: "Fenced", runId: task.runId, seq: task.seq, reason })
  const program = Effect.gen(function* () {
    const workflow = ctx.workflows.get(task.workflow)
    if (!workflow) {
      const now = yield* Clock.currentTimeMillis
      yield* ctx.store.release(claim, now + UNKNOWN_WORKFLOW_BACKOFF)
      yield* Effect.logWarning(`task of unregistered workflow "${task.workflow}" released`).pipe(Effect.annotateLogs({ runId: task.runId }))
      return done({ _tag: "Skipped", runId: task.runId, seq: task.seq, reason: "unknown_workflow" })
    }
    const acquired = yield* acquire(ctx, task.runId, workflow, task.seq)
    if (acquired._tag === "Fenced") return fenced(acquired.reason)
    const settlement = (resolved: Entry | undefined, attempt: Settlement["attempt"], commit = ctx.store.commit): Settlement => ({
      task, claim, workflow, resolved, attempt, leaseMs, chain, commit,
    })
    const finish = (settled: Settled, name: string, result: "completed" | "failed" | "non_determinism" | "waiting") =>
      settled._tag === "Fenced" ? fenced(settled.reason) : done(executedResult(task, name, result, settled.runStatus), settled.next)

    if (acquired.pre && acquired.pre.outcome._tag !== "Blocked") {
      // The current code no longer matches the journal (or finishes early): record it, fenced.
      return finish(yield* settle(ctx, settlement(undefined, undefined), acquired), "", acquired.pre.outcome._tag === "NonDeterminism" ? "non_determinism" : "failed")
    }
    if (task.kind === "child") {
      return (yield* runChildTask(ctx, task, claim, acquired, (resolved) => settlement(resolved, undefined), finish as never, fenced)) as Executed
    }
    const entry = acquired.replayer.entryAt(task.seq)
    const command = acquired.replayer.commandAt(task.seq)
    if (!entry || entry.status !== "pending" || !command) {
      // The entry is already resolved: the task is a leftover. Drop it without touching the journal.
      const now = yield* Clock.currentTimeMillis
      const r = yield* ctx.store.commit(commitOf({ runId: task.runId, now, fence: claim, task: { _tag: "Done" } }))
      return fenced(r._tag === "Rejected" ? r.reason : "stale_claim")
    }
    if (task.kind === "timer") {
      const now = yield* Clock.currentTimeMillis
      const resolved = timerResolution(entry, now)
      return finish(yield* settle(ctx, settlement(resolved, undefined), acquired), entry.name, resolved.status === "failed" ? "failed" : "completed")
    }
    if (command._tag === "Compensation") {
      return yield* runStep(ctx, task, claim, compensationOf(ctx, command.step), entry, acquired, leaseMs, settlement, finish)
    }
    if (command._tag !== "Step") return yield* Effect.dieMessage(`task kind step at seq ${task.seq} holds a ${command._tag} command`)
    return yield* runStep(ctx, task, claim, stepOf(ctx, command.step), entry, acquired, leaseMs, settlement, finish)
  })
  return program.pipe(
    Effect.onInterrupt(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => ctx.store.release(claim, now)).pipe(Effect.ignore),
    ),
  )
}

/** What a due timer does to its entry: a sleep wakes, a signal wait times out, an approval's deadline decides it. */
const timerResolution = (entry: Entry, now: number): Entry => {
  if (entry.kind === "signal") return { ...entry, status: "completed", resolvedAt: now, output: { _tag: "TimedOut", at: now } }
  if (entry.kind !== "approval") return { ...entry, status: "completed", resolvedAt: now }
  const onDeadline = (entry.input as { onDeadline?: string } | undefined)?.onDeadline
  if (onDeadline === "fail") {
    return { ...entry, status: "failed", resolvedAt: now, error: { code: "approval_deadline_passed", message: `approval "${entry.name}" was not decided before its deadline` } }
  }
  return { ...entry, status: "completed", resolvedAt: now, output: { approved: false, actor: "system:deadline", note: "deadline passed", at: now, automatic: true } }
}

const executedResult = (task: ClaimedTask, name: string, result: Extract<ExecuteResult, { _tag: "Executed" }>["result"], runStatus: RunStatus): ExecuteResult => ({
  _tag: "Executed",
  runId: task.runId,
  seq: task.seq,
  kind: task.kind,
  name,
  attempt: task.attempt,
  result,
  runStatus,
})

/** What an attempt runs: a step's body, or its compensation. */
interface Runnable {
  readonly name: string
  readonly def: StepDef<any, any>
  readonly body: (input: unknown, ctx: StepContext) => unknown
  readonly retry: RetryPolicy | undefined
  readonly transaction: boolean
  /** Encodes the result for the journal (a step's `output` Schema); none for compensations. */
  readonly output: Schema.Schema<any, any, never> | undefined
}

const stepOf = (ctx: EngineContext, step: StepDef<any, any>): Runnable => ({
  name: step.stepName,
  def: step,
  body: (ctx.stubs.get(step.stepName) ?? step.options.run) as Runnable["body"],
  retry: step.options.retry,
  transaction: step.options.transaction === true,
  output: step.options.output,
})

/** Compensations retry by the step's policy, or a few times with backoff. Stub them as "compensate:<step>". */
const COMPENSATION_RETRY: RetryPolicy = { maxAttempts: 3, backoff: { type: "exponential", min: "1 second", max: "1 minute" } }

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
  }
}

class Rollback {
  constructor(readonly reason: "lost" | "failed" | "fenced", readonly value: unknown) {}
}

/** Runs one step attempt and settles it: success, retry, or final failure. */
const runStep = (
  ctx: EngineContext,
  task: ClaimedTask,
  claim: ClaimRef,
  runnable: Runnable,
  entry: Entry,
  acquired: Acquired,
  leaseMs: number,
  settlement: (resolved: Entry | undefined, attempt: Settlement["attempt"], commit?: (c: Commit) => Effect.Effect<CommitResult, StoreError>) => Settlement,
  finish: (settled: Settled, name: string, result: "completed" | "failed") => Executed,
): Effect.Effect<Executed, StoreError> =>
  Effect.gen(function* () {
    const step = runnable.def
    const body = runnable.body
    const startedAt = yield* Clock.currentTimeMillis
    const stepCtx = { runId: task.runId, step: runnable.name, seq: task.seq, attempt: task.attempt, idempotencyKey: `${task.runId}:${task.seq}` }
    const attemptOf = (sql: unknown) =>
      ctx.leases.guard(
        claim,
        leaseMs,
        withRedactedLogs(
          ctx.redactor,
          runAttempt(step, body as never, entry.input, sql === undefined ? stepCtx : { ...stepCtx, sql }, { schema: runnable.output, limitBytes: ctx.limits.outputBytes }),
        ),
      ).pipe(
        Effect.withSpan("squid-mesh.step", { attributes: { runId: task.runId, step: runnable.name, attempt: task.attempt }, captureStackTrace: false }),
        Effect.annotateLogs({ runId: task.runId, step: runnable.name, attempt: task.attempt }),
      )
    const success = (output: Json | undefined, finishedAt: number) => {
      const resolved: Entry = { ...entry, status: "completed", attempts: task.attempt, resolvedAt: finishedAt, ...(output === undefined ? {} : { output }) }
      return { resolved, attempt: { seq: task.seq, attempt: task.attempt, owner: task.owner, startedAt, finishedAt, status: "completed" as const } }
    }

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
          const { resolved, attempt } = success(exit.value, yield* Clock.currentTimeMillis)
          const s = yield* settle(ctx, settlement(resolved, attempt, scope.commit), acquired)
          if (s._tag === "Fenced") return yield* Effect.fail(new Rollback("fenced", s))
          return s
        }),
      ).pipe(Effect.either)
      if (settled._tag === "Right") return finish(settled.right, entry.name, "completed")
      const rollback = settled.left
      if (!(rollback instanceof Rollback)) return yield* Effect.fail(rollback)
      if (rollback.reason === "fenced") return finish(rollback.value as Settled, entry.name, "completed")
      outcome = rollback.reason === "lost" ? "lost" : (rollback.value as Exit.Exit<Json | undefined, unknown>)
    } else outcome = yield* attemptOf(undefined)

    if (outcome === "lost") return { result: { _tag: "Fenced", runId: task.runId, seq: task.seq, reason: "claim_lost" }, next: undefined }
    const finishedAt = yield* Clock.currentTimeMillis
    if (Exit.isSuccess(outcome)) {
      const { resolved, attempt } = success(outcome.value, finishedAt)
      return finish(yield* settle(ctx, settlement(resolved, attempt), acquired), entry.name, "completed")
    }
    const cause = outcome.cause
    const raw = cause._tag === "Fail" ? cause.error : cause
    const info = errorInfo(raw, ctx.redactor)
    const delay = yield* retryDelay(runnable.retry, task.attempt, raw, info.retryable !== false, finishedAt)
    const failedAttempt = { seq: task.seq, attempt: task.attempt, owner: task.owner, startedAt, finishedAt, status: "failed" as const, error: info }
    if (delay !== undefined) {
      const retryAt = finishedAt + delay
      const result = yield* retryTransient(
        ctx.store.commit(
          commitOf({
            runId: task.runId,
            now: finishedAt,
            fence: claim,
            task: { _tag: "Retry", attempt: task.attempt + 1, visibleAt: retryAt },
            attempts: [{ ...failedAttempt, retryAt }],
            wake: task.queue,
          }),
        ),
      )
      if (result._tag === "Rejected") return { result: { _tag: "Fenced", runId: task.runId, seq: task.seq, reason: result.reason }, next: undefined }
      yield* ctx.notifier.notify
      // The journal did not change: the interpreter stays valid at its revision.
      if (!acquired.pre || acquired.pre.entries.length === 0) ctx.cache.put(task.runId, { replayer: acquired.replayer, revision: acquired.revision })
      return { result: executedResult(task, entry.name, "retry_scheduled", "running"), next: undefined }
    }
    const resolved: Entry = { ...entry, status: "failed", attempts: task.attempt, resolvedAt: finishedAt, error: info }
    return finish(yield* settle(ctx, settlement(resolved, failedAttempt), acquired), entry.name, "failed")
  })
