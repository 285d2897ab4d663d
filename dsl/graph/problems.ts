/**
 * Checking a graph workflow: every problem at once, each with where it is (`steps.charge.after[0]`,
 * `transitions[2].to`), so `Workflow.graph` can refuse the definition with all of them and an
 * editor can show them beside the fields. A graph without problems gets its static form
 * (`GraphDefinition`): its mode, its entry or its phases.
 */
import { InvalidDefinitionError } from "../../src/core/errors.js"
import { checkDeadline, checkDuration, checkRetry } from "../validate.js"
import {
  COMPLETE,
  type DefinedNode,
  type GraphDefinition,
  type GraphNode,
  type GraphProblem,
  type GraphSteps,
  type NodeKind,
  type Transition,
} from "./model.js"

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const LEVELS = ["debug", "info", "warning", "error"]
const KINDS: ReadonlyArray<readonly [NodeKind, string]> = [
  ["step", "run"],
  ["approval", "approval"],
  ["pause", "pause"],
  ["sleep", "sleep"],
  ["log", "log"],
]
/** Options only a step node may declare. */
const STEP_ONLY = ["input", "retry", "timeout", "deadline", "compensate", "irreversible", "transaction"] as const

/** What checking found: the problems, and the static graph when there are none. */
export type Checked = { readonly problems: ReadonlyArray<GraphProblem>; readonly definition?: GraphDefinition }

/**
 * Checks a graph. `payloadFields` are the fields the triggers' payloads surely have (when their
 * schemas say): an input key that neither they nor an earlier node's `output` provides is a
 * problem. Unknown (a payload that is not a struct, an earlier step merging its result in) is not.
 */
export const checkGraph = (steps: GraphSteps, transitions: ReadonlyArray<Transition>, payloadFields?: ReadonlySet<string>): Checked => {
  const problems: Array<GraphProblem> = []
  const add = (at: string, message: string) => problems.push({ at, message })
  if (typeof steps !== "object" || steps === null || Array.isArray(steps)) {
    add("steps", "expected an object of nodes by name")
    return { problems }
  }
  if (!Array.isArray(transitions)) add("transitions", "expected an array of transitions")
  const names = Object.keys(steps)
  if (names.length === 0) add("steps", "expected at least one node")
  const nodes: Array<DefinedNode> = []
  for (const name of names) {
    const node = checkNode(name, steps[name]!, names, add)
    if (node) nodes.push(node)
  }
  const list = Array.isArray(transitions) ? transitions : []
  const dependencies = nodes.some((n) => n.after.length > 0)
  if (dependencies) {
    list.forEach((_, i) => add(`transitions[${i}]`, "a workflow whose nodes declare `after` runs by dependencies: it cannot also declare transitions"))
    for (const n of nodes)
      if (n.kind === "approval" || n.kind === "pause") add(`steps.${n.name}`, `a ${n.kind} cannot run in a dependency workflow (nodes with \`after\`)`)
    // Self and unknown dependencies are reported above; the cycle search follows only the others.
    const deps = (name: string) => (nodes.find((n) => n.name === name)?.after ?? []).filter((d) => d !== name && names.includes(d))
    const cycle = findCycle(
      nodes.map((n) => n.name),
      deps,
    )
    if (cycle) add(`steps.${cycle[0]}.after`, `dependency cycle: ${cycle.join(" → ")}`)
  } else {
    list.forEach((t, i) => checkTransition(t, i, steps, list, add))
  }
  if (problems.length > 0) return { problems }
  const definition = dependencies ? dependencyDefinition(nodes) : transitionDefinition(nodes, list, add)
  if (problems.length === 0) checkInputs(definition, steps, payloadFields, add)
  return problems.length > 0 ? { problems } : { problems, definition }
}

