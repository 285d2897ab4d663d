/**
 * Cron schedule policies on the TestClock (memory store): overlap (allow, skip, bufferOne),
 * catch-up after downtime (none, latest, every with a limit, within), two schedulers deciding
 * each window once, daylight-saving days, pause and resume, backfill, listSchedules, and the
 * options refused when a trigger is defined.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
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
