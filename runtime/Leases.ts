/**
 * The lease keeper: one fiber per engine renews the lease of every claim this process holds,
 * a third of the lease before it runs out, and interrupts the attempt whose claim was lost
 * (re-claimed after expiry, or its run cancelled). An attempt's registration is dropped
 * however the attempt ends (`ensuring`). One keeper instead of a
 * heartbeat fiber and a timer per attempt keeps the cost per step flat.
 */
import { Clock, Deferred, Effect, Exit, Fiber, type Scope } from "effect"
import type { ClaimRef, StoreService } from "../src/store/Store.js"

interface Held {
  readonly claim: ClaimRef
  readonly leaseMs: number
  renewAt: number
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  lost: boolean
}

/** Keeps the leases of this process's claims alive. */
export class Leases {
  private readonly held = new Set<Held>()
  private wake = Deferred.unsafeMake<void>(undefined as never)

  constructor(private readonly store: StoreService) {}

  /**
   * Runs `attempt` in a child fiber while its claim is renewed; returns "lost" if the claim
   * was lost, in which case the attempt was interrupted. (Kept lean: it runs once per step.)
   */
  guard<A>(claim: ClaimRef, leaseMs: number, attempt: Effect.Effect<A>): Effect.Effect<A | "lost"> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(Effect.fork(attempt), (fiber) => {
        const held: Held = { claim, leaseMs, renewAt: now + Math.max(1, Math.floor(leaseMs / 3)), fiber, lost: false }
        this.held.add(held)
        if (this.held.size === 1) this.poke()
        return Fiber.await(fiber).pipe(
          Effect.ensuring(Effect.sync(() => this.held.delete(held))),
          Effect.flatMap((exit): Effect.Effect<A | "lost"> => (held.lost ? Effect.succeed("lost" as const) : exit)),
        )
      }),
    )
  }

  private poke(): void {
    const previous = this.wake
    this.wake = Deferred.unsafeMake<void>(undefined as never)
    Deferred.unsafeDone(previous, Exit.void)
  }

  /** The keeper loop; run it forked in the engine's scope. */
  readonly run: Effect.Effect<never> = Effect.gen(this, function* () {
    for (;;) {
      if (this.held.size === 0) {
        yield* Deferred.await(this.wake)
        continue
      }
      const now = yield* Clock.currentTimeMillis
      let earliest = Number.POSITIVE_INFINITY
      for (const h of this.held) earliest = Math.min(earliest, h.renewAt)
      if (earliest > now) {
        yield* Effect.raceFirst(Effect.sleep(earliest - now), Deferred.await(this.wake))
        continue
      }
      const due = [...this.held].filter((h) => h.renewAt <= now)
      yield* Effect.forEach(
        due,
        (h) =>
          Effect.gen(this, function* () {
            const alive = yield* this.store.heartbeat(h.claim, now, now + h.leaseMs).pipe(Effect.orElseSucceed(() => true))
            if (alive) h.renewAt = now + Math.max(1, Math.floor(h.leaseMs / 3))
            else if (this.held.delete(h)) {
              h.lost = true
              yield* Fiber.interruptFork(h.fiber)
            }
          }),
        { concurrency: 8, discard: true },
      )
    }
  })

  /** Starts the keeper in a scope (the engine's). */
  start(): Effect.Effect<void, never, Scope.Scope> {
    return Effect.asVoid(Effect.forkScoped(this.run))
  }
}
