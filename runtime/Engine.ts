/**
 * The engine service: start runs and execute their tasks against a Store. It is the Effect
 * API's core; the public `Mesh` service (src/) adds inspection on top.
 */
import { Clock, Effect, type Scope } from "effect"
import type { AnyWorkflow, ManualTriggerName } from "../dsl/Workflow.js"
import {
  InvalidOptionError,
  InvalidSpecError,
  InvalidWorkflowError,
  showValue,
  type InvalidPayloadError,
  type PayloadTooLargeError,
  type StoreError,
} from "../src/core/errors.js"
import { makeRedactor, type RedactionOptions } from "../src/core/redact.js"
import { Store } from "../src/store/Store.js"
import type { EngineContext, TimerKeeper } from "./context.js"
import { checkReplay, type ReplayReport } from "./checkReplay.js"
import { purge, type PurgeOptions, type PurgeResult } from "./purge.js"
import {
  previewDynamicWork,
  recordDynamicWork,
  scheduleDynamicWork,
  type DynamicWorkError,
  type DynamicWorkOptions,
  type DynamicWorkPreview,
  type DynamicWorkResult,
} from "./dynamic/host.js"
import { rerun, type RerunError, type RerunOptions, type RerunOutcome } from "./rerun.js"
import { retentionLoop } from "./retention.js"
import { deliverSignal, runControl, type SignalOptions, type ControlError, type ControlOutcome, type DecisionOptions, type ReasonOptions } from "./controls.js"
import { claimRefOf } from "./acquire.js"
import { executeChain, executeNext, resolveOptions, type ExecuteOptions, type ExecuteResult } from "./execute.js"
import type { ClaimedTask } from "../src/core/model.js"
import { Leases } from "./Leases.js"
import { EngineMetrics } from "./metrics.js"
import { resolveLimits, type Limits } from "./limits.js"
import { Notifier } from "./Notifier.js"
import * as Actions from "../dsl/spec/Actions.js"
import type { ActionRegistry } from "../dsl/spec/Actions.js"
import { SpecCache } from "./specCache.js"
import { resolveSpec, workflowsFor } from "./specs.js"
import { start, startSpec, type StartArgs, type StartError, type StartOptions, type StartResult, type StartSpecError } from "./start.js"
import { startScheduler } from "./Scheduler.js"
import {
  backfill,
  listSchedules,
  pauseSchedule,
  resumeSchedule,
  scheduleEvents,
  type BackfillOptions,
  type BackfillResult,
  type ListSchedulesOptions,
  type ScheduleControlError,
  type ScheduleControlOptions,
  type ScheduleControlOutcome,
  type ScheduleView,
} from "./schedules.js"
import type { ScheduleEvent } from "../src/core/schedule.js"
import type { StepBody } from "./StepRunner.js"
import { StickyCache } from "./StickyCache.js"

/** Engine configuration. */
export interface EngineConfig {
  /** Every workflow this engine may start or execute. */
  readonly workflows: ReadonlyArray<AnyWorkflow>
  /**
   * The action registry (`Actions.make`) runtime-authored specs are resolved through: what
   * `startSpec` accepts, and what this engine's workers run spec runs with.
   */
  readonly actions?: ActionRegistry
  /**
   * Runtime-authored specs to activate (JSON text or values): each is validated and built with
   * `actions` when the engine is made (an `InvalidSpecError` lists every problem) and registered
   * as workflow `spec:<name>`, so its cron triggers are scheduled, and `start("spec:<name>", ...)`
   * starts it, like a code workflow. Its runs store the spec, as `startSpec`'s do.
   */
  readonly specs?: ReadonlyArray<unknown>
  /** Live runs kept in the sticky cache (0 disables it). Default 1,000. */
  readonly cacheSize?: number
  /** Size limits of start payloads, step results and signal bodies, in bytes. */
  readonly limits?: Partial<Limits>
  /**
   * Extra secret patterns and key names, on top of the built-in rules, for everything the engine
   * writes or prints from user text (logs, failures, notes, metadata, signal payloads).
   */
  readonly redaction?: RedactionOptions
}

