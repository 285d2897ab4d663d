/**
 * Definition checks: `Workflow.make`, `Step.make`, `Trigger.*` and the command constructors
 * refuse a malformed option when the definition is made, with an `InvalidDefinitionError`
 * naming the field and the value, instead of failing later at a step's first attempt.
 */
import { Duration, Schedule, Schema, SchemaAST } from "effect"
import { parseDuration } from "../src/core/duration.js"
import { InvalidDefinitionError, showValue } from "../src/core/errors.js"
import type { DeadlinePolicy } from "./Deadline.js"
import type { RetryPolicy } from "./Retry.js"

/** Throws an `InvalidDefinitionError`. */
export const refuse = (definition: string, field: string, value: unknown, reason: string): never => {
  throw new InvalidDefinitionError({ definition, field, value: showValue(value), reason })
}

/** A duration option; returns the decoded value. */
export const checkDuration = (definition: string, field: string, value: unknown, options: { readonly positive?: boolean } = {}): Duration.Duration => {
  const parsed = parseDuration(value, options)
  return parsed.ok ? parsed.duration : refuse(definition, field, value, parsed.reason)
}

/** A deadline policy: `within` is required and positive, the others are durations. */
export const checkDeadline = (definition: string, field: string, policy: DeadlinePolicy): void => {
  if (typeof policy !== "object" || policy === null) refuse(definition, field, policy, "expected { within, dueSoon?, escalateAfter?, escalation? }")
  checkDuration(definition, `${field}.within`, policy.within, { positive: true })
  if (policy.dueSoon !== undefined) checkDuration(definition, `${field}.dueSoon`, policy.dueSoon)
  if (policy.escalateAfter !== undefined) checkDuration(definition, `${field}.escalateAfter`, policy.escalateAfter)
  if (policy.escalation !== undefined && typeof policy.escalation !== "string")
    refuse(definition, `${field}.escalation`, policy.escalation, "expected a string")
}

/** A retry policy: attempts, backoff durations, schedule and predicate. */
export const checkRetry = (definition: string, retry: RetryPolicy): void => {
  if (typeof retry !== "object" || retry === null) refuse(definition, "retry", retry, "expected { maxAttempts?, backoff?, schedule?, nonRetryable? }")
  if (retry.maxAttempts !== undefined && (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1)) {
    refuse(definition, "retry.maxAttempts", retry.maxAttempts, "expected an integer of at least 1 (the first attempt counts)")
  }
  const backoff = retry.backoff
  if (backoff !== undefined) {
    if (backoff?.type === "exponential") {
      const min = checkDuration(definition, "retry.backoff.min", backoff.min)
      const max = checkDuration(definition, "retry.backoff.max", backoff.max)
      if (Duration.lessThan(max, min)) {
        refuse(definition, "retry.backoff.max", backoff.max, "must not be shorter than retry.backoff.min")
      }
    } else if (backoff?.type === "fixed") checkDuration(definition, "retry.backoff.delay", backoff.delay)
    else refuse(definition, "retry.backoff", backoff, 'expected { type: "exponential", min, max } or { type: "fixed", delay }')
  }
  if (retry.schedule !== undefined && !Schedule.isSchedule(retry.schedule)) refuse(definition, "retry.schedule", retry.schedule, "expected an Effect Schedule")
  if (retry.nonRetryable !== undefined && typeof retry.nonRetryable !== "function")
    refuse(definition, "retry.nonRetryable", retry.nonRetryable, "expected a function")
}

/**
 * A Schema of this package's Effect major. A Schema from Effect 4 (or any other copy of
 * Effect) would fail with an untagged TypeError at the first decode.
 */
export const checkSchema = (definition: string, field: string, value: unknown): void => {
  if (Schema.isSchema(value)) return
  const foreign = typeof value === "object" || typeof value === "function" ? value !== null && ("~effect/Schema/Schema" in value || "ast" in value) : false
  refuse(
    definition,
    field,
    foreign ? "a Schema" : value,
    foreign
      ? 'this Schema comes from another copy or major of Effect; squid-mesh needs an Effect 3.x Schema (`import { Schema } from "effect"` with effect@3 installed once)'
      : "expected an Effect Schema",
  )
}

/**
 * The payload fields every trigger's schema declares (a struct's property names), or undefined
 * when a schema is not a struct (then which keys a payload has is not known statically).
 */
export const payloadFieldsOf = (triggers: Readonly<Record<string, { readonly payload?: unknown }>>): ReadonlySet<string> | undefined => {
  const fields = new Set<string>()
  for (const trigger of Object.values(triggers ?? {})) {
    const schema = trigger?.payload
    if (!Schema.isSchema(schema)) return undefined
    const ast = SchemaAST.isTransformation(schema.ast) ? schema.ast.to : schema.ast
    if (!SchemaAST.isTypeLiteral(ast) || ast.indexSignatures.length > 0) return undefined
    for (const p of ast.propertySignatures) if (typeof p.name === "string") fields.add(p.name)
  }
  return fields
}

/** An IANA time zone name Intl knows (e.g. `Europe/Lisbon`). */
export const checkTimeZone = (definition: string, field: string, value: unknown): void => {
  try {
    if (typeof value !== "string") throw new RangeError()
    new Intl.DateTimeFormat("en-US", { timeZone: value })
  } catch {
    refuse(definition, field, value, 'expected an IANA time zone such as "UTC" or "Europe/Lisbon"')
  }
}
