/**
 * A worker: up to `concurrency` tasks at once from one queue. One fetcher claims due tasks
 * in batches (one query for every free slot) and forks each into a slot; a slot follows its
 * run while commits hand it the next task inline. An idle fetcher sleeps until the next task
 * is due, a wakeup arrives (this process, or Postgres NOTIFY from others), a slot frees up,
 * or the poll interval passes. Closing the worker's scope stops claiming, lets in-flight
 * tasks finish up to `shutdownTimeout`, then interrupts them, releasing their claims.
 */
import { Clock, Deferred, Duration, Effect, Fiber, FiberSet, Runtime, type Scope } from "effect"
import { invalidDuration } from "../src/core/duration.js"
import { InvalidOptionError, showValue } from "../src/core/errors.js"
import type { ClaimedTask } from "../src/core/model.js"
import type { WorkerPort } from "./Engine.js"
import { invalidExecuteOption, resolveOptions, type ExecuteOptions, type ExecuteResult } from "./execute.js"
import { recordLiveness } from "./liveness.js"

/** Shortest idle wait after an empty claim while work is already due. */
const IDLE_FLOOR_MS = 10

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

/** The first malformed worker option, if any. */
const invalidWorkerOption = (options: WorkerOptions): InvalidOptionError | undefined => {
  const invalid = invalidExecuteOption(options)
  if (invalid) return invalid
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1 || options.concurrency > 10_000)) {
    return new InvalidOptionError({ option: "concurrency", value: showValue(options.concurrency), reason: "expected an integer from 1 to 10,000" })
  }
  return invalidDuration("pollInterval", options.pollInterval) ?? invalidDuration("shutdownTimeout", options.shutdownTimeout, { positive: false })
}

/** Starts a worker in the current scope. A malformed option is an InvalidOptionError, before anything runs. */
export const start = (engine: WorkerPort, options: WorkerOptions = {}): Effect.Effect<WorkerHandle, InvalidOptionError, Scope.Scope> =>
  Effect.gen(function* () {
    const invalid = invalidWorkerOption(options)
    if (invalid) return yield* invalid
    const concurrency = options.concurrency ?? 10
    const pollMs = Duration.toMillis(options.pollInterval ?? "1 second")
    const shutdownMs = Duration.toMillis(options.shutdownTimeout ?? "30 seconds")
    const stats: WorkerStats = { executed: 0, retries: 0, fenced: 0, idlePolls: 0, errors: 0 }
    let stopping = false
    let inFlight = 0
    const slots = yield* FiberSet.make<void, never>()
    if (engine.listen)
      yield* engine.listen(options.queue ?? "default").pipe(Effect.catchAll((e) => Effect.logWarning("worker: LISTEN unavailable, polling only", e)))

    const onResult = (r: ExecuteResult) => {
      if (r._tag === "Executed") {
        stats.executed++
        if (r.result === "retry_scheduled") stats.retries++
      } else if (r._tag === "Fenced") stats.fenced++
    }

    const runtime = yield* Effect.runtime<never>()
    // Timers this worker keeps (claimed inline when created), each waiting for its due time.
    const deferred = new Map<string, { readonly task: ClaimedTask; readonly fiber: Fiber.RuntimeFiber<void, never> }>()

    const runSlot = (task: ClaimedTask): Effect.Effect<void> =>
      Effect.suspend(() => {
        inFlight++
        return Effect.asVoid(
          FiberSet.run(
            slots,
            engine
              .executeChain(task, options, () => stopping, onResult, defer)
              .pipe(
                Effect.catchAll((e) => Effect.sync(() => stats.errors++).pipe(Effect.zipRight(Effect.logWarning("worker: store error while executing", e)))),
                Effect.ensuring(Effect.suspend(() => (inFlight--, engine.notifier.notify))),
              ),
          ),
        )
      })

    function defer(task: ClaimedTask): void {
      const fire = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* Effect.sleep(Math.max(0, task.visibleAt - now))
        deferred.delete(task.claimId)
        if (!stopping) yield* runSlot(task)
      })
      deferred.set(task.claimId, { task, fiber: Runtime.runFork(runtime)(fire) })
    }

    const { owner, leaseMs } = resolveOptions(options)
    const unkeep = engine.keepTimers(options.queue ?? "default", { owner, leaseMs, keep: defer })
    yield* recordLiveness(engine, options.queue ?? "default", owner, pollMs)

    const fetcher = Effect.gen(function* () {
      while (!stopping) {
        const free = concurrency - inFlight
        if (free <= 0) {
          yield* engine.notifier.wait(pollMs)
          continue
        }
        const claimed = yield* Effect.either(engine.claim(options, free))
        if (claimed._tag === "Left") {
          stats.errors++
          yield* Effect.logWarning("worker: store error while claiming, backing off", claimed.left)
          yield* engine.notifier.wait(pollMs)
          continue
        }
        for (const task of claimed.right) yield* runSlot(task)
        if (claimed.right.length === free) continue
        stats.idlePolls++
        const next = yield* Effect.either(engine.nextDueAt(options.queue ?? "default"))
        const now = yield* Clock.currentTimeMillis
        const due = next._tag === "Right" ? next.right : undefined
        const wait = due === undefined ? pollMs : Math.min(pollMs, Math.max(0, due - now))
        // Work is due but nothing could be claimed (rows locked by another transaction): back off
        // a little instead of spinning on claim and nextDueAt.
        const floor = claimed.right.length === 0 ? Math.min(pollMs, IDLE_FLOOR_MS) : 0
        if (!stopping && Math.max(wait, floor) > 0) yield* engine.notifier.wait(Math.max(wait, floor))
      }
    })
    const fetching = yield* Effect.forkDaemon(fetcher)
    // Retention of this queue's workflows, in its own fiber for the life of the worker's scope.
    yield* Effect.forkScoped(engine.retention(options.queue ?? "default"))

    const stopped = yield* Deferred.make<void>()
    const stop = Effect.gen(function* () {
      if (stopping) return yield* Deferred.await(stopped)
      stopping = true
      unkeep()
      yield* engine.notifier.notify
      yield* Fiber.await(fetching)
      const drained = yield* Effect.timeout(FiberSet.awaitEmpty(slots), shutdownMs).pipe(Effect.option)
      if (drained._tag === "None") yield* FiberSet.clear(slots)
      // Timers kept locally go back to the queue, visible at their due time.
      for (const { task, fiber } of deferred.values()) {
        yield* Fiber.interrupt(fiber)
        yield* engine.release(task, task.visibleAt).pipe(Effect.ignore)
      }
      deferred.clear()
      yield* Deferred.succeed(stopped, undefined)
    })
    yield* Effect.addFinalizer(() => stop)
    return { stats: Effect.sync(() => ({ ...stats })), stop }
  })
