/**
 * Retention of what runs leave behind: `purge` also deletes cron schedule events older than
 * `olderThan` (each schedule keeps its `SCHEDULE_EVENTS_KEPT` newest events whatever their
 * age) and the stored specs no stored run references any more, reports their counts (and
 * counts them with `dryRun`), and audits each batch. Time is the TestClock, on the memory
 * store and on PGlite.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema, TestClock } from "effect"
import { SCHEDULE_EVENTS_KEPT } from "../../runtime/purge.js"
import { Mesh, PgliteStore, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { actions, orderSpec, orderSpecV2 } from "../fixtures/specs.js"

const DAY = 24 * 60 * 60 * 1000
const T0 = Date.UTC(2026, 0, 5, 10, 0)

const Report = Workflow.make({
  name: "report",
  triggers: { nightly: Trigger.cron("0 2 * * *", { payload: Schema.Struct({}), defaults: {} }) },
  *run() {
    return 1
  },
})
const workflows = [Report]

const backends = [
  ["memory", () => TestMesh.layer({ workflows, actions })],
  ["PGlite", () => TestMesh.meshLayer({ workflows, actions }).pipe(Layer.provide(PgliteStore.layer()), Layer.orDie)],
] as const

for (const [backend, layer] of backends) {
  describe(`purging schedule events and specs on ${backend}`, () => {
    it.effect("deletes schedule events older than olderThan, keeping each schedule's newest, counted by a dry run and audited", () =>
      Effect.gen(function* () {
        expect(SCHEDULE_EVENTS_KEPT).toBe(20)
        yield* TestClock.setTime(T0)
        const mesh = yield* Mesh.Mesh
        // One pause at day 0, then a resume and a pause every day for 15 days: 31 events.
        yield* mesh.pauseSchedule("report", "nightly", { actor: "ops", note: "day 0" })
        for (let day = 1; day <= 15; day++) {
          yield* TestClock.adjust("1 day")
          yield* mesh.resumeSchedule("report", "nightly", { actor: "ops" })
          yield* mesh.pauseSchedule("report", "nightly", { actor: "ops", note: `day ${day}` })
        }
        yield* TestClock.adjust("1 day") // day 16
        const events = () => Effect.map(mesh.scheduleEvents("report", "nightly", { limit: 100 }), (es) => es.map((e) => (e.at - T0) / DAY))
        expect(yield* events()).toHaveLength(31)
        // Recorded before day 4: the pause of day 0 and 3 days of resume + pause.
        const dry = yield* mesh.purge({ olderThan: "12 days", dryRun: true })
        expect(dry).toEqual({ purged: 0, batches: 0, scheduleEvents: 7, specs: 0 })
        expect(yield* events()).toHaveLength(31)
        expect(yield* mesh.purge({ olderThan: "12 days" })).toEqual({ purged: 0, batches: 3, scheduleEvents: 7, specs: 0 })
        expect((yield* events()).at(-1)).toBe(4)
        // Before day 15: 22 events left, but the schedule keeps its 20 newest.
        expect(yield* mesh.purge({ olderThan: "1 day", dryRun: true })).toMatchObject({ scheduleEvents: 4 })
        expect(yield* mesh.purge({ olderThan: "1 day" })).toMatchObject({ scheduleEvents: 4 })
        const left = yield* events()
        expect(left).toHaveLength(SCHEDULE_EVENTS_KEPT)
        expect(left.at(-1)).toBe(6)
        const trail = yield* mesh.listPurges()
        expect(trail).toMatchObject([
          { at: T0 + 16 * DAY, purged: 0, scheduleEvents: 4, specs: 0, reason: { kind: "purge", olderThanMs: DAY } },
          { at: T0 + 16 * DAY, purged: 0, scheduleEvents: 7, specs: 0, reason: { kind: "purge", olderThanMs: 12 * DAY } },
        ])
        expect(trail[0]!.firstRunId).toBeUndefined()
        // Another workflow's purge leaves this schedule's events.
        expect(yield* mesh.purge({ olderThan: "0 days", workflow: "other" })).toMatchObject({ scheduleEvents: 0 })
        expect(yield* events()).toHaveLength(SCHEDULE_EVENTS_KEPT)
      }).pipe(Effect.provide(layer())),
    )

    it.effect("deletes a spec version once no run of it is stored and it is older than olderThan, never one a run needs", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        const mesh = yield* Mesh.Mesh
        const v1 = yield* mesh.startSpec(orderSpec, undefined, { orderId: "o1" })
        const v2 = yield* mesh.startSpec(orderSpecV2, undefined, { orderId: "o2" })
        yield* mesh.cancel(v1.runId, { actor: "ops" })
        yield* TestClock.adjust("40 days")
        // v2's run is still open: its spec stays, however old.
        expect(yield* mesh.purge({ olderThan: "30 days", dryRun: true })).toEqual({ purged: 1, batches: 0, scheduleEvents: 0, specs: 0 })
        expect(yield* mesh.purge({ olderThan: "30 days" })).toEqual({ purged: 1, batches: 3, scheduleEvents: 0, specs: 1 })
        const [specBatch, runBatch] = yield* mesh.listPurges()
        expect(specBatch).toMatchObject({ purged: 0, scheduleEvents: 0, specs: 1 })
        expect(runBatch).toMatchObject({ purged: 1, scheduleEvents: 0, specs: 0, firstRunId: v1.runId, lastRunId: v1.runId })
        // The open run still finds its spec: it can be inspected and cancelled as a spec run.
        expect(yield* mesh.inspectRun(v2.runId)).toMatchObject({ workflow: "spec:order", status: "running" })
        yield* mesh.cancel(v2.runId, { actor: "ops" })
        // Finished just now: neither the run nor its spec is old enough.
        expect(yield* mesh.purge({ olderThan: "30 days" })).toMatchObject({ purged: 0, specs: 0 })
        yield* TestClock.adjust("31 days")
        // A purge of a code workflow never takes specs; the spec workflow's purge does.
        expect(yield* mesh.purge({ olderThan: "30 days", workflow: "report" })).toMatchObject({ purged: 0, specs: 0 })
        expect(yield* mesh.purge({ olderThan: "30 days", workflow: "spec:order", dryRun: true })).toMatchObject({ purged: 1, specs: 0 })
        expect(yield* mesh.purge({ olderThan: "30 days", workflow: "spec:order" })).toMatchObject({ purged: 1, specs: 1 })
        // A new run of that version stores the spec again.
        const again = yield* mesh.startSpec(orderSpec, undefined, { orderId: "o3" })
        expect(yield* mesh.inspectRun(again.runId)).toMatchObject({ workflow: "spec:order" })
      }).pipe(Effect.provide(layer())),
    )
  })
}
