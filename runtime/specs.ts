/**
 * Finding the workflow of a run, for code and spec runs alike. A code run's workflow is the
 * registered one of its name. A spec run's (workflow `spec:<name>`) is built from the spec
 * stored with it (found by its definition hash, the spec's fingerprint) and this engine's action
 * registry, once per fingerprint: a worker runs the spec the run started with, even after the
 * spec was edited. Every lookup of the engine by run goes through here.
 */
import { Effect } from "effect"
import { buildSpec, specFingerprint, specText } from "../dsl/spec/build.js"
import { validateSpec } from "../dsl/spec/validate.js"
import { InvalidSpecError } from "../src/core/errors.js"
import { SPEC_PREFIX } from "../dsl/spec/schema.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import type { ClaimedTask, RunRecord } from "../src/core/model.js"
import type { StoredSpec } from "../src/store/Store.js"
import type { EngineContext } from "./context.js"
import type { SpecLookup } from "./specCache.js"

export type { SpecLookup } from "./specCache.js"

/** True for the workflow name of a spec run. */
export const isSpecWorkflow = (name: string): boolean => name.startsWith(SPEC_PREFIX)

/** Builds a spec's workflow with this engine's registry, and keeps it by fingerprint. */
const build = (ctx: EngineContext, name: string, stored: Pick<StoredSpec, "fingerprint" | "text">): SpecLookup => {
  const { fingerprint } = stored
  let parsed: unknown
  try {
    parsed = JSON.parse(stored.text)
  } catch {
    return ctx.specs.keep(fingerprint, { _tag: "Missing", reason: "its stored spec is not JSON" })
  }
  const built = buildSpec(parsed, ctx.specs.actions, fingerprint)
  if (!built.ok) {
    const problems = built.problems.map((p) => `${p.at}: ${p.message}`).join("; ")
    return ctx.specs.keep(fingerprint, { _tag: "Missing", reason: `its spec does not fit this engine's action registry: ${problems}` })
  }
  if (built.workflow.name !== name)
    return ctx.specs.keep(fingerprint, { _tag: "Missing", reason: `its stored spec is "${built.workflow.name}", not "${name}"` })
  return ctx.specs.keep(fingerprint, {
    _tag: "Found",
    workflow: built.workflow,
    source: { fingerprint, name: name.slice(SPEC_PREFIX.length), text: stored.text },
  })
}

/** The stored spec of a fingerprint, built with this engine's registry (cached). */
const specWorkflow = (ctx: EngineContext, name: string, fingerprint: string): Effect.Effect<SpecLookup, StoreError> => {
  const known = ctx.specs.builtFor(fingerprint)
  if (known) return Effect.succeed(known)
  return Effect.map(
    ctx.store.getSpec(fingerprint),
    (stored): SpecLookup =>
      stored ? build(ctx, name, stored) : { _tag: "Missing", reason: `its spec (fingerprint ${fingerprint.slice(0, 12)}…) is not stored` },
  )
}

/**
 * A spec as given (JSON text or value), validated against this engine's registry and built
 * (kept by fingerprint, with its stored form): its workflow, or an `InvalidSpecError` listing
 * every problem.
 */
export const resolveSpec = (ctx: EngineContext, spec: unknown): AnyWorkflow | InvalidSpecError => {
  const checked = validateSpec(spec, { actions: ctx.specs.actions })
  if (!checked.ok) {
    const name =
      typeof spec === "object" && spec !== null && typeof (spec as { name?: unknown }).name === "string" ? (spec as { name: string }).name : "(unnamed)"
    return new InvalidSpecError({ spec: name, problems: checked.problems, unknownActions: checked.unknownActions })
  }
  const text = specText(checked.spec)
  const stored = { fingerprint: specFingerprint(text), name: checked.spec.name, text }
  const found = workflowOfSpec(ctx, stored)
  if (found._tag === "Missing") return new InvalidSpecError({ spec: stored.name, problems: [{ at: "", message: found.reason }], unknownActions: [] })
  return found.workflow
}

/** The workflow of a spec about to be started (not stored yet), built with this engine's registry (cached). */
export const workflowOfSpec = (ctx: EngineContext, spec: StoredSpec): SpecLookup =>
  ctx.specs.builtFor(spec.fingerprint) ?? build(ctx, `${SPEC_PREFIX}${spec.name}`, spec)

/** The workflow a run runs, or why this engine does not have it. */
export const lookupWorkflow = (ctx: EngineContext, run: Pick<RunRecord, "id" | "workflow" | "definitionHash">): Effect.Effect<SpecLookup, StoreError> => {
  if (!isSpecWorkflow(run.workflow)) {
    const workflow = ctx.workflows.get(run.workflow)
    return Effect.succeed(workflow ? { _tag: "Found", workflow } : { _tag: "Missing", reason: `workflow "${run.workflow}" is not registered` })
  }
  ctx.specs.remember(run.id, run.definitionHash)
  return specWorkflow(ctx, run.workflow, run.definitionHash)
}

/** The workflow a run runs, if this engine has it. */
export const workflowOf = (
  ctx: EngineContext,
  run: Pick<RunRecord, "id" | "workflow" | "definitionHash">,
): Effect.Effect<AnyWorkflow | undefined, StoreError> => Effect.map(lookupWorkflow(ctx, run), (found) => (found._tag === "Found" ? found.workflow : undefined))

/** The workflow of a claimed task's run, if this engine has it (a spec run's fingerprint is read once per run). */
export const workflowOfTask = (ctx: EngineContext, task: Pick<ClaimedTask, "runId" | "workflow">): Effect.Effect<AnyWorkflow | undefined, StoreError> => {
  if (!isSpecWorkflow(task.workflow)) return Effect.succeed(ctx.workflows.get(task.workflow))
  const fingerprint = ctx.specs.fingerprintOf(task.runId)
  if (fingerprint !== undefined) return workflowOf(ctx, { id: task.runId, workflow: task.workflow, definitionHash: fingerprint })
  return Effect.flatMap(ctx.store.getRun(task.runId), (run) => (run ? workflowOf(ctx, run) : Effect.succeed(undefined)))
}

/**
 * The workflows a read model of run `runId` should know: the registered ones, plus the run's
 * own when it is a spec run this engine can build (so its graph is drawn as declared).
 */
export const workflowsFor = (ctx: EngineContext, runId: string): Effect.Effect<ReadonlyMap<string, AnyWorkflow>, StoreError> =>
  Effect.flatMap(ctx.store.getRun(runId), (run) =>
    run && isSpecWorkflow(run.workflow)
      ? Effect.map(workflowOf(ctx, run), (workflow) => (workflow ? new Map([...ctx.workflows, [run.workflow, workflow]]) : ctx.workflows))
      : Effect.succeed(ctx.workflows),
  )
