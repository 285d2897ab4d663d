/** Wake-ups: one NOTIFY per queue per coalescing window, after the commit, none without LISTEN. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import type { SqlClient } from "../../src/store/sql/SqlClient.js"
import { makeWakeups, WAKE_COALESCE_MS } from "../../src/store/sql/wakeups.js"

/** A client that records the statements it is sent; `fail` makes every query reject. */
const recording = (options: { readonly listen: boolean; readonly fail?: boolean }) => {
  const sent: Array<{ text: string; params: ReadonlyArray<unknown> }> = []
  const client: SqlClient = {
    query: async <T>(text: string, params: ReadonlyArray<unknown> = []) => {
      sent.push({ text, params })
      if (options.fail) throw new Error("connection lost")
      return [] as Array<T>
    },
    exec: async () => undefined,
    transaction: (fn) => fn(client),
    ...(options.listen ? { listen: async () => ({ unlisten: async () => undefined }) } : {}),
  }
  return { client, sent }
}

describe("makeWakeups", () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it("sends one NOTIFY per queue at the end of the window", async () => {
    const { client, sent } = recording({ listen: true })
    const wake = makeWakeups(client)
    wake("a")
    wake("b")
    wake("a")
    expect(sent).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(WAKE_COALESCE_MS)
    expect(sent).toStrictEqual([
      { text: "SELECT pg_notify('squid_mesh', $1::text)", params: ["a"] },
      { text: "SELECT pg_notify('squid_mesh', $1::text)", params: ["b"] },
    ])
    wake("a")
    await vi.advanceTimersByTimeAsync(WAKE_COALESCE_MS)
    expect(sent.map((s) => s.params[0])).toStrictEqual(["a", "b", "a"])
  })

  it("sends nothing when the client cannot listen", async () => {
    const { client, sent } = recording({ listen: false })
    makeWakeups(client)("a")
    await vi.advanceTimersByTimeAsync(WAKE_COALESCE_MS * 2)
    expect(sent).toHaveLength(0)
  })

  it("swallows a failed NOTIFY: a wake-up is a hint, polling the fallback", async () => {
    const { client, sent } = recording({ listen: true, fail: true })
    const wake = makeWakeups(client)
    wake("a")
    await vi.advanceTimersByTimeAsync(WAKE_COALESCE_MS)
    wake("b")
    await vi.advanceTimersByTimeAsync(WAKE_COALESCE_MS)
    expect(sent.map((s) => s.params[0])).toStrictEqual(["a", "b"])
  })
})
