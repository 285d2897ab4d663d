/**
 * Cron schedule policies on the TestClock (memory store): overlap (allow, skip, bufferOne),
 * catch-up after downtime (none, latest, every with a limit, within), two schedulers deciding
 * each window once, daylight-saving days, pause and resume, backfill, listSchedules, and the
 * options refused when a trigger is defined.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Trigger, Workflow, type MeshService } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { advance, DAY, HOUR, MINUTE, meshesOver, settle, startSchedulers, stopSchedulers } from "../support/schedules.js"

const T0 = Date.UTC(2026, 0, 5, 10, 0) // a Monday, 10:00 UTC

/** A run that stays open until cancelled (the overlap tests close it by hand). */
const holding = (name: string, overlap: "allow" | "skip" | "bufferOne") =>
  Workflow.make({
    name,
    triggers: { every5: Trigger.cron("*/5 * * * *", { overlap }) },
    *run() {
      yield* Workflow.pause("hold")
      return "done"
    },
  })

const runsOf = (mesh: MeshService, workflow: string) =>
  Effect.map(mesh.listRuns({ workflow, limit: 1000 }), (page) => [...page.runs].sort((a, b) => a.scheduledFor! - b.scheduledFor!))
const windowsOf = (mesh: MeshService, workflow: string) => Effect.map(runsOf(mesh, workflow), (runs) => runs.map((r) => r.scheduledFor! - T0))
const close = (mesh: MeshService, runId: string) => mesh.cancel(runId, { actor: "test", reason: "done" })

describe("overlap policies", () => {
  it.scoped("allow starts every window; skip records the windows of an open run; two schedulers decide each once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const Allow = holding("allow", "allow")
      const Skip = holding("skip", "skip")
      const wfs = [Allow, Skip]
      const [a, b] = yield* meshesOver(TestMesh.memoryStore(), wfs, 2)
      yield* startSchedulers([a!, b!])
      yield* advance(a!, wfs, 15 * MINUTE, MINUTE)
      expect(yield* windowsOf(a!, "allow")).toEqual([5, 10, 15].map((m) => m * MINUTE))
      const [first] = yield* runsOf(a!, "skip")
      expect(yield* windowsOf(a!, "skip")).toEqual([5 * MINUTE])
      yield* close(a!, first!.id)
      yield* advance(a!, wfs, 5 * MINUTE, MINUTE)
      expect(yield* windowsOf(a!, "skip")).toEqual([5, 20].map((m) => m * MINUTE))
      const events = yield* a!.scheduleEvents("skip", "every5")
      expect(events.map((e) => [e.kind, e.from! - T0, e.runId])).toEqual([
        ["skipped", 15 * MINUTE, first!.id],
        ["skipped", 10 * MINUTE, first!.id],
      ])
      expect(yield* a!.scheduleEvents("allow", "every5")).toEqual([])
    }),
  )

  it.scoped("bufferOne keeps one window waiting and starts it once the open run is over", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const Buffer = holding("buffer", "bufferOne")
      const [m] = yield* meshesOver(TestMesh.memoryStore(), [Buffer], 1)
      yield* startSchedulers([m!])
      yield* advance(m!, [Buffer], 16 * MINUTE, MINUTE) // 5 starts, 10 waits, 15 is skipped
      const [first] = yield* runsOf(m!, "buffer")
      expect(yield* windowsOf(m!, "buffer")).toEqual([5 * MINUTE])
      expect((yield* m!.listSchedules())[0]).toMatchObject({ buffered: T0 + 10 * MINUTE, lastFired: T0 + 5 * MINUTE })
      yield* close(m!, first!.id)
      yield* advance(m!, [Buffer], 2000, 1000) // seen within a second
      const runs = yield* runsOf(m!, "buffer")
      expect(runs.map((r) => r.scheduledFor! - T0)).toEqual([5 * MINUTE, 10 * MINUTE])
      expect(runs[1]!.createdAt - T0).toBeGreaterThan(16 * MINUTE)
      expect((yield* m!.listSchedules())[0]!.buffered).toBeUndefined()
      yield* advance(m!, [Buffer], 4 * MINUTE, MINUTE) // 20: the buffered run is open, so 20 waits
      expect((yield* m!.listSchedules())[0]).toMatchObject({ buffered: T0 + 20 * MINUTE })
      const events = yield* m!.scheduleEvents("buffer", "every5")
      expect(events.map((e) => [e.kind, e.from! - T0])).toEqual([
        ["buffered", 20 * MINUTE],
        ["skipped", 15 * MINUTE],
        ["buffered", 10 * MINUTE],
      ])
    }),
  )
})

