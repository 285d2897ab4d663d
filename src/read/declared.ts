/**
 * The graph of a run of a graph workflow (`Workflow.graph`): its static graph, every declared
 * node and edge, laid over the path the run took. A node the run reached is its journal entry
 * (same id as in a code workflow's graph); one it did not is `not_reached` while the run goes
 * on and `skipped` once it ended. Transitions carry their outcome and condition as a label and
 * are `taken` when the run went from one end to the other; dependency edges when both ends ran.
 * Compensations the saga ran hang off the steps they undid; dynamic work is laid over it.
 */
import type { GraphDefinition, Transition } from "../../dsl/graph/model.js"
import { COMPLETE } from "../../dsl/graph/model.js"
import { isTerminal, type Entry } from "../core/model.js"
import { workflowEntries } from "./dynamic.js"
import { dynamicOverlayOf } from "./dynamicGraph.js"
import { childLinksOf, nodeId, nodeOf, record, type GraphEdge, type GraphNode, type RunGraph } from "./graphNodes.js"
import type { RunSnapshot } from "./snapshot.js"

/** The journal entry of a declared node: the last one of its name (a log node's, by its message). */
const entryOf = (journal: ReadonlyArray<Entry>, name: string, kind: string, message: unknown): Entry | undefined => {
  for (let i = journal.length - 1; i >= 0; i--) {
    const e = journal[i]!
    if (kind === "log" ? e.kind === "log" && record(e.input).message === message : e.kind === kind && e.name === name) return e
  }
  return undefined
}

/** The outcome a reached node routed on: a failure or a rejection is `error`. */
const outcomeOf = (entry: Entry): "ok" | "error" =>
  entry.status === "failed" || (entry.kind === "approval" && record(entry.output).approved !== true) ? "error" : "ok"

/** A declared transition's label: its outcome, condition and recovery (`ok · band.score > 50`, `error · undo`). */
export const labelOf = (t: Transition): string => {
  const parts: Array<string> = [t.on]
  const w = t.when
  if (w) parts.push(`${w.path.join(".")} ${"equals" in w ? `= ${JSON.stringify(w.equals)}` : "greaterThan" in w ? `> ${w.greaterThan}` : `< ${w.lessThan}`}`)
  if (t.recovery) parts.push(t.recovery)
  return parts.join(" · ")
}

/** The run's graph, laid over its workflow's static graph. */
export const declaredGraphOf = (snapshot: RunSnapshot, definition: GraphDefinition): RunGraph => {
  const { run } = snapshot
  const journal = workflowEntries(snapshot.journal)
  const ended = isTerminal(run.status)
  const reached = new Map<string, Entry>()
  const nodes: Array<GraphNode> = []
  for (const declared of definition.nodes) {
    const entry = entryOf(journal, declared.name, declared.kind, declared.message)
    if (entry) {
      reached.set(declared.name, entry)
      nodes.push({ ...nodeOf(snapshot, entry), name: declared.name })
    } else {
      nodes.push({
        id: `node-${declared.name}`,
        seq: 0,
        kind: declared.kind,
        name: declared.name,
        status: ended ? "skipped" : "not_reached",
        attempts: 0,
        createdAt: 0,
      })
    }
  }
  const idOf = (name: string) => {
    const entry = reached.get(name)
    return entry ? nodeId(entry.seq) : `node-${name}`
  }
  // The order the run went through its declared nodes.
  const order = [...reached.entries()].sort((a, b) => a[1].seq - b[1].seq).map(([name]) => name)
  const edges: Array<GraphEdge> = []
  if (definition.mode === "transitions") {
    for (const t of definition.transitions) {
      if (t.to === COMPLETE) continue
      const from = order.indexOf(t.from)
      const taken = from >= 0 && order[from + 1] === t.to && outcomeOf(reached.get(t.from)!) === t.on
      edges.push({ id: `transition:${t.from}-${t.on}-${t.to}`, from: idOf(t.from), to: idOf(t.to), kind: "transition", taken, label: labelOf(t) })
    }
  } else {
    for (const node of definition.nodes) {
      for (const dep of node.after) {
        const taken = reached.get(dep)?.status === "completed" && reached.has(node.name)
        edges.push({ id: `after:${dep}-${node.name}`, from: idOf(dep), to: idOf(node.name), kind: node.after.length > 1 ? "join" : "sequence", taken })
      }
    }
  }
  // Compensations the saga ran: nodes of their own, from the step they undid.
  for (const entry of journal) {
    if (entry.kind !== "compensation") continue
    nodes.push(nodeOf(snapshot, entry))
    const origin = record(entry.input).seq
    const step = typeof origin === "number" ? journal.find((e) => e.seq === origin) : undefined
    if (step) edges.push({ id: `compensation:${step.seq}-${entry.seq}`, from: nodeId(step.seq), to: nodeId(entry.seq), kind: "compensation", taken: true })
  }
  const ran = [...journal].filter((e) => e.status === "completed" || e.status === "failed").sort((a, b) => a.seq - b.seq)
  const dynamic = dynamicOverlayOf(snapshot)
  nodes.push(...dynamic.nodes)
  edges.push(...dynamic.edges)
  return {
    runId: run.id,
    workflow: run.workflow,
    status: run.status,
    terminal: ended,
    structure: "declared",
    nodes,
    edges,
    path: ran.map((e) => nodeId(e.seq)),
    current: nodes.filter((n) => n.status === "pending" || n.status === "running").map((n) => n.id),
    children: childLinksOf(snapshot),
    ...(run.parentRunId !== undefined ? { parent: { runId: run.parentRunId, node: nodeId(run.parentSeq ?? 0) } } : {}),
    ...(dynamic.work.length > 0 ? { dynamicWork: dynamic.work } : {}),
  }
}
