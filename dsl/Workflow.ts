/**
 * Workflows and the built-in commands. A workflow is a `function*` generator that yields
 * commands; it must be deterministic: read time and randomness only through
 * `Workflow.now()`, `Workflow.random()` and `Workflow.uuid()`, which are journaled.
 */
import type { Duration, Schema } from "effect"
import { sha256Hex } from "../src/core/ids.js"
import { Command, type CommandResult, type LogLevel, type WorkflowGenerator } from "./Command.js"
import type { DeadlinePolicy } from "./Deadline.js"
import type { CronTrigger, PayloadOf, StartPayloadOf, Trigger } from "./Trigger.js"
import { checkDeadline, checkDuration, checkSchema, payloadFieldsOf, refuse } from "./validate.js"
import { InvalidDefinitionError } from "../src/core/errors.js"
import { compileGraph } from "./graph/compile.js"
import type { GraphContext, GraphDefinition, GraphSteps, Transition } from "./graph/model.js"
import { checkGraph } from "./graph/problems.js"

/** A workflow definition, as registered with the engine. */
export interface WorkflowDef<Triggers extends Record<string, Trigger> = Record<string, Trigger>, Out = unknown> {
  readonly _tag: "Workflow"
  readonly name: string
  readonly triggers: Triggers
  /** The queue its tasks go to. */
  readonly queue: string
  readonly run: (input: PayloadOf<Triggers[keyof Triggers]>) => WorkflowGenerator<Out>
  /** sha256 of the workflow's name and code: recorded with every run. */
  readonly definitionHash: string
  /** How long its terminal runs are kept after they finish; workers of its queue purge older ones. Absent: kept for ever. */
  readonly retention?: Duration.Duration
  /** A graph workflow's static graph (`Workflow.graph`): what inspection draws, with the path a run took. */
  readonly graph?: GraphDefinition
}

/** Any workflow definition. */
export type AnyWorkflow = WorkflowDef<any, any>

/** The input type a workflow's `run` receives. */
export type InputOf<W> = W extends WorkflowDef<infer T, any> ? PayloadOf<T[keyof T]> : never

/** The output type of a workflow. */
export type OutputOf<W> = W extends WorkflowDef<any, infer O> ? O : never

/** The names of a workflow's manual triggers: the ones `start` accepts. */
export type ManualTriggerName<W> = W extends WorkflowDef<infer T, any> ? { [K in keyof T]: T[K] extends CronTrigger ? never : K }[keyof T] & string : never

/** What `start(workflow, payload, { trigger })` accepts as the payload of trigger(s) `K`. */
export type StartPayload<W, K extends string = ManualTriggerName<W>> = W extends WorkflowDef<infer T, any> ? StartPayloadOf<T[K & keyof T]> : never

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/
const LOG_LEVELS: ReadonlyArray<LogLevel> = ["debug", "info", "warning", "error"]

/**
 * Defines a workflow.
 *
 * @example
 * const Checkout = Workflow.make({
 *   name: "checkout",
 *   triggers: { manual: Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String }) }) },
 *   *run(input) {
 *     const charge = yield* Charge(input)
 *     yield* Workflow.sleep("cool-off", "10 minutes")
 *     return { chargeId: charge.chargeId }
 *   },
 * })
 */
export const make = <const Triggers extends Record<string, Trigger>, Out>(options: {
  readonly name: string
  readonly triggers: Triggers
  readonly queue?: string
  /**
   * Keep terminal runs this long after they finish (`"30 days"`); the workers of the queue
   * then purge them (with their child runs) in small batches, recording each batch in the
   * purge audit trail. Default: kept for ever.
   */
  readonly retention?: Duration.DurationInput
  readonly run: (input: PayloadOf<Triggers[keyof Triggers]>) => WorkflowGenerator<Out>
}): WorkflowDef<Triggers, Out> => {
  const { definition, retention } = checkCommon(options, "{ name, triggers, run }")
  if (typeof options.run !== "function") refuse(definition, "run", options.run, "expected a generator function (*run(input) { ... })")
  return {
    _tag: "Workflow",
    name: options.name,
    triggers: options.triggers,
    queue: options.queue ?? "default",
    run: options.run,
    definitionHash: sha256Hex(`${options.name}\n${options.run.toString()}`),
    ...(retention !== undefined ? { retention } : {}),
  }
}

