/**
 * Step bodies log through the host's loggers while the engine runs them. Those lines are
 * printed by an engine fiber, so they get the engine's redaction too: every logger sees the
 * message scrubbed and secret-named annotations replaced. Causes passed to a logger are not
 * rewritten (their rendering belongs to the logger).
 */
import { Effect, FiberRef, HashMap, HashSet, Logger } from "effect"
import { REDACTED, type Redactor } from "../src/core/redact.js"

const isPlain = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null || Array.isArray(value)
}

/** One logged value: text scrubbed, plain data walked, errors copied with a scrubbed message and stack. */
const redactPart = (redactor: Redactor, part: unknown): unknown => {
  if (typeof part === "string") return redactor.scrub(part)
  if (part instanceof Error) {
    const copy = new Error(redactor.scrub(part.message))
    copy.name = part.name
    if (part.stack === undefined) delete copy.stack
    else copy.stack = redactor.scrub(part.stack)
    return copy
  }
  // Other class instances are the logger's to render; plain data is walked.
  return typeof part === "object" && part !== null && isPlain(part) ? redactor.fields(part) : part
}

const redactMessage = (redactor: Redactor, message: unknown): unknown =>
  Array.isArray(message) ? message.map((part) => redactPart(redactor, part)) : redactPart(redactor, message)

type Loggers = HashSet.HashSet<Logger.Logger<unknown, any>>

/**
 * The wrapped loggers, per redactor and per set of loggers: a set is immutable and the same one
 * is current step after step, so each step reuses the wrapping instead of rebuilding it.
 */
const wrapped = new WeakMap<Redactor, WeakMap<Loggers, Loggers>>()

const redacting = (redactor: Redactor, loggers: Loggers): Loggers => {
  let byLoggers = wrapped.get(redactor)
  if (!byLoggers) wrapped.set(redactor, (byLoggers = new WeakMap()))
  let result = byLoggers.get(loggers)
  if (!result) {
    result = HashSet.map(loggers, (logger) =>
      Logger.mapInputOptions(logger, (options) => ({
        ...options,
        message: redactMessage(redactor, options.message),
        annotations: HashMap.map(options.annotations, (value, key) => (redactor.isSecretKey(key) ? REDACTED : redactPart(redactor, value))),
      })),
    )
    byLoggers.set(loggers, result)
  }
  return result
}

/** Runs `effect` with the current loggers wrapped so that what it logs is redacted first. */
export const withRedactedLogs = <A, E, R>(redactor: Redactor, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) => redacting(redactor, loggers))
