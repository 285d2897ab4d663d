/**
 * Dynamic work: bounded work added to an active run after it started, beside its workflow's
 * own commands (Squidie's "late graph patch"). A proposal names a stable key, the step that
 * produced it (its origin) and nodes that run registered actions. Recorded, it is an
 * inspection fact only; scheduled, its nodes also become runnable tasks.
 *
 * Both live in the run's journal, in a sequence range of their own (from
 * `DYNAMIC_SEQ_BASE`), so the workflow's generator never sees them and replay is unchanged:
 * - one `dynamic_work` entry per key (the fact, resolved when written), its input a
 *   `DynamicWorkFact`;
 * - one `dynamic` entry per scheduled node (pending until its action ran), its input a
 *   `DynamicNodeInput`, with a `dynamic` task.
 * A run whose workflow finished completes once its scheduled nodes are done; a node that
 * fails for good fails the run.
 */
import type { Entry, ErrorInfo } from "./model.js"
import type { Json } from "./json.js"

/** The first journal seq of dynamic work. A workflow's own commands stay below it. */
export const DYNAMIC_SEQ_BASE = 1_000_000_000

/** True for a seq in the dynamic work range. */
export const isDynamicSeq = (seq: number): boolean => seq >= DYNAMIC_SEQ_BASE

/**
 * The seq of a run's settle task (an `advance` task with no entry): made by every commit of a
 * dynamic node's result and by a commit that holds a finished run for its nodes, it completes
 * the run once replay shows the workflow done and no node pending. Node results are committed
 * without the run's revision, so many nodes of one run settle side by side without conflicts;
 * the settle task, which reads the run afresh, makes the one decision that needs them all.
 */
export const SETTLE_SEQ = DYNAMIC_SEQ_BASE - 1

/** Bounds of one proposal, and of a run: dynamic work is bounded by design. */
export const DYNAMIC_LIMITS = {
  /** Nodes in one proposal. */
  nodes: 100,
  /** Edges in one proposal. */
  edges: 200,
  /** Dynamic nodes (recorded or scheduled) in one run. */
  runNodes: 1_000,
  /** Proposals (keys) in one run. */
  runKeys: 200,
} as const

/** One node of a proposal. `action` is a key of the engine's action registry (required to schedule). */
export interface DynamicNode {
  readonly id: string
  readonly action?: string
  /** The action's params (decoded by its params Schema, if it has one). */
  readonly params?: Json
  /** What the action's `run` gets as its input. Default `{}`. */
  readonly input?: Json
  /** Persisted retries of this node: attempts in all. Default: the action's retry policy (or one attempt). */
  readonly retry?: { readonly maxAttempts: number }
  readonly metadata?: Json
}

/**
 * An edge of the graph overlay. An edge from another node of the same work orders: a scheduled
 * node runs once every node with an edge to it completed, and gets their results as `after`.
 * Edges from the origin step only draw.
 */
export interface DynamicEdge {
  /** Default `<from>-><to>`. */
  readonly id?: string
  /** The origin step's name or a node of this proposal. */
  readonly from: string
  /** A node of this proposal. */
  readonly to: string
}

/** The step (and its attempt) that produced a proposal. */
export interface DynamicOrigin {
  /** The producing step's name. */
  readonly step: string
  /** Its journal seq, when the step ran more than once in the run (default: its latest entry). */
  readonly seq?: number
  /** The attempt that produced the work (default: the step's latest attempt). */
  readonly attempt?: number
}

/** What host code proposes (`previewDynamicWork`, `recordDynamicWork`, `scheduleDynamicWork`). */
export interface DynamicWorkProposal {
  /** Stable key: the same proposal sent twice is written once. */
  readonly key: string
  readonly origin: DynamicOrigin
  readonly nodes: ReadonlyArray<DynamicNode>
  /** Default: one edge from the origin step to each node. */
  readonly edges?: ReadonlyArray<DynamicEdge>
  /** Shown to operators; secret-looking keys are redacted before it is stored. */
  readonly metadata?: Json
  readonly reason?: string
}

/** What a running step proposes through `ctx.dynamicWork` (its origin is the step itself). */
export type StepDynamicWork = Omit<DynamicWorkProposal, "origin">

/** `recorded`: an inspection fact only. `scheduled`: its nodes run. */
export type DynamicWorkMode = "recorded" | "scheduled"

/** The input of a `dynamic_work` entry: the normalized proposal as written. */
export interface DynamicWorkFact {
  readonly mode: DynamicWorkMode
  readonly origin: { readonly step: string; readonly seq: number; readonly attempt: number }
  readonly nodes: ReadonlyArray<DynamicNode>
  readonly edges: ReadonlyArray<Required<DynamicEdge>>
  readonly metadata?: Json
  readonly reason?: string
  /** Scheduled nodes: the journal seq of each node's `dynamic` entry, by node id. */
  readonly seqs?: Readonly<Record<string, number>>
}

/** The input of a `dynamic` entry: what its task runs. */
export interface DynamicNodeInput {
  readonly key: string
  readonly action: string
  readonly params?: Json
  readonly input?: Json
  readonly retry?: { readonly maxAttempts: number }
  /** The nodes of its work it waits for (edges to it from them), with their seqs: it gets no task until they all completed. */
  readonly after?: ReadonlyArray<{ readonly node: string; readonly seq: number }>
}

/** The nodes of a fact each node waits for: the `from` of its edges that come from other nodes. */
export const predecessorsOf = (fact: Pick<DynamicWorkFact, "nodes" | "edges">): ReadonlyMap<string, ReadonlyArray<string>> => {
  const ids = new Set(fact.nodes.map((n) => n.id))
  const after = new Map<string, Array<string>>()
  for (const e of fact.edges) if (ids.has(e.from) && ids.has(e.to) && !after.get(e.to)?.includes(e.from)) after.set(e.to, [...(after.get(e.to) ?? []), e.from])
  return after
}

/** A dynamic work fact as read from a journal, with its nodes' entries (scheduled work). */
export interface DynamicWork {
  readonly key: string
  readonly seq: number
  readonly fact: DynamicWorkFact
  readonly createdAt: number
  /** The `dynamic` entries of scheduled nodes, by node id. */
  readonly entries: ReadonlyMap<string, Entry>
}

/** The dynamic work facts of a journal, oldest first. */
export const dynamicWorkOf = (journal: ReadonlyArray<Entry>): ReadonlyArray<DynamicWork> => {
  const nodes = new Map<number, Entry>()
  for (const e of journal) if (e.kind === "dynamic") nodes.set(e.seq, e)
  const works: Array<DynamicWork> = []
  for (const e of journal) {
    if (e.kind !== "dynamic_work") continue
    const fact = e.input as unknown as DynamicWorkFact
    const entries = new Map<string, Entry>()
    for (const [id, seq] of Object.entries(fact.seqs ?? {})) {
      const node = nodes.get(seq)
      if (node) entries.set(id, node)
    }
    works.push({ key: e.name, seq: e.seq, fact, createdAt: e.createdAt, entries })
  }
  return works.sort((a, b) => a.seq - b.seq)
}

/** The error a run fails with when a scheduled node failed for good. */
export const dynamicNodeFailure = (entry: Entry, input: DynamicNodeInput): ErrorInfo => ({
  code: "dynamic_work_failed",
  message: `dynamic node "${entry.name}" (action "${input.action}", work "${input.key}") failed: ${entry.error?.message ?? "failed"}`,
  step: entry.name,
  seq: entry.seq,
  details: { key: input.key, node: entry.name, action: input.action, ...(entry.error ? { error: entry.error as unknown as Json } : {}) },
})
