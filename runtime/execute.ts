/**
 * Executing one task: claim it, run the step (or fire the timer) under a heartbeat, then
 * record the result and advance the run in one atomic commit fenced by the claim and the
 * run revision. A failed attempt with retries left only reschedules the task; the journal
 * is unchanged. A revision conflict (a sibling committed first) replays from the store and
 * commits again with the same result: the step is never re-run for it.
 */
import { Clock, Duration, Effect, Exit } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import { toJson } from "../src/core/json.js"
import { isTerminal, type AttemptRecord, type ClaimedTask, type Entry, type FenceReason, type RunStatus, type TaskKind } from "../src/core/model.js"
import type { ClaimRef } from "../src/store/Store.js"
import { makeEnv, rebuild, type EngineContext } from "./context.js"
import { emitLogs, newTasksOf, runChangeOf } from "./decision.js"
import { errorInfo } from "./errorInfo.js"
import type { Decision, Replayer } from "./Interpreter.js"
import { retryDelay } from "./retry.js"
import { runAttempt } from "./StepRunner.js"

/** Options of `executeNext` and of workers. */
export interface ExecuteOptions {
  /** Queue to claim from. Default "default". */
  readonly queue?: string
  /** Identifies this worker in claims and attempts. */
  readonly ownerId?: string
  /** Lease length; a heartbeat renews it every third of it. Default 5 minutes. */
  readonly leaseFor?: Duration.DurationInput
}

/** What one `executeNext` did. */
export type ExecuteResult =
  | { readonly _tag: "Idle"; readonly nextDueAt?: number }
  | {
      readonly _tag: "Executed"
      readonly runId: string
      readonly seq: number
      readonly kind: TaskKind
      readonly name: string
      readonly attempt: number
      readonly result: "completed" | "failed" | "retry_scheduled" | "non_determinism"
      readonly runStatus: RunStatus
    }
  | { readonly _tag: "Fenced"; readonly runId: string; readonly seq: number; readonly reason: FenceReason | "claim_lost" }
  | { readonly _tag: "Skipped"; readonly runId: string; readonly seq: number; readonly reason: "unknown_workflow" }

const MAX_CONFLICT_RETRIES = 25
const UNKNOWN_WORKFLOW_BACKOFF = 30_000

/** Claims one due task of a queue and executes it. */
export const executeNext = (ctx: EngineContext, options: ExecuteOptions = {}): Effect.Effect<ExecuteResult, StoreError> =>
  Effect.gen(function* () {
    const queue = options.queue ?? "default"
    const leaseMs = Duration.toMillis(options.leaseFor ?? "5 minutes")
    const owner = options.ownerId ?? `worker-${process.pid}`
    const now = yield* Clock.currentTimeMillis
    const [task] = yield* ctx.store.claim({ queue, owner, now, leaseUntil: now + leaseMs, limit: 1 })
    if (!task) {
      const next = yield* ctx.store.nextDueAt(queue)
      return next === undefined ? { _tag: "Idle" } : { _tag: "Idle", nextDueAt: next }
    }
    return yield* executeClaimed(ctx, task, leaseMs)
  })

interface Acquired {
  readonly replayer: Replayer
  readonly revision: number
  /** What replaying the stored journal decided before our result (normally nothing). */
  readonly pre: Decision | undefined
}

/** The run's interpreter positioned at its pending commands: from the cache, else replayed. */
const acquire = (ctx: EngineContext, runId: string, workflow: AnyWorkflow, seq: number) =>
  Effect.gen(function* () {
    const cached = ctx.cache.take(runId)
    if (cached && cached.replayer.commandAt(seq)) return { replayer: cached.replayer, revision: cached.revision, pre: undefined } as Acquired
    return yield* reload(ctx, runId, workflow)
  })

const reload = (ctx: EngineContext, runId: string, workflow: AnyWorkflow) =>
  Effect.gen(function* () {
    const run = yield* ctx.store.getRun(runId)
    if (!run) return "run_not_found" as const
    if (isTerminal(run.status)) return "terminal_run" as const
    const replayer = yield* rebuild(ctx, run, workflow)
    const pre = replayer.advance(yield* makeEnv)
    return { replayer, revision: run.revision, pre } as Acquired
  })

