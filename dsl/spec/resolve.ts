/**
 * Resolving a spec's nodes into the nodes of `Workflow.graph`: an action node becomes a step
 * whose body is the registered action called with the node's params (decoded by the action's
 * params Schema), with the action's retry, timeout, compensation and irreversibility unless the
 * node says otherwise. Approvals, pauses, sleeps and logs have the same shape in both forms.
 */
import { Either, ParseResult, Schema } from "effect"
import type { GraphNode, GraphProblem, StepNode } from "../graph/model.js"
import type { ActionDef, ActionRegistry } from "./Actions.js"
import type { ActionNodeSpec, NodeSpec, WorkflowSpec } from "./schema.js"

/** A JSON path: `prefix` then each key (`.key`) or index (`[i]`). */
export const joinPath = (prefix: string, path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((at, key) => (typeof key === "number" ? `${at}[${key}]` : at === "" ? String(key) : `${at}.${String(key)}`), prefix)

/**
 * Every issue of a parse error, as problems under `prefix`. The members of a union of literals
 * refused at one path make one problem (`Expected "a" | "b", actual "c"`).
 */
export const problemsOf = (prefix: string, error: ParseResult.ParseError): Array<GraphProblem> => {
  const problems: Array<GraphProblem> = []
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const at = joinPath(prefix, issue.path)
    const last = problems[problems.length - 1]
    const a = last?.at === at ? /^Expected (.*), actual (.*)$/s.exec(last.message) : null
    const b = /^Expected (.*), actual (.*)$/s.exec(issue.message)
    if (last && a && b && a[2] === b[2]) problems[problems.length - 1] = { at, message: `Expected ${a[1]} | ${b[1]}, actual ${b[2]}` }
    else if (!(last?.at === at && last.message === issue.message)) problems.push({ at, message: issue.message })
  }
  return problems
}

/** The problems of a node's params against its action's params Schema (none without one), and the decoded params. */
export const checkParams = (name: string, action: ActionDef, params: unknown): { readonly problems: ReadonlyArray<GraphProblem>; readonly params: unknown } => {
  if (action.params === undefined) return { problems: [], params }
  const decoded = Schema.decodeUnknownEither(action.params, { errors: "all", onExcessProperty: "error" })(params)
  return Either.isLeft(decoded) ? { problems: problemsOf(`steps.${name}.params`, decoded.left), params } : { problems: [], params: decoded.right }
}

/** A step body for checking a graph without its actions (never run). */
const unbound = (): never => {
  throw new Error("a spec validated without an action registry cannot run")
}

/** The node keys of `Workflow.graph` a spec node shares, as they are. */
const shared = (node: NodeSpec) => ({
  ...(node.output !== undefined ? { output: node.output } : {}),
  ...(node.after !== undefined ? { after: node.after } : {}),
})

/** An action node bound to its action: the step the graph runs, or the problems of binding it. */
export type Bound = { readonly _tag: "Bound"; readonly node: StepNode } | { readonly _tag: "Unbound"; readonly problems: ReadonlyArray<GraphProblem> }

/**
 * Binds an action node (at `steps.<name>`) to the registry: an unknown key, params the action's
 * Schema refuses, or an irreversible node whose action compensates are problems. Without a
 * registry the node gets a body that is never run (for checking the graph alone).
 */
export const bindAction = (name: string, node: ActionNodeSpec, registry: ActionRegistry | undefined): Bound => {
  const at = `steps.${name}`
  const base = {
    ...shared(node),
    ...(node.input !== undefined ? { input: node.input } : {}),
    ...(node.deadline !== undefined ? { deadline: typeof node.deadline === "string" ? { within: node.deadline } : node.deadline } : {}),
  }
  if (!registry) {
    return {
      _tag: "Bound",
      node: {
        ...base,
        run: unbound,
        ...(node.retry !== undefined ? { retry: node.retry } : {}),
        ...(node.timeout !== undefined ? { timeout: node.timeout } : {}),
        ...(node.irreversible !== undefined ? { irreversible: node.irreversible } : {}),
      },
    }
  }
  const action: ActionDef | undefined = registry.actions.get(node.action)
  if (!action)
    return { _tag: "Unbound", problems: [{ at: `${at}.action`, message: `unknown action ${JSON.stringify(node.action)}: not in the action registry` }] }
  const checked = checkParams(name, action, node.params)
  const problems: Array<GraphProblem> = [...checked.problems]
  const params = checked.params
  const irreversible = node.irreversible ?? action.irreversible
  if (node.irreversible === true && action.compensate !== undefined)
    problems.push({ at: `${at}.irreversible`, message: `action "${node.action}" has a compensation: an irreversible step cannot be compensated` })
  if (problems.length > 0) return { _tag: "Unbound", problems }
  const run = action.run
  const compensate = action.compensate
  const retry = node.retry ?? action.retry
  const timeout = node.timeout ?? action.timeout
  return {
    _tag: "Bound",
    node: {
      ...base,
      run: (input, ctx) => run(input, params, ctx),
      ...(compensate !== undefined ? { compensate: (input: unknown, output: unknown, ctx) => compensate(input, output, params, ctx) } : {}),
      ...(retry !== undefined ? { retry } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
      ...(irreversible !== undefined ? { irreversible } : {}),
    },
  }
}

/** An action node with a body that is never run: the graph is checked without its actions. */
export const unboundNode = (name: string, node: ActionNodeSpec): StepNode => {
  const bound = bindAction(name, node, undefined)
  return bound._tag === "Bound" ? bound.node : { run: unbound }
}

/** A gate, pause, sleep or log node as the graph node it already is. */
export const builtinNode = (node: Exclude<NodeSpec, ActionNodeSpec>): GraphNode => {
  if ("approval" in node) return { approval: node.approval, ...shared(node) }
  if ("pause" in node) return { pause: true, ...shared(node) }
  if ("sleep" in node) return { sleep: node.sleep, ...shared(node) }
  return { log: node.log, ...(node.level !== undefined ? { level: node.level } : {}), ...shared(node) }
}

/**
 * The payload fields the spec's triggers surely declare (their JSON Schemas' `properties`), or
 * undefined when a trigger's payload is not described property by property.
 */
export const payloadFieldsOf = (triggers: WorkflowSpec["triggers"]): ReadonlySet<string> | undefined => {
  const fields = new Set<string>()
  for (const trigger of Object.values(triggers)) {
    const properties = trigger.payload?.properties
    if (trigger.payload === undefined) {
      if (trigger.type === "cron") continue
      return undefined
    }
    if (typeof properties !== "object" || properties === null || Array.isArray(properties)) return undefined
    for (const key of Object.keys(properties)) fields.add(key)
  }
  return fields
}
