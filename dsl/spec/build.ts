/**
 * A validated spec as the graph workflow that runs it: its triggers (payloads checked against
 * the spec's JSON Schemas), its nodes bound to the registry's actions, compiled by
 * `Workflow.graph` (one built-in generator, not a second engine). Its workflow name is
 * `spec:<name>` and its definition hash is the spec's fingerprint: the hash of the spec's JSON
 * text, which is what a run stores and what finds the spec again.
 */
import { Schema } from "effect"
import { sha256Hex } from "../../src/core/ids.js"
import type { Json } from "../../src/core/json.js"
import { validateJson, type JsonSchema } from "../../src/core/jsonSchema.js"
import type { GraphContext, GraphDefinition, GraphNode } from "../graph/model.js"
import { cron, manual, type Trigger } from "../Trigger.js"
import { graph, type WorkflowDef } from "../Workflow.js"
import type { ActionRegistry } from "./Actions.js"
import { bindAction, builtinNode, unboundNode } from "./resolve.js"
import { checkGraph } from "../graph/problems.js"
import { SPEC_PREFIX, type WorkflowSpec } from "./schema.js"
import { validateSpec, type SpecProblem } from "./validate.js"

/** The workflow a spec runs as. */
export type SpecWorkflow = WorkflowDef<Record<string, Trigger>, GraphContext> & { readonly graph: NonNullable<WorkflowDef<any, any>["graph"]> }

/** The JSON text a spec is stored as (its key order kept: the order of its nodes is part of it). */
export const specText = (spec: WorkflowSpec): string => JSON.stringify(spec)

/** The fingerprint of a spec's stored text. */
export const specFingerprint = (text: string): string => sha256Hex(`squid-mesh/spec\n${text}`)

/** The workflow name of a spec's runs. */
export const specWorkflowName = (spec: Pick<WorkflowSpec, "name">): string => `${SPEC_PREFIX}${spec.name}`

/** `$.a.b[2]` (the JSON Schema validator's paths) as Schema issue path keys. */
const pathKeys = (path: string): Array<PropertyKey> =>
  [...path.replace(/^\$/, "").matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!))

/** A payload Schema that accepts the objects `document` (a JSON Schema) describes, reporting each issue at its field. */
const payloadSchema = (document: JsonSchema | undefined) =>
  Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
    Schema.filter((value) => {
      if (document === undefined) return true
      const issues = validateJson(value as Json, document)
      return issues.length === 0 ? true : issues.map((issue) => ({ path: pathKeys(issue.path), message: issue.message }))
    }),
  )

const triggersOf = (spec: WorkflowSpec): Record<string, Trigger> =>
  Object.fromEntries(
    Object.entries(spec.triggers).map(([name, t]) => {
      const payload = payloadSchema(t.payload as JsonSchema | undefined)
      return [name, t.type === "manual" ? manual({ payload }) : cron(t.expression, { timeZone: t.timeZone, payload })]
    }),
  )

/** The static graph of a valid spec (its nodes and transitions or phases), without its actions: what an editor draws. */
export const graphOfSpec = (spec: WorkflowSpec): GraphDefinition | undefined => {
  const steps: Record<string, GraphNode> = {}
  for (const [name, node] of Object.entries(spec.steps)) steps[name] = "action" in node ? unboundNode(name, node) : builtinNode(node)
  return checkGraph(steps, spec.transitions ?? []).definition
}

/** What building found: the workflow, or the problems the spec has against this registry. */
export type BuiltSpec = { readonly ok: true; readonly workflow: SpecWorkflow } | { readonly ok: false; readonly problems: ReadonlyArray<SpecProblem> }

/**
 * Builds the workflow of a spec against a registry (validating it first: a stored spec may no
 * longer fit a registry that changed). `fingerprint` is the stored spec's.
 */
export const buildSpec = (spec: unknown, actions: ActionRegistry, fingerprint: string): BuiltSpec => {
  const checked = validateSpec(spec, { actions })
  if (!checked.ok) return { ok: false, problems: checked.problems }
  const valid = checked.spec
  const steps: Record<string, GraphNode> = {}
  for (const [name, node] of Object.entries(valid.steps)) {
    if (!("action" in node)) {
      steps[name] = builtinNode(node)
      continue
    }
    const bound = bindAction(name, node, actions)
    if (bound._tag === "Unbound") return { ok: false, problems: bound.problems }
    steps[name] = bound.node
  }
  const workflow = graph({
    name: specWorkflowName(valid),
    triggers: triggersOf(valid),
    ...(valid.queue !== undefined ? { queue: valid.queue } : {}),
    steps,
    ...(valid.transitions !== undefined ? { transitions: valid.transitions } : {}),
  })
  return { ok: true, workflow: { ...workflow, definitionHash: fingerprint } }
}
