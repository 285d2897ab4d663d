/**
 * Child runs. The engine creates a child (idempotently: its id is a function of the parent and
 * the key) right after committing the parent's entry that starts it. When the parent waits for it,
 * a parent task settles that entry once the child is terminal. Until then the task is parked under the parent's revision: the
 * child's terminal commit bumps that revision and makes the task due, so a child finishing
 * while the parent looks is never missed (the parked commit fails its check and looks again).
 */
import { Clock, Effect, Option, Schema } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import type { Json } from "../src/core/json.js"
import { isTerminal, type Entry } from "../src/core/model.js"
import { reload, type Acquired } from "./acquire.js"
import { advanceRun, type Advanced } from "./advance.js"
import type { TaskFence } from "./carry.js"
import type { EngineContext } from "./context.js"
import { ChildSpec } from "./interpreter/codecs.js"
import { start } from "./start.js"

/** A parked wait is re-checked after this long even if no wake arrives (a safety net). */
const CHILD_BACKSTOP_MS = 60 * 60_000

/** What a parent's `child` task did: advanced (settled or parked, with what it recorded) or fenced. */
export interface ChildTaskOutcome {
  readonly advanced: Advanced
  readonly name: string
  readonly result: "completed" | "failed" | "waiting"
}

/** Runs a parent's `child` task: settles the entry when the child is terminal, else parks. */
export const runChildTask = (ctx: EngineContext, fence: TaskFence, first: Acquired): Effect.Effect<ChildTaskOutcome, StoreError> =>
  Effect.gen(function* () {
    const { task } = fence
    const workflow = first.replayer.workflow
    const entry = (yield* ctx.store.getJournal(task.runId)).find((e) => e.seq === task.seq)
    const now = yield* Clock.currentTimeMillis
    const outcome = (advanced: Advanced, result: ChildTaskOutcome["result"]): ChildTaskOutcome => ({ advanced, name: entry?.name ?? "", result })
    const drop = Effect.map(advanceRun(ctx, { _tag: "Task", fence, workflow, acquired: first, resolution: { _tag: "Drop" } }), (a) => outcome(a, "completed"))
    const settleWith = (resolved: Entry, acquired: Acquired) =>
      Effect.map(advanceRun(ctx, { _tag: "Task", fence, workflow, acquired, resolution: { _tag: "Resolved", entry: resolved } }), (a) =>
        outcome(a, resolved.status === "failed" ? "failed" : "completed"),
      )
    if (entry?.kind !== "child") return yield* drop
    const decoded = Schema.decodeUnknownOption(ChildSpec)(entry.input)
    if (Option.isNone(decoded)) {
      // Replay fails the run with corrupt_journal when it meets this entry; here, nothing to start.
      return yield* drop
    }
    const spec = decoded.value
    const failEntry = (code: string, message: string, details?: Json): Entry => ({
      ...entry,
      status: "failed",
      resolvedAt: now,
      error: { code, message, ...(details === undefined ? {} : { details }) },
    })

    const childWorkflow: AnyWorkflow | undefined = ctx.workflows.get(spec.workflow)
    const created = childWorkflow
      ? yield* Effect.either(start(ctx, childWorkflow, spec.input, { runId: spec.runId }, { _tag: "Child", runId: task.runId, seq: task.seq }))
      : undefined
    if (!created || created._tag === "Left") {
      if (entry.status !== "pending") return yield* drop
      const why = created
        ? ctx.redactor.text(String((created.left as { message?: string }).message ?? created.left))
        : `workflow "${spec.workflow}" is not registered`
      return yield* settleWith(failEntry("child_start_failed", why), first)
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
            : failEntry("child_failed", `child run ${spec.runId} ${childRun.status}`, {
                runId: spec.runId,
                status: childRun.status,
                ...(childRun.error ? { error: childRun.error as unknown as Json } : {}),
              })
        return yield* settleWith(resolved, acquired)
      }
      // Park until the child wakes us (its terminal commit bumps our revision, so this fails if it just did).
      const parked = yield* advanceRun(ctx, { _tag: "Task", fence, workflow, acquired, resolution: { _tag: "Park", visibleAt: at + CHILD_BACKSTOP_MS } })
      if (parked._tag !== "Fenced" || parked.reason !== "revision_conflict") return outcome(parked, "waiting")
      const again = yield* reload(ctx, task.runId, workflow)
      if (again._tag === "Fenced") return outcome(again, "waiting")
      acquired = again
    }
    return outcome({ _tag: "Fenced", reason: "revision_conflict" }, "waiting")
  })
