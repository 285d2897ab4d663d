/**
 * Error normalisation: any thrown or failed value becomes a persisted `ErrorInfo`, a stable
 * snake_case code plus a redacted, bounded message. Raw errors never reach the store.
 */
import { Cause, Duration } from "effect"
import { StepFailedError, WorkflowFailedError } from "../src/core/errors.js"
import type { ErrorInfo } from "../src/core/model.js"
import { redactText } from "../src/core/redact.js"
import { toJson } from "../src/core/json.js"

const CODE_RE = /^[a-z][a-z0-9_]{0,63}$/

/** `PaymentDeclined` → `payment_declined`; anything unusable → `step_error`. */
export const toCode = (raw: unknown): string => {
  if (typeof raw !== "string") return "step_error"
  const code = raw
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase()
  return CODE_RE.test(code) ? code : "step_error"
}

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined

/** Unwraps Effect causes (failures first, then defects, then interruption). */
const unwrap = (error: unknown): unknown => {
  if (Cause.isCause(error)) {
    const failure = Cause.failureOption(error)
    if (failure._tag === "Some") return failure.value
    const defect = Cause.dieOption(error)
    if (defect._tag === "Some") return defect.value
    return { _tag: "Interrupted", message: "interrupted" }
  }
  return error
}

/** Normalises any error value into a persisted `ErrorInfo`. */
export const errorInfo = (raw: unknown): ErrorInfo => {
  const error = unwrap(raw)
  if (error instanceof StepFailedError) {
    return { ...error.error, step: error.step, seq: error.seq }
  }
  if (error instanceof WorkflowFailedError) {
    const details = toJson(error.details)
    return { code: "workflow_failed", message: redactText(error.reason), ...(details === undefined ? {} : { details }) }
  }
  if (typeof error === "string") return { code: "error", message: redactText(error) }
  const code = toCode(field(error, "code") ?? field(error, "_tag") ?? field(error, "name") ?? "error")
  const message = field(error, "message")
  const info: { code: string; message: string; retryable?: boolean } = {
    code,
    message: redactText(typeof message === "string" && message.length > 0 ? message : code),
  }
  if (field(error, "retryable") === false) info.retryable = false
  return info
}

/** The `retryAfter` a failure asks for, in ms, if any. */
export const retryAfterMillis = (raw: unknown): number | undefined => {
  const value = field(unwrap(raw), "retryAfter")
  if (value === undefined || value === null) return undefined
  try {
    const ms = Duration.toMillis(Duration.decode(value as Duration.DurationInput))
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined
  } catch {
    return undefined
  }
}
