/**
 * Error normalisation: any thrown or failed value becomes a persisted `ErrorInfo`, a stable
 * snake_case code plus a redacted, bounded message. Raw errors never reach the store. The code
 * is derived from redacted text (so `token=abc123` becomes `token_redacted`, not `token_abc123`).
 */
import { Cause, Duration } from "effect"
import { StepFailedError, WorkflowFailedError } from "../src/core/errors.js"
import type { ErrorInfo } from "../src/core/model.js"
import { defaultRedactor, type Redactor } from "../src/core/redact.js"
import { toJson, type Json } from "../src/core/json.js"

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

const field = (value: unknown, key: string): unknown => (typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined)

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

/** A code from untrusted text: secrets are scrubbed before the text is folded into snake_case. */
const codeOf = (raw: unknown, redactor: Redactor): string => toCode(typeof raw === "string" ? redactor.scrub(raw) : raw)

/** Normalises any error value into a persisted `ErrorInfo`, redacted with the engine's rules. */
export const errorInfo = (raw: unknown, redactor: Redactor = defaultRedactor): ErrorInfo => {
  const error = unwrap(raw)
  if (error instanceof StepFailedError) {
    // Normally already redacted (it comes from the journal), but user code can build one.
    const { details, ...rest } = error.error
    const kept = details === undefined ? undefined : (toJson(redactor.value(details)) as Json | undefined)
    return {
      ...rest,
      code: codeOf(rest.code, redactor),
      message: redactor.text(rest.message),
      ...(kept === undefined ? {} : { details: kept }),
      step: error.step,
      seq: error.seq,
    }
  }
  if (error instanceof WorkflowFailedError) {
    const details = toJson(redactor.value(toJson(error.details)))
    return { code: error.code ?? "workflow_failed", message: redactor.text(error.reason), ...(details === undefined ? {} : { details }) }
  }
  if (typeof error === "string") return { code: "error", message: redactor.text(error) }
  const code = codeOf(field(error, "code") ?? field(error, "_tag") ?? field(error, "name") ?? "error", redactor)
  const message = field(error, "message")
  const info: { code: string; message: string; retryable?: boolean } = {
    code,
    message: redactor.text(typeof message === "string" && message.length > 0 ? message : code),
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
