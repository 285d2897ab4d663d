/**
 * Controls: what an operator or host does to a run from outside (resume a pause, approve or
 * reject an approval, signal, cancel). Each one is validated first, then carried out in one
 * commit with its audit event (actor, note, key, redacted metadata), guarded by the run's
 * revision. An idempotency key makes a repeat return the recorded outcome without writing; the
 * same key for a different control is a conflict. ("Command" means what a workflow yields.)
 */
import { Clock, Effect, Either, ParseResult, Schema } from "effect"
import {
  ConflictError,
  InvalidOptionError,
  InvalidPayloadError,
  InvalidTransitionError,
  InvalidWorkflowError,
  RunNotFoundError,
  type StoreError,
  showValue,
  type PayloadTooLargeError,
} from "../src/core/errors.js"
import { isUuid, newRunId } from "../src/core/ids.js"
import { toJson, type Json } from "../src/core/json.js"
import { isTerminal, type CommandRecord, type Entry, type RunRecord, type RunStatus } from "../src/core/model.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { advanceRun, type Advanced } from "./advance.js"
import { makeEnv, rebuild, type EngineContext } from "./context.js"
import { gateRefusal, terminalRefusal } from "./controlRules.js"
import { journaledGate, journaledPayloadError, journaledSignalSchema, journaledSignalWait, statusAfter } from "./journalWaits.js"
import { oversized } from "./limits.js"
import { workflowOf } from "./specs.js"
import { withEngineSpan } from "./tracing.js"

/** Who issues a control, and how to make it idempotent. */
export interface ControlOptions {
  /** Who did it (a user id, a service name). Recorded in the audit event. */
  readonly actor: string
  /** A repeat with the same key returns the same outcome and writes nothing. */
  readonly idempotencyKey?: string
  /** Extra context for the audit trail; secret-looking keys are redacted before storage. */
  readonly metadata?: Record<string, unknown>
}

/** Options of `resume` and `cancel`. */
export interface ReasonOptions extends ControlOptions {
  readonly reason?: string
}

/** Options of `approve` and `reject`. */
export interface DecisionOptions extends ControlOptions {
  readonly note?: string
}

/** The outcome of a control. `duplicate` when an earlier control with the same key was returned. */
export interface ControlOutcome {
  readonly runId: string
  readonly status: RunStatus
  readonly duplicate: boolean
}

/** Errors a control can fail with; nothing is written when it does. */
export type ControlError = InvalidOptionError | RunNotFoundError | InvalidTransitionError | ConflictError | InvalidWorkflowError | StoreError

type Kind = CommandRecord["kind"]

const MAX_ROUNDS = 25

export const validate = (runId: string, options: ControlOptions) => {
  const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })
  if (typeof runId !== "string" || !isUuid(runId)) return bad("runId", runId, "must be a UUID")
  if (typeof options !== "object" || options === null) return bad("options", options, "expected an object with `actor`")
  if (typeof options.actor !== "string" || options.actor.trim().length === 0 || options.actor.length > 256) {
    return bad("actor", options.actor, "is required: a non-empty string of at most 256 characters")
  }
  if (
    options.idempotencyKey !== undefined &&
    (typeof options.idempotencyKey !== "string" || options.idempotencyKey.length === 0 || options.idempotencyKey.startsWith("auto:"))
  ) {
    return bad("idempotencyKey", options.idempotencyKey, 'must be a non-empty string not starting with "auto:"')
  }
  if (options.metadata !== undefined && (typeof options.metadata !== "object" || options.metadata === null || Array.isArray(options.metadata))) {
    return bad("metadata", options.metadata, "must be an object")
  }
  const note = (options as { readonly note?: unknown }).note
  if (note !== undefined && typeof note !== "string") return bad("note", note, "must be a string")
  return undefined
}

/** A control's outcome from how advancing ended; `undefined` when the run changed meanwhile (look again). */
const outcomeOf = (runId: string, advanced: Advanced): ControlOutcome | undefined =>
  advanced._tag === "Committed" ? { runId, status: advanced.runStatus, duplicate: false } : undefined

