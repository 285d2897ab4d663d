/**
 * The deploy gate: replays every open run (running or paused) in the store against the
 * current workflow code (a spec run: its stored spec, built with the current action registry)
 * and reports the first divergence per run, without writing anything.
 * Run it in CI against a copy of production (or production itself: it only reads).
 */
import { Effect } from "effect"
import type { StoreError } from "../src/core/errors.js"
import type { CommandRef } from "../src/core/errors.js"
import { makeEnv, rebuild, type EngineContext } from "./context.js"
import { isSpecWorkflow, lookupWorkflow } from "./specs.js"

/** One run whose journal the current code cannot replay. */
export interface Divergence {
  readonly runId: string
  readonly workflow: string
  /**
   * `unresolvable_spec`: a spec run whose stored spec no longer fits the registry (an action
   * removed, or its params Schema now refusing the spec's params).
   */
  readonly reason: "non_determinism" | "unknown_workflow" | "unresolvable_spec" | "replay_error"
  readonly seq?: number
  readonly expected?: CommandRef | null
  readonly actual?: CommandRef | null
  readonly message: string
}

/** What `checkReplay` found. `ok` when every open run replays. */
export interface ReplayReport {
  readonly ok: boolean
  readonly checked: number
  readonly divergent: ReadonlyArray<Divergence>
}

/** Replays every open run against the registered workflows. */
export const checkReplay = (ctx: EngineContext, options: { readonly limit?: number } = {}): Effect.Effect<ReplayReport, StoreError> =>
  Effect.gen(function* () {
    const limit = options.limit ?? 100_000
    const open = [...(yield* ctx.store.listRuns({ statuses: ["running"], limit })), ...(yield* ctx.store.listRuns({ statuses: ["paused"], limit }))]
    const divergent: Array<Divergence> = []
    for (const run of open) {
      const found = yield* lookupWorkflow(ctx, run)
      if (found._tag === "Missing") {
        const reason = isSpecWorkflow(run.workflow) ? "unresolvable_spec" : "unknown_workflow"
        divergent.push({ runId: run.id, workflow: run.workflow, reason, message: found.reason })
        continue
      }
      const workflow = found.workflow
      const outcome = yield* Effect.either(Effect.flatMap(rebuild(ctx, run, workflow), (replayer) => Effect.map(makeEnv, (env) => replayer.advance(env))))
      if (outcome._tag === "Left") {
        divergent.push({ runId: run.id, workflow: run.workflow, reason: "replay_error", message: String(outcome.left) })
        continue
      }
      const decision = outcome.right
      if (decision.outcome._tag === "NonDeterminism") {
        const e = decision.outcome.error
        divergent.push({
          runId: run.id,
          workflow: run.workflow,
          reason: "non_determinism",
          seq: e.seq,
          expected: e.expected,
          actual: e.actual,
          message: e.message,
        })
      } else if (decision.outcome._tag !== "Blocked" || decision.entries.length > 0) {
        divergent.push({
          runId: run.id,
          workflow: run.workflow,
          reason: "replay_error",
          message: `replay ended ${decision.outcome._tag} instead of waiting where the journal ends`,
        })
      }
    }
    return { ok: divergent.length === 0, checked: open.length, divergent }
  })
