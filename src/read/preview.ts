/**
 * The draft graph of a spec, for an editor to draw before anything runs: every node
 * `not_reached`, the declared transitions (labelled with outcome, condition and recovery) or
 * dependency edges, in the shape of `inspectRunGraph`'s nodes and edges (same ids as the graph
 * of a run of it that has not reached them). A spec with problems is drawn as far as it can be
 * (its named nodes, the edges between them), with the problems beside it.
 */
import type { SpecProblem } from "../../dsl/spec/validate.js"
import { validateSpec } from "../../dsl/spec/validate.js"
import { graphOfSpec } from "../../dsl/spec/build.js"
import { NODE_KINDS } from "../../dsl/spec/schema.js"
import { COMPLETE, type Transition } from "../../dsl/graph/model.js"
import type { EntryKind } from "../core/model.js"
import { labelOf } from "./declared.js"
import type { GraphEdge, GraphNode } from "./graphNodes.js"

/** What `previewGraph` returns: plain JSON. */
export interface SpecPreview {
  readonly structure: "draft"
  /** `transitions` (from one entry node) or `dependencies` (by `after`), when the graph is valid. */
  readonly mode?: "transitions" | "dependencies"
  readonly entry?: string
  readonly nodes: ReadonlyArray<GraphNode>
  readonly edges: ReadonlyArray<GraphEdge>
  /** The spec's problems (`validateSpec` without a registry); empty when it is valid. */
  readonly problems: ReadonlyArray<SpecProblem>
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

const nodeOf = (name: string, kind: EntryKind): GraphNode => ({ id: `node-${name}`, seq: 0, kind, name, status: "not_reached", attempts: 0, createdAt: 0 })

const kindOf = (node: unknown): EntryKind => {
  const key = NODE_KINDS.find(([k]) => isObject(node) && k in node)?.[0]
  return key === undefined || key === "action" ? "step" : key
}

const transitionEdge = (t: Transition): GraphEdge => ({
  id: `transition:${t.from}-${t.on}-${t.to}`,
  from: `node-${t.from}`,
  to: `node-${t.to}`,
  kind: "transition",
  taken: false,
  label: labelOf(t),
})

const dependencyEdges = (name: string, after: ReadonlyArray<string>): Array<GraphEdge> =>
  after.map((dep) => ({ id: `after:${dep}-${name}`, from: `node-${dep}`, to: `node-${name}`, kind: after.length > 1 ? "join" : "sequence", taken: false }))

/** A spec with problems, drawn as far as it goes: its nodes, and the edges whose ends are nodes. */
const roughDraft = (raw: unknown, problems: ReadonlyArray<SpecProblem>): SpecPreview => {
  const steps = isObject(raw) && isObject(raw.steps) ? raw.steps : {}
  const names = Object.keys(steps)
  const nodes = names.map((name) => nodeOf(name, kindOf(steps[name])))
  const edges: Array<GraphEdge> = []
  for (const name of names) {
    const after = (steps[name] as { after?: unknown } | null)?.after
    if (Array.isArray(after))
      edges.push(
        ...dependencyEdges(
          name,
          after.filter((d): d is string => typeof d === "string" && names.includes(d)),
        ),
      )
  }
  const transitions = isObject(raw) && Array.isArray(raw.transitions) ? raw.transitions : []
  for (const t of transitions) {
    if (!isObject(t) || typeof t.from !== "string" || typeof t.to !== "string" || (t.on !== "ok" && t.on !== "error")) continue
    if (names.includes(t.from) && names.includes(t.to)) edges.push(transitionEdge({ from: t.from, to: t.to, on: t.on }))
  }
  return { structure: "draft", nodes, edges, problems }
}

/**
 * The graph of a spec (JSON text or value) as an editor draws it: nodes and edges shaped like
 * `inspectRunGraph`'s, every node `not_reached`, with the spec's problems. Reads no store.
 *
 * @example
 * const { nodes, edges, problems } = previewGraph(draft)
 */
export const previewGraph = (spec: unknown): SpecPreview => {
  const checked = validateSpec(spec)
  if (!checked.ok) return roughDraft(typeof spec === "string" ? safeParse(spec) : spec, checked.problems)
  const definition = graphOfSpec(checked.spec)
  if (!definition) return roughDraft(checked.spec, [])
  const nodes = definition.nodes.map((n) => nodeOf(n.name, n.kind))
  const edges =
    definition.mode === "transitions"
      ? definition.transitions.filter((t) => t.to !== COMPLETE).map(transitionEdge)
      : definition.nodes.flatMap((n) => dependencyEdges(n.name, n.after))
  return { structure: "draft", mode: definition.mode, ...(definition.entry !== undefined ? { entry: definition.entry } : {}), nodes, edges, problems: [] }
}

const safeParse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
