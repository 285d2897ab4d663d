/**
 * Waits: what the generator is blocked on after it yields, one entry or a group
 * (`Workflow.all` joins every member and fails fast; `Workflow.race` takes the first to settle).
 */
import type { Entry } from "../../src/core/model.js"
import type { Feed } from "./model.js"

/** What the generator waits on: one entry, or the members of a group, by seq. */
export type Waiting =
  | { readonly _tag: "Single"; readonly seq: number }
  | { readonly _tag: "Group"; readonly seqs: ReadonlyArray<number>; readonly race: boolean }

/** A wait that is over: what the generator receives and the pending members withdrawn. */
export interface Settled {
  readonly feed: Feed
  /** Pending group members no longer needed, marked `cancelled` at `now`. */
  readonly cancelled: ReadonlyArray<Entry>
}

/** The seqs a wait holds (all of them are consumed once it is over). */
export const seqsOf = (waiting: Waiting): ReadonlyArray<number> => (waiting._tag === "Single" ? [waiting.seq] : waiting.seqs)

/**
 * Whether a wait is over, given its entries, and what the generator receives; undefined while
 * it must block. `feedOf` turns a resolved entry into the generator's input.
 */
export const settle = (waiting: Waiting, entryAt: (seq: number) => Entry, feedOf: (entry: Entry) => Feed, now: number): Settled | undefined => {
  const entries = seqsOf(waiting).map(entryAt)
  const withdraw = () => entries.filter((e) => e.status === "pending").map((e): Entry => ({ ...e, status: "cancelled", resolvedAt: now }))
  if (waiting._tag === "Single") {
    const entry = entries[0]!
    return entry.status === "pending" ? undefined : { feed: feedOf(entry), cancelled: [] }
  }
  if (waiting.race) {
    // The first to settle wins; on replay the losers are already recorded as cancelled.
    const winner =
      entries.find((e) => e.status === "completed" || e.status === "failed") ?? (entries.every((e) => e.status === "cancelled") ? entries[0] : undefined)
    return winner ? { feed: feedOf(winner), cancelled: withdraw() } : undefined
  }
  const failed = entries.find((e) => e.status === "failed") ?? entries.find((e) => e.status === "cancelled")
  // Fail fast: siblings still pending are withdrawn in the same commit.
  if (failed) return { feed: feedOf(failed), cancelled: withdraw() }
  if (entries.some((e) => e.status === "pending")) return undefined
  const feeds = entries.map(feedOf)
  const broken = feeds.find((f) => "corrupt" in f) ?? feeds.find((f) => "err" in f)
  return { feed: broken ?? { ok: feeds.map((f) => ("ok" in f ? f.ok : undefined)) }, cancelled: [] }
}