/** What every workflow declares: its name, triggers, queue and retention. */
interface CommonOptions {
  readonly name: string
  readonly triggers: Record<string, Trigger>
  readonly queue?: string
  readonly retention?: Duration.DurationInput
}

/** Checks the options every workflow has; returns how it is named in errors, and its retention. */
const checkCommon = (options: CommonOptions, expected: string): { readonly definition: string; readonly retention: Duration.Duration | undefined } => {
  if (typeof options !== "object" || options === null) refuse("workflow", "options", options, `expected ${expected}`)
  if (typeof options.name !== "string" || !NAME_RE.test(options.name)) refuse("workflow", "name", options.name, `expected a name matching ${NAME_RE}`)
  const definition = `workflow "${options.name}"`
  const triggers: Record<string, unknown> = typeof options.triggers === "object" && options.triggers !== null ? options.triggers : {}
  if (Object.keys(triggers).length === 0)
    refuse(definition, "triggers", options.triggers, "expected at least one trigger, e.g. { manual: Trigger.manual({ payload }) }")
  for (const [name, trigger] of Object.entries(triggers)) {
    const tag = (trigger as { _tag?: unknown } | null)?._tag
    if (tag !== "Manual" && tag !== "Cron") refuse(definition, `triggers.${name}`, trigger, "expected Trigger.manual(...) or Trigger.cron(...)")
  }
  if (options.queue !== undefined && (typeof options.queue !== "string" || !NAME_RE.test(options.queue))) {
    refuse(definition, "queue", options.queue, `expected a queue name matching ${NAME_RE}`)
  }
  const retention = options.retention === undefined ? undefined : checkDuration(definition, "retention", options.retention, { positive: true })
  return { definition, retention }
}

/**
 * Defines a graph workflow: nodes (steps, approvals, pauses, sleeps, logs) connected by
 * transitions on `ok` and `error` from one entry node, or by `after` dependencies (roots run
 * first, in parallel; a node runs once all it depends on completed). Data flows through a
 * context: the payload, plus each node's result under its `output` key (or merged in). Every
 * problem of the graph is reported at once, here, in an `InvalidDefinitionError` whose
 * `problems` say where each one is. The run's result is the final context.
 *
 * @example
 * const Refund = Workflow.graph({
 *   name: "refund",
 *   triggers: { manual: Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String }) }) },
 *   steps: {
 *     load: { run: ({ orderId }) => orders.get(orderId), output: "order" },
 *     review: { approval: { deadline: "2 days" }, output: "review" },
 *     refund: { run: ({ order }) => psp.refund(order), input: ["order"], retry: { maxAttempts: 5 } },
 *     notify: { run: ({ order }) => mail.rejected(order), input: ["order"] },
 *   },
 *   transitions: [
 *     { from: "load", on: "ok", to: "review" },
 *     { from: "review", on: "ok", to: "refund" },
 *     { from: "review", on: "error", to: "notify" },
 *     { from: "refund", on: "ok", to: "complete" },
 *     { from: "notify", on: "ok", to: "complete" },
 *   ],
 * })
 */
export const graph = <const Triggers extends Record<string, Trigger>>(options: {
  readonly name: string
  readonly triggers: Triggers
  readonly queue?: string
  readonly retention?: Duration.DurationInput
  readonly steps: GraphSteps
  readonly transitions?: ReadonlyArray<Transition>
}): WorkflowDef<Triggers, GraphContext> & { readonly graph: GraphDefinition } => {
  const { definition, retention } = checkCommon(options, "{ name, triggers, steps, transitions? }")
  const checked = checkGraph(options.steps, options.transitions ?? [], payloadFieldsOf(options.triggers))
  if (!checked.definition) {
    const first = checked.problems[0]!
    throw new InvalidDefinitionError({ definition, field: first.at, value: "(graph)", reason: first.message, problems: checked.problems })
  }
  const compiled = compileGraph(options.name, options.steps, checked.definition)
  return {
    _tag: "Workflow",
    name: options.name,
    triggers: options.triggers,
    queue: options.queue ?? "default",
    run: compiled.run as WorkflowDef<Triggers, GraphContext>["run"],
    definitionHash: compiled.fingerprint,
    graph: checked.definition,
    ...(retention !== undefined ? { retention } : {}),
  }
}

