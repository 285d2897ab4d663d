/**
 * Checking a dynamic work proposal against a run, before anything is written: its shape, its
 * origin (a step of the run; completed, to schedule), its nodes (new ids, registered actions
 * with params their Schema accepts, to schedule), its edges, its key (the same proposal again
 * is a duplicate; other work under a used key is refused) and the run's bounds. Every problem
 * is listed with its path. Pure: the same journal gives the same verdict.
 */
import type { ActionRegistry } from "../../dsl/spec/Actions.js"
import { checkParams } from "../../dsl/spec/resolve.js"
import {
  DYNAMIC_LIMITS,
  dynamicWorkOf,
  predecessorsOf,
  type DynamicEdge,
  type DynamicNode,
  type DynamicWork,
  type DynamicWorkFact,
  type DynamicWorkMode,
} from "../../src/core/dynamicWork.js"
import { canonicalJson, toJson, type Json } from "../../src/core/json.js"
import { isTerminal, type Entry, type RunStatus } from "../../src/core/model.js"
import type { Redactor } from "../../src/core/redact.js"

/** A problem of a proposal: where (a path into it) and what. */
export interface ProposalProblem {
  readonly at: string
  readonly message: string
}

/** What a proposal is checked against. */
export interface ProposalContext {
  readonly status: RunStatus
  /** The run's journal entries that origins may name (its steps), any order. */
  readonly steps: ReadonlyArray<Entry>
  /** The run's dynamic work entries (facts and nodes). */
  readonly dynamic: ReadonlyArray<Entry>
  /** The engine's action registry; without one, no node can be scheduled. */
  readonly actions: ActionRegistry | undefined
  readonly redactor: Redactor
  /** Byte limit of the proposal's JSON. */
  readonly limitBytes: number
  /**
   * The origin when a running step proposes (it is that step's attempt, applied in the same
   * commit as its result); otherwise the proposal's own `origin` is checked against `steps`.
   */
  readonly origin?: DynamicWorkFact["origin"]
}

/** The verdict on a proposal: new work to write, a duplicate of work already written, or problems. */
export type Checked =
  | { readonly _tag: "New"; readonly key: string; readonly fact: DynamicWorkFact }
  | { readonly _tag: "Duplicate"; readonly key: string; readonly existing: DynamicWork }
  | { readonly _tag: "Refused"; readonly problems: ReadonlyArray<ProposalProblem> }

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/
const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$/
const NODE_KEYS = new Set(["id", "action", "params", "input", "retry", "metadata"])
const PROPOSAL_KEYS = new Set(["key", "origin", "nodes", "edges", "metadata", "reason"])

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/** True for a value that survives the journal's JSON round trip unchanged. */
const isJson = (value: unknown): boolean => {
  try {
    return canonicalJson(toJson(value)) === canonicalJson(value)
  } catch {
    return false
  }
}

/** The fact's content that identifies it (what a duplicate must repeat): everything but the seqs. */
const identity = (fact: DynamicWorkFact): string => {
  const { seqs: _seqs, ...content } = fact
  return canonicalJson(content)
}

