/**
 * Runs one attempt of a step body: Effect, Promise or plain value, with the step's timeout
 * and an AbortSignal that fires when the attempt is interrupted.
 */
import { Cause, Duration, Effect, Either, Exit, Schema } from "effect"
import { StepError, type StepContext, type StepDef } from "../dsl/Step.js"
import type { Json } from "../src/core/json.js"

/** The body actually executed: the step's own, or a test stub replacing it. */
export type StepBody = (input: unknown, ctx: StepContext) => unknown

/**
 * The JSON a result is recorded as: encoded by the step's `output` Schema when it has one,
 * bounded by `limitBytes`. A result that cannot be recorded fails the attempt for good
 * (`output_invalid`, `output_too_large`): retrying would produce it again.
 */
const recordable = (value: unknown, schema: Schema.Schema<any, any, never> | undefined, limitBytes: number): Exit.Exit<Json | undefined, StepError> => {
  const invalid = (code: string, message: string) => Exit.fail(new StepError({ code, message, retryable: false }))
  let encoded = value
  if (schema) {
    const result = Schema.encodeUnknownEither(schema)(value)
    if (Either.isLeft(result)) return invalid("output_invalid", `the result does not match the step's output schema: ${result.left.message}`)
    encoded = result.right
  }
  if (encoded === undefined) return Exit.succeed(undefined)
  let text: string | undefined
  try {
    text = JSON.stringify(encoded)
  } catch (cause) {
    return invalid("output_invalid", `the result cannot be stored as JSON: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  if (text === undefined) return Exit.succeed(undefined)
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long texts need an exact count.
  if (text.length * 3 > limitBytes) {
    const bytes = Buffer.byteLength(text)
    if (bytes > limitBytes) return invalid("output_too_large", `the result is ${bytes} bytes; the limit is ${limitBytes} bytes`)
  }
  return Exit.succeed(JSON.parse(text) as Json)
}

/**
 * Runs the body once; the Exit carries the recorded JSON result, or the raw failure (typed
 * error or defect).
 */
export const runAttempt = (
  step: StepDef<any, any>,
  body: StepBody,
  input: unknown,
  ctx: Omit<StepContext, "signal">,
  output: { readonly schema: Schema.Schema<any, any, never> | undefined; readonly limitBytes: number },
): Effect.Effect<Exit.Exit<Json | undefined, unknown>> => {
  const attempt = Effect.suspend(() => {
    const controller = new AbortController()
    const result = body(input, { ...ctx, signal: controller.signal })
    const effect: Effect.Effect<unknown, unknown> = Effect.isEffect(result)
      ? (result as Effect.Effect<unknown, unknown>)
      : isThenable(result)
        ? Effect.tryPromise({ try: () => result, catch: (e) => e })
        : Effect.succeed(result)
    return Effect.onInterrupt(effect, () => Effect.sync(() => controller.abort()))
  })
  const timeout = step.options.timeout
  const bounded =
    timeout === undefined
      ? attempt
      : Effect.timeoutFail(attempt, {
          duration: timeout,
          onTimeout: () => new StepError({ code: "step_timeout", message: `step timed out after ${Duration.format(Duration.decode(timeout))}` }),
        })
  return Effect.exit(bounded).pipe(
    Effect.map((exit) =>
      Exit.isSuccess(exit)
        ? recordable(exit.value, output.schema, output.limitBytes)
        : Cause.isInterruptedOnly(exit.cause)
          ? Exit.failCause(exit.cause)
          : Exit.fail(squash(exit.cause)),
    ),
  )
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

/** The first typed failure, else the first defect (a thrown exception). */
const squash = (cause: Cause.Cause<unknown>): unknown => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return failure.value
  const defect = Cause.dieOption(cause)
  return defect._tag === "Some" ? defect.value : Cause.squash(cause)
}
