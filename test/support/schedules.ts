/**
 * Cron test kit: meshes over one shared store (each its own engine, as separate processes
 * would be), schedulers started and stopped in their own scope (downtime), and `settle`, which
 * waits in real time until every running schedule has decided each window due on the
 * TestClock (a PGlite store answers asynchronously, after the clock has moved on).
 *
 * `JumpClock` is a simulated clock for long spans: `jumpTo` moves time in one step and wakes
 * every sleeper due by then at once, at the new time. A scheduler then finds itself behind the
 * clock and catches up every window due, as a busy one would. (TestClock.adjust instead stops at
 * each sleeper's instant, a few milliseconds of real time per window: a month of 5-minute
 * windows takes a minute.)
 */
import { Clock, Duration, Effect, Exit, Scope, TestClock } from "effect"
import type { CronTrigger, Trigger } from "../../dsl/Trigger.js"
import { nextWindow } from "../../runtime/schedulePlan.js"
import { Mesh, Store, type AnyWorkflow, type MeshService, type StoreService } from "../../src/index.js"

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** A simulated clock that moves in jumps (see the module comment). */
export class JumpClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private sleepers: Array<{ readonly at: number; readonly wake: () => void }> = []
  constructor(private now: number) {}
  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  readonly currentTimeMillis = Effect.sync(() => this.now)
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(this.now) * 1_000_000n
  }
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const sleeper = { at: this.now + Duration.toMillis(duration), wake: () => resume(Effect.void) }
      if (sleeper.at <= this.now) return resume(Effect.void)
      this.sleepers.push(sleeper)
      return Effect.sync(() => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper)
      })
    })
  }
  /** Moves time to `at` and wakes every sleeper due by then. */
  readonly jumpTo = (at: number) =>
    Effect.sync(() => {
      this.now = Math.max(this.now, at)
      const due = this.sleepers.filter((s) => s.at <= this.now)
      this.sleepers = this.sleepers.filter((s) => s.at > this.now)
      for (const s of due) s.wake()
    })
}

/** `count` meshes (engines) over one store. */
export const meshesOver = (store: StoreService, workflows: ReadonlyArray<AnyWorkflow>, count: number) =>
  Effect.forEach(Array.from({ length: count }), () => Mesh.make({ workflows }).pipe(Effect.provideService(Store, store)))

/** Starts the scheduler of each mesh in a new scope; closing it is downtime. */
export const startSchedulers = (meshes: ReadonlyArray<MeshService>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    for (const mesh of meshes) yield* Scope.extend(mesh.scheduler, scope)
    yield* Effect.repeat(Effect.yieldNow(), { times: 10 })
    return scope
  })

/** Stops schedulers started by `startSchedulers`. */
export const stopSchedulers = (scope: Scope.CloseableScope) => Scope.close(scope, Exit.void)

const realDelay = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** The cron triggers of some workflows, by "workflow/trigger". */
const cronsOf = (workflows: ReadonlyArray<AnyWorkflow>): Map<string, CronTrigger> => {
  const out = new Map<string, CronTrigger>()
  for (const wf of workflows) {
    const triggers: Readonly<Record<string, Trigger>> = wf.triggers
    for (const [name, t] of Object.entries(triggers)) if (t._tag === "Cron") out.set(`${wf.name}/${name}`, t)
  }
  return out
}

/**
 * Waits (in real time, at most `timeoutMs`) until every cron trigger of `workflows` that a
 * scheduler has seen has decided its windows due by the TestClock's now (paused ones excepted).
 */
export const settle = (mesh: MeshService, workflows: ReadonlyArray<AnyWorkflow>, timeoutMs = 60_000) =>
  Effect.gen(function* () {
    const crons = cronsOf(workflows)
    const deadline = performance.now() + timeoutMs
    for (;;) {
      yield* Effect.repeat(Effect.yieldNow(), { times: 5 })
      const now = yield* Clock.currentTimeMillis
      const views = yield* mesh.listSchedules({ next: 0 })
      const pending = views.filter((v) => {
        const trigger = crons.get(`${v.workflow}/${v.trigger}`)
        return trigger !== undefined && !v.paused && v.decidedUntil !== undefined && nextWindow(trigger, v.decidedUntil) <= now
      })
      if (pending.length === 0) return
      if (performance.now() > deadline) return yield* Effect.die(new Error(`not settled: ${pending.map((v) => `${v.workflow}/${v.trigger}`).join(", ")}`))
      yield* realDelay(2)
    }
  })

/**
 * Advances the clock by `total` ms in steps of `step` (the TestClock, or a `JumpClock` when
 * given), settling the schedules after each.
 */
export const advance = (mesh: MeshService, workflows: ReadonlyArray<AnyWorkflow>, total: number, step = total, clock?: JumpClock) =>
  Effect.gen(function* () {
    for (let done = 0; done < total; done += step) {
      const by = Math.min(step, total - done)
      if (clock) yield* clock.jumpTo(clock.unsafeCurrentTimeMillis() + by)
      else yield* TestClock.adjust(by)
      yield* settle(mesh, workflows)
    }
  })

/** The windows of a trigger in `[from, to)`, in order. */
export const windowsBetween = (trigger: CronTrigger, from: number, to: number): Array<number> => {
  const out: Array<number> = []
  for (let w = nextWindow(trigger, from - 1); w < to; w = nextWindow(trigger, w)) out.push(w)
  return out
}
