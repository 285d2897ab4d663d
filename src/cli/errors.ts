/**
 * How the CLI fails: its own tagged error (`CliError`, for usage and setup problems), the exit
 * code of every failure, and the one line printed for it on stderr. Engine errors keep their
 * tag: the line names it (`squid-mesh: RunNotFoundError: run … not found`), never a stack trace.
 */
import { Data } from "effect"

/** The exit codes of `squid-mesh`, as documented in `--help`. */
export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /** It ran and found a problem (check-replay: divergent runs; doctor: a problem), or failed unexpectedly. */
  failed: 1,
  /** It could not run as given: bad usage or option value, a missing module, store or schema. Nothing was written. */
  usage: 2,
  /** No run with that id. */
  notFound: 3,
  /** The engine refused the operation (the run is not in a state that allows it, a bad payload, a conflict). Nothing was written. */
  refused: 4,
  /** The store could not be reached or failed (connection refused, a locked directory, a database error). */
  store: 5,
} as const

/** One of the exit codes in `EXIT`. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** A command that cannot run; `main` prints `message` on stderr and exits with `exitCode`. */
export class CliError extends Data.TaggedError("CliError")<{
  readonly message: string
  readonly exitCode: ExitCode
  /** The help text to print after the message (a usage mistake). */
  readonly help?: string
}> {}

/** A usage mistake in one command (exit 2): one line naming the command, pointing at its `--help`. */
export const commandUsageError = (command: string, message: string): CliError =>
  new CliError({ message: `${command}: ${message} (see squid-mesh ${command} --help)`, exitCode: EXIT.usage })

/** A usage mistake (exit 2); `help` is printed after the message. */
export const usageError = (message: string, help?: string): CliError => new CliError({ message, exitCode: EXIT.usage, ...(help !== undefined ? { help } : {}) })

const BY_TAG: Readonly<Record<string, ExitCode>> = {
  InvalidOptionError: EXIT.usage,
  InvalidDefinitionError: EXIT.usage,
  RunNotFoundError: EXIT.notFound,
  InvalidTransitionError: EXIT.refused,
  RerunRefusedError: EXIT.refused,
  InvalidPayloadError: EXIT.refused,
  PayloadTooLargeError: EXIT.refused,
  ConflictError: EXIT.refused,
  InvalidWorkflowError: EXIT.refused,
  InvalidTriggerError: EXIT.refused,
  StoreError: EXIT.store,
  StoreLockedError: EXIT.store,
}

const tagOf = (error: unknown): string | undefined => {
  const tag = (error as { _tag?: unknown } | null)?._tag
  return typeof tag === "string" ? tag : undefined
}

/** The exit code of a failure: by the error's tag, 1 for anything unexpected. */
export const exitCodeOf = (error: unknown): ExitCode => (error instanceof CliError ? error.exitCode : (BY_TAG[tagOf(error) ?? ""] ?? EXIT.failed))

/** An error's message on one line, with its cause's when that adds something. */
export const describeError = (error: unknown): string => {
  const cause = (error as { cause?: unknown } | null)?.cause
  const text = error instanceof Error ? error.message : String(error)
  const full = cause instanceof Error && cause.message !== "" && !text.includes(cause.message) ? `${text}: ${cause.message}` : text
  return full.replace(/\s*\n\s*/g, " ")
}

/**
 * The one stderr line for a failure: `squid-mesh: <message>` for the CLI's own errors,
 * `squid-mesh: <Tag>: <message>` for the engine's tagged errors and anything else.
 */
export const errorLine = (error: unknown): string => {
  if (error instanceof CliError) return `squid-mesh: ${error.message}`
  const tag = tagOf(error) ?? (error instanceof Error ? error.name : "Error")
  return `squid-mesh: ${tag}: ${describeError(error)}`
}
