/**
 * Activated specs (`specs` in the engine's config): a runtime-authored spec with a cron trigger
 * is validated and registered when the engine is made, its schedule fires each window once on
 * the simulated clock, its runs store the spec (so an engine that did not activate it, with
 * the same actions, runs them), and `start("spec:<name>")` starts it like a code workflow. A bad
 * spec refuses the engine with every problem. On memory and PGlite.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Actions, Mesh, PgliteStore, Store, type StoreService } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

let builds = 0
const actions = Actions.make({
  "report.build": {
    params: Schema.Struct({ title: Schema.String }),
    run: (input: { at?: string }, params: { title: string }) => {
      builds++
      return { report: `${params.title} at ${input.at ?? "?"}` }
    },
  },
})

const spec = {
  version: 1,
  name: "nightly-report",
  triggers: {
    every5: { type: "cron", expression: "*/5 * * * *", timeZone: "Etc/UTC" },
    manual: { type: "manual" },
  },
  steps: {
    build: { action: "report.build", params: { title: "ops" }, output: "built" },
    done: { log: "report built" },
  },
  transitions: [
    { from: "build", on: "ok", to: "done" },
    { from: "done", on: "ok", to: "complete" },
  ],
}

const T0 = Date.UTC(2026, 11, 7, 9, 1)

const runsOf = (mesh: Mesh.MeshService) => Effect.map(mesh.listRuns({ workflow: "spec:nightly-report" }), (page) => page.runs)

/** Polls (in real time, bounded) until `check` holds: a SQL store answers after the clock moved. */
const eventually = <A>(what: string, f: Effect.Effect<A, unknown>, check: (a: A) => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 3000; i++) {
      const value = yield* f
      if (check(value)) return value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Effect.die(new Error(`never: ${what}`))
  })

const scenario = (store: StoreService) =>
  Effect.gen(function* () {
    builds = 0
    yield* TestClock.setTime(T0)
    const activated = yield* Mesh.make({ workflows: [], actions, specs: [spec] }).pipe(Effect.provideService(Store, store))
    const [view] = (yield* activated.listSchedules({ next: 2 })).filter((v) => v.workflow === "spec:nightly-report")
    expect(view).toMatchObject({ trigger: "every5", registered: true, expression: "*/5 * * * *", nextFireTimes: [T0 + 4 * 60_000, T0 + 9 * 60_000] })

    yield* Effect.forkScoped(activated.scheduler)
    yield* Effect.repeat(Effect.yieldNow(), { times: 10 })
    yield* TestClock.adjust("15 minutes")
    const fired = yield* eventually("three windows", runsOf(activated), (runs) => runs.length === 3)
    expect(fired.map((r) => r.scheduledFor).sort()).toEqual([T0 + 4 * 60_000, T0 + 9 * 60_000, T0 + 14 * 60_000])

    // An engine that did not activate the spec (same actions) runs them from the stored spec.
    const worker = yield* Mesh.make({ workflows: [], actions }).pipe(Effect.provideService(Store, store))
    for (let i = 0; i < 50; i++) if ((yield* worker.executeNext({ ownerId: "w" }))._tag === "Idle") break
    const done = yield* runsOf(worker)
    expect(done.map((r) => r.status)).toEqual(["completed", "completed", "completed"])
    const one = yield* worker.inspectRun(done[0]!.id)
    expect(one.output).toMatchObject({ built: { report: "ops at ?" } })
    expect(builds).toBe(3)

    // Started by name, like a code workflow.
    const started = yield* activated.start("spec:nightly-report", {})
    expect((yield* activated.inspectRun(started.runId)).workflow).toBe("spec:nightly-report")

    // A bad spec refuses the engine, with every problem and its path.
    const bad = { ...spec, steps: { build: { action: "report.nope" } }, transitions: [{ from: "build", on: "ok", to: "nowhere" }] }
    const refused = yield* Effect.flip(Mesh.make({ workflows: [], actions, specs: [bad] }).pipe(Effect.provideService(Store, store)))
    expect(refused._tag).toBe("InvalidSpecError")
    expect((refused as { problems: ReadonlyArray<{ at: string }> }).problems.map((p) => p.at)).toEqual(
      expect.arrayContaining(["steps.build.action", "transitions[0].to"]),
    )
  })

describe("activated specs", () => {
  it.scoped("memory: the spec's cron trigger fires each window; its runs store the spec", () => scenario(TestMesh.memoryStore()), { timeout: 60_000 })
  it.scoped("PGlite: the spec's cron trigger fires each window; its runs store the spec", () => Effect.flatMap(PgliteStore.make(), scenario), {
    timeout: 120_000,
  })
})