/** Executes a task this worker has claimed. */
export const executeClaimed = (ctx: EngineContext, task: ClaimedTask, leaseMs: number): Effect.Effect<ExecuteResult, StoreError> =>
  Effect.gen(function* () {
    const claim: ClaimRef = { runId: task.runId, seq: task.seq, claimId: task.claimId, token: task.token }
    const fenced = (reason: FenceReason | "claim_lost"): ExecuteResult => ({ _tag: "Fenced", runId: task.runId, seq: task.seq, reason })
    const workflow = ctx.workflows.get(task.workflow)
    if (!workflow) {
      const now = yield* Clock.currentTimeMillis
      yield* ctx.store.release(claim, now + UNKNOWN_WORKFLOW_BACKOFF)
      yield* Effect.logWarning(`task of unregistered workflow "${task.workflow}" released`).pipe(Effect.annotateLogs({ runId: task.runId }))
      return { _tag: "Skipped", runId: task.runId, seq: task.seq, reason: "unknown_workflow" } as const
    }
    const acquired = yield* acquire(ctx, task.runId, workflow, task.seq)
    if (typeof acquired === "string") return fenced(acquired)

    const pre = acquired.pre
    if (pre && pre.outcome._tag !== "Blocked") {
      // The current code no longer matches the journal (or finishes early): record it, fenced.
      return yield* commitDecision(ctx, task, claim, workflow, acquired, undefined, undefined, fenced)
    }
    const entry = acquired.replayer.entryAt(task.seq)
    if (!entry || entry.status !== "pending" || !acquired.replayer.commandAt(task.seq)) {
      // The entry is already resolved: the task is a leftover. Drop it without touching the journal.
      const now = yield* Clock.currentTimeMillis
      const result = yield* ctx.store.commit({ runId: task.runId, now, fence: claim, task: { _tag: "Done" }, resolve: [], append: [], attempts: [], tasks: [], withdraw: [] })
      return fenced(result._tag === "Rejected" ? result.reason : "stale_claim")
    }

    if (task.kind === "timer") {
      const now = yield* Clock.currentTimeMillis
      const resolved: Entry = { ...entry, status: "completed", resolvedAt: now }
      return yield* commitDecision(ctx, task, claim, workflow, acquired, resolved, undefined, fenced)
    }

    const command = acquired.replayer.commandAt(task.seq)!
    if (command._tag !== "Step") throw new Error(`task kind step at seq ${task.seq} holds a ${command._tag} command`)
    const step = command.step
    const body = ctx.stubs.get(step.stepName) ?? step.options.run
    const startedAt = yield* Clock.currentTimeMillis
    const stepCtx = { runId: task.runId, step: step.stepName, seq: task.seq, attempt: task.attempt, idempotencyKey: `${task.runId}:${task.seq}` }
    const outcome = yield* withHeartbeat(ctx, claim, leaseMs, runAttempt(step, body as never, entry.input, stepCtx)).pipe(
      Effect.withSpan("squid-mesh.step", { attributes: { runId: task.runId, step: step.stepName, attempt: task.attempt } }),
      Effect.annotateLogs({ runId: task.runId, step: step.stepName, attempt: task.attempt }),
    )
    if (outcome === "lost") return fenced("claim_lost")
    const finishedAt = yield* Clock.currentTimeMillis
    const attemptBase = { seq: task.seq, attempt: task.attempt, owner: task.owner, startedAt, finishedAt }

    if (Exit.isSuccess(outcome)) {
      const output = toJson(outcome.value)
      const resolved: Entry = { ...entry, status: "completed", attempts: task.attempt, resolvedAt: finishedAt, ...(output === undefined ? {} : { output }) }
      return yield* commitDecision(ctx, task, claim, workflow, acquired, resolved, { ...attemptBase, status: "completed" }, fenced)
    }

    const failure = Exit.isFailure(outcome) ? outcome.cause : undefined
    const raw = failure && "_tag" in failure && failure._tag === "Fail" ? failure.error : failure
    const info = errorInfo(raw)
    const delay = yield* retryDelay(step.options.retry, task.attempt, raw, info.retryable !== false, finishedAt)
    if (delay !== undefined) {
      const retryAt = finishedAt + delay
      const result = yield* ctx.store.commit({
        runId: task.runId,
        now: finishedAt,
        fence: claim,
        task: { _tag: "Retry", attempt: task.attempt + 1, visibleAt: retryAt },
        resolve: [],
        append: [],
        attempts: [{ ...attemptBase, status: "failed", error: info, retryAt }],
        tasks: [],
        withdraw: [],
      })
      if (result._tag === "Rejected") return fenced(result.reason)
      // The journal did not change: the interpreter stays valid at its revision.
      if (!acquired.pre || acquired.pre.entries.length === 0) ctx.cache.put(task.runId, { replayer: acquired.replayer, revision: acquired.revision })
      return executed(task, entry.name, "retry_scheduled", "running")
    }
    const resolved: Entry = { ...entry, status: "failed", attempts: task.attempt, resolvedAt: finishedAt, error: info }
    return yield* commitDecision(ctx, task, claim, workflow, acquired, resolved, { ...attemptBase, status: "failed", error: info }, fenced)
  })

