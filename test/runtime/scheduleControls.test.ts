/**
 * Operating cron schedules: pause and resume (audited, windows of the pause not started),
 * backfill (one run per window, idempotent per window, bounded, refused on bad input with
 * nothing written), listSchedules (definition, policies, state, next fire times), the
 * compare-and-set that lets one of two concurrent decisions through (memory and PGlite), and
 * the Promise client.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { createMesh, PgliteStore, Trigger, Workflow, type StoreService } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { advance, HOUR, MINUTE, meshesOver, startSchedulers } from "../support/schedules.js"

const T0 = Date.UTC(2026, 0, 5, 10, 0)
const Report = Workflow.make({
  name: "report",
  triggers: {
    quarter: Trigger.cron("*/15 * * * *", {
      timeZone: "Europe/Lisbon",
      overlap: "skip",
      catchUp: { within: "1 hour", limit: 2 },
      payload: Schema.Struct({ day: Schema.String }),
      defaults: { day: Trigger.today({ timeZone: "Europe/Lisbon" }) },
    }),
    manual: Trigger.manual({ payload: Schema.Struct({ day: Schema.String }) }),
  },
  *run(input) {
    return input.day
  },
})
const WFS = [Report]

describe("pause and resume", () => {
  it.scoped("a paused schedule starts nothing; resume starts from the next window; both are audited", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const [m] = yield* meshesOver(TestMesh.memoryStore(), WFS, 1)
      yield* startSchedulers([m!])
      yield* advance(m!, WFS, 20 * MINUTE, 5 * MINUTE) // 10:15 starts
      expect(yield* m!.pauseSchedule("report", "quarter", { actor: "ana", note: "db maintenance" })).toEqual({
        workflow: "report",
        trigger: "quarter",
        paused: true,
        changed: true,
      })
      expect((yield* m!.pauseSchedule("report", "quarter", { actor: "ana" })).changed).toBe(false)
      const [paused] = yield* m!.listSchedules()
      expect(paused).toMatchObject({ paused: true, pausedBy: "ana", pausedAt: T0 + 20 * MINUTE, pauseNote: "db maintenance" })
      yield* advance(m!, WFS, HOUR, 5 * MINUTE) // 10:30 .. 11:15 not started
      yield* m!.resumeSchedule("report", "quarter", { actor: "bo" })
      yield* advance(m!, WFS, 15 * MINUTE, 5 * MINUTE) // 11:30 starts
      const runs = (yield* m!.listRuns({ workflow: "report" })).runs.map((r) => (r.scheduledFor! - T0) / MINUTE)
      expect(runs.sort((a, b) => a - b)).toEqual([15, 90])
      const events = yield* m!.scheduleEvents("report", "quarter")
      expect(
        events.map((e) => [e.kind, e.actor, e.from === undefined ? undefined : (e.from - T0) / MINUTE, e.to === undefined ? undefined : (e.to - T0) / MINUTE]),
      ).toEqual([
        ["resumed", "bo", 30, 75],
        ["paused", "ana", undefined, undefined],
      ])
      expect((yield* m!.listSchedules())[0]).toMatchObject({ paused: false, lastFired: T0 + 90 * MINUTE })
      expect((yield* m!.listSchedules())[0]!.pausedBy).toBeUndefined()
    }),
  )

  it.effect("refuses an unknown workflow, a manual or unknown trigger, and a missing actor", () =>
    Effect.gen(function* () {
      const [m] = yield* meshesOver(TestMesh.memoryStore(), WFS, 1)
      const tag = (e: Effect.Effect<unknown, { readonly _tag: string }>) => Effect.map(Effect.flip(e), (x) => x._tag)
      expect(yield* tag(m!.pauseSchedule("nope", "quarter", { actor: "a" }))).toBe("InvalidWorkflowError")
      expect(yield* tag(m!.pauseSchedule("report", "manual", { actor: "a" }))).toBe("InvalidTriggerError")
      expect(yield* tag(m!.resumeSchedule("report", "hourly", { actor: "a" }))).toBe("InvalidTriggerError")
      expect(yield* tag(m!.pauseSchedule("report", "quarter", { actor: "" }))).toBe("InvalidOptionError")
      expect(yield* m!.store.listScheduleStates()).toEqual([])
    }).pipe(Effect.scoped),
  )
})

