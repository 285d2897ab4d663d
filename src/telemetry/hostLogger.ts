/**
 * A host's logger (console, pino, winston, bunyan... anything with `info`, `warn`, `error` and
 * `debug`) as an Effect Logger, so the engine's lines, the workflows' `Workflow.log` lines and
 * what step bodies log go where the host's other logs go instead of stdout logfmt.
 */
import { inspect } from "node:util"
import { Cause, HashMap, Logger, LogLevel } from "effect"

/**
 * A logger with the usual four methods. Each is called with the message and a fields object: the
 * log annotations (`runId`, `step`, `attempt`...), the values logged after the message
 * (`details`), the failure (`cause`, rendered) and the Effect log level (`level`).
 * `console` fits; for pino (whose methods take the fields first) pass an adapter such as
 * `{ info: (m, f) => log.info(f, m), ... }`.
 */
export interface HostLogger {
  readonly debug: (message: string, fields: Record<string, unknown>) => void
  readonly info: (message: string, fields: Record<string, unknown>) => void
  readonly warn: (message: string, fields: Record<string, unknown>) => void
  readonly error: (message: string, fields: Record<string, unknown>) => void
}

const text = (part: unknown): string => (typeof part === "string" ? part : inspect(part, { depth: 4, breakLength: Number.POSITIVE_INFINITY }))

/** The host method for an Effect log level (fatal and error: `error`; trace and debug: `debug`). */
const methodOf = (host: HostLogger, level: LogLevel.LogLevel): HostLogger["info"] =>
  LogLevel.greaterThanEqual(level, LogLevel.Error)
    ? host.error
    : LogLevel.greaterThanEqual(level, LogLevel.Warning)
      ? host.warn
      : LogLevel.greaterThanEqual(level, LogLevel.Info)
        ? host.info
        : host.debug

/** An Effect Logger that writes each line to `host`'s method for its level. */
export const fromHostLogger = (host: HostLogger): Logger.Logger<unknown, void> =>
  Logger.make(({ logLevel, message, annotations, cause }) => {
    const parts = Array.isArray(message) ? message : [message]
    const fields: Record<string, unknown> = Object.fromEntries(HashMap.toEntries(annotations))
    if (parts.length > 1) fields.details = parts.slice(1)
    if (!Cause.isEmpty(cause)) fields.cause = Cause.pretty(cause)
    fields.level = logLevel.label
    methodOf(host, logLevel).call(host, parts.length === 0 ? "" : text(parts[0]), fields)
  })
