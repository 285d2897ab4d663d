/**
 * `inspectRunGraph`: a run as a graph a UI can draw. Nodes are the journal's commands in
 * order; edges join them in the order they ran: `sequence` between one command and the next,
 * `fork` into the members of a parallel group (`Workflow.all`, `Workflow.race`) and `join` out
 * of them (a race's losers are marked and their joins not taken), and `compensation` from a
 * step to the compensation that undoes it. Group membership comes from replaying the journal
 * against the registered code; without it every command is a stage of its own.
 *
 * A run of a graph workflow (`Workflow.graph`) is drawn from its static graph instead, with
 * the path it took (./declared.ts). Either way, dynamic work added to the run is laid over it
 * (./dynamicGraph.ts), never into the workflow's own sequence.
 */
import { Effect } from "effect"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import type { InvalidOptionError, RunNotFoundError, StoreError } from "../core/errors.js"
import { isTerminal, type Entry } from "../core/model.js"
import type { StoreService } from "../store/Store.js"
import { declaredGraphOf } from "./declared.js"
import { workflowEntries } from "./dynamic.js"
import { dynamicOverlayOf } from "./dynamicGraph.js"
import { childLinksOf, nodeId, nodeOf, record, type GraphEdge, type GraphEdgeKind, type GraphNode, type RunGraph } from "./graphNodes.js"
import { readRun, type RunSnapshot } from "./snapshot.js"

export type {
  ChildLink,
  DynamicNodeInfo,
  DynamicWorkOverlay,
  GraphEdge,
  GraphEdgeKind,
  GraphNode,
  GraphNodeStatus,
  RunGraph,
} from "./graphNodes.js"

/** One stage of the run: a command on its own, or a parallel group. */
interface Stage {
  readonly entries: ReadonlyArray<Entry>
  readonly group?: { readonly id: string; readonly race: boolean }
}

/** The workflow's own journal cut into stages, with the groups replay found (only those whose members are all in the journal). */
const stagesOf = (snapshot: RunSnapshot): ReadonlyArray<Stage> => {
  const journal = workflowEntries(snapshot.journal)
  const bySeq = new Map(journal.map((e) => [e.seq, e]))
  const groupAt = new Map<number, { readonly seqs: ReadonlyArray<number>; readonly race: boolean }>()
  if (snapshot.replay._tag === "Replayed") {
    for (const g of snapshot.replay.replayer.groups) if (g.seqs.every((s) => bySeq.has(s))) for (const s of g.seqs) groupAt.set(s, g)
  }
  const stages: Array<Stage> = []
  for (const entry of journal) {
    const g = groupAt.get(entry.seq)
    if (!g) stages.push({ entries: [entry] })
    else if (g.seqs[0] === entry.seq) stages.push({ entries: g.seqs.map((s) => bySeq.get(s)!), group: { id: `group-${entry.seq}`, race: g.race } })
  }
  return stages
}

/** The edges between consecutive stages, and from each compensated step to its compensation. */
const edgesOf = (stages: ReadonlyArray<Stage>, nodes: ReadonlyMap<number, GraphNode>): ReadonlyArray<GraphEdge> => {
  const edges: Array<GraphEdge> = []
  const add = (from: Entry, to: Entry, kind: GraphEdgeKind, taken = true, raceLoser = false) =>
    edges.push({ id: `${kind}:${from.seq}-${to.seq}`, from: nodeId(from.seq), to: nodeId(to.seq), kind, taken, ...(raceLoser ? { raceLoser } : {}) })
  for (let i = 1; i < stages.length; i++) {
    const prev = stages[i - 1]!
    const next = stages[i]!
    for (const from of prev.entries) {
      // Out of a group, only the members that settled it lead on: a race's losers and withdrawn siblings do not.
      const leads = from.status !== "cancelled"
      for (const to of next.entries) {
        const kind: GraphEdgeKind = prev.group ? "join" : next.group ? "fork" : "sequence"
        add(from, to, kind, leads, nodes.get(from.seq)?.raceLoser === true)
      }
    }
  }
  for (const stage of stages) {
    for (const entry of stage.entries) {
      const origin = entry.kind === "compensation" ? record(entry.input).seq : undefined
      const step = typeof origin === "number" ? stages.flatMap((s) => s.entries).find((e) => e.seq === origin) : undefined
      if (step) add(step, entry, "compensation")
    }
  }
  return edges
}

/** The graph of a read run. */
const graphOf = (snapshot: RunSnapshot): RunGraph => {
  const { run } = snapshot
  const stages = stagesOf(snapshot)
  const nodes = stages.flatMap((s) => s.entries.map((e) => nodeOf(snapshot, e, s.group)))
  const bySeq = new Map(nodes.map((n) => [n.seq, n]))
  const children = childLinksOf(snapshot)
  const dynamic = dynamicOverlayOf(snapshot)
  const all = [...nodes, ...dynamic.nodes]
  return {
    runId: run.id,
    workflow: run.workflow,
    status: run.status,
    terminal: isTerminal(run.status),
    structure: snapshot.replay._tag === "Replayed" ? "replayed" : "journal",
    nodes: all,
    edges: [...edgesOf(stages, bySeq), ...dynamic.edges],
    path: nodes.filter((n) => n.status === "completed" || n.status === "failed").map((n) => n.id),
    current: all.filter((n) => n.status === "pending" || n.status === "running").map((n) => n.id),
    children,
    ...(run.parentRunId !== undefined ? { parent: { runId: run.parentRunId, node: nodeId(run.parentSeq ?? 0) } } : {}),
    ...(dynamic.work.length > 0 ? { dynamicWork: dynamic.work } : {}),
  }
}

/**
 * A run's graph: nodes (its commands, with kind, name, status, attempts and timings), edges
 * (sequence, fork and join, compensation), the path taken, the current nodes and its child
 * runs; with dynamic work, its nodes and edges (kind `dynamic`) and `dynamicWork`. A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError.
 */
export const inspectRunGraph = (
  store: StoreService,
  workflows: ReadonlyMap<string, AnyWorkflow>,
  runId: string,
): Effect.Effect<RunGraph, InvalidOptionError | RunNotFoundError | StoreError> =>
  Effect.map(readRun(store, workflows, runId), (snapshot) => {
    const declared = workflows.get(snapshot.run.workflow)?.graph
    return declared ? declaredGraphOf(snapshot, declared) : graphOf(snapshot)
  })
