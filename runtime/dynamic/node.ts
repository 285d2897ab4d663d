/**
 * A scheduled dynamic node as an attempt: its journaled action key resolved through the
 * engine's action registry, its params decoded by the action's Schema, its retries from the
 * node (else the action), and its action's `run` called with the node's input.
 */
import { Effect } from "effect"
import type { RetryPolicy } from "../../dsl/Retry.js"
import { fatal, make as makeStep } from "../../dsl/Step.js"
import { checkParams } from "../../dsl/spec/resolve.js"
import type { DynamicNodeInput } from "../../src/core/dynamicWork.js"
import type { Entry } from "../../src/core/model.js"
import type { EngineContext } from "../context.js"
import type { Runnable } from "../runnable.js"

/** A node's runnable, or why this engine cannot run it (its registry lacks the action). */
export type DynamicNode = { readonly _tag: "Runnable"; readonly runnable: Runnable } | { readonly _tag: "Unknown"; readonly reason: string }

/**
 * What a node's action gets as input: the node's own, plus, for a node that waited for others,
 * their results as `after` (by node id), read from `entryAt` (the run's interpreter).
 */
const inputOf = (input: DynamicNodeInput, entryAt: (seq: number) => Entry | undefined): unknown => {
  if (!input.after) return input.input ?? {}
  const after: Record<string, unknown> = {}
  for (const { node, seq } of input.after) after[node] = entryAt(seq)?.output ?? null
  return { ...((input.input ?? {}) as Record<string, unknown>), after }
}

/** The runnable of a pending `dynamic` entry. Stub it in tests as `dynamic:<node id>`. */
export const dynamicNodeOf = (ctx: EngineContext, entry: Entry, entryAt: (seq: number) => Entry | undefined): DynamicNode => {
  const input = (entry.input ?? {}) as unknown as DynamicNodeInput
  const action = ctx.specs.actions.actions.get(input.action)
  if (!action) return { _tag: "Unknown", reason: `action ${JSON.stringify(input.action)} is not in this engine's action registry` }
  const params = checkParams(entry.name, action, input.params)
  const retry: RetryPolicy | undefined = input.retry ? { ...action.retry, maxAttempts: input.retry.maxAttempts } : (action.retry ?? { maxAttempts: 1 })
  const stub = ctx.stubs.get(`dynamic:${entry.name}`)
  const refused = params.problems.map((p) => p.message).join("; ")
  return {
    _tag: "Runnable",
    runnable: {
      name: entry.name,
      def: makeStep(entry.name, { run: () => undefined, ...(action.timeout !== undefined ? { timeout: action.timeout } : {}) }),
      body:
        stub ??
        (params.problems.length > 0
          ? () => Effect.fail(fatal("invalid_params", `action ${JSON.stringify(input.action)} refuses the node's params: ${refused}`))
          : (nodeInput, stepCtx) => action.run(nodeInput, params.params, stepCtx)),
      retry,
      transaction: false,
      output: undefined,
      inputOf: () => inputOf(input, entryAt),
      proposes: false,
    },
  }
}
