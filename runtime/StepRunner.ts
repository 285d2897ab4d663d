/**
 * Runs one attempt of a step body: Effect, Promise or plain value, with the step's timeout
 * and an AbortSignal that fires when the attempt is interrupted.
 */
import { Cause, Duration, Effect, Exit } from "effect"
import { StepError, type StepContext, type StepDef } from "../dsl/Step.js"

/** The body actually executed: the step's own, or a test stub replacing it. */
export type StepBody = (input: unknown, ctx: StepContext) => unknown

/** Runs the body once; the Exit carries the raw failure (typed error or defect). */
export const runAttempt = (
  step: StepDef<any, any>,
  body: StepBody,
  input: unknown,
  ctx: Omit<StepContext, "signal">,
): Effect.Effect<Exit.Exit<unknown, unknown>> => {
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
  const bounded = timeout === undefined
    ? attempt
    : Effect.timeoutFail(attempt, {
        duration: timeout,
        onTimeout: () => new StepError({ code: "step_timeout", message: `step timed out after ${Duration.format(Duration.decode(timeout))}` }),
      })
  return Effect.exit(bounded).pipe(
    Effect.map((exit) => (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? Exit.fail(squash(exit.cause)) : exit)),
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