/** The engine's operations. */
export interface EngineService {
  /**
   * Validates and starts a run; nothing is written when validation fails. Given a workflow
   * definition, the payload is type-checked against the chosen manual trigger's schema.
   */
  start<W extends AnyWorkflow, K extends ManualTriggerName<W> = ManualTriggerName<W>>(
    workflow: W,
    ...args: StartArgs<W, K>
  ): Effect.Effect<StartResult, StartError>
  /** Starts a run of a workflow by name (untyped payload). */
  start(workflow: string, payload?: unknown, options?: StartOptions): Effect.Effect<StartResult, StartError>
  /**
   * Starts a run of a runtime-authored spec (JSON text or value), resolved through the engine's
   * action registry; `trigger` defaults to its first manual trigger. Every problem of the spec
   * (shape, graph, unknown actions, refused params) is an `InvalidSpecError` listing them with
   * their JSON paths; a payload its trigger's JSON Schema refuses an `InvalidPayloadError`.
   * Nothing is written on a refusal. The spec is stored with the run: workers run that version.
   */
  readonly startSpec: (spec: unknown, trigger?: string, payload?: unknown, options?: StartOptions) => Effect.Effect<StartResult, StartSpecError>
  /** Claims one due task and executes it (a step attempt or a timer). */
  readonly executeNext: (options?: ExecuteOptions) => Effect.Effect<ExecuteResult, StoreError | InvalidOptionError>
  /** Resumes a run paused at `Workflow.pause`. */
  readonly resume: (runId: string, options: ReasonOptions) => Effect.Effect<ControlOutcome, ControlError>
  /** Approves the run's pending `Workflow.approval`. */
  readonly approve: (runId: string, options: DecisionOptions) => Effect.Effect<ControlOutcome, ControlError>
  /** Rejects the run's pending `Workflow.approval`. */
  readonly reject: (runId: string, options: DecisionOptions) => Effect.Effect<ControlOutcome, ControlError>
  /** Sends a signal to a run: resolves its `Workflow.signal` wait, or waits in its inbox until then. */
  readonly signal: (
    runId: string,
    name: string,
    payload: unknown,
    options?: SignalOptions,
  ) => Effect.Effect<ControlOutcome, ControlError | InvalidPayloadError | PayloadTooLargeError>
  /** Starts a new run with a source run's input (or forked from its journal with `fromStep`). */
  readonly rerun: (runId: string, options: RerunOptions) => Effect.Effect<RerunOutcome, RerunError>
  /** Cancels a run: immediate and final; pending tasks are withdrawn and late results fenced out. */
  readonly cancel: (runId: string, options: ReasonOptions) => Effect.Effect<ControlOutcome, ControlError>
  /**
   * Checks dynamic work for a run (its origin step, nodes, edges, key, and to schedule, the
   * actions in the engine's registry) and reports what recording or scheduling it would add.
   * Writes nothing. A proposal no mode could take is an `InvalidDynamicWorkError`.
   */
  readonly previewDynamicWork: (runId: string, proposal: unknown) => Effect.Effect<DynamicWorkPreview, DynamicWorkError>
  /**
   * Records dynamic work on an active run as an inspection fact (its nodes do not run). The
   * same proposal again under its key writes nothing (`duplicate`). Needs no workflow code.
   */
  readonly recordDynamicWork: (runId: string, proposal: unknown, options?: DynamicWorkOptions) => Effect.Effect<DynamicWorkResult, DynamicWorkError>
  /**
   * Schedules dynamic work on an active run: its fact, and its nodes as tasks running actions of
   * the engine's registry, in one commit (the origin step must have completed). The run
   * completes only once they are done; a node that fails for good fails the run.
   */
  readonly scheduleDynamicWork: (runId: string, proposal: unknown, options?: DynamicWorkOptions) => Effect.Effect<DynamicWorkResult, DynamicWorkError>
  /** Replays every open run against the current code; reports the first divergence per run (writes nothing). */
  readonly checkReplay: (options?: { readonly limit?: number }) => Effect.Effect<ReplayReport, StoreError>
  /**
   * Deletes terminal runs that finished more than `olderThan` ago (optionally of some statuses
   * or one workflow), with their child runs, in batches of 500 (one transaction each); each
   * batch is recorded in the purge audit trail. Returns how many runs went.
   */
  readonly purge: (options: PurgeOptions) => Effect.Effect<PurgeResult, InvalidOptionError | StoreError>
  /**
   * Every cron trigger of the engine's workflows with its expression, time zone, policies,
   * paused state (who, when, why), last fired window and run, and its next fire times; plus
   * stored schedules this engine has no trigger for (`registered: false`).
   */
  readonly listSchedules: (options?: ListSchedulesOptions) => Effect.Effect<ReadonlyArray<ScheduleView>, InvalidOptionError | StoreError>
  /** Pauses a cron schedule (no scheduler starts its windows); recorded with the actor. Pausing a paused one changes nothing. */
  readonly pauseSchedule: (workflow: string, trigger: string, options: ScheduleControlOptions) => Effect.Effect<ScheduleControlOutcome, ScheduleControlError>
  /** Resumes a paused cron schedule from its next window (windows due while paused are not started); recorded with the actor. */
  readonly resumeSchedule: (workflow: string, trigger: string, options: ScheduleControlOptions) => Effect.Effect<ScheduleControlOutcome, ScheduleControlError>
  /**
   * Starts one run per window of a cron trigger in `[from, to)` (idempotent per window: a
   * window that has its run keeps it), refusing more than `limit` windows (default 1,000).
   */
  readonly backfill: (
    workflow: string,
    trigger: string,
    options: BackfillOptions,
  ) => Effect.Effect<BackfillResult, ScheduleControlError | InvalidPayloadError | PayloadTooLargeError>
  /** A cron schedule's audit trail (skipped, buffered, missed and failed windows; pauses, resumes, backfills), newest first. */
  readonly scheduleEvents: (
    workflow: string,
    trigger: string,
    options?: { readonly limit?: number },
  ) => Effect.Effect<ReadonlyArray<ScheduleEvent>, InvalidOptionError | StoreError>
}