/** A durable timer: the run resumes after `duration`, surviving restarts. No worker is blocked. */
export const sleep = (name: string, duration: Duration.DurationInput): Command<void> =>
  new Command({ _tag: "Sleep", name, duration: checkDuration(`sleep "${name}"`, "duration", duration) })

/** Writes a log line once (not again on replay) and records it in the journal; secrets in it are redacted first. */
export const log = (message: string, options: { readonly level?: LogLevel } = {}): Command<void> => {
  const level = options.level ?? "info"
  if (!LOG_LEVELS.includes(level)) refuse("log", "level", level, `expected one of ${LOG_LEVELS.join(", ")}`)
  return new Command({ _tag: "Log", message: String(message), level })
}

/** The current time (epoch ms), journaled: replay returns the same value. */
export const now = (name = "now"): Command<number> => new Command({ _tag: "Now", name })

/** A random number in [0, 1), journaled. */
export const random = (name = "random"): Command<number> => new Command({ _tag: "Random", name })

/** A random UUID v4, journaled. */
export const uuid = (name = "uuid"): Command<string> => new Command({ _tag: "Uuid", name })

/**
 * Runs steps, sleeps or other leaf commands in parallel and joins them. Results come back
 * in order. Fail fast: the first failure is thrown at this `yield*` and the siblings still
 * pending are cancelled (their tasks withdrawn; a late result is ignored).
 */
export const all = <const T extends ReadonlyArray<Command<unknown>>>(commands: T): Command<{ -readonly [K in keyof T]: CommandResult<T[K]> }> => {
  leafOnly("all", commands)
  return new Command({ _tag: "All", commands: commands as ReadonlyArray<Command<unknown>> })
}

/** What `Workflow.pause` returns once the run is resumed. */
export interface Resumed {
  readonly actor: string
  readonly reason?: string
  readonly at: number
}

/** What `Workflow.approval` returns once decided. `automatic` when its deadline decided it. */
export interface ApprovalDecision {
  readonly approved: boolean
  readonly actor: string
  readonly note?: string
  readonly at: number
  readonly automatic?: boolean
}

/**
 * Pauses the run until `resume(runId, { actor, reason })`. The gate is journaled, so a
 * restart or a deploy keeps it. The run's status is `paused` meanwhile.
 */
export const pause = (name: string): Command<Resumed> => new Command({ _tag: "Pause", name })

/**
 * Waits for `approve` or `reject` (with an actor and a note); the decision is the result.
 * `deadline` is a duration or a full policy (`{ within, dueSoon?, escalateAfter?, escalation? }`);
 * it is persisted when the gate opens and reported by inspection. At the deadline the gate
 * decides itself: `onDeadline: "reject"` (default) returns an automatic rejection, `"fail"`
 * fails the gate with code `approval_deadline_passed`, `"none"` only reports it as overdue.
 */
export const approval = (
  name: string,
  options: { readonly deadline?: Duration.DurationInput | DeadlinePolicy; readonly onDeadline?: "reject" | "fail" | "none" } = {},
): Command<ApprovalDecision> => {
  const deadline = options.deadline === undefined ? undefined : isPolicy(options.deadline) ? options.deadline : { within: options.deadline }
  if (deadline !== undefined) checkDeadline(`approval "${name}"`, "deadline", deadline)
  const onDeadline = options.onDeadline ?? "reject"
  if (!["reject", "fail", "none"].includes(onDeadline)) refuse(`approval "${name}"`, "onDeadline", onDeadline, 'expected "reject", "fail" or "none"')
  return new Command({ _tag: "Approval", name, deadline, onDeadline })
}

const isPolicy = (value: unknown): value is DeadlinePolicy => typeof value === "object" && value !== null && "within" in value

const leafOnly = (name: string, commands: ReadonlyArray<Command<unknown>>) => {
  for (const c of commands) {
    const tag = c.data._tag
    if (tag === "All" || tag === "Race" || tag === "Fail" || tag === "Patched" || tag === "Compensate" || tag === "Compensation" || tag === "Child") {
      throw new TypeError(`Workflow.${name}: nested groups are not supported`)
    }
    if (tag === "Pause" || tag === "Approval" || tag === "Signal")
      throw new TypeError(`Workflow.${name}: manual gates and signals cannot run in a parallel group`)
  }
}

