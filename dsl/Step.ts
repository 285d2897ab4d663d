/**
 * Steps: user code with side effects. A step is defined once with `Step.make` and called
 * like a function inside a workflow: `const out = yield* Charge(input)`.
 */
import { Data, type Duration, type Schema } from "effect"
import type { Jsonify } from "../src/core/json.js"
import { Command } from "./Command.js"
import type { StepOptions, StepOutput, StepResult } from "./StepOptions.js"
import { checkDeadline, checkDuration, checkRetry, checkSchema, refuse } from "./validate.js"

export type { StepContext, StepOptions, StepOutput, StepResult } from "./StepOptions.js"

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