/** Checks a proposal (as given by host or step code, unvalidated) for `mode` against a run. */
export const checkProposal = (input: unknown, mode: DynamicWorkMode, ctx: ProposalContext): Checked => {
  const problems: Array<ProposalProblem> = []
  const problem = (at: string, message: string) => problems.push({ at, message })
  if (isTerminal(ctx.status)) problem("", `the run is ${ctx.status}: dynamic work needs an active run`)
  if (!isObject(input)) return { _tag: "Refused", problems: [...problems, { at: "", message: "expected an object { key, nodes, ... }" }] }
  for (const key of Object.keys(input)) {
    if (!PROPOSAL_KEYS.has(key) && !(key === "origin" && ctx.origin)) problem(key, "unknown field")
  }
  if (ctx.origin && input.origin !== undefined) problem("origin", "a step's dynamic work has that step as its origin: leave it out")
  const key = input.key
  if (typeof key !== "string" || !KEY_RE.test(key)) problem("key", `expected a key matching ${KEY_RE}`)
  const origin = ctx.origin ?? checkOrigin(input.origin, mode, ctx.steps, problem)
  const nodes = checkNodes(input.nodes, mode, ctx, problem)
  const edges = checkEdges(input.edges, origin?.step, nodes, problem)
  if (input.metadata !== undefined && (!isObject(input.metadata) || !isJson(input.metadata))) problem("metadata", "expected a JSON object")
  if (input.reason !== undefined && (typeof input.reason !== "string" || input.reason.length > 1000))
    problem("reason", "expected a string of at most 1000 characters")
  const size = JSON.stringify(input)?.length ?? 0
  if (size * 3 > ctx.limitBytes && Buffer.byteLength(JSON.stringify(input)) > ctx.limitBytes)
    problem("", `the proposal is over the ${ctx.limitBytes}-byte payload limit`)
  if (problems.length > 0 || typeof key !== "string" || !origin || !nodes || !edges) return { _tag: "Refused", problems }

  const fact: DynamicWorkFact = {
    mode,
    origin,
    nodes: nodes.map((n) => (n.metadata === undefined ? n : { ...n, metadata: ctx.redactor.value(n.metadata) as Json })),
    edges,
    ...(input.metadata !== undefined ? { metadata: ctx.redactor.value(input.metadata) as Json } : {}),
    ...(input.reason !== undefined ? { reason: ctx.redactor.text(input.reason as string) } : {}),
  }
  return against(key, fact, dynamicWorkOf(ctx.dynamic))
}

/** Checked work again, against the run's dynamic entries as they stand now (a commit after a reload). */
export const recheck = (work: { readonly key: string; readonly fact: DynamicWorkFact }, dynamic: ReadonlyArray<Entry>): Checked =>
  against(work.key, work.fact, dynamicWorkOf(dynamic))

/** The proposal against the run's written dynamic work: a duplicate, a clash, or new work within bounds. */
const against = (key: string, fact: DynamicWorkFact, written: ReadonlyArray<DynamicWork>): Checked => {
  const same = written.find((w) => w.key === key)
  if (same) {
    if (identity(same.fact) === identity(fact)) return { _tag: "Duplicate", key, existing: same }
    const reason =
      same.fact.mode !== fact.mode
        ? `already ${same.fact.mode} for this run (recording and scheduling are alternatives: use a new key)`
        : "already used for other dynamic work in this run"
    return { _tag: "Refused", problems: [{ at: "key", message: `${JSON.stringify(key)} is ${reason}` }] }
  }
  const problems: Array<ProposalProblem> = []
  const used = new Set(written.flatMap((w) => w.fact.nodes.map((n) => n.id)))
  fact.nodes.forEach((node, i) => {
    if (used.has(node.id)) problems.push({ at: `nodes[${i}].id`, message: `${JSON.stringify(node.id)} is a dynamic node of this run already` })
  })
  if (written.length + 1 > DYNAMIC_LIMITS.runKeys) problems.push({ at: "", message: `a run holds at most ${DYNAMIC_LIMITS.runKeys} dynamic work keys` })
  if (used.size + fact.nodes.length > DYNAMIC_LIMITS.runNodes)
    problems.push({ at: "nodes", message: `a run holds at most ${DYNAMIC_LIMITS.runNodes} dynamic nodes (it has ${used.size})` })
  return problems.length > 0 ? { _tag: "Refused", problems } : { _tag: "New", key, fact }
}

