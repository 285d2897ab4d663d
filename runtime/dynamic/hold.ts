/**
 * How dynamic work changes the end of a run: a run whose workflow finished stays `running`
 * while one of its scheduled nodes is pending (held), with a settle task that completes it once
 * they are done (replay gives the workflow's result again). A node's own result is committed by
 * `nodeCommit` (runtime/dynamic/settle.ts).
 */
import { SETTLE_SEQ, type DynamicNodeInput } from "../../src/core/dynamicWork.js"
import type { Entry, TaskRecord } from "../../src/core/model.js"
import type { NewTask } from "../../src/store/Store.js"
import type { RunChange } from "../decision.js"
import type { Replayer } from "../Interpreter.js"

/** True when a scheduled node of the run is pending, as `dynamic` (its dynamic entries) shows it. */
export const hasPendingNodes = (dynamic: ReadonlyArray<Entry>): boolean => dynamic.some((e) => e.kind === "dynamic" && e.status === "pending")

/** A node's task, due now. */
export const nodeTask = (run: { readonly id: string; readonly queue: string }, seq: number, now: number): NewTask => ({
  runId: run.id,
  seq,
  queue: run.queue,
  kind: "dynamic",
  attempt: 1,
  visibleAt: now,
})

/**
 * The pending nodes that waited for others, all of which completed: the settle task releases
 * those that have no task yet (`withoutTask`).
 */
export const readyNodes = (dynamic: ReadonlyArray<Entry>): ReadonlyArray<Entry> => {
  const completed = new Set(dynamic.filter((e) => e.kind === "dynamic" && e.status === "completed").map((e) => e.seq))
  return dynamic.filter((e) => {
    if (e.kind !== "dynamic" || e.status !== "pending") return false
    const after = (e.input as unknown as DynamicNodeInput | undefined)?.after ?? []
    return after.length > 0 && after.every((a) => completed.has(a.seq))
  })
}

/** The nodes among `nodes` that have no task among `tasks`. */
export const withoutTask = (nodes: ReadonlyArray<Entry>, tasks: ReadonlyArray<Pick<TaskRecord, "seq">>): ReadonlyArray<Entry> => {
  const withTask = new Set(tasks.map((t) => t.seq))
  return nodes.filter((e) => !withTask.has(e.seq))
}

/** The run's settle task, due now. */
export const settleTask = (run: { readonly id: string; readonly queue: string }, now: number): NewTask => ({
  ...nodeTask(run, SETTLE_SEQ, now),
  kind: "advance",
})

/**
 * The run change a commit makes, given the run's dynamic entries as its interpreter sees them
 * (read only when the workflow finished): a finished workflow with pending nodes holds the run
 * `running` (`held`: add its settle task).
 */
export const withDynamicWork = (change: RunChange, replayer: Replayer): { readonly change: RunChange; readonly held: boolean } =>
  change.status === "completed" && replayer.hasDynamicWork() && hasPendingNodes(replayer.dynamicJournal())
    ? { change: { status: "running" }, held: true }
    : { change, held: false }
