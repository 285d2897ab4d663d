/**
 * Dynamic work as the read models see it (src/core/dynamicWork.ts has its journal format):
 * which entries are the workflow's own and which are dynamic work, the stable ids of dynamic
 * nodes and edges in a run's graph, a scheduled node's input, and the counts `explainRun`
 * gives as evidence. Graph and explanation both build on these, so they name nodes alike.
 */
import type { DynamicNodeInput, DynamicWork } from "../core/dynamicWork.js"
import { isDynamicSeq } from "../core/dynamicWork.js"
import type { Entry } from "../core/model.js"

/** True for an entry of the workflow's own commands: not a dynamic work fact nor a dynamic node. */
export const isWorkflowEntry = (entry: Entry): boolean => !isDynamicSeq(entry.seq) && entry.kind !== "dynamic_work" && entry.kind !== "dynamic"

/** The workflow's own entries of a journal, in order (what its generator replays and its graph lays out). */
export const workflowEntries = (journal: ReadonlyArray<Entry>): ReadonlyArray<Entry> => journal.filter(isWorkflowEntry)

// Keys and node ids are free text: each is URI-encoded, so `/` separates them unambiguously.
/** The graph id of a dynamic node: `dyn:<key>/<node id>` (both URI-encoded), the same whether recorded or scheduled. */
export const dynamicNodeId = (key: string, node: string): string => `dyn:${encodeURIComponent(key)}/${encodeURIComponent(node)}`

/** The graph id of a dynamic edge: `dynamic:<key>/<edge id>` (both URI-encoded). */
export const dynamicEdgeId = (key: string, edge: string): string => `dynamic:${encodeURIComponent(key)}/${encodeURIComponent(edge)}`

/** The input of a `dynamic` entry, when it has the journal's shape. */
export const dynamicInputOf = (entry: Entry): DynamicNodeInput | undefined => {
  const input = entry.input
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined
  const { key, action } = input as Record<string, unknown>
  return typeof key === "string" && typeof action === "string" ? (input as unknown as DynamicNodeInput) : undefined
}

/** How much dynamic work a run has, and where its scheduled nodes stand. */
export interface DynamicWorkCounts {
  /** Dynamic work facts (one per proposal key). */
  readonly keys: number
  /** Nodes of recorded work (inspection only, never run). */
  readonly recorded: number
  /** Nodes of scheduled work (each runs its action). */
  readonly scheduled: number
  /** Scheduled nodes not resolved yet (the run stays open for them). */
  readonly pending: number
  readonly completed: number
  readonly failed: number
}

/** The counts of a run's dynamic work, or undefined when it has none. */
export const dynamicCountsOf = (works: ReadonlyArray<DynamicWork>): DynamicWorkCounts | undefined => {
  if (works.length === 0) return undefined
  let recorded = 0
  let scheduled = 0
  const statuses = { pending: 0, completed: 0, failed: 0 }
  for (const work of works) {
    const nodes = work.fact.nodes?.length ?? 0
    if (work.fact.mode === "scheduled") scheduled += nodes
    else recorded += nodes
    for (const entry of work.entries.values()) if (entry.status in statuses) statuses[entry.status as keyof typeof statuses]++
  }
  return { keys: works.length, recorded, scheduled, ...statuses }
}
