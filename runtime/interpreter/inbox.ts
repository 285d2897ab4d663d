/**
 * What reaches a run from outside its journal order: signals sent before the run waited for
 * them (the inbox), and `Workflow.patched` markers, which are recorded only by new code.
 */
import { Either, Schema } from "effect"
import type { Entry, InboxSignal } from "../../src/core/model.js"
import type { Env } from "./model.js"

/** What a signal wait took from the inbox. */
export interface Taken {
  /** The signal delivered to the wait, if one decodes. */
  readonly received: InboxSignal | undefined
  /** Ids of every signal taken out of the inbox (the delivered one and those dropped before it). */
  readonly ids: ReadonlyArray<number>
  /** How many signals of that name were dropped because their payload does not decode. */
  readonly dropped: number
}

/** Signals sent before the run waited for them, oldest first. */
export class Inbox {
  private readonly signals: Array<InboxSignal> = []

  /** Adds signals in the order they were received. */
  add(signals: Iterable<InboxSignal>): void {
    this.signals.push(...signals)
  }

  /**
   * Takes the oldest signal named `name` whose payload decodes with `schema`. Older ones of
   * that name that do not decode are taken too (dropped): they can never be delivered.
   */
  take(name: string, schema: Schema.Schema<any, any, never>): Taken {
    const ids: Array<number> = []
    let dropped = 0
    for (let i = 0; i < this.signals.length; i++) {
      const candidate = this.signals[i]!
      if (candidate.name !== name) continue
      this.signals.splice(i--, 1)
      ids.push(candidate.id)
      if (Either.isRight(Schema.decodeUnknownEither(schema)(candidate.payload))) return { received: candidate, ids, dropped }
      dropped++
    }
    return { received: undefined, ids, dropped }
  }
}

/** How `Workflow.patched(id)` meets the journal at the next seq. */
export type PatchMatch =
  /** The journal has this marker: true, and the marker's seq is consumed. */
  | { readonly _tag: "Recorded"; readonly entry: Entry }
  /** The journal holds an older command here (the run predates the patch): false, no seq used. */
  | { readonly _tag: "Predates" }
  /** The run is past its recorded journal (new code): true, and the marker is recorded. */
  | { readonly _tag: "New"; readonly entry: Entry }

/** Decides `Workflow.patched(id)` at `seq`, given the journal entry there, if any. */
export const matchPatch = (id: string, seq: number, existing: Entry | undefined, env: Env): PatchMatch => {
  if (existing) return existing.kind === "patch" && existing.name === id ? { _tag: "Recorded", entry: existing } : { _tag: "Predates" }
  return { _tag: "New", entry: { seq, kind: "patch", name: id, status: "completed", output: true, attempts: 0, createdAt: env.now, resolvedAt: env.now } }
}
