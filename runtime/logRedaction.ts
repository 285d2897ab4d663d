/**
 * Step bodies log through the host's loggers while the engine runs them. Those lines are
 * printed by an engine fiber, so they get the engine's redaction too: every logger sees the
 * message scrubbed and secret-named annotations replaced. Causes passed to a logger are not
 * rewritten (their rendering belongs to the logger).
 */
import { Effect, FiberRef, HashMap, HashSet, Logger } from "effect"
import { REDACTED, type Redactor } from "../src/core/redact.js"

const redactMessage = (redactor: Redactor, message: unknown): unknown =>
  Array.isArray(message) ? message.map((part) => redactor.fields(part)) : redactor.fields(message)

/** Runs `effect` with the current loggers wrapped so that what it logs is redacted first. */
export const withRedactedLogs = <A, E, R>(redactor: Redactor, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) =>
    HashSet.map(loggers, (logger) =>
      Logger.mapInputOptions(logger, (options) => ({
        ...options,
        message: redactMessage(redactor, options.message),
        annotations: HashMap.map(options.annotations, (value, key) => (redactor.isSecretKey(key) ? REDACTED : redactor.fields(value))),
      })),
    ),
  )
