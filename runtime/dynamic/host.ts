/**
 * Dynamic work from host code: preview, record or schedule a proposal on an active run. All
 * three check the same proposal against the run's journal (no workflow code needed); preview
 * writes nothing, record writes the inspection fact, schedule writes the fact with its nodes'
 * entries and tasks, in one commit checked against the run's revision, with an audit event.
 * The same proposal again under its key is a duplicate: nothing is written, the work is returned.
 */
import { Clock, Effect } from "effect"
import { type DynamicWorkFact, type DynamicWorkMode, isDynamicSeq } from "../../src/core/dynamicWork.js"
import { InvalidDynamicWorkError, InvalidOptionError, RunNotFoundError, showValue, type StoreError } from "../../src/core/errors.js"
import { isUuid } from "../../src/core/ids.js"
import type { Entry, RunRecord } from "../../src/core/model.js"
import { advanceRun } from "../advance.js"
import type { EngineContext } from "../context.js"
import { nextDynamicSeq, planWork } from "./plan.js"
import { checkProposal, type Checked, type ProposalContext, type ProposalProblem } from "./proposal.js"

/** Options of `recordDynamicWork` and `scheduleDynamicWork`. */
export interface DynamicWorkOptions {
  /** Who adds the work (kept in the run's audit trail). Default "host". */
  readonly actor?: string
}

/** Dynamic work as written (or found written, `duplicate`). */
export interface DynamicWorkResult {
  readonly runId: string
  readonly key: string
  readonly mode: DynamicWorkMode
  readonly duplicate: boolean
  readonly origin: DynamicWorkFact["origin"]
  /** Each node, with the journal seq of its entry when scheduled. */
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly action?: string; readonly seq?: number }>
  readonly edges: ReadonlyArray<{ readonly id: string; readonly from: string; readonly to: string }>
}

/** What `previewDynamicWork` found; nothing was written. */
export interface DynamicWorkPreview {
  readonly runId: string
  readonly key: string
  /** The graph node of the origin step (`seq-<n>`, as in `inspectRunGraph`). */
  readonly originNodeId: string
  readonly origin: DynamicWorkFact["origin"]
  readonly addedNodeIds: ReadonlyArray<string>
  readonly addedEdgeIds: ReadonlyArray<string>
  /** The same work is in the run already under this key. */
  readonly duplicate: boolean
  /** `recordDynamicWork` would succeed. */
  readonly recordable: boolean
  /** `scheduleDynamicWork` would succeed; if not, `problems` says why. */
  readonly schedulable: boolean
  readonly problems: ReadonlyArray<ProposalProblem>
  readonly warnings: ReadonlyArray<string>
}

/** Errors of the dynamic work calls; nothing is written when one is returned. */
export type DynamicWorkError = InvalidOptionError | RunNotFoundError | InvalidDynamicWorkError | StoreError

const MAX_ROUNDS = 25

/** The run and what a proposal is checked against, as stored now. */
const load = (ctx: EngineContext, runId: string) =>
  Effect.gen(function* () {
    if (typeof runId !== "string" || !isUuid(runId))
      return yield* new InvalidOptionError({ option: "runId", value: showValue(runId), reason: "must be a UUID" })
    const run = yield* ctx.store.getRun(runId)
    if (!run) return yield* new RunNotFoundError({ runId })
    const journal = yield* ctx.store.getJournal(runId)
    const context: ProposalContext = {
      status: run.status,
      steps: journal.filter((e) => !isDynamicSeq(e.seq)),
      dynamic: journal.filter((e) => isDynamicSeq(e.seq)),
      actions: ctx.specs.actions,
      redactor: ctx.redactor,
      limitBytes: ctx.limits.payloadBytes,
    }
    return { run, context }
  })

/** Checks a proposal for `mode` (a preview's check for recording refuses what no mode could take). */
const refuse = (runId: string, checked: Checked) =>
  checked._tag === "Refused" ? Effect.fail(new InvalidDynamicWorkError({ runId, problems: checked.problems })) : Effect.succeed(checked)