/**
 * The engine as workers and the scheduler drive it: claiming, executing, releasing, keeping
 * timers and listening for wake-ups. Internal plumbing, not part of the host's API.
 */
export interface WorkerPort {
  /** Runs the cron scheduler of every cron trigger in the current scope (see Scheduler.ts). */
  readonly scheduler: Effect.Effect<void, never, Scope.Scope>
  /** Claims up to `limit` due tasks for a worker (the Worker's fetcher). */
  readonly claim: (options: ExecuteOptions, limit: number) => Effect.Effect<ReadonlyArray<ClaimedTask>, StoreError>
  /** Executes a claimed task and the run's next tasks handed over inline (the Worker's slots). */
  readonly executeChain: (
    task: ClaimedTask,
    options: ExecuteOptions,
    stop: () => boolean,
    onResult: (result: ExecuteResult) => void,
    defer: (task: ClaimedTask) => void,
  ) => Effect.Effect<void, StoreError>
  /** Registers a worker that keeps short timers created by `start` on its queue; returns the unregister. */
  readonly keepTimers: (queue: string, keeper: TimerKeeper) => () => void
  /** Gives a claimed task back (visible again at `visibleAt`). */
  readonly release: (task: ClaimedTask, visibleAt: number) => Effect.Effect<boolean, StoreError>
  /** The earliest time a task of the queue becomes claimable. */
  readonly nextDueAt: (queue: string) => Effect.Effect<number | undefined, StoreError>
  /** Records that a worker serves a queue at `at` (worker liveness, read by explainRun). */
  readonly recordWorker: (queue: string, owner: string, at: number) => Effect.Effect<void, StoreError>
  /** Subscribes this process to other processes' wakeups (Postgres NOTIFY), when the store can. */
  readonly listen: ((queue: string) => Effect.Effect<void, StoreError, Scope.Scope>) | undefined
  /** The retention fiber of a worker of `queue`: purges its workflows' expired runs now and periodically (never ends). */
  readonly retention: (queue: string) => Effect.Effect<never>
  /** Wakes idle workers of this process. */
  readonly notifier: Notifier
  readonly workflows: ReadonlyMap<string, AnyWorkflow>
  /** The workflows a read of run `runId` should know: the registered ones, and the run's own if it is a spec run. */
  readonly workflowsFor: (runId: string) => Effect.Effect<ReadonlyMap<string, AnyWorkflow>, StoreError>
}

