/**
 * Starting a run: validate everything first (`prepareStart`: workflow, trigger, options,
 * payload), then create the run, its first entries and tasks in one atomic write
 * (`advanceRun`). A repeated id or idempotency key returns the same run; the same key with a
 * different request is a ConflictError.
 */
import { Effect } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { ConflictError } from "../src/core/errors.js"
import { advanceRun } from "./advance.js"
import type { EngineContext } from "./context.js"
import { prepareStart, type Origin, type StartError, type StartOptions, type StartResult } from "./newRun.js"
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
  Effect.gen(function* () {
    const prepared = yield* prepareStart(ctx, workflowOrName, payload, options, origin)
    const { run } = prepared.newRun
    const created = yield* advanceRun(ctx, { _tag: "Create", prepared })
    if (created._tag === "Created") return { runId: run.id, status: run.status, created: true }
    const existing = created.run
    if (existing.workflow !== run.workflow || existing.requestHash !== run.requestHash) {
      return yield* new ConflictError({ runId: run.id, reason: "a run with this id or idempotency key exists with a different request" })
    }
    return { runId: run.id, status: existing.status, created: false }
  }).pipe(withEngineSpan("squid-mesh.start", { workflow: typeof workflowOrName === "string" ? workflowOrName : workflowOrName?.name }))
