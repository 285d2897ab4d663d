/**
 * Preparing a new run, before anything is written: validate the workflow, trigger, options and
 * payload, resolve defaults, advance the generator to its first blocking command, and build the
 * run record, its first entries and tasks. `advanceRun` then creates it in one atomic write.
 */
import { Clock, Effect, Either } from "effect"
import type { AnyWorkflow, StartPayload } from "../dsl/Workflow.js"
import {
  type ConflictError,
  InvalidOptionError,
  InvalidTriggerError,
  InvalidWorkflowError,
  showValue,
  type InvalidPayloadError,
  type PayloadTooLargeError,
  type StoreError,
} from "../src/core/errors.js"
import { invalidAttributes } from "../src/core/attributes.js"
import { deterministicUuid, isUuid, newClaim, newRunId, sha256Hex } from "../src/core/ids.js"
import { canonicalJson, type Json } from "../src/core/json.js"
import { isTerminal, type ClaimedTask, type CommandRecord, type RunRecord, type RunStatus } from "../src/core/model.js"
import type { NewRun } from "../src/store/Store.js"
import { makeEnv, type EngineContext, type TimerKeeper } from "./context.js"
import { Replayer, type Decision } from "./Interpreter.js"
import { newTasksOf, runChangeOf } from "./decision.js"
import { oversized } from "./limits.js"
import { resolvePayload } from "./payload.js"
import { LOCAL_TIMER_HORIZON_MS } from "./timers.js"

/** Options of `start`. `K` is the manual trigger's name. */
export interface StartOptions<K extends string = string> {
  /** Manual trigger name; defaults to the workflow's first manual trigger. */
  readonly trigger?: K
  /** Use this run id (a UUID). Starting again with the same id and request returns the same run. */
  readonly runId?: string
  /** Same key (per workflow and trigger) → same run; a different payload under it is a ConflictError. */
  readonly idempotencyKey?: string
  /** Who started it; with a key or an actor, the start is recorded as an audit event. */
  readonly actor?: string
  /** Extra context for the audit event; secret-looking keys are redacted. */
  readonly metadata?: Record<string, unknown>
  /**
   * String key/value pairs stored with the run and indexed for `listRuns({ attributes })`,
   * e.g. `{ tenant: "acme", region: "eu" }`: at most 16, keys matching
   * `/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/`, values of at most 256 characters. A secret-looking
   * key or value is refused (InvalidOptionError), never stored.
   */
  readonly attributes?: Readonly<Record<string, string>>
}

/** What `start` returns. `created` is false when an existing run was returned. */
export interface StartResult {
  readonly runId: string
  readonly status: RunStatus
  readonly created: boolean
}

/** Errors `start` can fail with. */
export type StartError =
  | InvalidWorkflowError
  | InvalidTriggerError
  | InvalidPayloadError
  | InvalidOptionError
  | PayloadTooLargeError
  | ConflictError
  | StoreError

/**
 * The arguments after the workflow in `start(workflow, payload, options)`: the payload typed
 * by the chosen manual trigger (fields with defaults optional), optional when it can be empty.
 */
export type StartArgs<W, K extends string> =
  {} extends StartPayload<W, K> ? [payload?: StartPayload<W, K>, options?: StartOptions<K>] : [payload: StartPayload<W, K>, options?: StartOptions<K>]

/**
 * Internal: who starts a run. Only the scheduler (and a backfill) may start a cron trigger, for
 * a window: its defaults resolve at the window's instant and the run records it (`scheduledFor`).
 * A child run records its parent.
 */
export type Origin =
  | { readonly _tag: "Call" }
  | { readonly _tag: "Schedule"; readonly window: number }
  | { readonly _tag: "Child"; readonly runId: string; readonly seq: number }

const CALL: Origin = { _tag: "Call" }

/** The first option of `start` that is malformed, if any. */
const invalidOption = (options: StartOptions): InvalidOptionError | undefined => {
  const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })
  if (typeof options !== "object" || options === null) return bad("options", options, "expected an object")
  if (options.trigger !== undefined && typeof options.trigger !== "string") return bad("trigger", options.trigger, "expected a trigger name")
  if (options.runId !== undefined && (typeof options.runId !== "string" || !isUuid(options.runId))) return bad("runId", options.runId, "must be a UUID")
  if (
    options.idempotencyKey !== undefined &&
    (typeof options.idempotencyKey !== "string" || options.idempotencyKey.length === 0 || options.idempotencyKey.length > 256)
  ) {
    return bad("idempotencyKey", options.idempotencyKey, "must be a non-empty string of at most 256 characters")
  }
  if (options.actor !== undefined && (typeof options.actor !== "string" || options.actor.length === 0 || options.actor.length > 256)) {
    return bad("actor", options.actor, "must be a non-empty string of at most 256 characters")
  }
  if (options.metadata !== undefined && (typeof options.metadata !== "object" || options.metadata === null || Array.isArray(options.metadata))) {
    return bad("metadata", options.metadata, "must be an object")
  }
  return undefined
}

/** A validated new run, ready to be created: what `advanceRun` writes, and what it hands over after. */
export interface PreparedRun {
  readonly newRun: NewRun
  /**
   * The interpreter after the first advance, and what it decided. None when a process without
   * the workflow's code prepared the run: a worker with the code makes its first advance.
   */
  readonly replayer: Replayer | undefined
  readonly decision: Decision
  /** A short first timer claimed for this process's worker, which fires it when due. */
  readonly keep?: { readonly keeper: TimerKeeper; readonly task: ClaimedTask }
}

