/**
 * Store failures, classified: whether a driver error is transient (trying the same call again
 * can help) or not. Only transient failures are worth retrying; a SQL bug, a constraint
 * violation or a closed store fails the same way every time, and retrying it only hides it
 * behind seconds of back-off.
 *
 * The classification reads the `code` the drivers put on their errors: the SQLSTATE of a
 * server error (postgres.js `PostgresError`, PGlite `DatabaseError`), a Node socket error code,
 * or a postgres.js connection error code. Wrapped errors are followed through `cause` and
 * `AggregateError.errors` (Node reports a failed multi-address connect as an AggregateError).
 */
import { StoreError } from "../../core/errors.js"

/** SQLSTATE classes (first two characters) whose every code is transient. */
const TRANSIENT_CLASSES: ReadonlySet<string> = new Set([
  "08", // connection exception
  "53", // insufficient resources (disk full, out of memory, too many connections)
])

/** Single SQLSTATEs that are transient. */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
])

/** Node socket errors and postgres.js connection errors: the connection, not the statement, failed. */
const TRANSIENT_DRIVER_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
])

/** A SQLSTATE is five characters of digits and upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/

/** Whether one error code (SQLSTATE or driver code) names a transient failure. */
export const isTransientCode = (code: string): boolean =>
  TRANSIENT_DRIVER_CODES.has(code) || (SQLSTATE.test(code) && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2))))

/** How deep `cause` chains are followed; driver errors wrap at most once or twice. */
const MAX_DEPTH = 4

/**
 * Whether a driver failure is transient: its `code`, or the code of an error it wraps, is a
 * connection, shutdown, resource, serialization or deadlock failure. Anything else (and
 * anything without a code) is not transient.
 */
export const isTransient = (cause: unknown, depth = 0): boolean => {
  if (depth > MAX_DEPTH || typeof cause !== "object" || cause === null) return false
  const { code, errors, cause: inner } = cause as { code?: unknown; errors?: unknown; cause?: unknown }
  if (typeof code === "string" && isTransientCode(code)) return true
  if (Array.isArray(errors) && errors.some((e) => isTransient(e, depth + 1))) return true
  return isTransient(inner, depth + 1)
}

/** The `StoreError` of a failed store operation, classified from its driver error. */
export const storeError = (operation: string, cause: unknown): StoreError => new StoreError({ operation, cause, transient: isTransient(cause) })