/** The run's interpreter at its stored revision: the cached one if current, else replayed. */
const interpreterOf = (ctx: EngineContext, run: RunRecord, workflow: AnyWorkflow) =>
  Effect.gen(function* () {
    const cached = ctx.cache.take(run.id)
    if (cached && cached.revision === run.revision) return { replayer: cached.replayer, cached }
    const replayer = yield* rebuild(ctx, run, workflow)
    replayer.advance(yield* makeEnv)
    return { replayer, cached: undefined }
  })

/**
 * Every control carries an idempotency key: the caller's, or an internal `auto:` one. A retry
 * after a commit whose reply was lost then finds its own record instead of applying twice. (A
 * fresh `auto:` key cannot have a record yet: the first round does not look, saving a read.)
 */
const commandKey = (options: { readonly idempotencyKey?: string }): string => options.idempotencyKey ?? `auto:${newRunId()}`

/** The outcome of an earlier control with this key, if any (a conflict if it was another control). */
const priorControl = (
  ctx: EngineContext,
  run: RunRecord,
  key: string,
  same: (c: CommandRecord) => boolean,
): Effect.Effect<ControlOutcome | undefined, ConflictError | StoreError> =>
  Effect.flatMap(ctx.store.getCommands(run.id), (commands) => {
    const prior = commands.find((c) => c.idempotencyKey === key)
    if (!prior) return Effect.succeed(undefined)
    if (!same(prior)) return Effect.fail(new ConflictError({ runId: run.id, reason: `idempotency key already used by a ${prior.kind} control` }))
    // Our own earlier try (its reply was lost) is not a duplicate of someone else's control.
    return Effect.succeed({ runId: run.id, status: run.status, duplicate: !key.startsWith("auto:") } as ControlOutcome)
  })

/** Carries out one control on a run. */
export const runControl = (
  ctx: EngineContext,
  kind: Exclude<Kind, "signal" | "rerun" | "start" | "dynamic_work">,
  runId: string,
  options: ControlOptions & { readonly note?: string },
): Effect.Effect<ControlOutcome, ControlError> =>
  Effect.gen(function* () {
    const invalid = validate(runId, options)
    if (invalid) return yield* invalid
    const key = commandKey(options)
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const run = yield* ctx.store.getRun(runId)
      if (!run) return yield* new RunNotFoundError({ runId })
      const prior = round === 0 && options.idempotencyKey === undefined ? undefined : yield* priorControl(ctx, run, key, (c) => c.kind === kind)
      if (prior) return prior
      const terminal = terminalRefusal(run.status)
      if (terminal) return yield* new InvalidTransitionError({ runId, status: run.status, control: kind, reason: terminal })
      const now = yield* Clock.currentTimeMillis
      const record: CommandRecord = {
        kind,
        actor: options.actor,
        ...(options.note !== undefined ? { note: ctx.redactor.text(options.note) } : {}),
        idempotencyKey: key,
        ...(options.metadata !== undefined ? { metadata: ctx.redactor.value(options.metadata) as Json } : {}),
        at: now,
      }
      if (kind === "cancel") {
        const error = { code: "cancelled", message: ctx.redactor.text(options.note ?? `cancelled by ${options.actor}`) }
        const cancelled = yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution: { _tag: "Cancel", error } })
        if (cancelled._tag === "Committed") {
          // Cancelling a parent cancels its children (and theirs).
          for (const child of yield* ctx.store.getChildren(runId)) {
            if (!isTerminal(child.status)) {
              yield* Effect.ignore(runControl(ctx, "cancel", child.id, { actor: options.actor, note: `parent run ${runId} was cancelled` }))
            }
          }
          return { runId, status: "cancelled", duplicate: false } as ControlOutcome
        }
        continue
      }

      const output: Json =
        kind === "resume"
          ? { actor: options.actor, ...(options.note !== undefined ? { reason: ctx.redactor.text(options.note) } : {}), at: now }
          : { approved: kind === "approve", actor: options.actor, ...(options.note !== undefined ? { note: ctx.redactor.text(options.note) } : {}), at: now }
      const workflow = yield* workflowOf(ctx, run)
      if (!workflow) {
        // Without the code: the gate is read from the journal, and a worker with the code advances the run.
        const journal = yield* ctx.store.getJournal(runId)
        const gate = journaledGate(journal, kind)
        const refused = gateRefusal(kind, gate)
        if (refused || !gate)
          return yield* new InvalidTransitionError({ runId, status: run.status, control: kind, reason: refused ?? "the run is not paused at a gate" })
        const entry: Entry = { ...gate, status: "completed", output, resolvedAt: now }
        const resolution = { _tag: "Journaled", entry, status: statusAfter(journal, gate) } as const
        const outcome = outcomeOf(runId, yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution }))
        if (outcome) return outcome
        continue
      }
      const { replayer, cached } = yield* interpreterOf(ctx, run, workflow)
      const gate = replayer.pendingGate()
      const refused = gateRefusal(kind, gate)
      if (refused || !gate) {
        if (cached) ctx.cache.put(runId, cached)
        return yield* new InvalidTransitionError({ runId, status: run.status, control: kind, reason: refused ?? "the run is not paused at a gate" })
      }
      const entry: Entry = { ...gate, status: "completed", output, resolvedAt: now }
      const outcome = outcomeOf(
        runId,
        yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution: { _tag: "Resolved", entry, replayer, workflow } }),
      )
      if (outcome) return outcome
      // Lost a race (a step committed, or the same control twice): look again.
    }
    return yield* new ConflictError({ runId, reason: "the run kept changing; try again" })
  }).pipe(withEngineSpan(`squid-mesh.${kind}`, { runId }))

