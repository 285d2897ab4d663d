/**
 * Cross-process wake-ups: after a commit makes a task claimable, a NOTIFY on the store's
 * channel tells listening workers (other processes) to claim now instead of at their next poll.
 *
 * NOTIFY is sent after the commit, coalesced per queue over a few milliseconds: inside the
 * commit it would serialise every commit on Postgres' notify lock. A lost wake-up costs at
 * most a poll interval: NOTIFY is a hint, polling the fallback.
 */
import type { SqlClient } from "./SqlClient.js"

/** The NOTIFY channel; its payload is the queue name. */
export const WAKE_CHANNEL = "squid_mesh"

/** NOTIFYs for one queue within this window are sent once. */
export const WAKE_COALESCE_MS = 5

/**
 * A wake-up sender over `client`: `wake(queue)` schedules one NOTIFY per queue for the end of
 * the current coalescing window. It sends nothing when the client cannot listen (nobody else
 * can be listening either: an unserved embedded database).
 */
export const makeWakeups = (client: SqlClient): ((queue: string) => void) => {
  const pending = new Set<string>()
  let _flushing: ReturnType<typeof setTimeout> | undefined
  return (queue) => {
    if (!client.listen) return
    pending.add(queue)
    _flushing ??= setTimeout(() => {
      _flushing = undefined
      const queues = [...pending]
      pending.clear()
      for (const q of queues) client.query(`SELECT pg_notify('${WAKE_CHANNEL}', $1::text)`, [q]).catch(() => undefined)
    }, WAKE_COALESCE_MS)
  }
}
