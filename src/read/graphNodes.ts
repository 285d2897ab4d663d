/**
 * What `inspectRunGraph` returns, and the parts both kinds of graph share: a journal entry as
 * a node, and the run's child links. The graph of a code workflow is built from its journal
 * (./graph.ts); the graph of a declared one from its static graph and the path its run took
 * (./declared.ts).
 */
import type { DynamicWorkMode } from "../core/dynamicWork.js"
import type { Json } from "../core/json.js"
import type { Entry, EntryKind, RunStatus } from "../core/model.js"
import type { RunSnapshot } from "./snapshot.js"
import { taskState } from "./waits.js"

/**
 * A node's status: a journal entry's, `running` while a worker holds its task; for a declared
 * graph's node the run has not reached, `not_reached` while it runs and `skipped` once it ended.
 * A node of recorded dynamic work is `recorded`: an inspection fact that never runs.
 */
export type GraphNodeStatus = "pending" | "running" | "completed" | "failed" | "cancelled" | "skipped" | "not_reached" | "recorded"

/**
 * An edge's kind: `sequence` (one command after another), `fork` / `join` (into and out of a
 * parallel group), `compensation` (a step to its undo), `transition` (a declarative graph's
 * ok/error transition), `dynamic` (from the step that proposed dynamic work, or one of its
 * nodes, to a node of that work: drawn only, it orders nothing).
 */
export type GraphEdgeKind = "sequence" | "fork" | "join" | "compensation" | "transition" | "dynamic"

/** What a dynamic node (kind `dynamic`) is: its work, its id there, and its action's arguments. */
export interface DynamicNodeInfo {
  /** The key of the dynamic work it belongs to. */
  readonly key: string
  /** Its id within that work (also the node's `name`). */
  readonly node: string
  readonly mode: DynamicWorkMode
  /** The registered action it runs (scheduled work) or would run. */
  readonly action?: string
  /** Persisted attempts it is allowed, when the proposal set them. */
  readonly maxAttempts?: number
  /** The action's params, input and the node's metadata, as stored (redacted of secrets; withheld below auditor). */
  readonly params?: Json
  readonly input?: Json
  readonly metadata?: Json
}

/** One dynamic work fact laid over the graph: what it added, from where, and its nodes and edges in `nodes` / `edges`. */
export interface DynamicWorkOverlay {
  readonly key: string
  readonly mode: DynamicWorkMode
  /** The seq of its `dynamic_work` journal entry. */
  readonly seq: number
  /** The step that proposed it, the attempt that did, and that step's node in the graph. */
  readonly origin: { readonly step: string; readonly seq: number; readonly attempt: number; readonly nodeId: string }
  /** Its nodes' ids in `nodes`, in the proposal's order. */
  readonly nodeIds: ReadonlyArray<string>
  /** Its edges' ids in `edges`. */
  readonly edgeIds: ReadonlyArray<string>
  /** Why it was added (free text; withheld below auditor). */
  readonly reason?: string
  /** The proposal's metadata (redacted of secrets when stored; withheld below auditor). */
  readonly metadata?: Json
  /** When it was written. */
  readonly createdAt: number
}

/** One command of the run, or one node of dynamic work. Times are epoch ms. */
export interface GraphNode {
  /** `seq-<n>` for journal entries; `dyn:<key>/<node id>` for dynamic nodes (./dynamic.ts). */
  readonly id: string
  /** Its journal entry's seq (a recorded dynamic node: its work's `dynamic_work` entry). */
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
  /** Dynamic nodes (kind `dynamic`): their work and action. */
  readonly dynamic?: DynamicNodeInfo
}

/** How one node led to another. `taken` is false for a path the run did not follow (a race loser's join). */
export interface GraphEdge {
  readonly id: string
  readonly from: string
  readonly to: string
  readonly kind: GraphEdgeKind
  readonly taken: boolean
  readonly raceLoser?: boolean
  /** A declared edge's outcome and condition, e.g. `ok`, `error · undo`, `ok · band.score > 50`. */
  readonly label?: string
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
  /**
   * `replayed`: groups come from replaying the journal against the code; `journal`: the code is
   * not available, every node stands alone; `declared`: a graph workflow's static graph, with
   * the path its run took and the branches it skipped.
   */
  readonly structure: "replayed" | "journal" | "declared"
  /** The workflow's commands, then the nodes of its dynamic work (kind `dynamic`). */
  readonly nodes: ReadonlyArray<GraphNode>
  readonly edges: ReadonlyArray<GraphEdge>
  /** The workflow's nodes the run went through (resolved, not withdrawn), in order; dynamic nodes are not on it. */
  readonly path: ReadonlyArray<string>
  /** The nodes it waits on now, pending dynamic nodes included. */
  readonly current: ReadonlyArray<string>
  readonly children: ReadonlyArray<ChildLink>
  /** For a child run: its parent run and the parent's node that started it. */
  readonly parent?: { readonly runId: string; readonly node: string }
  /** The dynamic work added to the run, oldest first: present when it has any. Its nodes and edges are in `nodes` and `edges`. */
  readonly dynamicWork?: ReadonlyArray<DynamicWorkOverlay>
}

/** The id of a journal entry's node. */
export const nodeId = (seq: number) => `seq-${seq}`

/** A JSON value as a record (an empty one when it is not an object). */
export const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** A journal entry as a node (`group`: the parallel group replay placed it in). */
export const nodeOf = (snapshot: RunSnapshot, entry: Entry, group?: { readonly id: string; readonly race: boolean }): GraphNode => {
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

/** The child runs the run's `child` entries started. */
export const childLinksOf = (snapshot: RunSnapshot): ReadonlyArray<ChildLink> =>
  snapshot.journal
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
