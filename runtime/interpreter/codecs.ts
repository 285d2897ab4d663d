/**
 * Schemas of the journal payloads the interpreter writes and reads back. An entry's `input`
 * is checked when replay matches it with a command, and a completed entry's `output` is
 * decoded before the generator receives it, so a journal that does not have the shape the
 * engine writes fails the run with `corrupt_journal` (naming the seq and kind) instead of
 * handing a workflow a value of the wrong type. The engine's readers of child specs and
 * approval inputs can decode with the same schemas.
 */
import { Data, Either, ParseResult, Schema } from "effect"
import type { ApprovalDecision, Resumed, SignalResult } from "../../dsl/Workflow.js"
import type { Entry, ErrorInfo } from "../../src/core/model.js"

/** Anything JSON: a step's input or result, a child's input or output (their own schemas, if any, are the workflow's). */
export const Opaque = Schema.Unknown

/** A sleep's due time. */
export const SleepInput = Schema.Struct({ until: Schema.Number })

/**
 * A signal wait's timeout, when it has one, and its payload schema as JSON Schema (so a process
 * without the workflow's code can validate a signal; absent when Effect cannot describe it).
 */
export const SignalInput = Schema.UndefinedOr(
  Schema.Struct({
    timeoutAt: Schema.optionalWith(Schema.Number, { exact: true }),
    schema: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
  }),
)

/** A signal wait's result; the payload is kept encoded (the wait's schema decodes it). */
export const SignalOutput: Schema.Schema<SignalResult<unknown>> = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Received"), payload: Schema.Unknown, at: Schema.Number }),
  Schema.Struct({ _tag: Schema.Literal("TimedOut"), at: Schema.Number }),
)

/** What a pause returns once resumed. */
export const PauseOutput: Schema.Schema<Resumed> = Schema.Struct({
  actor: Schema.String,
  reason: Schema.optionalWith(Schema.String, { exact: true }),
  at: Schema.Number,
})

/** What an approval's deadline does when it passes. */
export const ApprovalInput = Schema.Struct({ onDeadline: Schema.Literal("reject", "fail", "none") })

/** An approval's decision: by an actor, or by its deadline (`automatic`). */
export const ApprovalOutput: Schema.Schema<ApprovalDecision> = Schema.Struct({
  approved: Schema.Boolean,
  actor: Schema.String,
  note: Schema.optionalWith(Schema.String, { exact: true }),
  at: Schema.Number,
  automatic: Schema.optionalWith(Schema.Boolean, { exact: true }),
})

/** A `Workflow.patched` marker's result: recorded markers are always `true`. */
export const PatchOutput = Schema.Literal(true)

/** `Workflow.now()` and `Workflow.random()`. */
export const NumberOutput = Schema.Number

/** `Workflow.uuid()`. */
export const UuidOutput = Schema.String

/** A `Workflow.log` line as journaled (already redacted). */
export const LogInput = Schema.Struct({ message: Schema.String, level: Schema.Literal("debug", "info", "warning", "error") })

/** The child run a `child`/`startChild` entry starts: its id is fixed when the entry is written. */
export const ChildSpec = Schema.Struct({
  workflow: Schema.String,
  key: Schema.String,
  runId: Schema.String,
  wait: Schema.Boolean,
  input: Schema.Unknown,
})

/** A child spec as the engine reads it back. */
export type ChildSpec = typeof ChildSpec.Type

/** What `Workflow.startChild` returns. */
export const ChildStarted = Schema.Struct({ runId: Schema.String })

/** A compensation's task input: the step it undoes (its seq) and that step's input and result. */
export const CompensationInput = Schema.Struct({
  seq: Schema.Number,
  input: Schema.optionalWith(Schema.Unknown, { exact: true }),
  output: Schema.optionalWith(Schema.Unknown, { exact: true }),
})

/** A compensation's input as the engine reads it back. */
export type CompensationInput = typeof CompensationInput.Type

/**
 * A journal entry's payload does not have the shape the engine writes: the row was edited,
 * truncated or written by incompatible code. The run cannot be replayed safely.
 */
export class CorruptJournalError extends Data.TaggedError("CorruptJournalError")<{
  readonly runId: string
  readonly seq: number
  readonly kind: string
  readonly name: string
  readonly field: "input" | "output"
  readonly issue: string
}> {
  override get message() {
    return `corrupt journal of run ${this.runId} at seq ${this.seq}: the ${this.field} of ${this.kind} "${this.name}" does not decode (${this.issue})`
  }
}

/** The error a run fails with when its journal is corrupt (code `corrupt_journal`). */
export const corruptInfo = (error: CorruptJournalError): ErrorInfo => ({
  code: "corrupt_journal",
  message: error.message,
  seq: error.seq,
  details: { kind: error.kind, name: error.name, field: error.field },
})

type Decode = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>

// Replay decodes every entry it meets, so each schema's decoder is built once, and opaque
// payloads (most of a journal: step inputs and results) are not walked at all.
const decoders = new WeakMap<Schema.Schema<any, any, never>, Decode>([[Opaque, (u) => Either.right(u)]])

const decoderOf = <A>(schema: Schema.Schema<A, any, never>): ((u: unknown) => Either.Either<A, ParseResult.ParseError>) => {
  let decode = decoders.get(schema)
  if (!decode) {
    decode = Schema.decodeUnknownEither(schema)
    decoders.set(schema, decode)
  }
  // The cache is keyed by the schema that built the decoder, so its result type is the schema's.
  return decode as (u: unknown) => Either.Either<A, ParseResult.ParseError>
}

/**
 * Decodes `entry[field]` with `schema`: the value, or a `CorruptJournalError` naming the run,
 * seq, kind, name and the issue.
 */
export const decodeEntry = <A>(
  schema: Schema.Schema<A, any, never>,
  runId: string,
  entry: Entry,
  field: "input" | "output",
): Either.Either<A, CorruptJournalError> =>
  Either.mapLeft(
    decoderOf(schema)(entry[field]),
    (error) =>
      new CorruptJournalError({ runId, seq: entry.seq, kind: entry.kind, name: entry.name, field, issue: ParseResult.TreeFormatter.formatErrorSync(error) }),
  )
