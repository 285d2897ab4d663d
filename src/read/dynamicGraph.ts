/**
 * Dynamic work laid over a run's graph (the same overlay for a code workflow's graph and a
 * declared one's). Each fact adds its nodes (kind `dynamic`) and its edges (kind `dynamic`),
 * and one `dynamicWork` item naming them. A scheduled node has its journal entry's status,
 * attempts and timings (`running` while a worker holds its task); a recorded one is
 * `recorded`. Edges come from the origin step's node (`seq-<n>`) or another node of the same
 * work; they are `taken` when the work was scheduled, not when it was only recorded.
 */
import { dynamicWorkOf, type DynamicNode, type DynamicWork } from "../core/dynamicWork.js"
import { dynamicEdgeId, dynamicNodeId } from "./dynamic.js"
import { nodeId, nodeOf, type DynamicNodeInfo, type DynamicWorkOverlay, type GraphEdge, type GraphNode } from "./graphNodes.js"
import type { RunSnapshot } from "./snapshot.js"

/** The overlay of a run's dynamic work: nodes and edges to add to its graph, and one item per fact. */
export interface DynamicOverlay {
  readonly nodes: ReadonlyArray<GraphNode>
  readonly edges: ReadonlyArray<GraphEdge>
  readonly work: ReadonlyArray<DynamicWorkOverlay>
}

/** What a node of a fact is (its payloads as stored; visibility withholds them by scope). */
const infoOf = (work: DynamicWork, node: DynamicNode): DynamicNodeInfo => ({
  key: work.key,
  node: node.id,
  mode: work.fact.mode,
  ...(node.action !== undefined ? { action: node.action } : {}),
  ...(node.retry !== undefined ? { maxAttempts: node.retry.maxAttempts } : {}),
  ...(node.params !== undefined ? { params: node.params } : {}),
  ...(node.input !== undefined ? { input: node.input } : {}),
  ...(node.metadata !== undefined ? { metadata: node.metadata } : {}),
})

/** One node of a fact: from its entry when scheduled, else a recorded (or, without its entry, not reached) node at the fact's seq. */
const graphNodeOf = (snapshot: RunSnapshot, work: DynamicWork, node: DynamicNode): GraphNode => {
  const id = dynamicNodeId(work.key, node.id)
  const dynamic = infoOf(work, node)
  const entry = work.entries.get(node.id)
  if (entry) return { ...nodeOf(snapshot, entry), id, name: node.id, dynamic }
  return {
    id,
    seq: work.seq,
    kind: "dynamic",
    name: node.id,
    status: work.fact.mode === "recorded" ? "recorded" : "not_reached",
    attempts: 0,
    createdAt: work.createdAt,
    dynamic,
  }
}

/** The overlay of the snapshot's dynamic work (empty when it has none). */
export const dynamicOverlayOf = (snapshot: RunSnapshot): DynamicOverlay => {
  const nodes: Array<GraphNode> = []
  const edges: Array<GraphEdge> = []
  const work: Array<DynamicWorkOverlay> = []
  for (const w of dynamicWorkOf(snapshot.journal)) {
    const { fact } = w
    const ids = new Set((fact.nodes ?? []).map((n) => n.id))
    const origin = nodeId(fact.origin.seq)
    const added = (fact.nodes ?? []).map((n) => graphNodeOf(snapshot, w, n))
    const drawn = (fact.edges ?? []).flatMap((e): Array<GraphEdge> => {
      // An edge starts at a node of this work or at the origin step; anything else is not drawn.
      const from = ids.has(e.from) ? dynamicNodeId(w.key, e.from) : e.from === fact.origin.step ? origin : undefined
      if (from === undefined || !ids.has(e.to)) return []
      return [{ id: dynamicEdgeId(w.key, e.id), from, to: dynamicNodeId(w.key, e.to), kind: "dynamic", taken: fact.mode === "scheduled" }]
    })
    nodes.push(...added)
    edges.push(...drawn)
    work.push({
      key: w.key,
      mode: fact.mode,
      seq: w.seq,
      origin: { step: fact.origin.step, seq: fact.origin.seq, attempt: fact.origin.attempt, nodeId: origin },
      nodeIds: added.map((n) => n.id),
      edgeIds: drawn.map((e) => e.id),
      ...(fact.reason !== undefined ? { reason: fact.reason } : {}),
      ...(fact.metadata !== undefined ? { metadata: fact.metadata } : {}),
      createdAt: w.createdAt,
    })
  }
  return { nodes, edges, work }
}
