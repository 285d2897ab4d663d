/**
 * Rerun: a new run of the same workflow with the source run's stored input (defaults are not
 * re-evaluated), linked to its source. Refused when the source completed a step marked
 * `irreversible`, unless `allowIrreversible`. With `fromStep`, the new run keeps the source's
 * journal before that step's first entry and re-executes from there; the workflow's code
 * must be unchanged. The source run is never touched.
 */
import { Clock, Effect } from "effect"
import { ConflictError, type InvalidOptionError, InvalidWorkflowError, RerunRefusedError, RunNotFoundError, type StoreError } from "../src/core/errors.js"
import { deterministicUuid, newRunId, sha256Hex } from "../src/core/ids.js"
import { canonicalJson, type Json } from "../src/core/json.js"
import { isTerminal, type CommandRecord, type RunRecord } from "../src/core/model.js"
import type { NewTask } from "../src/store/Store.js"
import { validate, type ControlOptions } from "./controls.js"
import { rerunReplayRefusal, rerunStatusRefusal } from "./controlRules.js"
import { makeEnv, type EngineContext } from "./context.js"
import { newTasksOf, runChangeOf } from "./decision.js"
import { Replayer } from "./Interpreter.js"
import { advanceRun } from "./advance.js"
import type { Decision } from "./Interpreter.js"
import type { PreparedRun } from "./newRun.js"
import { decodeStored } from "./payload.js"
import { workflowOf } from "./specs.js"
import { withEngineSpan } from "./tracing.js"

/** Options of `rerun`. */
export interface RerunOptions extends ControlOptions {
  /** Rerun even though the source completed steps marked `irreversible`. */
  readonly allowIrreversible?: boolean
  /** Fork: keep the source's journal before this step's first entry and re-execute from there. */
  readonly fromStep?: string
}

/** The new run. `duplicate` when the same idempotency key already made it. */
export interface RerunOutcome {
  readonly runId: string
  readonly rerunOf: string
  readonly status: RunRecord["status"]
  readonly duplicate: boolean
}

/** Errors of `rerun`; nothing is written when it fails. */
export type RerunError = InvalidOptionError | RunNotFoundError | InvalidWorkflowError | RerunRefusedError | ConflictError | StoreError

/** Starts a rerun of `sourceId`. */
export const rerun = (ctx: EngineContext, sourceId: string, options: RerunOptions): Effect.Effect<RerunOutcome, RerunError> =>
  Effect.gen(function* () {
    const invalid = validate(sourceId, options)
    if (invalid) return yield* invalid
    const source = yield* ctx.store.getRun(sourceId)
    if (!source) return yield* new RunNotFoundError({ runId: sourceId })
    const refuse = (reason: RerunRefusedError["reason"], detail: string, steps: ReadonlyArray<string> = []) =>
      new RerunRefusedError({ runId: sourceId, reason, steps, detail })
    // A second live run with the same input is a duplicate, not a rerun: wait for it to end, or cancel it.
    const live = rerunStatusRefusal(source.status)
    if (live) return yield* refuse(live.reason, live.detail, live.steps)
    const workflow = yield* workflowOf(ctx, source)
    if (!workflow) return yield* rerunFromJournal(ctx, source, options)

    // Replay the source to learn which completed steps are irreversible (and that the code still fits its journal).
    const journal = yield* ctx.store.getJournal(sourceId)
    const trigger = workflow.triggers[source.trigger] ?? Object.values(workflow.triggers)[0]
    const input = decodeStored(trigger, source.input)
    const probe = new Replayer(sourceId, workflow, input, undefined, ctx.redactor).load(journal)
    const replayed = probe.advance(yield* makeEnv)
    const unsafe = rerunReplayRefusal(replayed.outcome, journal, probe.irreversible, options.allowIrreversible === true)
    if (unsafe) return yield* refuse(unsafe.reason, unsafe.detail, unsafe.steps)

    let kept: ReadonlyArray<(typeof journal)[number]> = []
    if (options.fromStep !== undefined) {
      const first = journal.find((e) => e.kind === "step" && e.name === options.fromStep)
      if (!first) return yield* refuse("unknown_step", `step "${options.fromStep}" never ran in the source`)
      if (source.definitionHash !== workflow.definitionHash) {
        return yield* refuse("definition_changed", "the workflow's code changed since the source started; a fork needs the same code (rerun without fromStep)")
      }
      kept = journal.filter((e) => e.seq < first.seq)
      if (kept.some((e) => e.status === "pending")) return yield* refuse("replay_failed", "the journal before that step is not settled")
    }

    const now = yield* Clock.currentTimeMillis
    const { runId, requestHash, command } = rerunRecords(ctx, sourceId, options, now)
    const replayer = new Replayer(runId, workflow, input, undefined, ctx.redactor).load(kept)
    const decision = replayer.advance({ ...(yield* makeEnv), now })
    const change = runChangeOf(decision, ctx.limits.outputBytes)
    const status = change?.status ?? "running"
    const run: RunRecord = {
      id: runId,
      workflow: workflow.name,
      trigger: source.trigger,
      queue: workflow.queue,
      status,
      input: source.input,
      ...(change?.output !== undefined ? { output: change.output } : {}),
      ...(change?.error !== undefined ? { error: change.error } : {}),
      revision: 1,
      requestHash,
      definitionHash: workflow.definitionHash,
      rerunOf: sourceId,
      // A rerun is the same business request again: it keeps the source's attributes.
      ...(source.attributes !== undefined ? { attributes: source.attributes } : {}),
      createdAt: now,
      updatedAt: now,
      ...(isTerminal(status) ? { finishedAt: now } : {}),
    }
    const prepared = { newRun: { run, entries: [...kept, ...decision.entries], tasks: newTasksOf(run, decision), command }, replayer, decision }
    return yield* create(ctx, prepared, sourceId, requestHash)
  }).pipe(withEngineSpan("squid-mesh.rerun", { runId: sourceId }))

