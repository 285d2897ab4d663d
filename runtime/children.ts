/**
 * Child runs. The engine creates a child (idempotently: its id is a function of the parent and
 * the key) right after committing the parent's entry that starts it. When the parent waits for it,
 * a parent task settles that entry once the child is terminal. Until then the task is parked under the parent's revision: the
 * child's terminal commit bumps that revision and makes the task due, so a child finishing
 * while the parent looks is never missed (the parked commit fails its check and looks again).
 */
import { Clock, Effect } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import type { Json } from "../src/core/json.js"
import { isTerminal, type ClaimedTask, type Entry, type FenceReason } from "../src/core/model.js"
import type { ClaimRef } from "../src/store/Store.js"
import { reload, retryTransient, settle, type Acquired, type Settled, type Settlement } from "./advance.js"
import type { EngineContext } from "./context.js"
import { commitOf } from "./commit.js"
import { start, type ChildSpec } from "./start.js"

/** A parked wait is re-checked after this long even if no wake arrives (a safety net). */
const CHILD_BACKSTOP_MS = 60 * 60_000

/** Runs a parent's `child` task: settles the entry when the child is terminal, else parks. */
export const runChildTask = (
  ctx: EngineContext,
  task: ClaimedTask,
  claim: ClaimRef,
  first: Acquired,
  settlement: (resolved: Entry | undefined) => Settlement,
  finish: (settled: Settled, name: string, result: "completed" | "failed" | "waiting") => { readonly result: unknown },
  fenced: (reason: FenceReason) => { readonly result: unknown },
) =>
  Effect.gen(function* () {
    const entry = (yield* ctx.store.getJournal(task.runId)).find((e) => e.seq === task.seq)
    const now = yield* Clock.currentTimeMillis
    const drop = Effect.map(
      retryTransient(ctx.store.commit(commitOf({ runId: task.runId, now, fence: claim, task: { _tag: "Done" } }))),
      (r) => fenced(r._tag === "Rejected" ? r.reason : "stale_claim"),
    )
    if (!entry || entry.kind !== "child") return yield* drop
    const spec = entry.input as unknown as ChildSpec
    const failEntry = (code: string, message: string, details?: Json): Entry => ({
      ...entry, status: "failed", resolvedAt: now, error: { code, message, ...(details === undefined ? {} : { details }) },
    })

    const childWorkflow: AnyWorkflow | undefined = ctx.workflows.get(spec.workflow)
    const created = childWorkflow
      ? yield* Effect.either(start(ctx, childWorkflow, spec.input, { runId: spec.runId }, { _tag: "Child", runId: task.runId, seq: task.seq }))
      : undefined
    if (!created || created._tag === "Left") {
      if (entry.status !== "pending") return yield* drop
      const why = created ? ctx.redactor.text(String((created.left as { message?: string }).message ?? created.left)) : `workflow "${spec.workflow}" is not registered`
      return finish(yield* settle(ctx, settlement(failEntry("child_start_failed", why)), first), entry.name, "failed")
    }
    if (created.right.created) yield* ctx.notifier.notify
    if (entry.status !== "pending") return yield* drop

    let acquired = first
    for (let round = 0; round < 25; round++) {
      const childRun = yield* ctx.store.getRun(spec.runId)
      const at = yield* Clock.currentTimeMillis
      if (childRun && isTerminal(childRun.status)) {
        const resolved: Entry =
          childRun.status === "completed"
            ? { ...entry, status: "completed", resolvedAt: at, ...(childRun.output !== undefined ? { output: childRun.output } : {}) }
            : failEntry("child_failed", `child run ${spec.runId} ${childRun.status}`, { runId: spec.runId, status: childRun.status, ...(childRun.error ? { error: childRun.error as unknown as Json } : {}) })
        return finish(yield* settle(ctx, settlement(resolved), acquired), entry.name, resolved.status === "failed" ? "failed" : "completed")
      }
      // Park until the child wakes us (its terminal commit bumps our revision, so this fails if it just did).
      const parked = yield* retryTransient(
        ctx.store.commit(
          commitOf({ runId: task.runId, now: at, fence: claim, task: { _tag: "Retry", attempt: task.attempt, visibleAt: at + CHILD_BACKSTOP_MS }, expectedRevision: acquired.revision }),
        ),
      )
      if (parked._tag === "Committed") {
        ctx.cache.put(task.runId, { replayer: acquired.replayer, revision: parked.revision })
        return finish({ _tag: "Committed", runStatus: "running", next: undefined }, entry.name, "waiting")
      }
      if (parked.reason !== "revision_conflict") return fenced(parked.reason)
      const again = yield* reload(ctx, task.runId, acquired.replayer.workflow)
      if (again._tag === "Fenced") return fenced(again.reason)
      acquired = again
    }
    return fenced("revision_conflict")
  }) as Effect.Effect<{ readonly result: unknown }, StoreError>