/** Validates a start and prepares its run (nothing is written). */
export const prepareStart = (
  ctx: EngineContext,
  workflowOrName: AnyWorkflow | string,
  payload: unknown,
  options: StartOptions = {},
  origin: Origin = CALL,
): Effect.Effect<PreparedRun, Exclude<StartError, ConflictError | StoreError>> =>
  Effect.gen(function* () {
    const name = typeof workflowOrName === "string" ? workflowOrName : workflowOrName?.name
    const workflow = ctx.workflows.get(name)
    if (!workflow) return yield* new InvalidWorkflowError({ workflow: String(name), reason: "not registered with this engine" })
    if (typeof workflowOrName !== "string" && workflowOrName !== workflow) {
      return yield* new InvalidWorkflowError({ workflow: name, reason: "a different definition with this name is registered" })
    }
    return yield* prepareRun(ctx, workflow, payload, options, origin)
  })

/**
 * Validates a start of a workflow the caller already resolved (a registered one, or a spec's)
 * and prepares its run (nothing is written).
 */
export const prepareRun = (
  ctx: EngineContext,
  workflow: AnyWorkflow,
  payload: unknown,
  options: StartOptions = {},
  origin: Origin = CALL,
): Effect.Effect<PreparedRun, Exclude<StartError, ConflictError | StoreError>> =>
  Effect.gen(function* () {
    const name = workflow.name
    const invalid = invalidOption(options) ?? (options.attributes === undefined ? undefined : invalidAttributes(options.attributes, "attributes", ctx.redactor))
    if (invalid) return yield* invalid
    const parent = origin._tag === "Child" ? origin : undefined
    // Cron triggers are started by the scheduler only; callers (and children) use manual ones.
    const startable = Object.keys(workflow.triggers).filter((t) => origin._tag === "Schedule" || workflow.triggers[t]!._tag === "Manual")
    const triggerName = options.trigger ?? startable[0]
    const trigger = triggerName === undefined ? undefined : workflow.triggers[triggerName]
    if (triggerName === undefined || !trigger || !startable.includes(triggerName)) {
      const reason =
        triggerName === undefined
          ? "has no manual trigger: it is started by its cron schedule"
          : trigger
            ? `trigger "${triggerName}" is a cron trigger: its scheduler starts it`
            : undefined
      return yield* new InvalidTriggerError({ workflow: name, trigger: triggerName ?? "", available: startable, ...(reason ? { reason } : {}) })
    }
    const now = yield* Clock.currentTimeMillis
    const resolved = resolvePayload(name, triggerName, trigger, payload, origin._tag === "Schedule" ? origin.window : now)
    if (Either.isLeft(resolved)) return yield* resolved.left
    const tooLarge = oversized("payload", resolved.right.stored, ctx.limits.payloadBytes)
    if (tooLarge) return yield* tooLarge

    const runId = options.runId ?? (options.idempotencyKey ? deterministicUuid(name, triggerName, options.idempotencyKey) : newRunId())
    // The resolved input, not the raw payload: writing a defaulted field out is the same request.
    const requestHash = sha256Hex(canonicalJson({ workflow: name, trigger: triggerName, payload: resolved.right.stored }))
    const replayer = new Replayer(runId, workflow, resolved.right.decoded, parent, ctx.redactor)
    const env = yield* makeEnv
    const decision = replayer.advance({ ...env, now })
    const change = runChangeOf(decision, ctx.limits.outputBytes)
    const status = change.status
    const run: RunRecord = {
      id: runId,
      workflow: name,
      trigger: triggerName,
      queue: workflow.queue,
      status,
      input: resolved.right.stored,
      ...(change.output !== undefined ? { output: change.output } : {}),
      ...(change.error !== undefined ? { error: change.error } : {}),
      revision: 1,
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
      requestHash,
      definitionHash: workflow.definitionHash,
      ...(parent ? { parentRunId: parent.runId, parentSeq: parent.seq } : {}),
      ...(options.attributes !== undefined && Object.keys(options.attributes).length > 0 ? { attributes: { ...options.attributes } } : {}),
      ...(origin._tag === "Schedule" ? { scheduledFor: origin.window } : {}),
      createdAt: now,
      updatedAt: now,
      ...(isTerminal(status) ? { finishedAt: now } : {}),
    }
    // A short first timer goes straight to a local worker, which fires it when due (no claim then).
    const keeper = ctx.timerKeepers.get(run.queue)
    let kept: ClaimedTask | undefined
    const tasks = newTasksOf(run, decision).map((t) => {
      if (!keeper || kept || t.kind !== "timer" || t.visibleAt - now > LOCAL_TIMER_HORIZON_MS) return t
      const { token, ...minted } = newClaim()
      const claim = { ...minted, owner: keeper.owner, leaseUntil: t.visibleAt + keeper.leaseMs }
      kept = { ...t, workflow: name, owner: claim.owner, claimId: claim.claimId, token, leaseUntil: claim.leaseUntil }
      return { ...t, claim }
    })
    const audited = options.idempotencyKey !== undefined || options.actor !== undefined
    const command: CommandRecord | undefined = audited
      ? {
          kind: "start",
          actor: options.actor ?? "system",
          ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
          ...(options.metadata !== undefined ? { metadata: ctx.redactor.value(options.metadata) as Json } : {}),
          at: now,
        }
      : undefined
    // A spec run (started, scheduled or rerun) stores its spec: the row may have been purged.
    const spec = ctx.specs.sourceOf(workflow.definitionHash)
    const newRun: NewRun = { run, entries: decision.entries, tasks, ...(command ? { command } : {}), ...(spec ? { spec } : {}) }
    return { newRun, replayer, decision, ...(kept && keeper ? { keep: { keeper, task: kept } } : {}) }
  })