describe("backfill", () => {
  it.scoped("starts one run per window of [from, to), idempotent per window and with the scheduler, paused or not", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const [m] = yield* meshesOver(TestMesh.memoryStore(), WFS, 1)
      yield* startSchedulers([m!])
      yield* advance(m!, WFS, 20 * MINUTE, 5 * MINUTE) // the scheduler starts 10:15
      yield* m!.pauseSchedule("report", "quarter", { actor: "ana" })
      const range = { from: T0 - HOUR, to: new Date(T0 + 16 * MINUTE), actor: "ana", note: "replay monday" }
      const first = yield* m!.backfill("report", "quarter", range)
      expect(first.windows.map((w) => (w - T0) / MINUTE)).toEqual([-60, -45, -30, -15, 0, 15])
      expect([first.started, first.existing]).toEqual([5, 1])
      const again = yield* m!.backfill("report", "quarter", range)
      expect([again.started, again.existing, again.runIds]).toEqual([0, 6, first.runIds])
      const run = yield* m!.inspectRun(first.runIds[0]!)
      expect(run).toMatchObject({ trigger: "quarter", scheduledFor: T0 - HOUR, input: { day: "2026-01-05" }, status: "completed" })
      expect((yield* m!.inspectRun(first.runIds[0]!, { history: true })).commands).toMatchObject([
        { kind: "start", actor: "ana", metadata: { backfill: true } },
      ])
      const [event] = yield* m!.scheduleEvents("report", "quarter", { limit: 1 })
      expect(event).toMatchObject({ kind: "backfill", actor: "ana", note: "replay monday", from: T0 - HOUR, count: 6, detail: { started: 0, existing: 6 } })
    }),
  )

  it.effect("refuses a range too large, in the future, reversed or malformed, writing nothing", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const [m] = yield* meshesOver(TestMesh.memoryStore(), WFS, 1)
      const refused = (options: object) => Effect.map(Effect.flip(m!.backfill("report", "quarter", { actor: "a", ...options } as never)), (e) => e._tag)
      const big = yield* Effect.flip(m!.backfill("report", "quarter", { actor: "a", from: T0 - 24 * HOUR, to: T0, limit: 50 }))
      expect(big).toMatchObject({ _tag: "InvalidOptionError", option: "to" })
      expect(big.message).toContain("more than 50 windows")
      expect(yield* refused({ from: T0 - HOUR, to: T0 + HOUR })).toBe("InvalidOptionError")
      expect(yield* refused({ from: T0, to: T0 - HOUR })).toBe("InvalidOptionError")
      expect(yield* refused({ from: "yesterday", to: T0 })).toBe("InvalidOptionError")
      expect(yield* refused({ from: T0 - HOUR, to: T0, limit: 20_000 })).toBe("InvalidOptionError")
      expect(yield* Effect.map(Effect.flip(m!.backfill("report", "manual", { actor: "a", from: T0 - HOUR, to: T0 })), (e) => e._tag)).toBe(
        "InvalidTriggerError",
      )
      expect((yield* m!.listRuns({ workflow: "report" })).runs).toEqual([])
      expect(yield* m!.scheduleEvents("report", "quarter")).toEqual([])
    }).pipe(Effect.scoped),
  )
})

describe("listSchedules", () => {
  it.effect("lists each cron trigger with its expression, time zone, policies, state and next fire times", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0 + 7 * MINUTE)
      const [m] = yield* meshesOver(TestMesh.memoryStore(), WFS, 1)
      const [view] = yield* m!.listSchedules({ next: 3 })
      expect(view).toEqual({
        workflow: "report",
        trigger: "quarter",
        registered: true,
        expression: "*/15 * * * *",
        timeZone: "Europe/Lisbon",
        overlap: "skip",
        catchUp: { within: "1h", limit: 2 },
        paused: false,
        nextFireTimes: [15, 30, 45].map((x) => T0 + x * MINUTE),
      })
      expect(yield* m!.listSchedules({ workflow: "other" })).toEqual([])
      expect((yield* Effect.flip(m!.listSchedules({ next: 500 })))._tag).toBe("InvalidOptionError")
    }).pipe(Effect.scoped),
  )
})

const race = (store: StoreService) =>
  Effect.gen(function* () {
    const state = yield* store.ensureSchedule("report", "quarter", T0)
    const decide = (window: number) =>
      store.transitionSchedule({
        workflow: "report",
        trigger: "quarter",
        expectedRevision: state.revision,
        next: { decidedUntil: window, paused: false },
        events: [{ workflow: "report", trigger: "quarter", kind: "skipped", from: window, to: window, at: T0 }],
        now: T0,
      })
    const results = yield* Effect.all([decide(T0 + 1), decide(T0 + 2), decide(T0 + 3)], { concurrency: "unbounded" })
    expect(results.filter((r) => r._tag === "Applied")).toHaveLength(1)
    expect(results.filter((r) => r._tag === "Moved").every((r) => r.state?.revision === 1)).toBe(true)
    expect(yield* store.listScheduleEvents("report", "quarter", 10)).toHaveLength(1)
  })

describe("one decision per revision", () => {
  it.effect("memory: of concurrent decisions on one revision, one is written", () => race(TestMesh.memoryStore()))
  it.scoped("PGlite: of concurrent decisions on one revision, one is written", () => Effect.flatMap(PgliteStore.make(), race), { timeout: 60_000 })
})

describe("the Promise client", () => {
  it("lists, pauses, resumes and backfills", async () => {
    const mesh = await createMesh({ workflows: WFS, store: { kind: "memory" } })
    try {
      const [view] = await mesh.listSchedules({ next: 1 })
      expect(view).toMatchObject({ workflow: "report", trigger: "quarter", paused: false })
      expect(await mesh.pauseSchedule("report", "quarter", { actor: "ana" })).toMatchObject({ paused: true, changed: true })
      expect(await mesh.resumeSchedule("report", "quarter", { actor: "ana" })).toMatchObject({ paused: false, changed: true })
      await expect(mesh.backfill("report", "quarter", { actor: "ana", from: 1, to: 2 })).resolves.toMatchObject({ windows: [] })
      expect((await mesh.scheduleEvents("report", "quarter")).map((e) => e.kind)).toEqual(["backfill", "resumed", "paused"])
    } finally {
      await mesh.close()
    }
  })
})
