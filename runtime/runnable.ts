/**
 * What an attempt runs, whatever it is: a workflow's step, a step's compensation, or a dynamic
 * node's action. The executor (execute.ts) runs every kind the same way.
 */
import type { Schema } from "effect"
import type { RetryPolicy } from "../dsl/Retry.js"
import type { StepContext, StepDef } from "../dsl/Step.js"
import type { Entry } from "../src/core/model.js"

/** What an attempt runs: a step's body, its compensation, or a dynamic node's action. */
export interface Runnable {
  readonly name: string
  readonly def: StepDef<any, any>
  readonly body: (input: unknown, ctx: StepContext) => unknown
  readonly retry: RetryPolicy | undefined
  readonly transaction: boolean
  /** Encodes the result for the journal (a step's `output` Schema); none for compensations. */
  readonly output: Schema.Schema<any, any, never> | undefined
  /** What the body gets as input, from its journal entry (a dynamic node's is inside it). */
  readonly inputOf: (entry: Entry) => unknown
  /** Only a workflow's own steps may propose dynamic work (`ctx.dynamicWork`). */
  readonly proposes: boolean
}

/** A step's input: its journal entry's. */
export const entryInput = (entry: Entry): unknown => entry.input
