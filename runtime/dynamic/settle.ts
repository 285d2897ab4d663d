/**
 * The commit of a scheduled node's result. It is fenced by the node's claim alone, not by the
 * run's revision: a node's result changes nothing the workflow's generator reads, so the nodes
 * of one run settle side by side, and cached interpreters stay valid. A node that succeeded
 * leaves the run's settle task (the run may be held for it: see hold.ts); one that failed for
 * good fails the run (`dynamic_work_failed`), withdrawing its other tasks.
 */
import { dynamicNodeFailure, type DynamicNodeInput } from "../../src/core/dynamicWork.js"
import type { AttemptRecord, Entry } from "../../src/core/model.js"
import type { ClaimRef, Commit } from "../../src/store/Store.js"
import { commitOf } from "../commit.js"
import { settleTask } from "./hold.js"

/** What a node's commit needs: the run, its claim, its resolved entry and the attempt that resolved it. */
export interface NodeResult {
  readonly run: { readonly id: string; readonly queue: string }
  readonly claim: ClaimRef
  readonly entry: Entry
  readonly attempt: AttemptRecord | undefined
  /** For a child run: its parent, woken when the node fails it. */
  readonly parent: { readonly runId: string; readonly seq: number } | undefined
  readonly now: number
}

/** The commit of a node's result (see the module comment). */
export const nodeCommit = (r: NodeResult): Commit => {
  const failed = r.entry.status === "failed"
  return commitOf({
    runId: r.run.id,
    now: r.now,
    fence: r.claim,
    task: { _tag: "Done" },
    resolve: [r.entry],
    attempts: r.attempt ? [r.attempt] : [],
    ...(failed
      ? {
          run: { status: "failed", error: dynamicNodeFailure(r.entry, r.entry.input as unknown as DynamicNodeInput) },
          ...(r.parent ? { wakeParent: r.parent } : {}),
        }
      : { tasks: [settleTask(r.run, r.now)], wake: r.run.queue }),
  })
}
