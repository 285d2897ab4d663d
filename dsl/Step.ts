/**
 * Steps: user code with side effects. A step is defined once with `Step.make` and called
 * like a function inside a workflow: `const out = yield* Charge(input)`.
 */
import { Data, type Duration, type Effect } from "effect"
import { Command } from "./Command.js"
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
}

/** A step body may return an Effect, a Promise or a plain value. */
export type StepResult<O> = Effect.Effect<O, unknown, never> | PromiseLike<O> | O

/** The value a step body produces, unwrapped from Effect or Promise. */
export type StepOutput<R> = R extends Effect.Effect<infer A, any, any> ? A : R extends PromiseLike<infer A> ? A : R

/** Options of `Step.make`. */
export interface StepOptions<I, R> {
  /** The step body. Its result must be JSON-serialisable: it is journaled. */
  readonly run: (input: I, ctx: StepContext) => R
  /** Durable retries; without it the first failure is final. */
  readonly retry?: RetryPolicy
  /** Each attempt is interrupted after this long and fails with code `step_timeout` (retryable). */
  readonly timeout?: Duration.DurationInput
  /** Undo action registered when the step completes (saga compensation). */
  readonly compensate?: (input: I, output: StepOutput<R>, ctx: StepContext) => StepResult<unknown>
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

/** A callable step definition: `Step(input)` is the command to yield. */
export interface StepDef<I, O> {
  (input: I): Command<O>
  readonly stepName: string
  readonly options: StepOptions<I, any>
}

/**
 * Defines a step. The name identifies the step in the journal, so keep it stable across
 * deploys.
 *
 * @example
 * const Charge = Step.make("charge", {
 *   run: (input: { orderId: string }) => Effect.tryPromise(() => psp.charge(input)),
 *   retry: { maxAttempts: 5, backoff: { type: "exponential", min: "1 second", max: "30 seconds" } },
 * })
 */
export const make = <I = void, R = unknown>(name: string, options: StepOptions<I, R>): StepDef<I, StepOutput<R>> => {
  if (typeof name !== "string" || name.length === 0) throw new TypeError("Step.make: name must be a non-empty string")
  if (typeof options?.run !== "function") throw new TypeError(`Step.make("${name}"): run must be a function`)
  const def = ((input: I) => new Command<StepOutput<R>>({ _tag: "Step", step: def, input })) as StepDef<I, StepOutput<R>>
  Object.defineProperty(def, "stepName", { value: name, enumerable: true })
  Object.defineProperty(def, "options", { value: options, enumerable: true })
  return def
}

/**
 * An error a step body can fail with to control retries: `retryable: false` fails the step
 * at once; `retryAfter` overrides the backoff delay. `code` is stored; `message` is stored
 * redacted.
 */
export class StepError extends Data.TaggedError("StepError")<{
  readonly code: string
  readonly message: string
  readonly retryable?: boolean
  readonly retryAfter?: Duration.DurationInput
}> {}

/** Fails the step for good (no retries), with a code. */
export const fatal = (code: string, message = code): StepError => new StepError({ code, message, retryable: false })

/** Asks for a retry after a given delay, overriding the backoff (e.g. an HTTP 429 `Retry-After`). */
export const retryAfter = (delay: Duration.DurationInput, code = "retry_after", message = code): StepError =>
  new StepError({ code, message, retryAfter: delay })
