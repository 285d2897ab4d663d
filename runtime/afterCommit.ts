/**
 * The work that follows a commit that advanced a run, done only once the commit succeeded (a
 * rejected commit must start nothing and print nothing): start the child runs it recorded, emit
 * its `Workflow.log` lines, wake idle workers, and keep the live interpreter in the sticky cache.
 */
import { Effect } from "effect"
import type { StoreError } from "../src/core/errors.js"
import type { EngineContext } from "./context.js"
import { emitLogs } from "./decision.js"
import type { Decision, Replayer } from "./Interpreter.js"
import { spawnChildren } from "./start.js"

/** What a commit that advanced a run left to do. */
export interface Committed {
  readonly runId: string
  readonly decision: Decision
  /** The interpreter that made the decision, and the run's revision after the commit. */
  readonly replayer: Replayer
  readonly revision: number
  /** The commit made tasks other workers may take: wake this process's idle workers. */
  readonly wake: boolean
}

/** Children, logs, wake-ups and the sticky cache, after a successful commit. */
export const afterCommit = (ctx: EngineContext, c: Committed): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    yield* spawnChildren(ctx, c.runId, c.decision.entries)
    yield* emitLogs(c.runId, c.decision)
    if (c.wake) yield* ctx.notifier.notify
    // A run that is still live keeps its interpreter warm; a finished one leaves the cache.
    if (c.decision.outcome._tag === "Blocked") ctx.cache.put(c.runId, { replayer: c.replayer, revision: c.revision })
  })
