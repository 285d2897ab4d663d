/**
 * `inspectRunGraph`: a run as a graph a UI can draw. Nodes are the journal's commands in
 * order; edges join them in the order they ran: `sequence` between one command and the next,
 * `fork` into the members of a parallel group (`Workflow.all`, `Workflow.race`) and `join` out
 * of them (a race's losers are marked and their joins not taken), and `compensation` from a
 * step to the compensation that undoes it. Group membership comes from replaying the journal
 * against the registered code; without it every command is a stage of its own.
 *
 * The types leave room for declarative graphs (`Workflow.graph`), whose static nodes may be
 * `skipped` and whose edges are `transition`s that may be `not_taken`.
 */
import { Effect } from "effect"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import type { InvalidOptionError, RunNotFoundError, StoreError } from "../core/errors.js"
import { isTerminal, type Entry, type EntryKind, type RunStatus } from "../core/model.js"
import type { StoreService } from "../store/Store.js"
import { readRun, type RunSnapshot } from "./snapshot.js"
import { taskState } from "./waits.js"

/** A node's status: a journal entry's, `running` while a worker holds its task, `skipped` for a branch a declarative graph did not take. */
export type GraphNodeStatus = "pending" | "running" | "completed" | "failed" | "cancelled" | "skipped"

/**
 * An edge's kind: `sequence` (one command after another), `fork` / `join` (into and out of a
 * parallel group), `compensation` (a step to its undo), `transition` (a declarative graph's
 * ok/error transition).
 */
export type GraphEdgeKind = "sequence" | "fork" | "join" | "compensation" | "transition"

/** One command of the run. Times are epoch ms. */
export interface GraphNode {
  /** `seq-<n>` for journal entries. */
  readonly id: string
  readonly seq: number
  readonly kind: EntryKind
  readonly name: string
  readonly status: GraphNodeStatus
  /** Attempts made (steps and compensations). */
  readonly attempts: number
  readonly createdAt: number
  /** When its first attempt started (steps and compensations). */
  readonly startedAt?: number
  readonly resolvedAt?: number
  /** From planned to resolved. */
  readonly durationMs?: number
  /** The parallel group it belongs to. */
  readonly group?: { readonly id: string; readonly type: "all" | "race" }
  /** A race member withdrawn because another member settled first. */
  readonly raceLoser?: boolean
  /** Its error code and redacted message, when it failed. */
  readonly error?: { readonly code: string; readonly message: string }
  /** Child commands: the child run. */
  readonly childRunId?: string
}

/** How one node led to another. `taken` is false for a path the run did not follow (a race loser's join). */
export interface GraphEdge {
  readonly id: string
  readonly from: string
  readonly to: string
  readonly kind: GraphEdgeKind
  readonly taken: boolean
  readonly raceLoser?: boolean
}

/** A child run started by one of the run's nodes. */
export interface ChildLink {
  readonly node: string
  readonly runId: string
  readonly workflow: string
  /** `not_started` while its run has not been created yet. */
  readonly status: RunStatus | "not_started"
  /** True when the parent waits for its result (`Workflow.child`), false for `Workflow.startChild`. */
  readonly wait: boolean
}

/** What `inspectRunGraph` returns: plain JSON. */
export interface RunGraph {
  readonly runId: string
  readonly workflow: string
  readonly status: RunStatus
  readonly terminal: boolean
  /** `replayed`: groups come from replaying the journal against the code; `journal`: the code is not available, every node stands alone. */
  readonly structure: "replayed" | "journal"
  readonly nodes: ReadonlyArray<GraphNode>
  readonly edges: ReadonlyArray<GraphEdge>
  /** The nodes the run went through (resolved, not withdrawn), in order. */
  readonly path: ReadonlyArray<string>
  /** The nodes it waits on now. */
  readonly current: ReadonlyArray<string>
  readonly children: ReadonlyArray<ChildLink>
  /** For a child run: its parent run and the parent's node that started it. */
  readonly parent?: { readonly runId: string; readonly node: string }
}

const nodeId = (seq: number) => `seq-${seq}`

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** One stage of the run: a command on its own, or a parallel group. */
interface Stage {
  readonly entries: ReadonlyArray<Entry>
  readonly group?: { readonly id: string; readonly race: boolean }
}