describe("catch-up after downtime", () => {
  const Catch = Workflow.make({
    name: "catch",
    triggers: {
      none: Trigger.cron("*/5 * * * *"),
      latest: Trigger.cron("*/5 * * * *", { catchUp: "latest" }),
      every3: Trigger.cron("*/5 * * * *", { catchUp: { every: true, limit: 3 } }),
      within: Trigger.cron("*/5 * * * *", { catchUp: { within: "28 minutes" } }),
    },
    *run() {
      return 1
    },
  })

  it.scoped("starts the missed windows each policy allows, records the rest as one missed range", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const [m] = yield* meshesOver(TestMesh.memoryStore(), [Catch], 1)
      let scope = yield* startSchedulers([m!])
      yield* advance(m!, [Catch], HOUR, 10 * MINUTE) // 10:05 .. 11:00 start on time
      yield* stopSchedulers(scope)
      yield* TestClock.adjust(2 * HOUR + 2 * MINUTE) // down from 11:00 to 13:02: 11:05 .. 13:00 missed
      scope = yield* startSchedulers([m!])
      yield* settle(m!, [Catch])
      yield* advance(m!, [Catch], 5 * MINUTE) // 13:05 on time
      const runs = (yield* runsOf(m!, "catch")).map((r) => [r.trigger, (r.scheduledFor! - T0) / MINUTE])
      const fired = (trigger: string) => runs.filter(([t]) => t === trigger).map(([, w]) => w)
      const onTime = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]
      expect(fired("none")).toEqual([...onTime, 185])
      expect(fired("latest")).toEqual([...onTime, 180, 185])
      expect(fired("every3")).toEqual([...onTime, 170, 175, 180, 185])
      expect(fired("within")).toEqual([...onTime, 155, 160, 165, 170, 175, 180, 185]) // due since 12:34
      const missed = (trigger: string) =>
        Effect.map(m!.scheduleEvents("catch", trigger), (es) => es.map((e) => [e.kind, (e.from! - T0) / MINUTE, (e.to! - T0) / MINUTE]))
      expect(yield* missed("none")).toEqual([["missed", 65, 180]])
      expect(yield* missed("latest")).toEqual([["missed", 65, 175]])
      expect(yield* missed("every3")).toEqual([["missed", 65, 165]])
      expect(yield* missed("within")).toEqual([["missed", 65, 150]])
      yield* stopSchedulers(scope)
    }),
  )
})