const executed = (task: ClaimedTask, name: string, result: Extract<ExecuteResult, { _tag: "Executed" }>["result"], runStatus: RunStatus): ExecuteResult => ({
  _tag: "Executed",
  runId: task.runId,
  seq: task.seq,
  kind: task.kind,
  name,
  attempt: task.attempt,
  result,
  runStatus,
})

/**
 * Feeds the resolved entry to the interpreter, advances it, and commits everything at once.
 * On a revision conflict it replays from the store and tries again with the same result.
 */
const commitDecision = (
  ctx: EngineContext,
  task: ClaimedTask,
  claim: ClaimRef,
  workflow: AnyWorkflow,
  first: Acquired,
  resolved: Entry | undefined,
  attempt: AttemptRecord | undefined,
  fenced: (reason: FenceReason) => ExecuteResult,
): Effect.Effect<ExecuteResult, StoreError> =>
  Effect.gen(function* () {
    let acquired = first
    for (let round = 0; ; round++) {
      const { replayer, pre } = acquired
      let decision: Decision
      if (pre && pre.outcome._tag !== "Blocked") decision = pre
      else {
        if (resolved) replayer.resolve(resolved)
        const next = replayer.advance(yield* makeEnv)
        decision = pre && pre.entries.length > 0 ? { ...next, entries: [...pre.entries, ...next.entries], tasks: [...pre.tasks, ...next.tasks] } : next
      }
      const env = yield* Clock.currentTimeMillis
      const run = runChangeOf(decision)
      const result = yield* ctx.store.commit({
        runId: task.runId,
        now: env,
        fence: claim,
        task: { _tag: "Done" },
        expectedRevision: acquired.revision,
        ...(run ? { run } : {}),
        resolve: resolved ? [resolved, ...decision.cancelled] : decision.cancelled,
        append: decision.entries,
        attempts: attempt ? [attempt] : [],
        tasks: newTasksOf({ id: task.runId, queue: workflow.queue }, decision),
        withdraw: decision.cancelled.map((e) => e.seq),
      })
      if (result._tag === "Committed") {
        yield* emitLogs(task.runId, decision)
        // This worker takes the next task itself; more than one (a parallel group) needs other slots.
        if (decision.tasks.length > 1) yield* ctx.notifier.notify
        if (decision.outcome._tag === "Blocked") ctx.cache.put(task.runId, { replayer, revision: result.revision })
        const name = resolved?.name ?? replayer.entryAt(task.seq)?.name ?? ""
        const outcome = decision.outcome._tag === "NonDeterminism" ? "non_determinism" : resolved?.status === "failed" ? "failed" : "completed"
        return executed(task, name, outcome, run?.status ?? "running")
      }
      if (result.reason !== "revision_conflict" || round >= MAX_CONFLICT_RETRIES) return fenced(result.reason)
      const again = yield* reload(ctx, task.runId, workflow)
      if (typeof again === "string") return fenced(again)
      acquired = again
    }
  })

/**
 * Runs an attempt while a heartbeat renews the claim every third of the lease. If the claim
 * is lost (re-claimed after expiry, or the run was cancelled), the attempt is interrupted.
 */
const withHeartbeat = <A>(
  ctx: EngineContext,
  claim: ClaimRef,
  leaseMs: number,
  attempt: Effect.Effect<A>,
): Effect.Effect<A | "lost"> => {
  const beat: Effect.Effect<"lost"> = Effect.gen(function* () {
    for (;;) {
      yield* Effect.sleep(Math.max(1, Math.floor(leaseMs / 3)))
      const now = yield* Clock.currentTimeMillis
      const alive = yield* ctx.store.heartbeat(claim, now, now + leaseMs).pipe(Effect.orElseSucceed(() => true))
      if (!alive) return "lost" as const
    }
  })
  return Effect.raceFirst(attempt, beat)
}
