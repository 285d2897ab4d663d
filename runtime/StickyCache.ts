/**
 * The sticky cache: live Replayers of runs this process is advancing, keyed by run id and
 * tagged with the run revision they reflect. `take` removes the entry, so two tasks of the
 * same run never drive one generator at once; the loser replays from the store. A stale
 * revision is caught by the commit's compare-and-set and replayed from scratch.
 */
import type { Replayer } from "./Interpreter.js"

/** A cached interpreter and the run revision it is at. */
export interface CachedRun {
  readonly replayer: Replayer
  readonly revision: number
}

/** A bounded LRU of live runs. */
export class StickyCache {
  private readonly entries = new Map<string, CachedRun>()
  hits = 0
  misses = 0

  constructor(readonly capacity: number) {}

  /** Removes and returns the cached run, if any. */
  take(runId: string): CachedRun | undefined {
    const cached = this.entries.get(runId)
    if (cached) {
      this.entries.delete(runId)
      this.hits++
    } else this.misses++
    return cached
  }

  /** Caches a run at a revision, evicting the least recently used beyond capacity. */
  put(runId: string, cached: CachedRun): void {
    if (this.capacity <= 0) return
    this.entries.delete(runId)
    this.entries.set(runId, cached)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
  }

  /** Drops one run, or everything. */
  clear(runId?: string): void {
    if (runId === undefined) this.entries.clear()
    else this.entries.delete(runId)
  }

  get size(): number {
    return this.entries.size
  }
}