/** The kind a node declares, or the problem with it. */
const kindOf = (node: GraphNode): NodeKind | string => {
  const declared = KINDS.filter(([, key]) => key in node)
  if (declared.length === 1) return declared[0]![0]
  return declared.length === 0
    ? "expected one of `run` (a step), `approval`, `pause`, `sleep` or `log`"
    : `declares ${declared.map(([, key]) => `\`${key}\``).join(" and ")}: a node is exactly one of them`
}

/** Runs a definition check that throws, as a problem. */
const attempt = (add: (at: string, message: string) => void, at: string, check: () => void) => {
  try {
    check()
  } catch (error) {
    add(at, error instanceof InvalidDefinitionError ? `${error.field}: ${error.reason}` : String(error))
  }
}

const checkNode = (name: string, node: GraphNode, names: ReadonlyArray<string>, add: (at: string, message: string) => void): DefinedNode | undefined => {
  const at = `steps.${name}`
  if (!NAME_RE.test(name) || name === COMPLETE) add(at, `the name must match ${NAME_RE} and not be "${COMPLETE}"`)
  if (typeof node !== "object" || node === null) {
    add(at, "expected a node object")
    return undefined
  }
  const kind = kindOf(node)
  if (!KINDS.some(([k]) => k === kind)) {
    add(at, kind)
    return undefined
  }
  const n = node as unknown as Partial<Record<string, unknown>>
  if (kind !== "step")
    for (const option of STEP_ONLY) if (n[option] !== undefined) add(`${at}.${option}`, `only a step (a node with \`run\`) takes \`${option}\``)
  switch (kind as NodeKind) {
    case "step": {
      if (typeof n.run !== "function") add(`${at}.run`, "expected a function")
      if (n.retry !== undefined) attempt(add, at, () => checkRetry(`step "${name}"`, n.retry as never))
      if (n.timeout !== undefined) attempt(add, at, () => checkDuration(`step "${name}"`, "timeout", n.timeout, { positive: true }))
      if (n.deadline !== undefined) attempt(add, at, () => checkDeadline(`step "${name}"`, "deadline", n.deadline as never))
      if (n.compensate !== undefined && typeof n.compensate !== "function") add(`${at}.compensate`, "expected a function")
      if (n.irreversible !== undefined && typeof n.irreversible !== "boolean") add(`${at}.irreversible`, "expected a boolean")
      if (n.transaction !== undefined && typeof n.transaction !== "boolean") add(`${at}.transaction`, "expected a boolean")
      if (n.irreversible === true && n.compensate !== undefined) add(`${at}.compensate`, "an irreversible step cannot be compensated")
      if (n.input !== undefined) checkInput(`${at}.input`, n.input, add)
      break
    }
    case "approval": {
      const a = n.approval
      if (a !== true && (typeof a !== "object" || a === null)) add(`${at}.approval`, "expected true or { deadline?, onDeadline? }")
      else if (typeof a === "object") {
        const { deadline, onDeadline } = a as { deadline?: unknown; onDeadline?: unknown }
        if (deadline !== undefined) {
          const policy = typeof deadline === "object" && deadline !== null && "within" in deadline ? deadline : { within: deadline }
          attempt(add, `${at}.approval`, () => checkDeadline(`approval "${name}"`, "deadline", policy as never))
        }
        if (onDeadline !== undefined && !["reject", "fail", "none"].includes(onDeadline as string))
          add(`${at}.approval.onDeadline`, 'expected "reject", "fail" or "none"')
      }
      break
    }
    case "pause":
      if (n.pause !== true) add(`${at}.pause`, "expected true")
      break
    case "sleep":
      attempt(add, at, () => checkDuration(`sleep "${name}"`, "sleep", n.sleep, { positive: true }))
      break
    case "log":
      if (typeof n.log !== "string" || n.log.length === 0) add(`${at}.log`, "expected a non-empty message")
      if (n.level !== undefined && !LEVELS.includes(n.level as string)) add(`${at}.level`, `expected one of ${LEVELS.join(", ")}`)
      break
  }
  if (n.output !== undefined && (typeof n.output !== "string" || !KEY_RE.test(n.output))) add(`${at}.output`, `expected a context key matching ${KEY_RE}`)
  const after = n.after
  if (after !== undefined) {
    if (!Array.isArray(after) || after.length === 0) add(`${at}.after`, "expected a non-empty array of node names")
    else
      after.forEach((dep, i) => {
        if (dep === name) add(`${at}.after[${i}]`, "a node cannot depend on itself")
        else if (typeof dep !== "string" || !names.includes(dep)) add(`${at}.after[${i}]`, `unknown node ${JSON.stringify(dep)}`)
      })
  }
  return {
    name,
    kind: kind as NodeKind,
    after: Array.isArray(after) ? (after as ReadonlyArray<string>) : [],
    ...(typeof n.output === "string" ? { output: n.output } : {}),
    ...(n.input !== undefined ? { input: n.input as NonNullable<DefinedNode["input"]> } : {}),
    ...(kind === "log" && typeof n.log === "string" ? { message: n.log } : {}),
  }
}

