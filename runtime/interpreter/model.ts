/**
 * What the interpreter takes and gives: the environment of one advance, the decision it
 * returns, and the values passed between its modules while it decides.
 */
import type { NonDeterminismError } from "../../src/core/errors.js"
import type { Json } from "../../src/core/json.js"
import type { Entry, ErrorInfo, TaskKind } from "../../src/core/model.js"
import type { CorruptJournalError } from "./codecs.js"

/** Values the interpreter may need for new entries; the engine reads them from Effect's Clock and Random. */
export interface Env {
  readonly now: number
  readonly random: () => number
}

/** A task the engine must create for a new pending entry. */
export interface NewTask {
  readonly seq: number
  readonly kind: TaskKind
  readonly visibleAt: number
}

/** How the generator stands after an advance. */
export type Outcome =
  | { readonly _tag: "Blocked" }
  | { readonly _tag: "Completed"; readonly output: Json | undefined }
  | { readonly _tag: "Failed"; readonly error: ErrorInfo }
  | { readonly _tag: "NonDeterminism"; readonly error: NonDeterminismError }

/** A `Workflow.log` line, printed once after the commit that journals it. */
export interface LogLine {
  readonly message: string
  readonly level: string
}

/** An inbox signal taken by the signal entry at `seq`. */
export interface Consumed {
  readonly id: number
  readonly seq: number
}

/** Everything one advance decided: entries to append, tasks to create, siblings to cancel, logs to emit. */
export interface Decision {
  readonly entries: ReadonlyArray<Entry>
  readonly tasks: ReadonlyArray<NewTask>
  /** Pending siblings withdrawn by a fail-fast group, already marked `cancelled`. */
  readonly cancelled: ReadonlyArray<Entry>
  readonly logs: ReadonlyArray<LogLine>
  readonly outcome: Outcome
  /** Blocked on a manual gate (pause or approval): the run is `paused`. */
  readonly paused: boolean
  /** Inbox signals consumed by new signal entries. */
  readonly consumed: ReadonlyArray<Consumed>
}

/** The parts of a decision one advance accumulates before it knows the outcome. */
export interface Draft {
  readonly entries: Array<Entry>
  readonly tasks: Array<NewTask>
  readonly cancelled: Array<Entry>
  readonly logs: Array<LogLine>
  readonly consumed: Array<Consumed>
}

/** An empty draft. */
export const emptyDraft = (): Draft => ({ entries: [], tasks: [], cancelled: [], logs: [], consumed: [] })

/**
 * What the generator receives next: a value at its `yield*`, an error thrown there, or
 * nothing because the journal cannot be read (the run stops; the workflow never sees it).
 */
export type Feed = { readonly ok: unknown } | { readonly err: unknown } | { readonly corrupt: CorruptJournalError }

/** The end of the run an advance reached while placing or settling (it stops driving the generator). */
export interface Stop {
  readonly stop: Outcome
}