/** The origin: a step entry of the run (its latest of that name, or the given seq), completed to schedule. */
const checkOrigin = (
  value: unknown,
  mode: DynamicWorkMode,
  steps: ReadonlyArray<Entry>,
  problem: (at: string, message: string) => void,
): DynamicWorkFact["origin"] | undefined => {
  if (!isObject(value)) {
    problem("origin", "expected { step, seq?, attempt? }: the step that produced the work")
    return undefined
  }
  const { step, seq, attempt } = value
  if (typeof step !== "string" || step.length === 0) {
    problem("origin.step", "expected the producing step's name")
    return undefined
  }
  if (seq !== undefined && !Number.isInteger(seq)) problem("origin.seq", "expected a journal seq")
  if (attempt !== undefined && (!Number.isInteger(attempt) || (attempt as number) < 1)) problem("origin.attempt", "expected an attempt number (1 or more)")
  const named = steps.filter((e) => e.kind === "step" && e.name === step && (seq === undefined || e.seq === seq))
  const entry = named.sort((a, b) => b.seq - a.seq)[0]
  if (!entry) {
    problem(seq === undefined ? "origin.step" : "origin.seq", `the run has no step ${JSON.stringify(step)}${seq === undefined ? "" : ` at seq ${seq}`}`)
    return undefined
  }
  if (mode === "scheduled" && entry.status !== "completed")
    problem("origin.step", `step ${JSON.stringify(step)} is ${entry.status}: only a completed step's work can be scheduled`)
  const made = Math.max(entry.attempts, 1)
  if (typeof attempt === "number" && attempt > made) problem("origin.attempt", `step ${JSON.stringify(step)} has made ${made} attempt(s)`)
  return { step, seq: entry.seq, attempt: typeof attempt === "number" ? attempt : made }
}

/** The nodes, normalized; to schedule, each must name a registered action whose params Schema accepts its params. */
const checkNodes = (
  value: unknown,
  mode: DynamicWorkMode,
  ctx: ProposalContext,
  problem: (at: string, message: string) => void,
): ReadonlyArray<DynamicNode> | undefined => {
  if (!Array.isArray(value) || value.length === 0 || value.length > DYNAMIC_LIMITS.nodes) {
    problem("nodes", `expected 1 to ${DYNAMIC_LIMITS.nodes} nodes`)
    return undefined
  }
  const seen = new Set<string>()
  const nodes: Array<DynamicNode> = []
  value.forEach((node: unknown, i) => {
    const at = `nodes[${i}]`
    if (!isObject(node)) return problem(at, "expected { id, action?, params?, input?, retry?, metadata? }")
    for (const key of Object.keys(node)) if (!NODE_KEYS.has(key)) problem(`${at}.${key}`, "unknown field")
    const { id, action, params, input, retry, metadata } = node
    if (typeof id !== "string" || !ID_RE.test(id)) problem(`${at}.id`, `expected an id matching ${ID_RE}`)
    else if (seen.has(id)) problem(`${at}.id`, `${JSON.stringify(id)} appears twice`)
    else seen.add(id)
    if (action !== undefined && typeof action !== "string") problem(`${at}.action`, "expected an action key")
    if (params !== undefined && !isJson(params)) problem(`${at}.params`, "expected JSON")
    if (input !== undefined && !isJson(input)) problem(`${at}.input`, "expected JSON")
    if (metadata !== undefined && (!isObject(metadata) || !isJson(metadata))) problem(`${at}.metadata`, "expected a JSON object")
    if (
      retry !== undefined &&
      !(isObject(retry) && Number.isInteger(retry.maxAttempts) && (retry.maxAttempts as number) >= 1 && (retry.maxAttempts as number) <= 100)
    )
      problem(`${at}.retry`, "expected { maxAttempts } with 1 to 100 attempts")
    if (mode === "scheduled") checkAction(at, action, params, ctx.actions, problem)
    if (typeof id === "string") nodes.push(node as unknown as DynamicNode)
  })
  return nodes.length === value.length ? nodes : undefined
}