const isPath = (path: unknown): path is ReadonlyArray<string> =>
  Array.isArray(path) && path.length > 0 && path.every((p) => typeof p === "string" && p.length > 0)

const checkInput = (at: string, input: unknown, add: (at: string, message: string) => void) => {
  if (Array.isArray(input)) {
    if (input.length === 0 || !input.every((k) => typeof k === "string" && k.length > 0)) add(at, "expected a non-empty array of context keys")
  } else if (typeof input === "object" && input !== null) {
    const entries = Object.entries(input)
    if (entries.length === 0) add(at, "expected at least one target")
    for (const [target, path] of entries) if (!isPath(path)) add(`${at}.${target}`, "expected a non-empty path of keys")
  } else add(at, "expected an array of keys, or { target: path }")
}

const checkCondition = (at: string, when: unknown, add: (at: string, message: string) => void) => {
  if (typeof when !== "object" || when === null) return add(at, "expected { path, equals | greaterThan | lessThan }")
  const c = when as Partial<Record<string, unknown>>
  if (!isPath(c.path)) add(`${at}.path`, "expected a non-empty path of keys")
  const operators = ["equals", "greaterThan", "lessThan"].filter((k) => k in c)
  if (operators.length !== 1) return add(at, "expected exactly one of equals, greaterThan, lessThan")
  if (operators[0] !== "equals" && typeof c[operators[0]!] !== "number") add(`${at}.${operators[0]}`, "expected a number")
}

const checkTransition = (t: Transition, i: number, steps: GraphSteps, all: ReadonlyArray<Transition>, add: (at: string, message: string) => void) => {
  const at = `transitions[${i}]`
  if (typeof t !== "object" || t === null) return add(at, "expected { from, on, to, when?, recovery? }")
  const from = steps[t.from]
  if (typeof t.from !== "string" || !from) add(`${at}.from`, `unknown node ${JSON.stringify(t.from)}`)
  if (t.on !== "ok" && t.on !== "error") add(`${at}.on`, 'expected "ok" or "error"')
  if (typeof t.to !== "string" || (t.to !== COMPLETE && !steps[t.to])) add(`${at}.to`, `unknown node ${JSON.stringify(t.to)} (or "${COMPLETE}")`)
  if (t.recovery !== undefined && t.recovery !== "undo") add(`${at}.recovery`, 'expected "undo"')
  if (t.recovery !== undefined && t.on !== "error") add(`${at}.recovery`, "only an error transition can undo")
  if (t.when !== undefined) {
    checkCondition(`${at}.when`, t.when, add)
    if (from && ("approval" in from || "pause" in from)) add(`${at}.when`, "a transition from an approval or a pause cannot have a condition")
  }
  const same = all.findIndex((o) => o.from === t.from && o.on === t.on && JSON.stringify(o.when ?? null) === JSON.stringify(t.when ?? null))
  if (same !== i) add(at, `duplicate of transitions[${same}]: the same node, outcome and condition`)
}

/** A cycle through `next`, as the names along it (first repeated at the end), if any. */
const findCycle = (names: ReadonlyArray<string>, next: (name: string) => ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  const state = new Map<string, "open" | "done">()
  const stack: Array<string> = []
  const visit = (name: string): ReadonlyArray<string> | undefined => {
    if (state.get(name) === "done") return undefined
    if (state.get(name) === "open") return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, "open")
    stack.push(name)
    for (const n of next(name)) {
      const cycle = visit(n)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(name, "done")
    return undefined
  }
  for (const name of names) {
    const cycle = visit(name)
    if (cycle) return cycle
  }
  return undefined
}

