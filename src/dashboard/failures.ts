/**
 * Engine failures as HTTP answers: `{ error: { _tag, message, ...fields } }`, with the status
 * their tag maps to. The fields a caller acts on travel with the tag: plain values, and lists
 * of plain values or flat records (an InvalidPayloadError's `missing`, `unknown` and
 * `invalid`, a RerunRefusedError's `steps`), never nested causes or payloads.
 */
import type { ServerResponse } from "node:http"
import { sendError, sendJson } from "./http.js"
import type { QueryProblem } from "./query.js"

const STATUS_OF_TAG: Readonly<Record<string, number>> = {
  InvalidOptionError: 400,
  InvalidPayloadError: 400,
  RunNotFoundError: 404,
  InvalidTriggerError: 404,
  InvalidTransitionError: 409,
  ConflictError: 409,
  InvalidWorkflowError: 409,
  RerunRefusedError: 409,
  PayloadTooLargeError: 413,
}

const isPlain = (value: unknown): boolean => value === null || (typeof value !== "object" && typeof value !== "function")

/** A flat record: an object whose values are all plain (`{ field, message }`). */
const isFlatRecord = (value: unknown): boolean => typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every(isPlain)

/** Whether a field of an error goes into the answer: plain values, and lists of plain values or flat records. */
const isShown = (value: unknown): boolean => isPlain(value) || (Array.isArray(value) && value.every((item) => isPlain(item) || isFlatRecord(item)))

/** An engine failure as an HTTP answer: its tag, message and plain fields. */
export const sendFailure = (res: ServerResponse, error: unknown): void => {
  if (typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string") {
    const tagged = error as { readonly _tag: string; readonly message?: unknown }
    const fields: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(tagged)) if (key !== "stack" && key !== "cause" && isShown(value)) fields[key] = value
    const message = typeof tagged.message === "string" ? tagged.message : tagged._tag
    sendJson(res, STATUS_OF_TAG[tagged._tag] ?? 500, { error: { ...fields, _tag: tagged._tag, message } })
    return
  }
  sendError(res, 500, "InternalError", error instanceof Error ? error.message : String(error))
}

/** Answers a query string that could not be read: 400 InvalidOptionError naming the parameter (as the engine's does). */
export const sendQueryProblem = (res: ServerResponse, problem: QueryProblem): void =>
  sendJson(res, 400, { error: { _tag: "InvalidOptionError", option: problem.option, message: `invalid option ${problem.option}: ${problem.reason}` } })

/** Answers a request body field of the wrong type: 400 InvalidOptionError naming it. */
export const sendBadOption = (res: ServerResponse, option: string, reason: string): void =>
  sendJson(res, 400, { error: { _tag: "InvalidOptionError", option, message: `invalid option ${option}: ${reason}` } })
