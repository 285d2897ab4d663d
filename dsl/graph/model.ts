/**
 * Graph workflows, declared: steps (and built-in gates, sleeps and logs) connected by
 * transitions on `ok` and `error`, or by `after` dependencies. What a user writes (`GraphSteps`,
 * `Transition`), and the checked, static form the engine runs and inspection draws
 * (`GraphDefinition`). A graph is not a second engine: `Workflow.graph` compiles it to one
 * built-in generator (./compile.ts), so journal, replay, retries, compensation, gates, explain
 * and the deploy gate are the ones of code workflows.
 */
import type { Duration } from "effect"
import type { Json } from "../../src/core/json.js"
import type { DeadlinePolicy } from "../Deadline.js"
import type { RetryPolicy } from "../Retry.js"
import type { StepContext, StepResult } from "../StepOptions.js"

/**
 * What a step node receives: the run's context (its payload merged with the results applied
 * so far), or the part its `input` mapping selects.
 */
export type GraphContext = { readonly [key: string]: Json }

/**
 * Where a node's input comes from: top-level keys of the context (`["accountId", "invoice"]`),
 * or named paths into it (`{ amount: ["invoice", "total"] }`). A missing key or path fails the
 * run with `missing_input_path` before the node runs. Without it, the node gets the whole context.
 */
export type InputMapping = ReadonlyArray<string> | { readonly [target: string]: ReadonlyArray<string> }

/** What every node may declare. */
interface NodeBase {
  /** Keep the node's result under this key of the context (otherwise an object result is merged in, key by key). */
  readonly output?: string
  /** Dependency mode: the node runs once all of these completed (roots run first, in parallel). */
  readonly after?: ReadonlyArray<string>
}

/** A step: user code, with the options of `Step.make`. */
export interface StepNode extends NodeBase {
  readonly run: (input: any, ctx: StepContext) => StepResult<unknown>
  readonly input?: InputMapping
  readonly retry?: RetryPolicy
  readonly timeout?: Duration.DurationInput
  readonly deadline?: DeadlinePolicy
  /** Undo, run by the saga (on an uncaught failure, or a transition with `recovery: "undo"`). */
  readonly compensate?: (input: any, output: any, ctx: StepContext) => StepResult<unknown>
  readonly irreversible?: boolean
  readonly transaction?: boolean
}

/** An approval gate: approved continues on `ok`, rejected on `error`; the decision is its result. */
export interface ApprovalNode extends NodeBase {
  readonly approval: { readonly deadline?: Duration.DurationInput | DeadlinePolicy; readonly onDeadline?: "reject" | "fail" | "none" } | true
}

/** A pause: `resume` continues on `ok`. */
export interface PauseNode extends NodeBase {
  readonly pause: true
}

/** A durable sleep. */
export interface SleepNode extends NodeBase {
  readonly sleep: Duration.DurationInput
}

/** A log line, journaled and printed once. */
export interface LogNode extends NodeBase {
  readonly log: string
  readonly level?: "debug" | "info" | "warning" | "error"
}

/** One node of a graph workflow, by what it declares. */
export type GraphNode = StepNode | ApprovalNode | PauseNode | SleepNode | LogNode

/** The nodes of a graph workflow, by name (the name is the journal's). */
export type GraphSteps = { readonly [name: string]: GraphNode }

/** A transition's condition, on a path of the context (after the node's result is applied). */
export type Condition =
  | { readonly path: ReadonlyArray<string>; readonly equals: Json }
  | { readonly path: ReadonlyArray<string>; readonly greaterThan: number }
  | { readonly path: ReadonlyArray<string>; readonly lessThan: number }

/** The target that ends the run (completed, with the context as its result). */
export const COMPLETE = "complete"

/**
 * Where a node's outcome leads. Conditional transitions are tried in declaration order, then
 * the unconditional one (at most one per node and outcome). `recovery: "undo"` (on `error`)
 * runs the saga's compensations of the steps completed so far before going on.
 */
export interface Transition {
  readonly from: string
  readonly on: "ok" | "error"
  readonly to: string
  readonly when?: Condition
  readonly recovery?: "undo"
}

/** What kind of node a name is, in the static graph. */
export type NodeKind = "step" | "approval" | "pause" | "sleep" | "log"

/** A node of the static graph: its kind and what inspection shows of it. */
export interface DefinedNode {
  readonly name: string
  readonly kind: NodeKind
  readonly after: ReadonlyArray<string>
  readonly output?: string
  readonly input?: InputMapping
  /** A log node's message (its journal entry is found by it). */
  readonly message?: string
}

/** The checked, static graph: how it runs (`transitions` from one entry, or `after` phases) and what it draws. */
export interface GraphDefinition {
  readonly mode: "transitions" | "dependencies"
  readonly nodes: ReadonlyArray<DefinedNode>
  readonly transitions: ReadonlyArray<Transition>
  /** Transition mode: the one node no transition leads to. */
  readonly entry?: string
  /** Dependency mode: the nodes by phase (0 for roots, else one more than their latest dependency). */
  readonly phases: ReadonlyArray<ReadonlyArray<string>>
}

/** One problem of a graph (or spec): where (a JSON path such as `steps.charge.after[0]`) and what. */
export interface GraphProblem {
  readonly at: string
  readonly message: string
}
