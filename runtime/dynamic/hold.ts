/**
 * How dynamic work changes the end of a run: a scheduled node that failed for good fails the
 * run (`dynamic_work_failed`), and a run whose workflow finished stays `running` while one of
 * its scheduled nodes is pending; the commit that settles the last one completes it (replay
 * gives the workflow's result again).
 */
import { dynamicNodeFailure, type DynamicNodeInput } from "../../src/core/dynamicWork.js"
import type { Entry } from "../../src/core/model.js"
import type { RunChange } from "../decision.js"

/** The run change a commit makes, given the run's dynamic entries as they stand after it. */
export const withDynamicWork = (change: RunChange, dynamic: ReadonlyArray<Entry>): RunChange => {
  if (dynamic.length === 0 || change.status === "failed" || change.status === "cancelled") return change
  const failed = dynamic.find((e) => e.kind === "dynamic" && e.status === "failed")
  if (failed) return { status: "failed", error: dynamicNodeFailure(failed, failed.input as unknown as DynamicNodeInput) }
  if (change.status === "completed" && dynamic.some((e) => e.kind === "dynamic" && e.status === "pending")) return { status: "running" }
  return change
}