describe("daylight-saving days (cron-parser semantics, in the trigger's time zone)", () => {
  const Daily = Workflow.make({
    name: "daily",
    triggers: {
      ny: Trigger.cron("0 2 * * *", { timeZone: "America/New_York" }),
      nyAmbiguous: Trigger.cron("30 1 * * *", { timeZone: "America/New_York" }),
      lisbon: Trigger.cron("30 1 * * *", { timeZone: "Europe/Lisbon" }),
    },
    *run() {
      return 1
    },
  })

  it.scoped("a skipped local time fires once, an hour later; a repeated one fires once, at its first occurrence", () =>
    Effect.gen(function* () {
      const iso = (ms: number) => new Date(ms).toISOString()
      const fired = (m: MeshService, trigger: string) =>
        Effect.map(runsOf(m, "daily"), (runs) => runs.filter((r) => r.trigger === trigger).map((r) => iso(r.scheduledFor!)))
      // Spring forward: New York 2026-03-08 02:00 EST → 03:00 EDT; Lisbon 2026-03-29 01:00 WET → 02:00 WEST.
      yield* TestClock.setTime(Date.UTC(2026, 2, 6, 12))
      const [m] = yield* meshesOver(TestMesh.memoryStore(), [Daily], 1)
      const scope = yield* startSchedulers([m!])
      yield* advance(m!, [Daily], 3 * DAY, 6 * HOUR)
      expect(yield* fired(m!, "ny")).toEqual([
        "2026-03-07T07:00:00.000Z", // 02:00 EST
        "2026-03-08T07:00:00.000Z", // 02:00 does not exist: 03:00 EDT
        "2026-03-09T06:00:00.000Z", // 02:00 EDT
      ])
      yield* stopSchedulers(scope)
      const [l] = yield* meshesOver(TestMesh.memoryStore(), [Daily], 1)
      yield* TestClock.setTime(Date.UTC(2026, 2, 27, 12))
      const lisbonScope = yield* startSchedulers([l!])
      yield* advance(l!, [Daily], 3 * DAY, 6 * HOUR)
      expect(yield* fired(l!, "lisbon")).toEqual([
        "2026-03-28T01:30:00.000Z", // 01:30 WET
        "2026-03-29T01:30:00.000Z", // 01:30 does not exist: 02:30 WEST
        "2026-03-30T00:30:00.000Z", // 01:30 WEST
      ])
      yield* stopSchedulers(lisbonScope)
      // Fall back: New York 2026-11-01 02:00 EDT → 01:00 EST (01:30 happens twice); Lisbon 2026-10-25 02:00 WEST → 01:00 WET.
      const [f] = yield* meshesOver(TestMesh.memoryStore(), [Daily], 1)
      yield* TestClock.setTime(Date.UTC(2026, 9, 23, 12))
      const fallScope = yield* startSchedulers([f!])
      yield* advance(f!, [Daily], 11 * DAY, 6 * HOUR)
      const all = yield* fired(f!, "nyAmbiguous")
      expect(all.filter((w) => w.startsWith("2026-10-31") || w.startsWith("2026-11-01") || w.startsWith("2026-11-02"))).toEqual([
        "2026-10-31T05:30:00.000Z", // 01:30 EDT
        "2026-11-01T05:30:00.000Z", // the first 01:30 (EDT) only, not the second (06:30Z, EST)
        "2026-11-02T06:30:00.000Z", // 01:30 EST
      ])
      expect((yield* fired(f!, "lisbon")).slice(0, 3)).toEqual([
        "2026-10-24T00:30:00.000Z", // 01:30 WEST
        "2026-10-25T00:30:00.000Z", // the first 01:30 (WEST) only
        "2026-10-26T01:30:00.000Z", // 01:30 WET
      ])
      expect((yield* fired(f!, "ny")).find((w) => w.startsWith("2026-11-01"))).toBe("2026-11-01T07:00:00.000Z") // 02:00 EST, once
      yield* stopSchedulers(fallScope)
    }),
  )
})

describe("cron trigger options", () => {
  it("refuses a malformed overlap or catch-up policy when the trigger is defined", () => {
    const refused = (options: object, field: string) =>
      expect(() => Trigger.cron("*/5 * * * *", options)).toThrow(expect.objectContaining({ _tag: "InvalidDefinitionError", field }))
    refused({ overlap: "queue" }, "overlap")
    refused({ catchUp: "all" }, "catchUp")
    refused({ catchUp: { every: true } }, "catchUp.limit")
    refused({ catchUp: { every: true, limit: 0 } }, "catchUp.limit")
    refused({ catchUp: { every: true, limit: 20_000 } }, "catchUp.limit")
    refused({ catchUp: { within: "-1 day" } }, "catchUp.within")
    refused({ catchUp: { within: "1 day", every: true } }, "catchUp")
    refused({ catchUp: { within: "1 day", max: 3 } }, "catchUp.max")
    expect(Trigger.cron("*/5 * * * *")).toMatchObject({ overlap: "allow", catchUp: { limit: 0 } })
    expect(Trigger.cron("*/5 * * * *", { overlap: "skip", catchUp: { within: "1 day" } })).toMatchObject({
      overlap: "skip",
      catchUp: { limit: 1000, withinMs: DAY },
    })
  })
})
