/**
 * Steps: user code with side effects. A step is defined once with `Step.make` and called
 * like a function inside a workflow: `const out = yield* Charge(input)`.
 */
import { Data, type Duration, type Effect, type Schema } from "effect"
import type { Jsonify } from "../src/core/json.js"
import { Command } from "./Command.js"
import type { DeadlinePolicy } from "./Deadline.js"
import type { RetryPolicy } from "./Retry.js"
import { checkDeadline, checkDuration, checkRetry, checkSchema, refuse } from "./validate.js"

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

/** A callable step definition: `Step(input)` is the command to yield. */
export interface StepDef<I, O> {
  (input: I): Command<O>
  readonly stepName: string
  readonly options: StepOptions<I, any, any>
}

/**
 * Defines a step. The name identifies the step in the journal, so keep it stable across
 * deploys. A malformed option (a bad timeout, backoff, deadline or schema) throws an
 * `InvalidDefinitionError` here, not at the step's first attempt.
 *
 * @example
 * const Charge = Step.make("charge", {
 *   run: (input: { orderId: string }) => Effect.tryPromise(() => psp.charge(input)),
 *   retry: { maxAttempts: 5, backoff: { type: "exponential", min: "1 second", max: "30 seconds" } },
 * })
 * const Due = Step.make("due-date", { run: () => new Date(), output: Schema.Date })  // yields a Date
 */
export function make<I = void, O = unknown, E = unknown>(
  name: string,
  options: StepOptions<I, StepResult<O>, O> & { readonly output: Schema.Schema<O, E, never> },
): StepDef<I, O>
export function make<I = void, R = unknown>(name: string, options: StepOptions<I, R, Jsonify<StepOutput<R>>>): StepDef<I, Jsonify<StepOutput<R>>>
export function make<I, R>(name: string, options: StepOptions<I, R, unknown>): StepDef<I, unknown> {
  if (typeof name !== "string" || name.length === 0 || name.length > 128) refuse("step", "name", name, "expected a non-empty string of at most 128 characters")
  const definition = `step "${name}"`
  if (typeof options !== "object" || options === null) refuse(definition, "options", options, "expected an object with `run`")
  if (typeof options.run !== "function") refuse(definition, "run", options.run, "expected a function")
  if (options.retry !== undefined) checkRetry(definition, options.retry)
  if (options.timeout !== undefined) checkDuration(definition, "timeout", options.timeout, { positive: true })
  if (options.deadline !== undefined) checkDeadline(definition, "deadline", options.deadline)
  if (options.output !== undefined) checkSchema(definition, "output", options.output)
  if (options.compensate !== undefined && typeof options.compensate !== "function") refuse(definition, "compensate", options.compensate, "expected a function")
  const def = ((input: I) => new Command<unknown>({ _tag: "Step", step: def, input })) as StepDef<I, unknown>
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