const REDACTED_NOTE = ' (after redaction: a secret-named field or secret-shaped text is delivered as "[REDACTED]"; the signal\'s schema must accept that)'

/** An InvalidPayloadError when `payload` does not decode with the signal's schema. */
const payloadError = (workflow: string, name: string, schema: Schema.Schema<any, any, never>, payload: Json, note: string): InvalidPayloadError | undefined => {
  const decoded = Schema.decodeUnknownEither(schema, { errors: "all" })(payload)
  if (Either.isRight(decoded)) return undefined
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
  return new InvalidPayloadError({
    workflow,
    trigger: `signal:${name}`,
    missing: issues.filter((i) => i._tag === "Missing").map((i) => i.path.map(String).join(".")),
    unknown: issues.filter((i) => i._tag === "Unexpected").map((i) => i.path.map(String).join(".")),
    invalid: issues
      .filter((i) => i._tag !== "Missing" && i._tag !== "Unexpected")
      .map((i) => ({ field: i.path.map(String).join(".") || "(payload)", message: `${i.message}${note}` })),
  })
}

/** Options of `signal`. `actor` defaults to "external". */
export interface SignalOptions extends Partial<ControlOptions> {}

/**
 * Sends a signal. If the run waits for it, the payload is validated by the wait's schema and
 * the wait resolves (an invalid payload is an InvalidPayloadError; nothing is written).
 * Otherwise it is kept in the run's inbox and delivered when the run waits for it. Both are
 * revision-checked commits, so a signal racing the run's arrival at its wait is delivered once.
 */
