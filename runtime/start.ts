/**
 * Starting a run: validate everything first (workflow, trigger, options, payload), then
 * advance the generator to its first blocking command and write the run, its first entries
 * and tasks in one atomic create. A repeated id or idempotency key returns the same run;
 * the same key with a different request is a ConflictError.
 */
import { Clock, Effect, Either } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import {
  ConflictError,
  InvalidOptionError,
  InvalidTriggerError,
  InvalidWorkflowError,
  type InvalidPayloadError,
  type StoreError,
} from "../src/core/errors.js"
import { deterministicUuid, isUuid, newClaim, newRunId, sha256Hex } from "../src/core/ids.js"
import { canonicalJson, type Json } from "../src/core/json.js"
import { isTerminal, type ClaimedTask, type CommandRecord, type RunRecord, type RunStatus } from "../src/core/model.js"
import { LOCAL_TIMER_HORIZON_MS } from "./advance.js"
import { makeEnv, type EngineContext } from "./context.js"
import { Replayer, type Decision } from "./Interpreter.js"
import { emitLogs, newTasksOf } from "./decision.js"
import { resolvePayload } from "./payload.js"
import { spawnChildren } from "./children.js"

/** Options of `start`. */
export interface StartOptions {
  /** Trigger name; defaults to the workflow's first trigger. */
  readonly trigger?: string
  /** Use this run id (a UUID). Starting again with the same id and request returns the same run. */
  readonly runId?: string
  /** Same key (per workflow and trigger) → same run; a different payload under it is a ConflictError. */
  readonly idempotencyKey?: string
  /** Who started it; with a key or an actor, the start is recorded as an audit event. */
  readonly actor?: string
  /** Extra context for the audit event; secret-looking keys are redacted. */
  readonly metadata?: Record<string, unknown>
}

/** What `start` returns. `created` is false when an existing run was returned. */
export interface StartResult {
  readonly runId: string
  readonly status: RunStatus
  readonly created: boolean
}

/** Errors `start` can fail with. */
export type StartError = InvalidWorkflowError | InvalidTriggerError | InvalidPayloadError | InvalidOptionError | ConflictError | StoreError

const statusOf = (decision: Decision): RunStatus =>
  decision.outcome._tag === "Completed" ? "completed" : decision.outcome._tag === "Blocked" ? (decision.paused ? "paused" : "running") : "failed"

/** Validates and starts a run. */
export const start = (
  ctx: EngineContext,
  workflowOrName: AnyWorkflow | string,
  payload: unknown,
  options: StartOptions = {},
  /** Internal: the parent run and entry of a child run. */
  parent?: { readonly runId: string; readonly seq: number },
): Effect.Effect<StartResult, StartError> =>
  Effect.gen(function* () {
    const name = typeof workflowOrName === "string" ? workflowOrName : workflowOrName?.name
    const workflow = ctx.workflows.get(name)
    if (!workflow) return yield* new InvalidWorkflowError({ workflow: String(name), reason: "not registered with this engine" })
    if (typeof workflowOrName !== "string" && workflowOrName !== workflow) {
      return yield* new InvalidWorkflowError({ workflow: name, reason: "a different definition with this name is registered" })
    }
    const triggerNames = Object.keys(workflow.triggers)
    const triggerName = options.trigger ?? triggerNames[0]!
    const trigger = workflow.triggers[triggerName]
    if (!trigger) return yield* new InvalidTriggerError({ workflow: name, trigger: triggerName, available: triggerNames })
    if (options.runId !== undefined && !isUuid(options.runId)) {
      return yield* new InvalidOptionError({ option: "runId", reason: "must be a UUID" })
    }
    if (options.idempotencyKey !== undefined && (typeof options.idempotencyKey !== "string" || options.idempotencyKey.length === 0)) {
      return yield* new InvalidOptionError({ option: "idempotencyKey", reason: "must be a non-empty string" })
    }
    const now = yield* Clock.currentTimeMillis
    const resolved = resolvePayload(name, triggerName, trigger, payload, now)
    if (Either.isLeft(resolved)) return yield* resolved.left

    const runId = options.runId ?? (options.idempotencyKey ? deterministicUuid(name, triggerName, options.idempotencyKey) : newRunId())
    const requestHash = sha256Hex(canonicalJson({ workflow: name, trigger: triggerName, payload: payload ?? {} }))
    const replayer = new Replayer(runId, workflow, resolved.right.decoded, parent, ctx.redactor)
    const env = yield* makeEnv
    const decision = replayer.advance({ ...env, now })
    const status = statusOf(decision)
    const outcome = decision.outcome
    const run: RunRecord = {
      id: runId,
      workflow: name,
      trigger: triggerName,
      queue: workflow.queue,
      status,
      input: resolved.right.stored,
      ...(outcome._tag === "Completed" && outcome.output !== undefined ? { output: outcome.output } : {}),
      ...(outcome._tag === "Failed" ? { error: outcome.error } : {}),
      revision: 1,
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
      requestHash,
      definitionHash: workflow.definitionHash,
      ...(parent ? { parentRunId: parent.runId, parentSeq: parent.seq } : {}),
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
    const created = yield* ctx.store.createRun({ run, entries: decision.entries, tasks, ...(command ? { command } : {}) })
    if (created._tag === "Existing") {
      const existing = created.run
      if (existing.workflow !== name || existing.requestHash !== requestHash) {
        return yield* new ConflictError({ runId, reason: "a run with this id or idempotency key exists with a different request" })
      }
      return { runId, status: existing.status, created: false }
    }
    yield* spawnChildren(ctx, runId, decision.entries)
    yield* emitLogs(runId, decision)
    if (kept) keeper!.keep(kept)
    if (!isTerminal(status)) ctx.cache.put(runId, { replayer, revision: 1 })
    return { runId, status, created: true }
  }).pipe(Effect.withSpan("squid-mesh.start", { attributes: { workflow: typeof workflowOrName === "string" ? workflowOrName : workflowOrName?.name } }))