const dependencyDefinition = (nodes: ReadonlyArray<DefinedNode>): GraphDefinition => {
  const phase = new Map<string, number>()
  const phaseOf = (node: DefinedNode): number => {
    const known = phase.get(node.name)
    if (known !== undefined) return known
    const p = node.after.length === 0 ? 0 : 1 + Math.max(...node.after.map((d) => phaseOf(nodes.find((n) => n.name === d)!)))
    phase.set(node.name, p)
    return p
  }
  const phases: Array<Array<string>> = []
  for (const node of nodes) (phases[phaseOf(node)] ??= []).push(node.name)
  return { mode: "dependencies", nodes, transitions: [], phases }
}

const transitionDefinition = (
  nodes: ReadonlyArray<DefinedNode>,
  transitions: ReadonlyArray<Transition>,
  add: (at: string, message: string) => void,
): GraphDefinition => {
  const targets = new Set(transitions.map((t) => t.to))
  const entries = nodes.filter((n) => !targets.has(n.name))
  if (entries.length !== 1) {
    add(
      "transitions",
      entries.length === 0
        ? "expected exactly one entry node (one no transition leads to); every node is a transition target"
        : `expected exactly one entry node (one no transition leads to); found ${entries.map((n) => n.name).join(", ")}`,
    )
    return { mode: "transitions", nodes, transitions, phases: [] }
  }
  const entry = entries[0]!.name
  const next = (name: string) => transitions.filter((t) => t.from === name && t.to !== COMPLETE).map((t) => t.to)
  const reached = new Set<string>()
  const walk = (name: string) => {
    if (reached.has(name)) return
    reached.add(name)
    for (const n of next(name)) walk(n)
  }
  walk(entry)
  for (const n of nodes) if (!reached.has(n.name)) add(`steps.${n.name}`, `unreachable from the entry node "${entry}"`)
  const cycle = findCycle([entry], next)
  if (cycle) add("transitions", `transition cycle: ${cycle.join(" → ")}`)
  for (const n of nodes) {
    const outcomes = new Set(transitions.filter((t) => t.from === n.name).map((t) => t.on))
    if (!outcomes.has("ok")) add(`steps.${n.name}`, `has no "ok" transition: route it to another node or to "${COMPLETE}"`)
    if (n.kind === "approval" && !outcomes.has("error")) add(`steps.${n.name}`, 'an approval needs an "error" transition too (where a rejection goes)')
  }
  return { mode: "transitions", nodes, transitions, entry, phases: [] }
}

/** Context keys a node surely adds (its output key, or a gate's decision fields), or undefined when unknowable. */
const keysAdded = (node: DefinedNode): ReadonlyArray<string> | undefined => {
  if (node.output !== undefined) return [node.output]
  if (node.kind === "approval") return ["approved", "actor", "note", "at", "automatic"]
  if (node.kind === "pause") return ["actor", "reason", "at"]
  if (node.kind === "step") return undefined
  return []
}

/** Every input key (or first path segment) must come from the payload or an earlier node, when that can be known. */
const checkInputs = (
  definition: GraphDefinition,
  steps: GraphSteps,
  payloadFields: ReadonlySet<string> | undefined,
  add: (at: string, message: string) => void,
) => {
  if (!payloadFields) return
  const byName = new Map(definition.nodes.map((n) => [n.name, n]))
  const before = (name: string): ReadonlyArray<string> =>
    definition.mode === "dependencies" ? byName.get(name)!.after : definition.transitions.filter((t) => t.to === name).map((t) => t.from)
  for (const node of definition.nodes) {
    const input = (steps[node.name] as { input?: DefinedNode["input"] }).input
    if (input === undefined) continue
    const provided = new Set(payloadFields)
    let knowable = true
    const seen = new Set<string>()
    const collect = (name: string) => {
      for (const prior of before(name)) {
        if (seen.has(prior)) continue
        seen.add(prior)
        const keys = keysAdded(byName.get(prior)!)
        if (keys === undefined) knowable = false
        else for (const k of keys) provided.add(k)
        collect(prior)
      }
    }
    collect(node.name)
    if (!knowable) continue
    const wanted: Array<readonly [string, string]> = Array.isArray(input)
      ? input.map((key, i) => [`steps.${node.name}.input[${i}]`, key] as const)
      : Object.entries(input).map(([target, path]) => [`steps.${node.name}.input.${target}`, path[0]!] as const)
    for (const [at, key] of wanted) if (!provided.has(key)) add(at, `"${key}" is neither a payload field nor the output of an earlier node`)
  }
}
