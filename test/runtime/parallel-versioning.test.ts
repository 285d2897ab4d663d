/**
 * Workflow.race and Workflow.forEach, and versioning: Workflow.patched keeps in-flight runs
 * replaying under changed code, and checkReplay reports runs the new code cannot replay.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const empty = Trigger.manual({ payload: Schema.Struct({}) })

describe("race", () => {
  const Slow = Step.make("slow-psp", {
    run: (_: void, ctx) => (ctx.attempt < 3 ? Effect.fail(new Error("503")) : Effect.succeed("charged")),
    retry: { maxAttempts: 5, backoff: { type: "fixed", delay: "45 minutes" } },
  })
  const Charge = Workflow.make({
    name: "charge-with-timeout",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({ timeout: Schema.String }) }) },
    *run(input) {
      const winner = yield* Workflow.race([Slow(), Workflow.sleep("timeout", input.timeout as "1 hour")])
      return winner ?? "timed out"
    },
  })

  it.effect("a durable timeout wins the race and cancels the step", () =>
    Effect.gen(function* () {
      const { runId } = yield* TestMesh.start(Charge, { timeout: "1 hour" })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.output).toBe("timed out")
      expect(run.history!.map((e) => `${e.name}:${e.status}`)).toEqual(["slow-psp:cancelled", "timeout:completed"])
      expect(run.tasks).toEqual([])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Charge] }))),
  )

  it.effect("the step wins the race and the timer is withdrawn", () =>
    Effect.gen(function* () {
      const { runId } = yield* TestMesh.start(Charge, { timeout: "1 day" })
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.output).toBe("charged")
      expect(run.history!.map((e) => `${e.name}:${e.status}`)).toEqual(["slow-psp:completed", "timeout:cancelled"])
      expect(run.finishedAt).toBe(90 * 60_000)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Charge] }))),
  )
})

describe("forEach", () => {
  let inFlight = 0
  let peak = 0
  const Ship = Step.make("ship-item", {
    run: (n: number) =>
      Effect.gen(function* () {
        inFlight++
        peak = Math.max(peak, inFlight)
        yield* Effect.sleep("1 minute")
        inFlight--
        return n * 10
      }),
  })
  const Fanout = Workflow.make({
    name: "fanout",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
    *run({ n }) {
      return yield* Workflow.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => Ship(i),
        { concurrency: 10 },
      )
    },
  })

  it.scoped("fans out over 250 items with at most 10 in flight, results in order", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      yield* mesh.worker({ concurrency: 32, pollInterval: "365 days" })
      const { runId } = yield* mesh.start(Fanout, { n: 250 })
      for (let i = 0; i < 60 && (yield* mesh.inspectRun(runId)).status !== "completed"; i++) {
        yield* Effect.repeat(Effect.yieldNow(), { times: 50 })
        yield* TestClock.adjust("1 minute")
      }
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run.status).toBe("completed")
      expect(run.output).toEqual(Array.from({ length: 250 }, (_, i) => i * 10))
      expect(peak).toBe(10)
      expect(run.history).toHaveLength(250)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Fanout] }))),
  )
})

describe("versioning", () => {
  const A = Step.make("a", { run: () => "a" })
  const B = Step.make("b", { run: () => "b" })
  const Fraud = Step.make("fraud-check", { run: () => "checked" })
  // v1: a → b → sleep. v2 adds a fraud check between a and b behind a patch; v3 adds it without one.
  const V1 = Workflow.make({
    name: "versioned",
    triggers: { manual: empty },
    *run() {
      const out = [yield* A(), yield* B()]
      yield* Workflow.sleep("wait", "1 day")
      return out
    },
  })
  const V2 = Workflow.make({
    name: "versioned",
    triggers: { manual: empty },
    *run() {
      const a = yield* A()
      const extra = (yield* Workflow.patched("fraud-check-v2")) ? [yield* Fraud()] : []
      const out = [a, ...extra, yield* B()]
      yield* Workflow.sleep("wait", "1 day")
      return out
    },
  })
  const V3 = Workflow.make({
    name: "versioned",
    triggers: { manual: empty },
    *run() {
      const out = [yield* A(), yield* Fraud(), yield* B()]
      yield* Workflow.sleep("wait", "1 day")
      return out
    },
  })

  it.effect("patched() is false where the journal predates the patch and true for new runs; checkReplay gates the deploy", () => {
    const store = TestMesh.memoryStore()
    const check = (workflow: typeof V1) =>
      Effect.flatMap(Mesh.Mesh, (m) => m.checkReplay()).pipe(Effect.provide(TestMesh.layer({ workflows: [workflow], store })))
    return Effect.gen(function* () {
      // An in-flight v1 run has done a and b and sleeps.
      const old = yield* Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(V1, {})
        yield* TestMesh.drain()
        return runId
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [V1], store })))
      // The deploy gate: v3 would break the in-flight run, v2 would not.
      expect(yield* check(V3)).toMatchObject({ ok: false, divergent: [{ runId: old, seq: 2, expected: { name: "b" }, actual: { name: "fraud-check" } }] })
      expect(yield* check(V2)).toEqual({ ok: true, checked: 1, divergent: [] })
      const { oldRun, freshRun } = yield* Effect.gen(function* () {
        const oldRun = yield* TestMesh.runUntilDone(old)
        const fresh = yield* TestMesh.start(V2, {})
        return { oldRun, freshRun: yield* TestMesh.runUntilDone(fresh.runId) }
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [V2], store })))
      expect(oldRun).toMatchObject({ status: "completed", output: ["a", "b"] })
      expect(freshRun.output).toEqual(["a", "checked", "b"])
      expect(freshRun.history!.map((e) => `${e.kind}:${e.name}`)).toEqual(["step:a", "patch:fraud-check-v2", "step:fraud-check", "step:b", "sleep:wait"])
    })
  })

  it.effect("checkReplay reports the first divergence of each open run", () => {
    const store = TestMesh.memoryStore()
    const Waiting = Workflow.make({
      name: "versioned",
      triggers: { manual: empty },
      *run() {
        yield* A()
        yield* B()
        return yield* Workflow.pause("hold")
      },
    })
    const Changed = Workflow.make({
      name: "versioned",
      triggers: { manual: empty },
      *run() {
        yield* A()
        yield* Fraud()
        return yield* Workflow.pause("hold")
      },
    })
    return Effect.gen(function* () {
      const runId = yield* Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Waiting, {})
        yield* TestMesh.drain()
        return runId
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [Waiting], store })))
      const same = yield* Effect.flatMap(Mesh.Mesh, (m) => m.checkReplay()).pipe(Effect.provide(TestMesh.layer({ workflows: [Waiting], store })))
      expect(same).toEqual({ ok: true, checked: 1, divergent: [] })
      const changed = yield* Effect.flatMap(Mesh.Mesh, (m) => m.checkReplay()).pipe(Effect.provide(TestMesh.layer({ workflows: [Changed], store })))
      expect(changed).toMatchObject({
        ok: false,
        checked: 1,
        divergent: [{ runId, reason: "non_determinism", seq: 2, expected: { kind: "step", name: "b" }, actual: { kind: "step", name: "fraud-check" } }],
      })
      const unknown = yield* Effect.flatMap(Mesh.Mesh, (m) => m.checkReplay()).pipe(Effect.provide(TestMesh.layer({ workflows: [], store })))
      expect(unknown.divergent).toMatchObject([{ reason: "unknown_workflow" }])
    })
  })
})
