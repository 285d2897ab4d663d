/**
 * Validating a spec, for editors and before a start: every problem at once, each at its JSON
 * path (`steps.charge.retry.maxAttempts`, `transitions[2].to`). The spec's shape is decoded
 * with its Effect Schema node by node (so a bad node does not hide the others), its triggers
 * are checked (cron expression, time zone, payload schema), its actions are resolved through
 * the registry when one is given (unknown keys, params the action refuses), and the graph the
 * nodes make is checked by `checkGraph` (reachability, cycles, dependencies, input keys).
 */
import { Either, Schema } from "effect"
import { InvalidDefinitionError } from "../../src/core/errors.js"
import { checkGraph } from "../graph/problems.js"
import type { GraphNode, GraphProblem, GraphSteps, Transition } from "../graph/model.js"
import { cron } from "../Trigger.js"
import { checkTimeZone } from "../validate.js"
import type { ActionRegistry } from "./Actions.js"
import { bindAction, builtinNode, checkParams, unboundNode, payloadFieldsOf, problemsOf } from "./resolve.js"
import { MAX_SPEC_BYTES, NODE_KINDS, SpecOutline, TransitionSpec, TriggerSpec, type NodeSpec, type WorkflowSpec } from "./schema.js"

/** One problem of a spec: where (a JSON path; `""` for the whole document) and what. */
export type SpecProblem = GraphProblem

/** What `validateSpec` found: the decoded spec, or every problem. */
export type SpecValidation =
  | { readonly ok: true; readonly spec: WorkflowSpec }
  | {
      readonly ok: false
      readonly problems: ReadonlyArray<SpecProblem>
      readonly unknownActions: ReadonlyArray<{ readonly at: string; readonly action: string }>
    }

/** Options of `validateSpec`. */
export interface ValidateSpecOptions {
  /** Resolve the spec's actions through this registry: unknown keys and refused params are problems. */
  readonly actions?: ActionRegistry
}

const PARSE = { errors: "all", onExcessProperty: "error", exact: true } as const

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/** The document as a value, and its size: a string is parsed, a value measured as JSON. */
const documentOf = (json: unknown): { readonly value: unknown } | { readonly problem: SpecProblem } => {
  let text: string | undefined
  try {
    text = typeof json === "string" ? json : JSON.stringify(json)
  } catch (error) {
    return { problem: { at: "", message: `not JSON: ${error instanceof Error ? error.message : String(error)}` } }
  }
  if (text === undefined) return { problem: { at: "", message: "expected a spec object" } }
  const bytes = Buffer.byteLength(text, "utf8")
  if (bytes > MAX_SPEC_BYTES) return { problem: { at: "", message: `the spec is ${bytes} bytes of JSON; at most ${MAX_SPEC_BYTES} are accepted` } }
  if (typeof json !== "string") return { value: json }
  try {
    return { value: JSON.parse(text) as unknown }
  } catch (error) {
    return { problem: { at: "", message: `not JSON: ${error instanceof Error ? error.message : String(error)}` } }
  }
}

/** A problem `at` a node whose message names a field (`retry.backoff.max: ...`), moved to that field's path. */
const located = (problem: SpecProblem): SpecProblem => {
  const m = /^([A-Za-z]+(?:\.[A-Za-z]+)*): ([\s\S]*)$/.exec(problem.message)
  return m && problem.at.startsWith("steps.") ? { at: `${problem.at}.${m[1]}`, message: m[2]! } : problem
}

/** A valid node of the same kind, standing in for a malformed one while the graph is checked. */
const standIn = (kind: string | undefined, raw: Record<string, unknown>): GraphNode => {
  const after = Array.isArray(raw.after) && raw.after.every((a) => typeof a === "string") && raw.after.length > 0 ? { after: raw.after as Array<string> } : {}
  const output = typeof raw.output === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(raw.output) ? { output: raw.output } : {}
  const rest = { ...after, ...output }
  if (kind === "approval") return { approval: true, ...rest }
  if (kind === "pause") return { pause: true, ...rest }
  if (kind === "sleep") return { sleep: "1 second", ...rest }
  if (kind === "log") return { log: "-", ...rest }
  return { run: () => undefined, ...rest }
}

/**
 * The triggers that decode (the outline reports those that do not), and their own problems: a
 * cron expression or time zone that does not parse, a payload schema that is not an object's.
 */
const checkTriggers = (raw: unknown): { readonly triggers: WorkflowSpec["triggers"]; readonly problems: Array<SpecProblem> } => {
  const problems: Array<SpecProblem> = []
  const triggers: Record<string, WorkflowSpec["triggers"][string]> = {}
  if (!isObject(raw)) return { triggers, problems }
  if (Object.keys(raw).length === 0) problems.push({ at: "triggers", message: 'expected at least one trigger, e.g. { "manual": { "type": "manual" } }' })
  for (const [name, value] of Object.entries(raw)) {
    const decoded = Schema.decodeUnknownEither(TriggerSpec, PARSE)(value)
    if (Either.isLeft(decoded)) continue
    const trigger = decoded.right
    triggers[name] = trigger
    const at = `triggers.${name}`
    const type = trigger.payload?.type
    if (trigger.payload !== undefined && type !== undefined && type !== "object")
      problems.push({ at: `${at}.payload.type`, message: 'a payload is an object: expected "object"' })
    if (trigger.type !== "cron") continue
    // The time zone and the expression are checked apart, so both are reported.
    const refused = (field: string, check: () => void) => {
      try {
        check()
      } catch (error) {
        if (!(error instanceof InvalidDefinitionError)) throw error
        problems.push({ at: `${at}.${field}`, message: error.reason })
      }
    }
    refused("timeZone", () => checkTimeZone("cron trigger", "timeZone", trigger.timeZone))
    refused("expression", () => cron(trigger.expression, { timeZone: "UTC" }))
  }
  return { triggers, problems }
}

