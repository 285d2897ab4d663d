/**
 * A graph workflow as the one built-in generator that runs it. The generator yields the same
 * commands a code workflow would (steps named after their nodes, approvals, pauses, sleeps,
 * logs, `all` for a dependency phase, the saga's compensate, fail), so the engine runs a graph
 * exactly as it runs code: journaled, replayed, retried and compensated the same way.
 */
import { Duration } from "effect"
import type { Json } from "../../src/core/json.js"
import { sha256Hex } from "../../src/core/ids.js"
import { Command, type WorkflowGenerator } from "../Command.js"
import type { DeadlinePolicy } from "../Deadline.js"
import { make as makeStep, type StepDef } from "../Step.js"
import { applyResult, chooseTransition, selectInput } from "./dataflow.js"
import {
  COMPLETE,
  type ApprovalNode,
  type GraphContext,
  type GraphDefinition,
  type GraphNode,
  type GraphSteps,
  type LogNode,
  type StepNode,
  type Transition,
} from "./model.js"

/** Where a routed failure is kept in the context, for conditions and the node it is routed to. */
export const FAILURE_KEY = "failure"

/** A compiled graph: the generator the engine runs, and the fingerprint of the definition. */
export interface CompiledGraph {
  readonly run: (payload: unknown) => WorkflowGenerator<GraphContext>
  readonly fingerprint: string
}

/** The steps of a graph, made once: their options were checked with the graph. */
const stepsOf = (steps: GraphSteps, definition: GraphDefinition): ReadonlyMap<string, StepDef<any, any>> => {
  const made = new Map<string, StepDef<any, any>>()
  for (const node of definition.nodes) {
    if (node.kind !== "step") continue
    const { input: _input, output: _output, after: _after, ...options } = steps[node.name] as StepNode
    made.set(node.name, makeStep(node.name, options))
  }
  return made
}

/** The command a node yields, given its input. */
const commandOf = (name: string, node: GraphNode, made: ReadonlyMap<string, StepDef<any, any>>, input: Json): Command<unknown> => {
  if ("run" in node) return made.get(name)!(input)
  if ("approval" in node) {
    const options = (node as ApprovalNode).approval === true ? {} : ((node as ApprovalNode).approval as Exclude<ApprovalNode["approval"], true>)
    const raw = options.deadline
    const deadline: DeadlinePolicy | undefined =
      raw === undefined
        ? undefined
        : typeof raw === "object" && raw !== null && "within" in raw
          ? (raw as DeadlinePolicy)
          : { within: raw as Duration.DurationInput }
    return new Command({ _tag: "Approval", name, deadline, onDeadline: options.onDeadline ?? "reject" })
  }
  if ("pause" in node) return new Command({ _tag: "Pause", name })
  if ("sleep" in node) return new Command({ _tag: "Sleep", name, duration: Duration.decode(node.sleep) })
  const log = node as LogNode
  return new Command({ _tag: "Log", message: log.log, level: log.level ?? "info" })
}

/** Fails the run because a node's input is not in the context (before the node runs). */
const missingInput = (name: string, missing: Extract<ReturnType<typeof selectInput>, { _tag: "Missing" }>) =>
  new Command<never>({
    _tag: "Fail",
    code: "missing_input_path",
    reason: `node "${name}" needs ${missing.path.join(".")} (as ${missing.target}), which the context does not have`,
    details: { node: name, target: missing.target, path: [...missing.path], missingAt: missing.missingAt },
  })

/** What a failure routed by an error transition leaves in the context. */
const failureOf = (name: string, error: unknown): Json => {
  const info = (error as { readonly error?: { readonly code?: unknown; readonly message?: unknown } } | null)?.error
  return {
    node: name,
    code: typeof info?.code === "string" ? info.code : "error",
    message: typeof info?.message === "string" ? info.message : String((error as { message?: unknown } | null)?.message ?? error),
  }
}

/** The fingerprint of a graph: its nodes (with their code) and transitions, in declaration order. */
const fingerprintOf = (name: string, steps: GraphSteps, transitions: ReadonlyArray<Transition>): string =>
  sha256Hex(`${name}\n${JSON.stringify({ steps, transitions }, (_key, value) => (typeof value === "function" ? value.toString() : value))}`)

/** Compiles a checked graph into the generator that runs it. */
export const compileGraph = (name: string, steps: GraphSteps, definition: GraphDefinition): CompiledGraph => {
  const made = stepsOf(steps, definition)
  const fingerprint = fingerprintOf(name, steps, definition.transitions)

  function* byTransitions(payload: unknown): WorkflowGenerator<GraphContext> {
    let context = { ...(payload as GraphContext) }
    let current = definition.entry!
    for (;;) {
      const node = steps[current]!
      const selected = selectInput(context, (node as StepNode).input)
      if (selected._tag === "Missing") return yield* missingInput(current, selected)
      let outcome: "ok" | "error" = "ok"
      let failure: unknown
      try {
        const result = (yield* commandOf(current, node, made, selected.input)) as Json | undefined
        context = applyResult(context, node.output, result)
        if ("approval" in node && (result as { approved?: unknown } | undefined)?.approved !== true) outcome = "error"
      } catch (error) {
        outcome = "error"
        failure = error
        context = { ...context, [FAILURE_KEY]: failureOf(current, error) }
      }
      const transition = chooseTransition(definition.transitions, current, outcome, context)
      if (!transition) {
        if (failure !== undefined) throw failure
        return yield* new Command<never>({
          _tag: "Fail",
          code: "no_matching_transition",
          reason: `no ${outcome} transition from "${current}" matches the context`,
          details: { node: current, outcome },
        })
      }
      if (transition.recovery === "undo") yield* new Command<void>({ _tag: "Compensate" })
      if (transition.to === COMPLETE) return context
      current = transition.to
    }
  }

  function* byDependencies(payload: unknown): WorkflowGenerator<GraphContext> {
    let context = { ...(payload as GraphContext) }
    for (const phase of definition.phases) {
      const commands: Array<Command<unknown>> = []
      for (const current of phase) {
        const selected = selectInput(context, (steps[current] as StepNode).input)
        if (selected._tag === "Missing") return yield* missingInput(current, selected)
        commands.push(commandOf(current, steps[current]!, made, selected.input))
      }
      // The phase's nodes run in parallel; the first failure fails the run (and runs the saga).
      const results = (commands.length === 1 ? [yield* commands[0]!] : yield* new Command<ReadonlyArray<unknown>>({ _tag: "All", commands })) as ReadonlyArray<
        Json | undefined
      >
      phase.forEach((current, i) => {
        context = applyResult(context, steps[current]!.output, results[i])
      })
    }
    return context
  }

  return { run: definition.mode === "transitions" ? byTransitions : byDependencies, fingerprint }
}
