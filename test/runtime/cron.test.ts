/**
 * Cron triggers: one run per window (even with several schedulers), windows computed in the
 * trigger's time zone, payload defaults resolved at each window, bad expressions refused.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import { nextWindow } from "../../runtime/Scheduler.js"
import * as TestMesh from "../../src/testing/index.js"

const HOUR = 3_600_000
const Report = Workflow.make({
  name: "hourly-report",
  triggers: {
    hourly: Trigger.cron("0 * * * *", { payload: Schema.Struct({ postedOn: Schema.String }), defaults: { postedOn: Trigger.now() } }),
    manual: Trigger.manual({ payload: Schema.Struct({ postedOn: Schema.String }) }),
  },
  *run(input) {
    return yield* Step.make("compile", { run: (at: string) => `report for ${at}` })(input.postedOn)
  },
})

describe("cron triggers", () => {
  it.scoped("start one run per window, with defaults resolved at the window, even with two schedulers", () => {
    const store = TestMesh.memoryStore()
    const a = TestMesh.layer({ workflows: [Report], store })
    const b = TestMesh.layer({ workflows: [Report], store })
    return Effect.gen(function* () {
      yield* Effect.flatMap(Mesh.Mesh, (m) => m.scheduler).pipe(Effect.provide(a))
      yield* Effect.flatMap(Mesh.Mesh, (m) => m.scheduler).pipe(Effect.provide(b))
      for (let i = 0; i < 3; i++) {
        yield* Effect.repeat(Effect.yieldNow(), { times: 20 })
        yield* TestClock.adjust("1 hour")
      }
      yield* Effect.repeat(Effect.yieldNow(), { times: 20 })
      const runs = yield* Effect.flatMap(Mesh.Mesh, (m) => m.listRuns({ workflow: "hourly-report" })).pipe(
        Effect.map((page) => page.runs),
        Effect.provide(a),
      )
      expect(runs.map((r) => r.input).reverse()).toEqual([
        { postedOn: "1970-01-01T01:00:00.000Z" },
        { postedOn: "1970-01-01T02:00:00.000Z" },
        { postedOn: "1970-01-01T03:00:00.000Z" },
      ])
      expect(runs.every((r) => r.trigger === "hourly" && r.idempotencyKey!.startsWith("cron:"))).toBe(true)
      const done = yield* TestMesh.runUntilDone(runs[0]!.id).pipe(Effect.provide(a))
      expect(done.output).toBe("report for 1970-01-01T03:00:00.000Z")
      expect(done.commands).toMatchObject([{ kind: "start", actor: "scheduler" }])
    })
  })

  it("computes windows in the trigger's time zone", () => {
    const lisbon = Trigger.cron("0 21 * * *", { timeZone: "Europe/Lisbon" })
    expect(nextWindow(lisbon, Date.UTC(2026, 0, 10, 12))).toBe(Date.UTC(2026, 0, 10, 21)) // winter: UTC+0
    expect(nextWindow(lisbon, Date.UTC(2026, 6, 10, 12))).toBe(Date.UTC(2026, 6, 10, 20)) // summer: UTC+1
    expect(nextWindow(Trigger.cron("*/15 * * * *"), 4 * HOUR + 1)).toBe(4 * HOUR + 15 * 60_000)
  })

  it("refuses a cron expression or time zone that does not parse when the trigger is defined", () => {
    expect(() => Trigger.cron("61 25 * * *")).toThrow(expect.objectContaining({ _tag: "InvalidDefinitionError", field: "expression", value: '"61 25 * * *"' }))
    expect(() => Trigger.cron("0 21 * * *", { timeZone: "Mars/Olympus" })).toThrow(
      expect.objectContaining({ _tag: "InvalidDefinitionError", field: "timeZone", value: '"Mars/Olympus"' }),
    )
  })
})
