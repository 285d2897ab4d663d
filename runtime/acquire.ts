/**
 * Acquiring a run for a task: its interpreter positioned at its pending commands, from the
 * sticky cache when that is current for the task, else replayed from the store. What
 * `advanceRun` (./advance.ts) resolves and advances.
 */
import { Effect } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import { isTerminal, type ClaimedTask, type FenceReason } from "../src/core/model.js"
import type { ClaimRef } from "../src/store/Store.js"
import { SETTLE_SEQ } from "../src/core/dynamicWork.js"
import { makeEnv, rebuild, replayerOf, type EngineContext } from "./context.js"
import type { Decision, Replayer } from "./Interpreter.js"

/** A run's interpreter at the revision it reflects. */
export interface Acquired {
  readonly _tag: "Acquired"
  readonly replayer: Replayer
  readonly revision: number
  /** What replaying the stored journal decided before the new result (normally nothing). */
  readonly pre: Decision | undefined
}

/** Why a run cannot be advanced by this worker now: nothing was written. */
export interface Fenced {
  readonly _tag: "Fenced"
  readonly reason: FenceReason
}

export const fencedBy = (reason: FenceReason): Fenced => ({ _tag: "Fenced", reason })

/** The proof of a claimed task's claim. */
export const claimRefOf = (task: ClaimedTask): ClaimRef => ({ runId: task.runId, seq: task.seq, claimId: task.claimId, token: task.token })

/**
 * The run's interpreter positioned at its pending commands for the task at `seq`: from the
 * sticky cache when it placed that command (and, for a task claimed from the queue, is at the
 * revision the claim saw), else replayed.
 */
export const acquire = (ctx: EngineContext, task: Pick<ClaimedTask, "runId" | "seq" | "revision" | "kind">, workflow: AnyWorkflow) =>
  Effect.suspend(() => {
    // Dynamic work's tasks read the run afresh and leave its warm interpreter be.
    if (task.kind === "dynamic") return node(ctx, task, workflow)
    if (task.seq === SETTLE_SEQ) return reload(ctx, task.runId, workflow)
    const cached = ctx.cache.take(task.runId)
    if (cached?.replayer.commandAt(task.seq) && (task.revision === undefined || task.revision === cached.revision)) {
      return Effect.succeed<Acquired | Fenced>({ _tag: "Acquired", ...cached, pre: undefined })
    }
    return reload(ctx, task.runId, workflow)
  })

/**
 * A dynamic node's run: the run and the node's entry only (a node's result does not advance
 * the workflow, so its journal is not replayed: many nodes of one run cost one read each).
 */
const node = (ctx: EngineContext, task: Pick<ClaimedTask, "runId" | "seq">, workflow: AnyWorkflow): Effect.Effect<Acquired | Fenced, StoreError> =>
  Effect.gen(function* () {
    const [run, entry] = yield* Effect.all([ctx.store.getRun(task.runId), ctx.store.getEntry(task.runId, task.seq)], { concurrency: 2 })
    if (!run) return fencedBy("run_not_found")
    if (isTerminal(run.status)) return fencedBy("terminal_run")
    // A node that waited for others gets their results: their entries are read too.
    const after = ((entry?.input ?? {}) as { after?: ReadonlyArray<{ seq: number }> }).after ?? []
    const before = yield* Effect.forEach(after, (a) => ctx.store.getEntry(task.runId, a.seq), { concurrency: 4 })
    const entries = [...(entry ? [entry] : []), ...before.filter((e) => e !== undefined)]
    return { _tag: "Acquired", replayer: replayerOf(run, workflow, entries, [], ctx.redactor), revision: run.revision, pre: undefined }
  })

/** Replays the run from the store (cold path). */
export const reload = (ctx: EngineContext, runId: string, workflow: AnyWorkflow): Effect.Effect<Acquired | Fenced, StoreError> =>
  Effect.gen(function* () {
    const run = yield* ctx.store.getRun(runId)
    if (!run) return fencedBy("run_not_found")
    if (isTerminal(run.status)) return fencedBy("terminal_run")
    const replayer = yield* rebuild(ctx, run, workflow)
    const pre = replayer.advance(yield* makeEnv)
    return { _tag: "Acquired", replayer, revision: run.revision, pre }
  })
