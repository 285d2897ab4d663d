/**
 * The data a step is defined with: its options, what its body receives and returns. Kept
 * apart from Step.ts so that dsl/Command.ts can name a step's options without importing the
 * module that builds step commands (which would be an import circle).
 */
import type { Duration, Effect, Schema } from "effect"
import type { DynamicWorkMode, StepDynamicWork } from "../src/core/dynamicWork.js"
import type { DeadlinePolicy } from "./Deadline.js"
import type { RetryPolicy } from "./Retry.js"

/** What a step body receives besides its input. */
export interface StepContext {
  readonly runId: string
  readonly step: string
  readonly seq: number
  /** 1 for the first attempt. */
  readonly attempt: number
  /** Stable across attempts of this step in this run: pass it to external APIs for dedupe. */
  readonly idempotencyKey: string
  /** Aborted when the attempt is interrupted (timeout, lost claim, shutdown). */
  readonly signal: AbortSignal
  /**
   * With `transaction: true`: the journal's own SQL transaction (a postgres.js
   * `TransactionSql` or a PGlite `Transaction`; use `PostgresStore.transactionOf(ctx)` for a
   * typed handle). Writes made through it commit atomically with the step's recorded result.
   */
  readonly sql?: unknown
  /**
   * Adds dynamic work to the run, with this step's attempt as its origin. The work is checked
   * at once (an `InvalidDynamicWorkError` is thrown) and written with the step's result, in the
   * same commit, only if this attempt succeeds.
   */
  readonly dynamicWork: StepDynamicWorkHandle
}

/** What `ctx.dynamicWork` reports of a proposal: what a commit of it would add. */
export interface StagedDynamicWork {
  readonly key: string
  readonly mode: DynamicWorkMode
  /** The node ids it adds. */
  readonly nodeIds: ReadonlyArray<string>
  /** The edge ids it adds (default: one from this step to each node). */
  readonly edgeIds: ReadonlyArray<string>
  /** The same work under this key is in the run already: committing it adds nothing. */
  readonly duplicate: boolean
}

/** A running step's way to add dynamic work to its run (see `StepContext.dynamicWork`). */
export interface StepDynamicWorkHandle {
  /** Checks the work and reports what scheduling it would add; nothing is kept. */
  readonly preview: (work: StepDynamicWork) => StagedDynamicWork
  /** Keeps the work as an inspection fact, written with this attempt's result. */
  readonly record: (work: StepDynamicWork) => StagedDynamicWork
  /** Keeps the work as an inspection fact and runnable nodes, written with this attempt's result. */
  readonly schedule: (work: StepDynamicWork) => StagedDynamicWork
}

/** A step body may return an Effect, a Promise or a plain value. */
export type StepResult<O> = Effect.Effect<O, unknown, never> | PromiseLike<O> | O

/** The value a step body produces, unwrapped from Effect or Promise. */
export type StepOutput<R> = R extends Effect.Effect<infer A, any, any> ? A : R extends PromiseLike<infer A> ? A : R

/** Options of `Step.make`. `O` is what the step yields to the workflow. */
export interface StepOptions<I, R, O = StepOutput<R>> {
  /**
   * The step body. Its result is journaled as JSON, and the workflow receives the journaled
   * value (live and on replay), so return JSON-compatible values or declare an `output` Schema.
   */
  readonly run: (input: I, ctx: StepContext) => R
  /**
   * Encodes the result when it is recorded and decodes it whenever it is handed to the
   * workflow (live and on replay), e.g. `Schema.Date` so that a `Date` comes back a `Date`.
   * Without it, the workflow receives the JSON form, and the step's type says so
   * (`Jsonify<O>`: a `Date` is typed `string`).
   */
  readonly output?: Schema.Schema<O, any, never>
  /** Durable retries; without it the first failure is final. */
  readonly retry?: RetryPolicy
  /** Each attempt is interrupted after this long and fails with code `step_timeout` (retryable). */
  readonly timeout?: Duration.DurationInput
  /** Undo action registered when the step completes (saga compensation). */
  readonly compensate?: (input: I, output: O, ctx: StepContext) => StepResult<unknown>
  /** An SLA: due times persisted when the step is planned; inspection reports its status. */
  readonly deadline?: DeadlinePolicy
  /** The step's effect cannot be undone or safely repeated by a rerun. */
  readonly irreversible?: boolean
  /**
   * Run the attempt inside the journal's SQL transaction (`ctx.sql`): the step's database
   * writes and its recorded result commit together, or not at all. SQL stores only.
   */
  readonly transaction?: boolean
}