/** Test hooks: replace step bodies, drop the sticky cache, read its counters (the test kit uses them). */
export interface EngineHooks {
  /** Replaces a step's body (by step name) for tests; `undefined` restores it. */
  readonly stubStep: (stepName: string, body: StepBody | undefined) => Effect.Effect<void>
  /** Drops the sticky cache, forcing replay from the store (tests and diagnostics). */
  readonly dropCache: Effect.Effect<void>
  /** Cache hit and miss counters. */
  readonly cacheStats: Effect.Effect<{ readonly hits: number; readonly misses: number; readonly size: number }>
}

/** An engine: the host's operations, the workers' port and the test kit's hooks. */
export interface EngineParts {
  readonly service: EngineService
  readonly port: WorkerPort
  readonly hooks: EngineHooks
  /** The engine's in-process counters and histograms (read by the metrics exposition). */
  readonly metrics: EngineMetrics
}

/**
 * Builds an engine over the Store in context. Duplicate workflow names are an
 * InvalidWorkflowError. Its lease keeper runs until the scope closes.
 */
export const make = (config: EngineConfig): Effect.Effect<EngineParts, InvalidWorkflowError | InvalidOptionError | InvalidSpecError, Store | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* Store
    const limits = resolveLimits(config.limits)
    if (limits instanceof InvalidOptionError) return yield* limits
    if (config.cacheSize !== undefined && (!Number.isInteger(config.cacheSize) || config.cacheSize < 0)) {
      return yield* new InvalidOptionError({ option: "cacheSize", value: showValue(config.cacheSize), reason: "expected an integer of at least 0" })
    }
    if (!Array.isArray(config.workflows))
      return yield* new InvalidOptionError({ option: "workflows", value: showValue(config.workflows), reason: "expected an array of workflows" })
    const workflows = new Map<string, AnyWorkflow>()
    for (const wf of config.workflows) {
      if (wf?._tag !== "Workflow")
        return yield* new InvalidWorkflowError({ workflow: String((wf as { name?: unknown })?.name), reason: "not a Workflow.make definition" })
      const existing = workflows.get(wf.name)
      if (existing && existing !== wf) return yield* new InvalidWorkflowError({ workflow: wf.name, reason: "registered twice with different definitions" })
      workflows.set(wf.name, wf)
    }
    if (config.actions !== undefined && config.actions?._tag !== "ActionRegistry") {
      return yield* new InvalidOptionError({
        option: "actions",
        value: showValue(config.actions),
        reason: "expected an action registry (Actions.make({ ... }))",
      })
    }
    // Compiled once per engine; a malformed host pattern is a defect at construction, not at the first log.
    const redactor = makeRedactor(config.redaction)
    const cache = new StickyCache(config.cacheSize ?? 1000)
    const notifier = new Notifier()
    const leases = new Leases(store)
    yield* leases.start()
    const metrics = new EngineMetrics()
    const specs = new SpecCache(config.actions ?? Actions.empty)
    const ctx: EngineContext = { store, workflows, specs, cache, stubs: new Map(), notifier, leases, timerKeepers: new Map(), limits, redactor, metrics }
    if (config.specs !== undefined && !Array.isArray(config.specs))
      return yield* new InvalidOptionError({ option: "specs", value: showValue(config.specs), reason: "expected an array of specs" })
    for (const spec of config.specs ?? []) {
      const workflow = resolveSpec(ctx, spec)
      if (workflow instanceof InvalidSpecError) return yield* workflow
      const existing = workflows.get(workflow.name)
      if (existing && existing.definitionHash !== workflow.definitionHash)
        return yield* new InvalidWorkflowError({ workflow: workflow.name, reason: "activated twice with different specs" })
      workflows.set(workflow.name, workflow)
    }
    const service: EngineService = {
      start: (workflow: AnyWorkflow | string, payload?: unknown, options?: StartOptions) => start(ctx, workflow, payload, options),
      startSpec: (spec, trigger, payload, options) => startSpec(ctx, spec, trigger, payload, options),
      executeNext: (options) => executeNext(ctx, options),
      checkReplay: (options) => checkReplay(ctx, options),
      purge: (options) => purge(store, options),
      previewDynamicWork: (runId, proposal) => previewDynamicWork(ctx, runId, proposal),
      recordDynamicWork: (runId, proposal, options) => recordDynamicWork(ctx, runId, proposal, options),
      scheduleDynamicWork: (runId, proposal, options) => scheduleDynamicWork(ctx, runId, proposal, options),
      resume: (runId, options) => runControl(ctx, "resume", runId, { ...options, ...(options?.reason !== undefined ? { note: options.reason } : {}) }),
      approve: (runId, options) => runControl(ctx, "approve", runId, options),
      reject: (runId, options) => runControl(ctx, "reject", runId, options),
      signal: (runId, name, payload, options) => deliverSignal(ctx, runId, name, payload, options),
      rerun: (runId, options) => rerun(ctx, runId, options),
      cancel: (runId, options) => runControl(ctx, "cancel", runId, { ...options, ...(options?.reason !== undefined ? { note: options.reason } : {}) }),
      listSchedules: (options) => listSchedules(ctx, options),
      pauseSchedule: (workflow, trigger, options) => pauseSchedule(ctx, workflow, trigger, options),
      resumeSchedule: (workflow, trigger, options) => resumeSchedule(ctx, workflow, trigger, options),
      backfill: (workflow, trigger, options) => backfill(ctx, workflow, trigger, options),
      scheduleEvents: (workflow, trigger, options) => scheduleEvents(ctx, workflow, trigger, options),
    }
    const port: WorkerPort = {
      scheduler: startScheduler(ctx),
      claim: (options, limit) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const { queue, owner, leaseMs } = resolveOptions(options)
          return Effect.map(store.claim({ queue, owner, now, leaseUntil: now + leaseMs, limit }), (tasks) => {
            for (const task of tasks) metrics.claimed(queue, now - task.visibleAt)
            return tasks
          })
        }),
      executeChain: (task, options, stop, onResult, defer) => executeChain(ctx, task, resolveOptions(options).leaseMs, stop, onResult, defer),
      release: (task, visibleAt) => store.release(claimRefOf(task), visibleAt),
      keepTimers: (queue, keeper) => {
        ctx.timerKeepers.set(queue, keeper)
        return () => {
          if (ctx.timerKeepers.get(queue) === keeper) ctx.timerKeepers.delete(queue)
        }
      },
      nextDueAt: (queue) => store.nextDueAt(queue),
      recordWorker: (queue, owner, at) => store.recordWorker(queue, owner, at),
      listen: store.listen
        ? (queue) =>
            store.listen!((woken) => {
              if (woken === queue) Effect.runFork(notifier.notify)
            })
        : undefined,
      retention: (queue) => retentionLoop(store, workflows, queue),
      notifier,
      workflows,
      workflowsFor: (runId) => workflowsFor(ctx, runId),
    }
    const hooks: EngineHooks = {
      stubStep: (name, body) => Effect.sync(() => (body ? ctx.stubs.set(name, body) : ctx.stubs.delete(name))),
      dropCache: Effect.sync(() => cache.clear()),
      cacheStats: Effect.sync(() => ({ hits: cache.hits, misses: cache.misses, size: cache.size })),
    }
    return { service, port, hooks, metrics }
  })
