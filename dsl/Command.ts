/**
 * Commands are what a workflow yields. Each one is a yieldable value: `yield* cmd` hands the
 * command to the interpreter and evaluates to its typed result. Commands are plain data; the
 * interpreter (runtime/) decides what each one means.
 */
import type { Duration, Schema } from "effect"
import type { DeadlinePolicy } from "./Deadline.js"
import type { StepOptions } from "./StepOptions.js"

/** The parts of a workflow definition a child command needs (avoids a cycle with Workflow.ts). */
export interface WorkflowRef {
  readonly name: string
}

/**
 * A step as its command carries it: the same shape as `StepDef<any, any>` (dsl/Step.ts),
 * declared here so this module need not import Step.ts, which builds commands.
 */
export interface StepRef {
  (input: any): Command<unknown>
  readonly stepName: string
  readonly options: StepOptions<any, any, any>
}

/** Marks command objects, so the interpreter can reject anything else a workflow yields. */
export const CommandTypeId: unique symbol = Symbol.for("squid-mesh/Command") as never

/** Log levels accepted by `Workflow.log`. */
export type LogLevel = "debug" | "info" | "warning" | "error"

/** The data part of every command, by `_tag`. */
export type CommandData =
  | { readonly _tag: "Step"; readonly step: StepRef; readonly input: unknown }
  | { readonly _tag: "Sleep"; readonly name: string; readonly duration: Duration.Duration }
  | { readonly _tag: "Now"; readonly name: string }
  | { readonly _tag: "Random"; readonly name: string }
  | { readonly _tag: "Uuid"; readonly name: string }
  | { readonly _tag: "Log"; readonly message: string; readonly level: LogLevel }
  | { readonly _tag: "All"; readonly commands: ReadonlyArray<Command<unknown>> }
  | { readonly _tag: "Race"; readonly commands: ReadonlyArray<Command<unknown>> }
  | { readonly _tag: "Patched"; readonly id: string }
  /** `code` (default `workflow_failed`) is set by built-in workflows (graphs: `missing_input_path`, `no_matching_transition`). */
  | { readonly _tag: "Fail"; readonly reason: string; readonly details: unknown; readonly code?: string }
  | { readonly _tag: "Pause"; readonly name: string }
  | { readonly _tag: "Compensate" }
  | {
      readonly _tag: "Child"
      readonly workflow: WorkflowRef
      readonly input: unknown
      readonly key: string | undefined
      readonly wait: boolean
    }
  /** Internal: the undo of a completed step, journaled and run as a durable task. */
  | {
      readonly _tag: "Compensation"
      readonly step: StepRef
      readonly origin: number
      readonly input: unknown
      readonly output: unknown
    }
  | {
      readonly _tag: "Signal"
      readonly name: string
      readonly schema: Schema.Schema<any, any, never>
      readonly timeout: Duration.Duration | undefined
    }
  | {
      readonly _tag: "Approval"
      readonly name: string
      readonly deadline: DeadlinePolicy | undefined
      readonly onDeadline: "reject" | "fail" | "none"
    }

/**
 * A yieldable workflow command producing `A`. Workflows write `const a = yield* cmd`; the
 * interpreter answers with the journaled result, so `a` is typed without casts.
 */
export class Command<out A> {
  readonly [CommandTypeId] = CommandTypeId
  /** Phantom field carrying the result type. */
  declare readonly _A: () => A
  constructor(readonly data: CommandData) {}

  *[Symbol.iterator](): Generator<Command<unknown>, A, unknown> {
    return (yield this as Command<unknown>) as A
  }
}

/** The result type of a command. */
export type CommandResult<C> = C extends Command<infer A> ? A : never

/** True when a value is a workflow command. */
export const isCommand = (value: unknown): value is Command<unknown> => typeof value === "object" && value !== null && CommandTypeId in value

/** The generator type a workflow's `run` returns. */
export type WorkflowGenerator<Out> = Generator<Command<unknown>, Out, unknown>
