/**
 * A worker: up to `concurrency` tasks at once from one queue. Idle slots sleep until the
 * next task is due, a wakeup arrives, or the poll interval passes. Closing the worker's
 * scope stops claiming, lets in-flight tasks finish up to `shutdownTimeout`, then
 * interrupts what is left (their claims expire and are re-claimed elsewhere).
 */
import { Clock, Duration, Effect, Fiber, type Scope } from "effect"
import type { EngineService } from "./Engine.js"
import type { ExecuteOptions } from "./execute.js"

/** Worker options. */
export interface WorkerOptions extends ExecuteOptions {
  /** Tasks run at once. Default 10. */
  readonly concurrency?: number
  /** Longest idle wait between claim attempts. Default 1 second. */
  readonly pollInterval?: Duration.DurationInput
  /** How long shutdown waits for in-flight tasks. Default 30 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput
}

/** Counters of a running worker. */
export interface WorkerStats {
  executed: number
  retries: number
  fenced: number
  idlePolls: number
  errors: number
}

/** A started worker. */
export interface WorkerHandle {
  readonly stats: Effect.Effect<Readonly<WorkerStats>>
  /** Stops claiming and drains (also done automatically when the scope closes). */
  readonly stop: Effect.Effect<void>
}

/** Starts a worker in the current scope. */
export const start = (engine: EngineService, options: WorkerOptions = {}): Effect.Effect<WorkerHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const concurrency = Math.max(1, options.concurrency ?? 10)
    const pollMs = Duration.toMillis(options.pollInterval ?? "1 second")
    const shutdownMs = Duration.toMillis(options.shutdownTimeout ?? "30 seconds")
    const stats: WorkerStats = { executed: 0, retries: 0, fenced: 0, idlePolls: 0, errors: 0 }
    let stopping = false

    const slot = Effect.gen(function* () {
      while (!stopping) {
        const result = yield* Effect.either(engine.executeNext(options))
        if (result._tag === "Left") {
          stats.errors++
          yield* Effect.logWarning("worker: store error, backing off", result.left)
          yield* engine.notifier.wait(pollMs)
          continue
        }
        const r = result.right
        if (r._tag === "Idle") {
          stats.idlePolls++
          const now = yield* Clock.currentTimeMillis
          const untilDue = r.nextDueAt === undefined ? pollMs : Math.min(pollMs, Math.max(0, r.nextDueAt - now))
          if (!stopping) yield* engine.notifier.wait(untilDue)
        } else if (r._tag === "Executed") {
          stats.executed++
          if (r.result === "retry_scheduled") {
            stats.retries++
            yield* engine.notifier.notify
          }
        } else stats.fenced++
      }
    })
    const fibers = yield* Effect.forEach(Array.from({ length: concurrency }), () => Effect.forkDaemon(slot))

    const stop = Effect.gen(function* () {
      if (stopping) return
      stopping = true
      yield* engine.notifier.notify
      const drained = yield* Effect.timeout(Fiber.joinAll(fibers), shutdownMs).pipe(Effect.option)
      if (drained._tag === "None") yield* Fiber.interruptAll(fibers)
    })
    yield* Effect.addFinalizer(() => stop)
    return { stats: Effect.sync(() => ({ ...stats })), stop }
  })