export const deliverSignal = (
  ctx: EngineContext,
  runId: string,
  name: string,
  payload: unknown,
  options: SignalOptions = {},
): Effect.Effect<ControlOutcome, ControlError | InvalidPayloadError | PayloadTooLargeError> =>
  Effect.gen(function* () {
    const actor = options.actor ?? "external"
    const invalid = validate(runId, { ...options, actor })
    if (invalid) return yield* invalid
    if (typeof name !== "string" || name.length === 0)
      return yield* new InvalidOptionError({ option: "name", value: showValue(name), reason: "must be a non-empty string" })
    const tooLarge = oversized("signal", payload, ctx.limits.signalBytes)
    if (tooLarge) return yield* tooLarge
    const json = toJson(payload) ?? null
    // Secret fields are redacted before the payload is journaled, and the workflow receives the
    // journaled value: the live run and any replay of it see the same thing.
    const stored = (toJson(ctx.redactor.fields(json)) ?? null) as Json
    const key = commandKey(options)
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const run = yield* ctx.store.getRun(runId)
      if (!run) return yield* new RunNotFoundError({ runId })
      const prior =
        round === 0 && options.idempotencyKey === undefined ? undefined : yield* priorControl(ctx, run, key, (c) => c.kind === "signal" && c.note === name)
      if (prior) return prior
      const terminal = terminalRefusal(run.status)
      if (terminal) return yield* new InvalidTransitionError({ runId, status: run.status, control: "signal", reason: terminal })
      const now = yield* Clock.currentTimeMillis
      const record: CommandRecord = {
        kind: "signal",
        actor,
        note: name,
        idempotencyKey: key,
        ...(options.metadata !== undefined ? { metadata: ctx.redactor.value(options.metadata) as Json } : {}),
        at: now,
      }
      const workflow = yield* workflowOf(ctx, run)
      if (!workflow) {
        // Without the code: the wait and its schema are read from the journal.
        const journal = yield* ctx.store.getJournal(runId)
        const wait = journaledSignalWait(journal, name)
        if (!wait) {
          const signal = { name, payload: stored, receivedAt: now }
          const kept = outcomeOf(runId, yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution: { _tag: "Inbox", signal } }))
          if (kept) return kept
          continue
        }
        const schema = journaledSignalSchema(wait)
        if (!schema) {
          return yield* new InvalidWorkflowError({
            workflow: run.workflow,
            reason: `not registered with this engine, and the journal does not describe the payload of signal "${name}" (the wait predates journaled schemas, or its schema has no JSON Schema form); send it from a process that registered the workflow`,
          })
        }
        const refused = journaledPayloadError(run.workflow, name, schema, json, "") ?? journaledPayloadError(run.workflow, name, schema, stored, REDACTED_NOTE)
        if (refused) return yield* refused
        const entry: Entry = { ...wait, status: "completed", output: { _tag: "Received", payload: stored, at: now }, resolvedAt: now }
        const resolution = { _tag: "Journaled", entry, status: statusAfter(journal, wait) } as const
        const outcome = outcomeOf(runId, yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution }))
        if (outcome) return outcome
        continue
      }
      const { replayer, cached } = yield* interpreterOf(ctx, run, workflow)
      const waiting = replayer.pendingSignal(name)
      if (!waiting) {
        // Not waiting (yet): keep it in the inbox. The revision check orders it with the run's own progress.
        const signal = { name, payload: stored, receivedAt: now }
        const kept = outcomeOf(runId, yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution: { _tag: "Inbox", signal } }))
        if (kept) return kept
        continue
      }
      // The sender's payload must fit the schema, and so must its redacted form (what the run gets).
      const refused = payloadError(run.workflow, name, waiting.schema, json, "") ?? payloadError(run.workflow, name, waiting.schema, stored, REDACTED_NOTE)
      if (refused) {
        if (cached) ctx.cache.put(runId, cached)
        return yield* refused
      }
      const resolved: Entry = { ...waiting.entry, status: "completed", output: { _tag: "Received", payload: stored, at: now }, resolvedAt: now }
      const outcome = outcomeOf(
        runId,
        yield* advanceRun(ctx, { _tag: "Control", run, audit: record, now, resolution: { _tag: "Resolved", entry: resolved, replayer, workflow } }),
      )
      if (outcome) return outcome
    }
    return yield* new ConflictError({ runId, reason: "the run kept changing; try again" })
  }).pipe(withEngineSpan("squid-mesh.signal", { runId, signal: name }))