/** Checks a proposal and reports what recording or scheduling it would add. Writes nothing. */
export const previewDynamicWork = (ctx: EngineContext, runId: string, proposal: unknown): Effect.Effect<DynamicWorkPreview, DynamicWorkError> =>
  Effect.gen(function* () {
    const { context } = yield* load(ctx, runId)
    const recorded = yield* refuse(runId, checkProposal(proposal, "recorded", context))
    const scheduled = checkProposal(proposal, "scheduled", context)
    const fact = recorded._tag === "New" ? recorded.fact : recorded.existing.fact
    const warnings = [
      ...(recorded._tag === "Duplicate" || scheduled._tag === "Duplicate"
        ? [`dynamic work "${recorded.key}" is in the run already: writing it again adds nothing`]
        : []),
      ...(fact.nodes.some((n) => n.action === undefined) ? ["nodes without an action can be recorded, not scheduled"] : []),
    ]
    return {
      runId,
      key: recorded.key,
      originNodeId: `seq-${fact.origin.seq}`,
      origin: fact.origin,
      addedNodeIds: fact.nodes.map((n) => n.id),
      addedEdgeIds: fact.edges.map((e) => e.id),
      duplicate: recorded._tag === "Duplicate" || scheduled._tag === "Duplicate",
      recordable: recorded._tag === "New" || recorded.existing.fact.mode === "recorded",
      schedulable: scheduled._tag !== "Refused",
      problems: scheduled._tag === "Refused" ? scheduled.problems : [],
      warnings,
    }
  })

/** Records a proposal as an inspection fact on the run (its nodes do not run). */
export const recordDynamicWork = (ctx: EngineContext, runId: string, proposal: unknown, options: DynamicWorkOptions = {}) =>
  write(ctx, runId, proposal, "recorded", options)

/** Schedules a proposal: its fact, and its nodes as tasks that run the registered actions. */
export const scheduleDynamicWork = (ctx: EngineContext, runId: string, proposal: unknown, options: DynamicWorkOptions = {}) =>
  write(ctx, runId, proposal, "scheduled", options)

const write = (
  ctx: EngineContext,
  runId: string,
  proposal: unknown,
  mode: DynamicWorkMode,
  options: DynamicWorkOptions,
): Effect.Effect<DynamicWorkResult, DynamicWorkError> =>
  Effect.gen(function* () {
    const actor = options?.actor ?? "host"
    if (typeof actor !== "string" || actor.trim().length === 0 || actor.length > 256)
      return yield* new InvalidOptionError({ option: "actor", value: showValue(actor), reason: "expected a non-empty string of at most 256 characters" })
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const { run, context } = yield* load(ctx, runId)
      const checked = yield* refuse(runId, checkProposal(proposal, mode, context))
      if (checked._tag === "Duplicate") return resultOf(run, checked.key, checked.existing.fact, true)
      const now = yield* Clock.currentTimeMillis
      const planned = planWork(run, [{ key: checked.key, fact: checked.fact }], nextDynamicSeq(context.dynamic), now)
      const audit = { kind: "dynamic_work", actor, metadata: { key: checked.key, mode }, at: now } as const
      const advanced = yield* advanceRun(ctx, { _tag: "Control", run, audit, now, resolution: { _tag: "Dynamic", planned } })
      if (advanced._tag !== "Fenced") return resultOf(run, checked.key, factOf(planned.entries[0]!), false)
      // The run moved (or ended) meanwhile: check the proposal again against it.
    }
    return yield* new InvalidDynamicWorkError({ runId, problems: [{ at: "", message: "the run kept changing: try again" }] })
  })

const factOf = (entry: Entry): DynamicWorkFact => entry.input as unknown as DynamicWorkFact

const resultOf = (run: RunRecord, key: string, fact: DynamicWorkFact, duplicate: boolean): DynamicWorkResult => ({
  runId: run.id,
  key,
  mode: fact.mode,
  duplicate,
  origin: fact.origin,
  nodes: fact.nodes.map((n) => ({
    id: n.id,
    ...(n.action !== undefined ? { action: n.action } : {}),
    ...(fact.seqs?.[n.id] !== undefined ? { seq: fact.seqs[n.id]! } : {}),
  })),
  edges: fact.edges,
})
