/**
 * Worker liveness: a running worker records, every few seconds, that it serves its queue, so
 * `explainRun` can tell "no worker serves this queue" from "the queue is busy". The record is
 * best effort: a store error is logged and the next one tries again.
 */
import { Clock, Effect, Schedule, type Scope } from "effect"
import type { WorkerPort } from "./Engine.js"

/** The shortest interval between two liveness records of one worker. */
export const LIVENESS_MIN_INTERVAL_MS = 5_000

/**
 * Records `owner` as serving `queue` now, then every poll interval (at least every
 * `LIVENESS_MIN_INTERVAL_MS`), in a fiber of the current scope: it stops when the worker's scope closes.
 */
export const recordLiveness = (engine: WorkerPort, queue: string, owner: string, pollMs: number): Effect.Effect<void, never, Scope.Scope> => {
  const once = Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => engine.recordWorker(queue, owner, now)),
    Effect.catchAll((e) => Effect.logDebug("worker: liveness not recorded", e)),
  )
  return Effect.asVoid(Effect.forkScoped(Effect.repeat(once, Schedule.spaced(Math.max(pollMs, LIVENESS_MIN_INTERVAL_MS)))))
}