/** The new run's id (deterministic with an idempotency key), the hash of what was asked, and the audit event. */
const rerunRecords = (ctx: EngineContext, sourceId: string, options: RerunOptions, now: number) => {
  const runId = options.idempotencyKey ? deterministicUuid(sourceId, "rerun", options.idempotencyKey) : newRunId()
  const requestHash = sha256Hex(canonicalJson({ rerunOf: sourceId, fromStep: options.fromStep ?? null, allowIrreversible: options.allowIrreversible === true }))
  const command: CommandRecord = {
    kind: "rerun",
    actor: options.actor,
    note: options.fromStep ? `rerun of ${sourceId} from step ${options.fromStep}` : `rerun of ${sourceId}`,
    ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
    ...(options.metadata !== undefined ? { metadata: ctx.redactor.value(options.metadata) as Json } : {}),
    at: now,
  }
  return { runId, requestHash, command }
}

/** Writes the prepared rerun; an existing run with its id is this rerun repeated, or a conflict. */
const create = (ctx: EngineContext, prepared: PreparedRun, sourceId: string, requestHash: string): Effect.Effect<RerunOutcome, ConflictError | StoreError> =>
  Effect.gen(function* () {
    const { run } = prepared.newRun
    const created = yield* advanceRun(ctx, { _tag: "Create", prepared })
    if (created._tag === "Existing") {
      if (created.run.rerunOf !== sourceId || created.run.requestHash !== requestHash) {
        return yield* new ConflictError({ runId: run.id, reason: "idempotency key already used for a different rerun" })
      }
      return { runId: run.id, rerunOf: sourceId, status: created.run.status, duplicate: true }
    }
    return { runId: run.id, rerunOf: sourceId, status: run.status, duplicate: false }
  })

/** Nothing decided yet: the first advance of a run prepared without the workflow's code. */
const UNDECIDED: Decision = { entries: [], tasks: [], cancelled: [], logs: [], outcome: { _tag: "Blocked" }, paused: false, consumed: [] }

/**
 * A rerun from a process that has not registered the workflow: irreversible steps are read
 * from the source's journal, and the new run is written with no journal and a task at seq 0
 * (its start), so a worker that has the code makes its first advance. A fork (`fromStep`) needs
 * the code, and so does a source journaled before step entries kept their irreversible flag.
 */
const rerunFromJournal = (ctx: EngineContext, source: RunRecord, options: RerunOptions): Effect.Effect<RerunOutcome, RerunError> =>
  Effect.gen(function* () {
    const needsCode = (why: string) => new InvalidWorkflowError({ workflow: source.workflow, reason: `not registered with this engine, and ${why}` })
    if (options.fromStep !== undefined) return yield* needsCode("a rerun from a step replays the source with the workflow's code")
    const journal = yield* ctx.store.getJournal(source.id)
    const completed = journal.filter((e) => e.kind === "step" && e.status === "completed")
    if (completed.some((e) => e.irreversible === undefined)) {
      return yield* needsCode("the source was journaled before step entries kept their irreversible flag; rerun it from a process that registered the workflow")
    }
    const irreversible = new Set(completed.filter((e) => e.irreversible === true).map((e) => e.seq))
    const unsafe = rerunReplayRefusal({ _tag: "Blocked" }, journal, irreversible, options.allowIrreversible === true)
    if (unsafe) return yield* new RerunRefusedError({ runId: source.id, reason: unsafe.reason, steps: unsafe.steps, detail: unsafe.detail })
    const now = yield* Clock.currentTimeMillis
    const { runId, requestHash, command } = rerunRecords(ctx, source.id, options, now)
    const run: RunRecord = {
      id: runId,
      workflow: source.workflow,
      trigger: source.trigger,
      queue: source.queue,
      status: "running",
      input: source.input,
      revision: 1,
      requestHash,
      definitionHash: source.definitionHash,
      rerunOf: source.id,
      ...(source.attributes !== undefined ? { attributes: source.attributes } : {}),
      createdAt: now,
      updatedAt: now,
    }
    const start: NewTask = { runId, seq: 0, queue: source.queue, kind: "advance", attempt: 1, visibleAt: now }
    return yield* create(ctx, { newRun: { run, entries: [], tasks: [start], command }, replayer: undefined, decision: UNDECIDED }, source.id, requestHash)
  })
