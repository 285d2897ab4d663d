/**
 * Payload resolution and validation, done before anything is written: defaults are filled
 * from the Clock, the result is decoded with the trigger's schema (unknown fields are
 * errors), and re-encoded to the JSON that is stored with the run.
 */
import { Either, ParseResult, Schema } from "effect"
import type { StepDef } from "../dsl/Step.js"
import type { Trigger } from "../dsl/Trigger.js"
import { InvalidPayloadError, type InvalidField } from "../src/core/errors.js"
import { toJson, type Json } from "../src/core/json.js"

/** A payload that passed validation: the decoded value for the workflow, and its stored JSON. */
export interface ResolvedPayload {
  readonly decoded: unknown
  readonly stored: Json
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Fills defaults for absent fields, reading the Clock time `now` once. */
export const applyDefaults = (trigger: Trigger, payload: Record<string, unknown>, now: number): Record<string, unknown> => {
  const out = { ...payload }
  for (const [field, value] of Object.entries(trigger.defaults)) {
    if (out[field] !== undefined) continue
    out[field] = isRecord(value) && value._tag === "ClockDefault" ? (value as { resolve: (n: number) => unknown }).resolve(now) : value
  }
  return out
}

const pathOf = (path: ReadonlyArray<PropertyKey>) => path.map(String).join(".") || "(payload)"

/** Validates a raw payload against a trigger; the error lists missing, unknown and mistyped fields. */
export const resolvePayload = (
  workflow: string,
  triggerName: string,
  trigger: Trigger,
  raw: unknown,
  now: number,
): Either.Either<ResolvedPayload, InvalidPayloadError> => {
  const fail = (missing: Array<string>, unknown: Array<string>, invalid: Array<InvalidField>) =>
    Either.left(new InvalidPayloadError({ workflow, trigger: triggerName, missing, unknown, invalid }))
  const payload = raw === undefined ? {} : raw
  if (!isRecord(payload)) return fail([], [], [{ field: "(payload)", message: "expected an object" }])
  const withDefaults = applyDefaults(trigger, payload, now)
  const decoded = Schema.decodeUnknownEither(trigger.payload, { errors: "all", onExcessProperty: "error" })(withDefaults)
  if (Either.isLeft(decoded)) {
    const missing: Array<string> = [],
      unknown: Array<string> = [],
      invalid: Array<InvalidField> = []
    for (const issue of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
      const field = pathOf(issue.path)
      if (issue._tag === "Missing") missing.push(field)
      else if (issue._tag === "Unexpected") unknown.push(field)
      else invalid.push({ field, message: issue.message })
    }
    return fail(missing, unknown, invalid)
  }
  const encoded = Schema.encodeEither(trigger.payload)(decoded.right)
  if (Either.isLeft(encoded)) return fail([], [], [{ field: "(payload)", message: "payload could not be encoded for storage" }])
  const stored = toJson(encoded.right)
  return Either.right({ decoded: decoded.right, stored: stored ?? null })
}

/** Decodes a stored run input for replay (it was validated when the run started). */
export const decodeStored = (trigger: Trigger, stored: Json): unknown => Schema.decodeUnknownSync(trigger.payload)(stored)

/** A step's journaled result as the workflow receives it: decoded by its `output` Schema, if any. */
export const decodeOutput = (step: StepDef<any, any>, output: unknown): unknown =>
  step.options.output === undefined ? output : Schema.decodeUnknownSync(step.options.output)(output)
