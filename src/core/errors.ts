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

/** The workflow has no trigger with that name, or the trigger cannot be started this way (a cron trigger). */
export class InvalidTriggerError extends Data.TaggedError("InvalidTriggerError")<{
  readonly workflow: string
  readonly trigger: string
  /** The triggers `start` accepts (manual ones). */
  readonly available: ReadonlyArray<string>
  readonly reason?: string
}> {
  override get message() {
    return `workflow "${this.workflow}" ${this.reason ?? `has no trigger "${this.trigger}"`} (startable: ${this.available.join(", ") || "none"})`
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

/** Shows a bad value in an error message: short, JSON where possible, never huge. */
export const showValue = (value: unknown): string => {
  let text: string
  try {
    text =
      typeof value === "string"
        ? JSON.stringify(value)
        : value === undefined
          ? "undefined"
          : typeof value === "function"
            ? "a function"
            : (JSON.stringify(value) ?? String(value))
  } catch {
    text = String(value)
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

/** An option passed to an engine call is malformed (a bad run id, a negative lease...). Nothing was written. */
export class InvalidOptionError extends Data.TaggedError("InvalidOptionError")<{
  readonly option: string
  readonly reason: string
  /** The offending value, shown short (see `showValue`). */
  readonly value?: string
}> {
  override get message() {
    return `invalid option ${this.option}${this.value === undefined ? "" : ` = ${this.value}`}: ${this.reason}`
  }
}

/**
 * A workflow, step or trigger definition is malformed (a bad duration, backoff, time zone,
 * name, or a Schema from another Effect major). Thrown by `Workflow.make`, `Step.make`,
 * `Trigger.*` and the command constructors, when the definition is made.
 */
export class InvalidDefinitionError extends Data.TaggedError("InvalidDefinitionError")<{
  /** What was being defined, e.g. `step "charge"` or `workflow "checkout"`. */
  readonly definition: string
  /** The option at fault, e.g. `retry.backoff.min`. */
  readonly field: string
  /** The offending value, shown short. */
  readonly value: string
  readonly reason: string
  /** Every problem, when the definition is checked as a whole (a graph workflow, a spec): where (a path) and what. */
  readonly problems?: ReadonlyArray<{ readonly at: string; readonly message: string }>
}> {
  override get message() {
    if (this.problems && this.problems.length > 0) {
      return `invalid ${this.definition}: ${this.problems.length} problem(s):\n${this.problems.map((p) => `- ${p.at}: ${p.message}`).join("\n")}`
    }
    return `invalid ${this.definition}: ${this.field} = ${this.value}: ${this.reason}`
  }
}

/**
 * A runtime-authored spec was refused by `startSpec`: malformed, a graph with problems, action
 * keys the registry does not have, or params an action refuses. Every problem is listed with
 * its JSON path (`steps.charge.retry.maxAttempts`); `unknownActions` repeats the unknown keys.
 * Nothing was written.
 */
export class InvalidSpecError extends Data.TaggedError("InvalidSpecError")<{
  /** The spec's name, when it has a readable one. */
  readonly spec: string
  readonly problems: ReadonlyArray<{ readonly at: string; readonly message: string }>
  readonly unknownActions: ReadonlyArray<{ readonly at: string; readonly action: string }>
}> {
  override get message() {
    return `invalid spec "${this.spec}": ${this.problems.length} problem(s):\n${this.problems.map((p) => `- ${p.at || "(spec)"}: ${p.message}`).join("\n")}`
  }
}

/**
 * Dynamic work was refused by `previewDynamicWork`, `recordDynamicWork`, `scheduleDynamicWork`
 * or a step's `ctx.dynamicWork`: a malformed proposal, a terminal run, an origin that is not a
 * (completed) step of the run, node ids already used, a key already used by other work, or
 * actions the registry does not have. Every problem is listed with its path
 * (`nodes[2].action`). Nothing was written.
 */
export class InvalidDynamicWorkError extends Data.TaggedError("InvalidDynamicWorkError")<{
  readonly runId: string
  readonly problems: ReadonlyArray<{ readonly at: string; readonly message: string }>
}> {
  override get message() {
    return `invalid dynamic work for run ${this.runId}: ${this.problems.length} problem(s):\n${this.problems.map((p) => `- ${p.at || "(proposal)"}: ${p.message}`).join("\n")}`
  }
}

/** A payload, output or signal body exceeds the configured size limit. Nothing was written. */
export class PayloadTooLargeError extends Data.TaggedError("PayloadTooLargeError")<{
  readonly what: "payload" | "output" | "signal"
  readonly bytes: number
  readonly limit: number
}> {
  override get message() {
    return `${this.what} of ${this.bytes} bytes exceeds the limit of ${this.limit} bytes (see the \`limits\` option)`
  }
}

/** `awaitRun` gave up: the run was not terminal when its `timeout` passed. */
export class AwaitTimeoutError extends Data.TaggedError("AwaitTimeoutError")<{
  readonly runId: string
  /** The run's status when the wait ended. */
  readonly status: string
  readonly timeoutMs: number
}> {
  override get message() {
    return `run ${this.runId} is still ${this.status} after ${this.timeoutMs} ms`
  }
}

/**
 * The embedded store's data directory is held by another live process. Only one process may
 * open a directory; others reach it through the holder's local socket, when it serves one.
 */
export class StoreLockedError extends Data.TaggedError("StoreLockedError")<{
  readonly dataDir: string
  readonly holderPid: number
  readonly holderHost: string
  /** The holder's local socket, when it serves one. */
  readonly socket?: string
}> {
  override get message() {
    const reach = this.socket
      ? `connect through its socket ${this.socket}`
      : "stop that process, or have it serve the store (`serve: true`) so that other processes connect through its socket"
    return `embedded store ${this.dataDir} is held by process ${this.holderPid} on ${this.holderHost}; ${reach}, or use Postgres for several processes`
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
 * A control does not apply to the run as it stands: resuming a run that is not paused,
 * approving a pause, deciding a gate already decided, or any control on a terminal run.
 * Nothing was written.
 */
export class InvalidTransitionError extends Data.TaggedError("InvalidTransitionError")<{
  readonly runId: string
  readonly status: string
  /** The control refused: resume, approve, reject, signal, cancel. */
  readonly control: string
  readonly reason: string
}> {
  override get message() {
    return `cannot ${this.control} run ${this.runId} (${this.status}): ${this.reason}`
  }
}

/**
 * A rerun was refused: the source completed a step marked `irreversible` (pass
 * `allowIrreversible`), or a `fromStep` fork cannot be made (the step never ran, or the
 * workflow's code changed since the source started). Nothing was written.
 */
export class RerunRefusedError extends Data.TaggedError("RerunRefusedError")<{
  readonly runId: string
  readonly reason: "irreversible_steps" | "unknown_step" | "definition_changed" | "replay_failed" | "not_terminal"
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
  /** The stored error code; default `workflow_failed`. */
  readonly code?: string
}> {
  override get message() {
    return this.reason
  }
}

/**
 * The storage backend failed. `transient` says whether trying the same call again can help:
 * true for a lost or refused connection, a database shutting down or out of resources, a
 * serialization failure or deadlock; false for failures that would repeat (a SQL error, a
 * constraint violation, a closed store). The engine retries only transient ones; a retry is
 * always safe, since commits are fenced.
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly operation: string
  readonly cause: unknown
  readonly transient: boolean
}> {
  override get message() {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `store operation ${this.operation} failed: ${cause}`
  }
}
