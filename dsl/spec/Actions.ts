/**
 * The action registry: the host's allowlist of what a runtime-authored spec may run. A spec
 * names an action by its key (`"payments.charge"`) and gives it JSON params; the registry maps
 * the key to code, and to a Schema its params must satisfy. A key that is not registered is a
 * problem of the spec, found before any run is written. Workers resolve stored specs through
 * their own registry, so the registry is also what a deploy must keep compatible.
 */
import type { Duration, Schema } from "effect"
import type { RetryPolicy } from "../Retry.js"
import type { StepContext, StepResult } from "../StepOptions.js"
import { checkDuration, checkRetry, checkSchema, refuse } from "../validate.js"

/**
 * One registered action. `run` gets the node's input (the context, or what its `input` mapping
 * selects), the node's params (decoded by `params` when given) and the step context.
 */
export interface ActionDef<P = any> {
  readonly run: (input: any, params: P, ctx: StepContext) => StepResult<unknown>
  /** Validates (and decodes) the params a spec gives this action; without it, params are any JSON. */
  readonly params?: Schema.Schema<P, any, never>
  /** The retries of nodes running this action, unless a node declares its own. */
  readonly retry?: RetryPolicy
  /** The attempt timeout of nodes running this action, unless a node declares its own. */
  readonly timeout?: Duration.DurationInput
  /** Undo, run by the saga: gets the node's input, its journaled result and its params. */
  readonly compensate?: (input: any, output: any, params: P, ctx: StepContext) => StepResult<unknown>
  /** The action's effect cannot be undone or safely repeated by a rerun. */
  readonly irreversible?: boolean
  /** Shown to spec authors (editors list the registry). */
  readonly description?: string
}

/** A host's action registry, made by `Actions.make`. */
export interface ActionRegistry {
  readonly _tag: "ActionRegistry"
  readonly actions: ReadonlyMap<string, ActionDef>
}

const KEY_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/

/**
 * Makes an action registry. A malformed entry (a bad key, no `run`, a params value that is not
 * an Effect Schema, a bad retry or timeout, an irreversible action with a compensation) throws
 * an `InvalidDefinitionError` here.
 *
 * @example
 * const actions = Actions.make({
 *   "payments.charge": {
 *     params: Schema.Struct({ currency: Schema.String }),
 *     run: (input: { orderId: string }, params) => psp.charge(input.orderId, params.currency),
 *     retry: { maxAttempts: 5, backoff: { type: "exponential", min: "1 second", max: "1 minute" } },
 *     compensate: (_input, output: { chargeId: string }) => psp.refund(output.chargeId),
 *   },
 * })
 */
export const make = (actions: { readonly [key: string]: ActionDef }): ActionRegistry => {
  if (typeof actions !== "object" || actions === null || Array.isArray(actions))
    refuse("action registry", "actions", actions, "expected { [key]: { run, ... } }")
  const map = new Map<string, ActionDef>()
  for (const [key, def] of Object.entries(actions)) {
    const definition = `action "${key}"`
    if (!KEY_RE.test(key)) refuse("action registry", key, key, `an action key must match ${KEY_RE}`)
    if (typeof def !== "object" || def === null)
      refuse(definition, "definition", def, "expected { run, params?, retry?, timeout?, compensate?, irreversible? }")
    if (typeof def.run !== "function") refuse(definition, "run", def.run, "expected a function (input, params, ctx) => result")
    if (def.params !== undefined) checkSchema(definition, "params", def.params)
    if (def.retry !== undefined) checkRetry(definition, def.retry)
    if (def.timeout !== undefined) checkDuration(definition, "timeout", def.timeout, { positive: true })
    if (def.compensate !== undefined && typeof def.compensate !== "function") refuse(definition, "compensate", def.compensate, "expected a function")
    if (def.irreversible !== undefined && typeof def.irreversible !== "boolean") refuse(definition, "irreversible", def.irreversible, "expected a boolean")
    if (def.irreversible === true && def.compensate !== undefined)
      refuse(definition, "compensate", "(function)", "an irreversible action cannot be compensated")
    map.set(key, def)
  }
  return { _tag: "ActionRegistry", actions: map }
}

/** An empty registry: every action key is unknown. */
export const empty: ActionRegistry = { _tag: "ActionRegistry", actions: new Map() }