/**
 * Validates a spec (a JSON string or a parsed value) without touching any store: returns the
 * decoded spec, or every problem with its JSON path. With `actions`, action keys must be
 * registered and params must satisfy each action's params Schema. A spec of more than 256 KiB
 * of JSON is refused whole.
 *
 * @example
 * const result = validateSpec(json, { actions })
 * if (!result.ok) for (const p of result.problems) editor.mark(p.at, p.message)
 */
export const validateSpec = (json: unknown, options: ValidateSpecOptions = {}): SpecValidation => {
  const document = documentOf(json)
  if ("problem" in document) return { ok: false, problems: [document.problem], unknownActions: [] }
  const raw = document.value
  const problems: Array<SpecProblem> = []
  const unknownActions: Array<{ at: string; action: string }> = []
  const outline = Schema.decodeUnknownEither(SpecOutline, PARSE)(raw)
  if (Either.isLeft(outline)) problems.push(...problemsOf("", outline.left))
  const rawSteps = isObject(raw) && isObject(raw.steps) ? raw.steps : {}
  const rawTransitions = isObject(raw) && Array.isArray(raw.transitions) ? (raw.transitions as ReadonlyArray<unknown>) : []

  const nodes: Record<string, NodeSpec> = {}
  const graphSteps: Record<string, GraphNode> = {}
  for (const [name, node] of Object.entries(rawSteps)) {
    const at = `steps.${name}`
    const record = isObject(node) ? node : {}
    const kinds = NODE_KINDS.filter(([key]) => key in record)
    if (!isObject(node) || kinds.length !== 1) {
      problems.push({
        at,
        message: !isObject(node)
          ? "expected a node object"
          : kinds.length === 0
            ? "expected one of `action`, `approval`, `pause`, `sleep` or `log`"
            : `declares ${kinds.map(([k]) => `\`${k}\``).join(" and ")}: a node is exactly one of them`,
      })
      graphSteps[name] = standIn(kinds[0]?.[0], record)
      continue
    }
    const decoded = Schema.decodeUnknownEither(kinds[0]![1] as Schema.Schema<NodeSpec, unknown, never>, PARSE)(node)
    if (Either.isLeft(decoded)) {
      problems.push(...problemsOf(at, decoded.left))
      graphSteps[name] = standIn(kinds[0]![0], record)
      // A malformed action node still names its action: an unknown key is reported too.
      // Its params are checked against its action all the same.
      const key = record.action
      const action = typeof key === "string" ? options.actions?.actions.get(key) : undefined
      if (options.actions && typeof key === "string" && !action) {
        problems.push({ at: `${at}.action`, message: `unknown action ${JSON.stringify(key)}: not in the action registry` })
        unknownActions.push({ at: `${at}.action`, action: key })
      }
      if (action) problems.push(...checkParams(name, action, record.params).problems)
      continue
    }
    const spec = decoded.right
    nodes[name] = spec
    if (!("action" in spec)) {
      graphSteps[name] = builtinNode(spec)
      continue
    }
    const bound = bindAction(name, spec, options.actions)
    if (bound._tag === "Bound") graphSteps[name] = bound.node
    else {
      problems.push(...bound.problems)
      if (bound.problems.some((p) => p.at === `${at}.action`)) unknownActions.push({ at: `${at}.action`, action: spec.action })
      graphSteps[name] = unboundNode(name, spec)
    }
  }

  const transitions: Array<Transition> = []
  rawTransitions.forEach((t, i) => {
    const decoded = Schema.decodeUnknownEither(TransitionSpec, PARSE)(t)
    if (Either.isLeft(decoded)) problems.push(...problemsOf(`transitions[${i}]`, decoded.left))
    else transitions.push(decoded.right)
  })
  const triggers = checkTriggers(isObject(raw) ? raw.triggers : undefined)
  problems.push(...triggers.problems)

  // The graph is checked when its edges all decoded (a dropped transition would make false problems).
  if (transitions.length === rawTransitions.length && Object.keys(rawSteps).length > 0) {
    const fields = Object.keys(triggers.triggers).length > 0 ? payloadFieldsOf(triggers.triggers) : undefined
    const reported = problems.map((p) => p.at)
    for (const problem of checkGraph(graphSteps as GraphSteps, transitions, fields).problems.map(located)) {
      if (!reported.some((at) => at !== "" && (problem.at === at || problem.at.startsWith(`${at}.`) || problem.at.startsWith(`${at}[`)))) problems.push(problem)
    }
  } else if (Object.keys(rawSteps).length === 0 && isObject(raw) && isObject(raw.steps)) {
    problems.push({ at: "steps", message: "expected at least one node" })
  }
  if (problems.length > 0 || Either.isLeft(outline)) return { ok: false, problems, unknownActions }
  const { transitions: _t, steps: _s, ...head } = outline.right
  return { ok: true, spec: { ...head, steps: nodes, ...(rawTransitions.length > 0 || "transitions" in outline.right ? { transitions } : {}) } }
}
