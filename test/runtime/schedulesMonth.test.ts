/**
 * A month of a `*\/5 * * * *` schedule in Europe/Lisbon (through the fall-back DST change of
 * 2026-10-25) with TWO schedulers on one store, a two-day downtime of both, and
 * `catchUp: { every: true, limit: 3 }`: every window fires exactly once, the three latest
 * missed windows are caught up, the older missed ones are recorded as one missed range. On the
 * memory store, on PGlite and on Postgres. The clock is simulated and jumps a day at a time (`JumpClock`):
 * each scheduler wakes behind it and catches up the day's 288 windows, racing the other.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { inject } from "vitest"
import { PgliteStore, PostgresStore, Trigger, Workflow, type MeshService, type StoreService } from "../../src/index.js"
import { freshDatabase } from "../support/database.js"
import * as TestMesh from "../../src/testing/index.js"
import { advance, DAY, JumpClock, MINUTE, meshesOver, startSchedulers, stopSchedulers } from "../support/schedules.js"

const Tick = Workflow.make({
  name: "tick",
  triggers: {
    every5: Trigger.cron("*/5 * * * *", {
      timeZone: "Europe/Lisbon",
      catchUp: { every: true, limit: 3 },
      payload: Schema.Struct({ at: Schema.String }),
      defaults: { at: Trigger.now() },
    }),
  },
  *run(input) {
    return input.at
  },
})
const WORKFLOWS = [Tick]

const T0 = Date.UTC(2026, 9, 10, 0, 2)
const STOP = T0 + 10 * DAY
const RESTART = STOP + 2 * DAY
const END = T0 + 30 * DAY

/** Every 5 minutes in UTC in `(from, to]`: Lisbon's offsets are whole hours, so these are the windows, DST or not. */
const fives = (from: number, to: number): Array<number> => {
  const out: Array<number> = []
  for (let w = Math.floor(from / (5 * MINUTE)) * 5 * MINUTE + 5 * MINUTE; w <= to; w += 5 * MINUTE) out.push(w)
  return out
}

/** Every run of the workflow (all pages), oldest window first. */
const allRuns = (mesh: MeshService) =>
  Effect.gen(function* () {
    const runs: Array<{ scheduledFor?: number; input: unknown; id: string }> = []
    let cursor: string | undefined
    do {
      const page = yield* mesh.listRuns({ workflow: "tick", limit: 1000, ...(cursor ? { cursor } : {}) })
      runs.push(...page.runs)
      cursor = page.nextCursor
    } while (cursor)
    return runs.sort((a, b) => a.scheduledFor! - b.scheduledFor!)
  })

const month = (store: StoreService) => {
  const clock = new JumpClock(T0)
  return Effect.gen(function* () {
    const [a, b] = yield* meshesOver(store, WORKFLOWS, 2)
    const both = [a!, b!]
    let scope = yield* startSchedulers(both)
    yield* advance(a!, WORKFLOWS, STOP - T0, DAY, clock)
    yield* stopSchedulers(scope)
    yield* clock.jumpTo(RESTART) // downtime: no scheduler runs
    scope = yield* startSchedulers(both)
    yield* advance(b!, WORKFLOWS, END - RESTART, DAY, clock)
    yield* stopSchedulers(scope)

    const missed = fives(STOP, RESTART - 1)
    const expected = [...fives(T0, STOP), ...missed.slice(-3), ...fives(RESTART - 1, END)]
    const runs = yield* allRuns(a!)
    const windows = runs.map((r) => r.scheduledFor!)
    expect(new Set(windows).size).toBe(windows.length) // none twice
    expect(windows.length).toBe(expected.length)
    expect(windows).toEqual(expected)
    // Defaults resolve at the window's instant, caught-up windows included.
    for (const r of [runs[0]!, runs.find((x) => x.scheduledFor === missed.at(-3))!, runs.at(-1)!]) {
      expect(r.input).toEqual({ at: new Date(r.scheduledFor!).toISOString() })
    }
    // Through the fall-back night (01:00 UTC, 02:00 WEST → 01:00 WET), every 5 real minutes, once.
    const night = windows.filter((w) => w >= Date.UTC(2026, 9, 25, 0) && w < Date.UTC(2026, 9, 25, 3))
    expect(night).toEqual(fives(Date.UTC(2026, 9, 25, 0) - 5 * MINUTE, Date.UTC(2026, 9, 25, 3) - 5 * MINUTE))
    const events = yield* a!.scheduleEvents("tick", "every5")
    expect(events.map((e) => [e.kind, e.from, e.to])).toEqual([["missed", missed[0], missed.at(-4)]])
    const [view] = yield* a!.listSchedules()
    expect(view).toMatchObject({ workflow: "tick", trigger: "every5", lastFired: expected.at(-1), paused: false, catchUp: { every: true, limit: 3 } })
  }).pipe(Effect.withClock(clock))
}

describe("a month of */5 with two schedulers", () => {
  it.scoped("memory: each window exactly once, through downtime and DST", () => month(TestMesh.memoryStore()), { timeout: 120_000 })
  it.scoped("PGlite: each window exactly once, through downtime and DST", () => Effect.flatMap(PgliteStore.make(), month), { timeout: 300_000 })
  let db: { url: string; drop: () => Promise<void> }
  beforeAll(async () => {
    db = await freshDatabase(inject("databaseUrl"), "month")
  })
  afterAll(() => db.drop())
  it.scoped("Postgres: each window exactly once, through downtime and DST", () => Effect.flatMap(PostgresStore.make({ url: db.url, max: 4 }), month), {
    timeout: 300_000,
  })
})
