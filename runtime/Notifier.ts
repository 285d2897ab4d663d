/**
 * Wakes idle workers when work may have become due (a run started, a task was rescheduled,
 * or a Postgres NOTIFY arrived). A hint only: workers also poll, so a lost wakeup costs at
 * most one poll interval.
 */
import { Deferred, Effect } from "effect"

/** A broadcast latch: `wait` returns at the next `notify`, or after `timeoutMs`. */
export class Notifier {
  private current = Deferred.unsafeMake<void>(undefined as never)

  /** Wakes every waiter. */
  readonly notify: Effect.Effect<void> = Effect.suspend(() => {
    const previous = this.current
    this.current = Deferred.unsafeMake<void>(undefined as never)
    return Deferred.succeed(previous, undefined)
  })

  /** Waits for the next notify, at most `timeoutMs`. */
  wait(timeoutMs: number): Effect.Effect<void> {
    return Effect.suspend(() => Effect.raceFirst(Deferred.await(this.current), Effect.sleep(Math.max(0, timeoutMs))))
  }
}