/** What `Workflow.signal` returns: the validated payload, or a timeout. */
export type SignalResult<A> = { readonly _tag: "Received"; readonly payload: A; readonly at: number } | { readonly _tag: "TimedOut"; readonly at: number }

/**
 * Waits for an external event sent with `signal(runId, name, payload)`. The payload is
 * validated by `schema` when it is sent; a signal sent before the run waits is kept and
 * delivered, not lost. With `timeout`, the wait ends with `{ _tag: "TimedOut" }`.
 */
export const signal = <A, I>(
  name: string,
  options: { readonly schema: Schema.Schema<A, I, never>; readonly timeout?: Duration.DurationInput },
): Command<SignalResult<A>> => {
  checkSchema(`signal "${name}"`, "schema", options.schema)
  const timeout = options.timeout === undefined ? undefined : checkDuration(`signal "${name}"`, "timeout", options.timeout, { positive: true })
  return new Command({ _tag: "Signal", name, schema: options.schema, timeout })
}

/**
 * Runs steps and sleeps in parallel; the first to settle wins (like `Promise.race`): its
 * value is returned, or its failure thrown. The others are cancelled (tasks withdrawn, late
 * results ignored). A sleep makes a durable timeout: `race([Charge(x), sleep("t", "1 hour")])`.
 */
export const race = <const T extends ReadonlyArray<Command<unknown>>>(commands: T): Command<CommandResult<T[number]>> => {
  if (commands.length === 0) throw new TypeError("Workflow.race: give at least one command")
  leafOnly("race", commands)
  return new Command({ _tag: "Race", commands: commands as ReadonlyArray<Command<unknown>> })
}

/**
 * Fans out over `items` with at most `concurrency` commands in flight, in order-preserving
 * waves of `concurrency` (each wave joined like `Workflow.all`, failing fast). Use it with
 * `yield*`: `const out = yield* Workflow.forEach(orders, (o) => Ship(o), { concurrency: 20 })`.
 */
export function* forEach<I, A>(
  items: ReadonlyArray<I>,
  f: (item: I, index: number) => Command<A>,
  options: { readonly concurrency?: number } = {},
): Generator<Command<unknown>, Array<A>, unknown> {
  const size = options.concurrency ?? 10
  if (!Number.isInteger(size) || size < 1) refuse("forEach", "concurrency", size, "expected an integer of at least 1")
  const results: Array<A> = []
  for (let start = 0; start < items.length; start += size) {
    const wave = items.slice(start, start + size).map((item, i) => f(item, start + i))
    results.push(...((yield* all(wave)) as ReadonlyArray<A>))
  }
  return results
}

/**
 * Versioning: true for runs that reach this point with the new code, false for runs whose
 * journal was written before the patch. Branch on it to change code under in-flight runs:
 * `if (yield* Workflow.patched("v2-fraud-check")) yield* FraudCheck(order)`.
 */
export const patched = (id: string): Command<boolean> => new Command({ _tag: "Patched", id })

/**
 * Starts a child run of another workflow and waits for its result (typed), or throws a
 * `StepFailedError` (code `child_failed`) if it fails or is cancelled. The same parent and the
 * same `key` (default: this command's position) always name the same child, even after the
 * parent's retry or replay. Cancelling the parent cancels its children.
 */
export const child = <W extends AnyWorkflow>(workflow: W, input: InputOf<W>, options: { readonly key?: string } = {}): Command<OutputOf<W>> =>
  new Command({ _tag: "Child", workflow, input, key: options.key, wait: true })

/** Starts a child run without waiting for it; returns its run id. */
export const startChild = <W extends AnyWorkflow>(
  workflow: W,
  input: InputOf<W>,
  options: { readonly key?: string } = {},
): Command<{ readonly runId: string }> => new Command({ _tag: "Child", workflow, input, key: options.key, wait: false })

/**
 * Runs the compensations of the steps completed so far (newest first, each a durable task
 * with retries), then continues: the saga's undo, on demand, typically inside a `catch`.
 * Compensated steps are not compensated again. Without it, an uncaught failure runs them
 * before the run ends `failed`.
 */
export const compensate = (): Command<void> => new Command({ _tag: "Compensate" })

/** Fails the run with a reason and details, both redacted before they are stored (compensations run). `return yield* Workflow.fail("...")`. */
export const fail = (reason: string, details?: unknown): Command<never> => new Command({ _tag: "Fail", reason, details })
