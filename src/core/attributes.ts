/**
 * Run attributes: string key/value pairs a run is started with (`tenant: "acme"`), stored with
 * the run and indexed so that `listRuns({ attributes })` finds its runs at volume. They are
 * shown to operators and kept in an index, so they must not hold secrets: a secret-looking
 * key or value is refused, not redacted (a redacted value would be useless as a filter).
 */
import { InvalidOptionError, showValue } from "./errors.js"
import type { Redactor } from "./redact.js"

/** Most pairs per run. */
export const MAX_ATTRIBUTES = 16
/** Longest value, in characters. */
export const MAX_ATTRIBUTE_VALUE = 256
/** A key: a letter, then letters, digits, `_`, `.`, `:` or `-`; 64 characters at most. */
export const ATTRIBUTE_KEY = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/

/**
 * The first malformed part of an attributes object, if any: not a plain object, too many
 * pairs, a bad key, a value that is not a string or too long. With a redactor (at start),
 * also a key or value that looks secret. `option` names the option in the error.
 */
export const invalidAttributes = (value: unknown, option: string, redactor?: Redactor): InvalidOptionError | undefined => {
  const bad = (where: string, v: unknown, reason: string) => new InvalidOptionError({ option: where, value: showValue(v), reason })
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    return bad(option, value, "expected an object of string keys to string values")
  }
  const entries = Object.entries(value)
  if (entries.length > MAX_ATTRIBUTES) return bad(option, `${entries.length} pairs`, `expected at most ${MAX_ATTRIBUTES} pairs`)
  for (const [key, v] of entries) {
    if (!ATTRIBUTE_KEY.test(key)) return bad(`${option}.${key}`, key, `expected a key matching ${ATTRIBUTE_KEY}`)
    if (typeof v !== "string") return bad(`${option}.${key}`, v, "expected a string value")
    if (v.length > MAX_ATTRIBUTE_VALUE)
      return bad(`${option}.${key}`, `${v.length} characters`, `expected a value of at most ${MAX_ATTRIBUTE_VALUE} characters`)
    if (redactor && (redactor.isSecretKey(key) || redactor.scrub(v) !== v || redactor.scrub(`${key}=${v}`) !== `${key}=${v}`)) {
      return bad(
        `${option}.${key}`,
        "[REDACTED]",
        "looks like a secret: attributes are indexed and shown to operators, so they are refused rather than stored (pass an id, not the credential)",
      )
    }
  }
  return undefined
}
