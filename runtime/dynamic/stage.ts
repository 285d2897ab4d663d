/**
 * Dynamic work proposed by a running step (`ctx.dynamicWork`): checked when proposed, kept in
 * memory for the attempt, and written by the commit of the attempt's result, so the work
 * appears exactly when its origin is applied. A failed attempt's work is dropped with it.
 */
import type { StagedDynamicWork, StepDynamicWorkHandle } from "../../dsl/StepOptions.js"
import { InvalidDynamicWorkError } from "../../src/core/errors.js"
import type { DynamicWorkFact, DynamicWorkMode } from "../../src/core/dynamicWork.js"
import type { Entry } from "../../src/core/model.js"
import type { Replayer } from "../Interpreter.js"
import { checkProposal, recheck, type ProposalContext } from "./proposal.js"
import { nextDynamicSeq, planWork, type NewWork, type PlannedWork } from "./plan.js"

/** The work one attempt proposed, in order. */
export class StagedWork {
  readonly works: Array<NewWork> = []
}

/**
 * The `ctx.dynamicWork` of one attempt. `context` is the run as the attempt found it (its origin
 * is the attempt itself); proposals checked against it and against what the attempt staged before.
 */
export const stepDynamicWork = (runId: string, context: ProposalContext, staged: StagedWork): StepDynamicWorkHandle => {
  const propose = (work: unknown, mode: DynamicWorkMode, keep: boolean): StagedDynamicWork => {
    const dynamic = [...context.dynamic, ...planWork({ id: runId, queue: "" }, staged.works, nextDynamicSeq(context.dynamic), 0).entries]
    const checked = checkProposal(work, mode, { ...context, dynamic })
    if (checked._tag === "Refused") throw new InvalidDynamicWorkError({ runId, problems: checked.problems })
    const fact: DynamicWorkFact = checked._tag === "New" ? checked.fact : checked.existing.fact
    if (keep && checked._tag === "New") staged.works.push({ key: checked.key, fact })
    return { key: checked.key, mode, nodeIds: fact.nodes.map((n) => n.id), edgeIds: fact.edges.map((e) => e.id), duplicate: checked._tag === "Duplicate" }
  }
  return {
    preview: (work) => propose(work, "scheduled", false),
    record: (work) => propose(work, "recorded", true),
    schedule: (work) => propose(work, "scheduled", true),
  }
}

/** A handle for attempts that cannot propose dynamic work (compensations, dynamic nodes). */
export const noDynamicWork = (runId: string, what: string): StepDynamicWorkHandle => {
  const refuse = (): never => {
    throw new InvalidDynamicWorkError({ runId, problems: [{ at: "", message: `${what} cannot propose dynamic work: only a workflow's step can` }] })
  }
  return { preview: refuse, record: refuse, schedule: refuse }
}

/**
 * The writes of staged work against the run's dynamic entries as the commit finds them (after a
 * reload another writer may have used a key meanwhile): new work is planned; the same work is
 * skipped; other work under a used key is dropped and named in `dropped`.
 */
export const planStaged = (
  run: { readonly id: string; readonly queue: string },
  works: ReadonlyArray<NewWork>,
  dynamic: ReadonlyArray<Entry>,
  now: number,
): PlannedWork & { readonly dropped: ReadonlyArray<string> } => {
  const kept: Array<NewWork> = []
  const dropped: Array<string> = []
  for (const work of works) {
    const checked = recheck(work, dynamic)
    if (checked._tag === "New") kept.push(work)
    else if (checked._tag === "Refused") dropped.push(work.key)
  }
  return { ...planWork(run, kept, nextDynamicSeq(dynamic), now), dropped }
}

/** What a step's commit writes of the work it staged; `dropped` names the keys used meanwhile by other work. */
export type DynamicWrites = PlannedWork & { readonly dropped: ReadonlyArray<string> }

const NONE: DynamicWrites = { entries: [], tasks: [], dropped: [] }

/**
 * Plans the work a step staged (`works`) for its commit, against the run's interpreter, and
 * applies it there. Nothing to do for a step that staged none (the common case).
 */
export const dynamicWrites = (
  replayer: Replayer,
  run: { readonly id: string; readonly queue: string },
  works: ReadonlyArray<NewWork>,
  now: number,
): DynamicWrites => {
  if (works.length === 0) return NONE
  const planned = planStaged(run, works, replayer.dynamicJournal(), now)
  for (const e of planned.entries) replayer.resolve(e)
  return planned
}
