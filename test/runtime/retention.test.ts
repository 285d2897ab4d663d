/**
 * Retention: `purge({ olderThan, status?, workflow? })` deletes old terminal runs in batches and
 * audits each batch; a workflow's `retention` is applied by the workers of its queue in their
 * own fiber. Time is the TestClock, on the memory store and on PGlite.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema, TestClock } from "effect"
import { InvalidDefinitionError, Mesh, PgliteStore, Step, Trigger, Workflow, type PurgeOptions } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const Echo = Step.make("echo", { run: (n: number) => n })
const Payload = Schema.Struct({ n: Schema.Number })
const Short = Workflow.make({
  name: "short",
  triggers: { manual: Trigger.manual({ payload: Payload }) },
  *run({ n }) {
    return yield* Echo(n)
  },
})
const Kept = Workflow.make({
  name: "kept",
  retention: "3 days",
  triggers: { manual: Trigger.manual({ payload: Payload }) },
  *run({ n }) {
    if (n < 0) yield* Workflow.pause("hold")
    return yield* Echo(n)
  },
})
const Parent = Workflow.make({
  name: "parent",
  triggers: { manual: Trigger.manual({ payload: Payload }) },
  *run({ n }) {
    return yield* Workflow.child(Short, { n })
  },
})
const workflows = [Short, Kept, Parent]
const DAY = 24 * 60 * 60 * 1000

const backends = [
  ["memory", () => TestMesh.layer({ workflows })],
  ["PGlite", () => TestMesh.meshLayer({ workflows }).pipe(Layer.provide(PgliteStore.layer()), Layer.orDie)],
] as const

/** Lets forked fibers (a worker's retention) run after the clock moved. */
const settle = Effect.repeat(Effect.yieldNow(), { times: 50 })

for (const [backend, layer] of backends) {
  describe(`retention on ${backend}`, () => {
    it.effect("purge deletes terminal runs finished longer ago than olderThan, with their child runs, and audits each batch", () =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const done = yield* mesh.start(Short, { n: 1 })
        const failedLater = yield* mesh.start(Parent, { n: 2 })
        const open = yield* mesh.start(Kept, { n: -1 })
        yield* TestMesh.drain()
        const child = (yield* mesh.listRuns({ parentRunId: failedLater.runId })).runs[0]!
        expect(child.status).toBe("completed")
        yield* TestClock.adjust("10 days")
        const recent = yield* mesh.start(Short, { n: 3 })
        yield* TestMesh.drain()
        expect(yield* mesh.purge({ olderThan: "30 days" })).toEqual({ purged: 0, batches: 3, scheduleEvents: 0, specs: 0 }) // a batch each of runs, schedule events and specs
        yield* TestClock.adjust("25 days")
        // finished 35 days ago: the first run, the parent and its child (the child goes with its parent)
        expect(yield* mesh.purge({ olderThan: "30 days", status: "completed" })).toEqual({ purged: 3, batches: 3, scheduleEvents: 0, specs: 0 })
        const left = (yield* mesh.listRuns()).runs.map((r) => r.id).sort()
        expect(left).toEqual([open.runId, recent.runId].sort())
        expect(yield* Effect.flip(mesh.inspectRun(done.runId))).toMatchObject({ _tag: "RunNotFoundError" })
        const [audit] = yield* mesh.listPurges()
        expect(audit).toMatchObject({ purged: 3, reason: { kind: "purge", olderThanMs: 30 * DAY, statuses: ["completed"] } })
        expect([done.runId, failedLater.runId]).toContain(audit!.firstRunId)
        expect([done.runId, failedLater.runId]).toContain(audit!.lastRunId)
      }).pipe(Effect.provide(layer())),
    )

    it.effect("purge by workflow leaves other workflows' runs", () =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const a = yield* mesh.start(Short, { n: 1 })
        const b = yield* mesh.start(Kept, { n: 1 })
        yield* TestMesh.drain()
        yield* TestClock.adjust("2 days")
        expect(yield* mesh.purge({ olderThan: "1 day", workflow: "kept" })).toEqual({ purged: 1, batches: 2, scheduleEvents: 0, specs: 0 }) // a code workflow has no stored specs
        expect((yield* mesh.listRuns()).runs.map((r) => r.id)).toEqual([a.runId])
        expect(b.runId).not.toBe(a.runId)
      }).pipe(Effect.provide(layer())),
    )

    it.effect("a worker applies a workflow's retention policy in its own fiber, leaving open runs and other workflows", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const mesh = yield* Mesh.Mesh
          const gone = yield* mesh.start(Kept, { n: 1 })
          const open = yield* mesh.start(Kept, { n: -1 })
          const other = yield* mesh.start(Short, { n: 1 })
          yield* TestMesh.drain()
          yield* mesh.worker({ pollInterval: "365 days" })
          yield* settle
          yield* TestClock.adjust("71 hours")
          yield* settle
          expect((yield* mesh.listRuns()).runs).toHaveLength(3)
          yield* TestClock.adjust("2 hours")
          yield* settle
          const left = (yield* mesh.listRuns()).runs.map((r) => r.id).sort()
          expect(left).toEqual([open.runId, other.runId].sort())
          expect(yield* mesh.listPurges()).toMatchObject([
            { purged: 1, firstRunId: gone.runId, lastRunId: gone.runId, reason: { kind: "retention", workflow: "kept", retention: "3d" } },
          ])
        }),
      ).pipe(Effect.provide(layer())),
    )
  })
}

describe("purge options", () => {
  const refused: ReadonlyArray<readonly [string, PurgeOptions, string]> = [
    ["no olderThan", {} as never, "olderThan"],
    ["a malformed olderThan", { olderThan: "soon" as never }, "olderThan"],
    ["a non-terminal status", { olderThan: "1 day", status: "running" }, "status"],
    ["an empty status list", { olderThan: "1 day", status: [] }, "status"],
    ["an empty workflow", { olderThan: "1 day", workflow: "" }, "workflow"],
    ["an unknown option", { olderThan: "1 day", tenant: "acme" } as never, "tenant"],
  ]
  for (const [what, options, option] of refused) {
    it.effect(`refuses ${what} (InvalidOptionError on ${option}) and deletes nothing`, () =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        yield* mesh.start(Short, { n: 1 })
        yield* TestMesh.drain()
        yield* TestClock.adjust("400 days")
        expect(yield* Effect.flip(mesh.purge(options))).toMatchObject({ _tag: "InvalidOptionError", option })
        expect((yield* mesh.listRuns()).runs).toHaveLength(1)
        expect(yield* mesh.listPurges()).toEqual([])
      }).pipe(Effect.provide(TestMesh.layer({ workflows }))),
    )
  }

  it("a workflow's retention is checked when it is defined", () => {
    const define = (retention: unknown) => () =>
      Workflow.make({ name: "bad-retention", retention: retention as never, triggers: { manual: Trigger.manual({ payload: Payload }) }, *run() {} })
    expect(define("forever")).toThrow(InvalidDefinitionError)
    expect(define(0)).toThrow(/retention/)
    expect(define("7 days")().retention).toBeDefined()
  })
})
