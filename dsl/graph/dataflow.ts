/**
 * How data moves through a graph run: the context starts as the payload; a node's input is
 * the context or what its `input` mapping selects; its result is kept under its `output` key,
 * or merged in key by key when it is an object; transitions test conditions on the context.
 * Pure functions of journaled values, so a replay takes the same path.
 */
import type { Json } from "../../src/core/json.js"
import type { Condition, GraphContext, InputMapping, Transition } from "./model.js"

/** A node's input, or the first key or path its mapping misses. */
export type Selected =
  | { readonly _tag: "Input"; readonly input: Json }
  | { readonly _tag: "Missing"; readonly target: string; readonly path: ReadonlyArray<string>; readonly missingAt: number }

const isRecord = (value: unknown): value is { readonly [key: string]: Json } => typeof value === "object" && value !== null && !Array.isArray(value)

/** The value at `path` in `value`, and how deep the path got (its length when found). */
const lookup = (value: Json, path: ReadonlyArray<string>): { readonly found: boolean; readonly value: Json | undefined; readonly depth: number } => {
  let current: Json | undefined = value
  for (let i = 0; i < path.length; i++) {
    if (!isRecord(current) || !Object.hasOwn(current, path[i]!)) return { found: false, value: undefined, depth: i }
    current = current[path[i]!]
  }
  return { found: true, value: current, depth: path.length }
}

/** What a node receives from the context. */
export const selectInput = (context: GraphContext, mapping: InputMapping | undefined): Selected => {
  if (mapping === undefined) return { _tag: "Input", input: context }
  const input: Record<string, Json> = {}
  const pairs: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = Array.isArray(mapping)
    ? (mapping as ReadonlyArray<string>).map((key) => [key, [key]] as const)
    : Object.entries(mapping as { readonly [target: string]: ReadonlyArray<string> })
  for (const [target, path] of pairs) {
    const hit = lookup(context, path)
    if (!hit.found) return { _tag: "Missing", target, path, missingAt: hit.depth }
    input[target] = hit.value ?? null
  }
  return { _tag: "Input", input }
}

/** The context once a node's result is applied: under `output`, or merged in when it is an object. */
export const applyResult = (context: GraphContext, output: string | undefined, result: Json | undefined): GraphContext => {
  if (output !== undefined) return { ...context, [output]: result ?? null }
  return isRecord(result) ? { ...context, ...result } : context
}

/** Whether a condition holds on the context (a missing path, or a non-number compared, does not). */
export const holds = (condition: Condition, context: GraphContext): boolean => {
  const hit = lookup(context, condition.path)
  if (!hit.found) return false
  if ("equals" in condition) return JSON.stringify(hit.value) === JSON.stringify(condition.equals)
  if (typeof hit.value !== "number") return false
  return "greaterThan" in condition ? hit.value > condition.greaterThan : hit.value < condition.lessThan
}

/** The transition a node's outcome takes: the first conditional one that holds, else the unconditional one. */
export const chooseTransition = (transitions: ReadonlyArray<Transition>, from: string, on: "ok" | "error", context: GraphContext): Transition | undefined => {
  const candidates = transitions.filter((t) => t.from === from && t.on === on)
  return candidates.find((t) => t.when !== undefined && holds(t.when, context)) ?? candidates.find((t) => t.when === undefined)
}