/** The journal cut into stages, with the groups replay found (only those whose members are all in the journal). */
const stagesOf = (snapshot: RunSnapshot): ReadonlyArray<Stage> => {
  const bySeq = new Map(snapshot.journal.map((e) => [e.seq, e]))
  const groupAt = new Map<number, { readonly seqs: ReadonlyArray<number>; readonly race: boolean }>()
  if (snapshot.replay._tag === "Replayed") {
    for (const g of snapshot.replay.replayer.groups) if (g.seqs.every((s) => bySeq.has(s))) for (const s of g.seqs) groupAt.set(s, g)
  }
  const stages: Array<Stage> = []
  for (const entry of snapshot.journal) {
    const g = groupAt.get(entry.seq)
    if (!g) stages.push({ entries: [entry] })
    else if (g.seqs[0] === entry.seq) stages.push({ entries: g.seqs.map((s) => bySeq.get(s)!), group: { id: `group-${entry.seq}`, race: g.race } })
  }
  return stages
}

const nodeOf = (snapshot: RunSnapshot, entry: Entry, group: Stage["group"]): GraphNode => {
  const task = snapshot.tasks.find((t) => t.seq === entry.seq)
  const running = entry.status === "pending" && task !== undefined && taskState(task, snapshot.now) === "claimed" && entry.kind !== "sleep"
  const tries = snapshot.attempts.filter((a) => a.seq === entry.seq)
  const input = record(entry.input)
  return {
    id: nodeId(entry.seq),
    seq: entry.seq,
    kind: entry.kind,
    name: entry.name,
    status: running ? "running" : entry.status,
    attempts: Math.max(entry.attempts, tries.length),
    createdAt: entry.createdAt,
    ...(tries[0] ? { startedAt: tries[0].startedAt } : {}),
    ...(entry.resolvedAt !== undefined ? { resolvedAt: entry.resolvedAt, durationMs: entry.resolvedAt - entry.createdAt } : {}),
    ...(group ? { group: { id: group.id, type: group.race ? "race" : "all" } } : {}),
    ...(group?.race && entry.status === "cancelled" ? { raceLoser: true } : {}),
    ...(entry.error ? { error: { code: entry.error.code, message: entry.error.message } } : {}),
    ...(entry.kind === "child" && typeof input.runId === "string" ? { childRunId: input.runId } : {}),
  }
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
  const children = snapshot.journal
    .filter((e) => e.kind === "child")
    .flatMap((e): Array<ChildLink> => {
      const spec = record(e.input)
      if (typeof spec.runId !== "string") return []
      const stored = snapshot.children.find((c) => c.id === spec.runId)
      return [
        {
          node: nodeId(e.seq),
          runId: spec.runId,
          workflow: typeof spec.workflow === "string" ? spec.workflow : (stored?.workflow ?? ""),
          status: stored?.status ?? "not_started",
          wait: spec.wait !== false,
        },
      ]
    })
  return {
    runId: run.id,
    workflow: run.workflow,
    status: run.status,
    terminal: isTerminal(run.status),
    structure: snapshot.replay._tag === "Replayed" ? "replayed" : "journal",
    nodes,
    edges: edgesOf(stages, bySeq),
    path: nodes.filter((n) => n.status === "completed" || n.status === "failed").map((n) => n.id),
    current: nodes.filter((n) => n.status === "pending" || n.status === "running").map((n) => n.id),
    children,
    ...(run.parentRunId !== undefined ? { parent: { runId: run.parentRunId, node: nodeId(run.parentSeq ?? 0) } } : {}),
  }
}

/**
 * A run's graph: nodes (its commands, with kind, name, status, attempts and timings), edges
 * (sequence, fork and join, compensation), the path taken, the current nodes and its child
 * runs. A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError.
 */
export const inspectRunGraph = (
  store: StoreService,
  workflows: ReadonlyMap<string, AnyWorkflow>,
  runId: string,
): Effect.Effect<RunGraph, InvalidOptionError | RunNotFoundError | StoreError> => Effect.map(readRun(store, workflows, runId), graphOf)
