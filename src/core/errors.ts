/**
 * The public, tagged error catalogue. Every failure the engine returns is one of these,
 * with the same `_tag` in the Effect API and in the Promise facade (where it is thrown).
 */
import { Data } from "effect"
import type { ErrorInfo } from "./model.js"

/** The workflow is not registered with this engine, or its definition is malformed. */
export class InvalidWorkflowError extends Data.TaggedError("InvalidWorkflowError")<{
  readonly workflow: string
  readonly reason: string
}> {
  override get message() {
    return `invalid workflow "${this.workflow}": ${this.reason}`
  }
}

/** The workflow has no trigger with that name (or the trigger is not a manual one). */
export class InvalidTriggerError extends Data.TaggedError("InvalidTriggerError")<{
  readonly workflow: string
  readonly trigger: string
  readonly available: ReadonlyArray<string>
}> {
  override get message() {
    return `workflow "${this.workflow}" has no trigger "${this.trigger}" (available: ${this.available.join(", ") || "none"})`
  }
}

/** One field of a payload that has the wrong type or value. */
export interface InvalidField {
  readonly field: string
  readonly message: string
}

/** The payload does not match the trigger's schema. Nothing was written. */
export class InvalidPayloadError extends Data.TaggedError("InvalidPayloadError")<{
  readonly workflow: string
  readonly trigger: string
  readonly missing: ReadonlyArray<string>
  readonly unknown: ReadonlyArray<string>
  readonly invalid: ReadonlyArray<InvalidField>
}> {
  override get message() {
    const parts: Array<string> = []
    if (this.missing.length) parts.push(`missing: ${this.missing.join(", ")}`)
    if (this.unknown.length) parts.push(`unknown: ${this.unknown.join(", ")}`)
    if (this.invalid.length) parts.push(`invalid: ${this.invalid.map((f) => `${f.field} (${f.message})`).join(", ")}`)
    return `invalid payload for ${this.workflow}/${this.trigger}: ${parts.join("; ")}`
  }
}

/** An option passed to an engine call is malformed (a bad run id, a negative lease...). */
export class InvalidOptionError extends Data.TaggedError("InvalidOptionError")<{
  readonly option: string
  readonly reason: string
}> {
  override get message() {
    return `invalid option ${this.option}: ${this.reason}`
  }
}

/** The same run id or idempotency key was used with a different request. */
export class ConflictError extends Data.TaggedError("ConflictError")<{
  readonly runId: string
  readonly reason: string
}> {
  override get message() {
    return `conflict on run ${this.runId}: ${this.reason}`
  }
}

/**
 * A manual command does not apply to the run as it stands: resuming a run that is not paused,
 * approving a pause, deciding a gate already decided, or any command on a terminal run.
 * Nothing was written.
 */
export class InvalidTransitionError extends Data.TaggedError("InvalidTransitionError")<{
  readonly runId: string
  readonly status: string
  readonly command: string
  readonly reason: string
}> {
  override get message() {
    return `cannot ${this.command} run ${this.runId} (${this.status}): ${this.reason}`
  }
}

/**
 * A rerun was refused: the source completed a step marked `irreversible` (pass
 * `allowIrreversible`), or a `fromStep` fork cannot be made (the step never ran, or the
 * workflow's code changed since the source started). Nothing was written.
 */
export class RerunRefusedError extends Data.TaggedError("RerunRefusedError")<{
  readonly runId: string
  readonly reason: "irreversible_steps" | "unknown_step" | "definition_changed" | "replay_failed"
  readonly steps: ReadonlyArray<string>
  readonly detail: string
}> {
  override get message() {
    return `rerun of ${this.runId} refused (${this.reason}): ${this.detail}`
  }
}

/** No run with this id exists. */
export class RunNotFoundError extends Data.TaggedError("RunNotFoundError")<{ readonly runId: string }> {
  override get message() {
    return `run ${this.runId} not found`
  }
}

/** What the journal holds at a sequence number, or what the code yielded there. */
export interface CommandRef {
  readonly kind: string
  readonly name: string
}

/**
 * Replay diverged from the journal: at `seq`, the journal holds `expected` but the current
 * workflow code yielded `actual` (null when the code returned or yielded fewer commands).
 */
export class NonDeterminismError extends Data.TaggedError("NonDeterminismError")<{
  readonly runId: string
  readonly seq: number
  readonly expected: CommandRef | null
  readonly actual: CommandRef | null
}> {
  override get message() {
    const show = (c: CommandRef | null) => (c ? `${c.kind} "${c.name}"` : "nothing")
    return `non-deterministic replay of run ${this.runId} at seq ${this.seq}: journal has ${show(this.expected)}, code yielded ${show(this.actual)}`
  }
}

/**
 * A step failed for good (retries exhausted, or a non-retryable error). It is thrown into the
 * workflow generator at the step's `yield*`, so `try/catch` routes failures.
 */
export class StepFailedError extends Data.TaggedError("StepFailedError")<{
  readonly step: string
  readonly seq: number
  readonly attempts: number
  readonly error: ErrorInfo
}> {
  override get message() {
    return `step "${this.step}" failed after ${this.attempts} attempt(s): ${this.error.code}: ${this.error.message}`
  }
}

/** Raised by `Workflow.fail(reason)`: the workflow decided to fail the run. */
export class WorkflowFailedError extends Data.TaggedError("WorkflowFailedError")<{
  readonly reason: string
  readonly details?: unknown
}> {
  override get message() {
    return this.reason
  }
}

/** The storage backend failed (connection lost, SQL error). Safe to retry the call. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `store operation ${this.operation} failed: ${cause}`
  }
}
