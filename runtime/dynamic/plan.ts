/**
 * Planning checked dynamic work into journal writes: the fact's `dynamic_work` entry and, for
 * scheduled work, one pending `dynamic` entry and one `dynamic` task per node, at the next
 * seqs of the run's dynamic range. What the commit that writes them appends.
 */
import { DYNAMIC_SEQ_BASE, predecessorsOf, type DynamicNodeInput, type DynamicWorkFact } from "../../src/core/dynamicWork.js"
import type { Json } from "../../src/core/json.js"
import type { Entry } from "../../src/core/model.js"
import type { NewTask } from "../../src/store/Store.js"

/** Checked work with its key, ready to plan. */
export interface NewWork {
  readonly key: string
  readonly fact: DynamicWorkFact
}

/** The entries and tasks that write dynamic work. */
export interface PlannedWork {
  readonly entries: ReadonlyArray<Entry>
  readonly tasks: ReadonlyArray<NewTask>
}

/** The next free seq of a run's dynamic range, given its dynamic entries. */
export const nextDynamicSeq = (dynamic: ReadonlyArray<Entry>): number => dynamic.reduce((next, e) => Math.max(next, e.seq + 1), DYNAMIC_SEQ_BASE)

/** Plans works in order from `firstSeq`; their tasks go to `queue`, visible at `now`. */
export const planWork = (run: { readonly id: string; readonly queue: string }, works: ReadonlyArray<NewWork>, firstSeq: number, now: number): PlannedWork => {
  const entries: Array<Entry> = []
  const tasks: Array<NewTask> = []
  let seq = firstSeq
  for (const { key, fact } of works) {
    const factSeq = seq++
    const seqs: Record<string, number> = {}
    const nodes: Array<Entry> = []
    if (fact.mode === "scheduled") {
      for (const node of fact.nodes) seqs[node.id] = seq++
      const waitsFor = predecessorsOf(fact)
      for (const node of fact.nodes) {
        const nodeSeq = seqs[node.id]!
        const after = waitsFor.get(node.id)?.map((id) => ({ node: id, seq: seqs[id]! }))
        const input: DynamicNodeInput = {
          key,
          action: node.action!,
          ...(node.params !== undefined ? { params: node.params } : {}),
          ...(node.input !== undefined ? { input: node.input } : {}),
          ...(node.retry !== undefined ? { retry: node.retry } : {}),
          ...(after ? { after } : {}),
        }
        // Replay-unsafe by default: a rerun must not repeat dynamic work unasked.
        nodes.push({
          seq: nodeSeq,
          kind: "dynamic",
          name: node.id,
          status: "pending",
          input: input as unknown as Json,
          attempts: 0,
          createdAt: now,
          irreversible: true,
        })
        // A node that waits for others gets its task from the settle task, once they completed.
        if (!after) tasks.push({ runId: run.id, seq: nodeSeq, queue: run.queue, kind: "dynamic", attempt: 1, visibleAt: now })
      }
    }
    const written: DynamicWorkFact = fact.mode === "scheduled" ? { ...fact, seqs } : fact
    entries.push({
      seq: factSeq,
      kind: "dynamic_work",
      name: key,
      status: "completed",
      input: written as unknown as Json,
      attempts: 0,
      createdAt: now,
      resolvedAt: now,
    })
    entries.push(...nodes)
  }
  return { entries, tasks }
}
