/**
 * One contender of the stale-lock race (embeddedLock.test.ts). It says `ready`, waits for
 * `go` with a start time shared by all contenders, tries once to take the lock of LOCK_RACE_DIR,
 * reports the outcome, and stays alive (holding, if it won) until told to exit, so that the
 * losers see a live holder.
 */
import { tryAcquire } from "../../src/store/embedded/lock.js"

const dir = process.env.LOCK_RACE_DIR!
process.on("disconnect", () => process.exit(0))
process.on("message", (m: { type: string; at?: number }) => {
  if (m.type === "exit") process.exit(0)
  if (m.type !== "go") return
  while (Date.now() < m.at!) {
    // spin through the last milliseconds so that all contenders start together
  }
  const outcome = tryAcquire(dir)
  process.send?.({
    type: "outcome",
    outcome: outcome._tag,
    generation: outcome._tag === "Acquired" ? outcome.lock.generation : outcome.generation,
    holder: outcome._tag === "Held" ? outcome.record.pid : process.pid,
  })
})
process.send?.({ type: "ready" })
