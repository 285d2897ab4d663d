/**
 * The data-directory lock (src/store/embedded/lock.ts): records, release, stale holders, and
 * several processes racing to take over the same stale lock.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { currentHolder, holderAlive, processStart, tryAcquire } from "../../src/store/embedded/lock.js"
import { spawnChild, type Child } from "../integration/embeddedChild.js"

const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "squid-mesh-lock-"))
  dirs.push(dir)
  return dir
}
const records = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith("squid-mesh.lock."))
    .sort()

/** A pid that certainly belonged to a process that has exited. */
const deadPid = (): number => {
  const result = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" })
  return Number(result.stdout.trim())
}

describe("data-directory lock", () => {
  it("is taken once; a second attempt sees the holder; release lets the next one in", () => {
    const dir = freshDir()
    const first = tryAcquire(dir, { socket: "/x/.s" })
    expect(first._tag).toBe("Acquired")
    const second = tryAcquire(dir)
    expect(second).toMatchObject({ _tag: "Held", record: { pid: process.pid, host: hostname(), socket: "/x/.s" } })
    expect(currentHolder(dir)).toMatchObject({ pid: process.pid })
    if (first._tag === "Acquired") first.lock.release()
    expect(currentHolder(dir)).toBeUndefined()
    const third = tryAcquire(dir)
    expect(third._tag).toBe("Acquired")
    // Only the newest records remain: older ones are pruned by each new holder.
    expect(records(dir)).toEqual(["squid-mesh.lock.3"])
  })

  it("treats a record of a dead process, or of a recycled pid, as stale", () => {
    const dir = freshDir()
    const dead = { pid: deadPid(), host: hostname(), startedAt: new Date().toISOString() }
    expect(holderAlive(dead)).toBe(false)
    // Our own pid, but a different process start time: the pid was reused.
    expect(holderAlive({ pid: process.pid, host: hostname(), startedAt: "", procStart: "1" })).toBe(processStart(process.pid) === undefined)
    expect(
      holderAlive({ pid: process.pid, host: hostname(), startedAt: "", ...(processStart(process.pid) ? { procStart: processStart(process.pid)! } : {}) }),
    ).toBe(true)
    // A record of another host cannot be checked: it counts as held.
    expect(holderAlive({ ...dead, host: `not-${hostname()}` })).toBe(true)
    writeFileSync(join(dir, "squid-mesh.lock.7"), JSON.stringify(dead))
    const taken = tryAcquire(dir)
    expect(taken).toMatchObject({ _tag: "Acquired", lock: { generation: 8 } })
    expect(records(dir)).toEqual(["squid-mesh.lock.8"])
    expect(JSON.parse(readFileSync(join(dir, "squid-mesh.lock.8"), "utf8"))).toMatchObject({ pid: process.pid })
  })

  it("lets exactly one of several processes take over the same stale lock", async () => {
    const dir = freshDir()
    writeFileSync(join(dir, "squid-mesh.lock.1"), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: new Date().toISOString() }))
    const contenders: Array<Child> = Array.from({ length: 5 }, () => spawnChild("embeddedLockRace.ts", { LOCK_RACE_DIR: dir }))
    try {
      await Promise.all(contenders.map((c) => c.next("ready")))
      const at = Date.now() + 300
      contenders.forEach((c) => c.process.send({ type: "go", at }))
      const outcomes = await Promise.all(contenders.map((c) => c.next<{ outcome: string; generation: number; holder: number }>("outcome")))
      const winners = outcomes.filter((o) => o.outcome === "Acquired")
      expect(winners).toHaveLength(1)
      expect(winners[0]!.generation).toBe(2)
      // Every loser names the winner as the holder.
      const winnerPid = contenders[outcomes.indexOf(winners[0]!)]!.pid
      expect(outcomes.filter((o) => o.outcome === "Held").map((o) => o.holder)).toEqual(Array(4).fill(winnerPid))
      expect(currentHolder(dir)).toMatchObject({ pid: winnerPid })
    } finally {
      contenders.forEach((c) => c.process.send({ type: "exit" }))
      await Promise.all(contenders.map((c) => c.exited))
    }
  }, 300_000)
})
