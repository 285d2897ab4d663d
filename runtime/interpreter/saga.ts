/**
 * Compensation (the saga): which completed steps can be undone, and the sequence of their
 * compensations, run newest completion first, each journaled like any command and run as a
 * durable task, so a replay rebuilds the same sequence.
 */
import type { StepRef } from "../../dsl/Command.js"
import type { Json } from "../../src/core/json.js"
import type { Entry, ErrorInfo } from "../../src/core/model.js"
import type { Feed, Outcome, Stop } from "./model.js"
import type { Leaf } from "./placement.js"

/** A completed step that declared `compensate`. */
interface Undoable {
  readonly origin: number
  readonly step: StepRef
  readonly input: Json | undefined
  readonly output: Json | undefined
  readonly resolvedAt: number
}

/** A compensation sequence: what is left to undo, the failure that caused it (none on demand), outcomes so far. */
interface Sequence {
  readonly queue: Array<Undoable>
  readonly error: ErrorInfo | undefined
  readonly outcomes: Array<Json>
}

/** What the saga needs from the replayer: placing a command at the next seq, and the journal. */
export interface SagaPort {
  /** Places a command at the next seq (a new entry, or matched with the journal): its seq, or the run stops. */
  readonly place: (data: Leaf) => number | Stop
  readonly entryAt: (seq: number) => Entry | undefined
  readonly consume: (seq: number) => void
}

/** How a saga step ended: blocked on a compensation, the run's end, or back to the workflow (on-demand compensate). */
export type SagaStep = "blocked" | Stop | { readonly feed: Feed }

const isObject = (value: unknown): value is Record<string, Json> => typeof value === "object" && value !== null && !Array.isArray(value)

/** The compensation state of one run. */
export class Saga {
  /** Steps with a `compensate`, by seq, until their entry is consumed. */
  private readonly compensable = new Map<number, StepRef>()
  /** Completed steps that can still be undone (newest last). */
  private readonly undoable: Array<Undoable> = []
  private sequence: Sequence | undefined
  private waiting: number | undefined

  /** True while compensations are being placed or awaited. */
  get running(): boolean {
    return this.sequence !== undefined
  }

  /** True when a completed step can still be undone. */
  get canUndo(): boolean {
    return this.undoable.length > 0
  }

  /** Notes a placed step that declares `compensate`. */
  track(seq: number, step: StepRef): void {
    this.compensable.set(seq, step)
  }

  /** The workflow consumed `entry`: if it is a completed compensable step, it becomes undoable. */
  consumed(seq: number, entry: Entry | undefined): void {
    const step = this.compensable.get(seq)
    if (!step) return
    if (entry?.status === "completed")
      this.undoable.push({ origin: seq, step, input: entry.input, output: entry.output, resolvedAt: entry.resolvedAt ?? entry.createdAt })
    this.compensable.delete(seq)
  }

  /** Starts compensating: newest completion first (ties: higher seq first); each step is undone once. */
  begin(error: ErrorInfo | undefined): void {
    const queue = [...this.undoable].sort((a, b) => b.resolvedAt - a.resolvedAt || b.origin - a.origin)
    this.undoable.length = 0
    this.sequence = { queue, error, outcomes: [] }
  }

  /**
   * Places the compensations one at a time. Blocks while one is pending; at the end, fails the
   * run with the original error (its details list each compensation's outcome), or resumes
   * the workflow after an on-demand `Workflow.compensate()`.
   */
  run(port: SagaPort): SagaStep {
    const sequence = this.sequence!
    for (;;) {
      if (this.waiting !== undefined) {
        const entry = port.entryAt(this.waiting)!
        if (entry.status === "pending") return "blocked"
        sequence.outcomes.push({
          step: entry.name.replace(/^compensate:/, ""),
          seq: entry.seq,
          status: entry.status,
          ...(entry.error ? { error: entry.error.code } : {}),
        })
        port.consume(this.waiting)
        this.waiting = undefined
      }
      const item = sequence.queue.shift()
      if (!item) {
        this.sequence = undefined
        if (sequence.error === undefined) return { feed: { ok: undefined } }
        const details: Json = { ...(isObject(sequence.error.details) ? sequence.error.details : {}), compensations: sequence.outcomes }
        return { stop: { _tag: "Failed", error: { ...sequence.error, details } } satisfies Outcome }
      }
      const placed = port.place({ _tag: "Compensation", step: item.step, origin: item.origin, input: item.input, output: item.output })
      if (typeof placed !== "number") return placed
      this.waiting = placed
    }
  }
}