/** A node to schedule names a registered action, and its params pass the action's Schema. */
const checkAction = (at: string, action: unknown, params: unknown, actions: ActionRegistry | undefined, problem: (at: string, message: string) => void) => {
  if (typeof action !== "string") return problem(`${at}.action`, "a scheduled node needs an action key")
  const def = actions?.actions.get(action)
  if (!def) return problem(`${at}.action`, `unknown action ${JSON.stringify(action)}: not in the engine's action registry`)
  for (const p of checkParams("x", def, params).problems) problem(`${at}.params${p.at.slice("steps.x.params".length)}`, p.message)
}

/** The edges, each with an id; by default one from the origin step to each node. */
const checkEdges = (
  value: unknown,
  originStep: string | undefined,
  nodes: ReadonlyArray<DynamicNode> | undefined,
  problem: (at: string, message: string) => void,
): ReadonlyArray<Required<DynamicEdge>> | undefined => {
  if (!nodes || originStep === undefined) return undefined
  if (value === undefined) return nodes.map((n) => ({ id: `${originStep}->${n.id}`, from: originStep, to: n.id }))
  if (!Array.isArray(value) || value.length > DYNAMIC_LIMITS.edges) {
    problem("edges", `expected at most ${DYNAMIC_LIMITS.edges} edges { from, to, id? }`)
    return undefined
  }
  const ids = new Set(nodes.map((n) => n.id))
  const seen = new Set<string>()
  const edges: Array<Required<DynamicEdge>> = []
  value.forEach((edge: unknown, i) => {
    const at = `edges[${i}]`
    if (!isObject(edge)) return problem(at, "expected { from, to, id? }")
    const { from, to, id } = edge
    if (typeof from !== "string" || (from !== originStep && !ids.has(from))) problem(`${at}.from`, "expected the origin step or a node of this proposal")
    if (typeof to !== "string" || !ids.has(to)) problem(`${at}.to`, "expected a node of this proposal")
    if (id !== undefined && (typeof id !== "string" || !ID_RE.test(id))) problem(`${at}.id`, `expected an id matching ${ID_RE}`)
    if (typeof from !== "string" || typeof to !== "string") return
    const edgeId = typeof id === "string" ? id : `${from}->${to}`
    if (seen.has(edgeId)) return problem(`${at}.id`, `${JSON.stringify(edgeId)} appears twice`)
    seen.add(edgeId)
    edges.push({ id: edgeId, from, to })
  })
  if (edges.length !== value.length) return undefined
  const cycle = cycleOf(nodes, edges)
  if (cycle) problem("edges", `the edges between nodes make a cycle: ${cycle.join(" -> ")}`)
  const after = predecessorsOf({ nodes, edges })
  nodes.forEach((node, i) => {
    // A node that waits for others gets their results as `after`, beside its own input.
    if (!after.has(node.id) || node.input === undefined) return
    if (!isObject(node.input))
      problem(`nodes[${i}].input`, "a node with edges from other nodes takes an object input (or none): their results are added as `after`")
    else if ("after" in node.input) problem(`nodes[${i}].input.after`, "reserved: a node with edges from other nodes gets their results as `after`")
  })
  return cycle ? undefined : edges
}

/** A cycle among the nodes' edges (node ids, the first repeated at the end), if any. */
const cycleOf = (nodes: ReadonlyArray<DynamicNode>, edges: ReadonlyArray<Required<DynamicEdge>>): ReadonlyArray<string> | undefined => {
  const after = predecessorsOf({ nodes, edges })
  const state = new Map<string, "open" | "done">()
  const path: Array<string> = []
  const visit = (id: string): ReadonlyArray<string> | undefined => {
    if (state.get(id) === "done") return undefined
    if (state.get(id) === "open") return [...path.slice(path.indexOf(id)), id]
    state.set(id, "open")
    path.push(id)
    for (const from of after.get(id) ?? []) {
      const found = visit(from)
      if (found) return found
    }
    path.pop()
    state.set(id, "done")
    return undefined
  }
  for (const node of nodes) {
    const found = visit(node.id)
    if (found) return [...found].reverse()
  }
  return undefined
}
