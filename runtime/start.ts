/**
 * Starting a run: validate everything first (`prepareStart`: workflow, trigger, options,
 * payload; for a spec, the spec and its actions too), then create the run, its first entries
 * and tasks (and a spec run's spec) in one atomic write (`advanceRun`). A repeated id or
 * idempotency key returns the same run; the same key with a different request is a ConflictError.
 */
import { Effect } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { ConflictError, InvalidSpecError } from "../src/core/errors.js"
import { advanceRun } from "./advance.js"
import type { EngineContext } from "./context.js"
import { prepareRun, prepareStart, type Origin, type PreparedRun, type StartError, type StartOptions, type StartResult } from "./newRun.js"
import { resolveSpec } from "./specs.js"
import { withEngineSpan } from "./tracing.js"

export type { Origin, StartArgs, StartError, StartOptions, StartResult } from "./newRun.js"

/** Validates and starts a run; nothing is written when validation fails. */
export const start = (
  ctx: EngineContext,
  workflowOrName: AnyWorkflow | string,
  payload: unknown,
  options: StartOptions = {},
  origin?: Origin,
): Effect.Effect<StartResult, StartError> =>
  Effect.flatMap(prepareStart(ctx, workflowOrName, payload, options, origin), (prepared) => create(ctx, prepared)).pipe(
    withEngineSpan("squid-mesh.start", { workflow: typeof workflowOrName === "string" ? workflowOrName : workflowOrName?.name }),
  )

/** Creates a prepared run; an existing run with its id is returned when it is the same request. */
const create = (ctx: EngineContext, prepared: PreparedRun): Effect.Effect<StartResult, ConflictError | StartError> =>
  Effect.gen(function* () {
    const { run } = prepared.newRun
    const created = yield* advanceRun(ctx, { _tag: "Create", prepared })
    if (created._tag === "Created") return { runId: run.id, status: run.status, created: true }
    const existing = created.run
    if (existing.workflow !== run.workflow || existing.requestHash !== run.requestHash) {
      return yield* new ConflictError({ runId: run.id, reason: "a run with this id or idempotency key exists with a different request" })
    }
    return { runId: run.id, status: existing.status, created: false }
  })

/** Errors `startSpec` can fail with. */
export type StartSpecError = StartError | InvalidSpecError

/**
 * Validates a runtime-authored spec (its shape, its graph, its actions against this engine's
 * registry, their params), then the payload against the trigger's JSON Schema, and starts a run
 * of it: the run's workflow is `spec:<name>`, and the spec is stored with it (once per
 * fingerprint) in the same write. Nothing is written when anything is refused.
 */
export const startSpec = (
  ctx: EngineContext,
  spec: unknown,
  trigger: string | undefined,
  payload: unknown,
  options: StartOptions = {},
): Effect.Effect<StartResult, StartSpecError> =>
  Effect.gen(function* () {
    const workflow = resolveSpec(ctx, spec)
    if (workflow instanceof InvalidSpecError) return yield* workflow
    const prepared = yield* prepareRun(ctx, workflow, payload, { ...options, ...(trigger !== undefined ? { trigger } : {}) })
    // The run stores its spec: prepareRun adds it to every spec run (see runtime/newRun.ts).
    return yield* create(ctx, prepared)
  }).pipe(withEngineSpan("squid-mesh.startSpec", {}))
