import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Fiber, Layer, Schema, TestClock } from "effect"
import { ConflictError, InvalidPayloadError, StepFailedError, Mesh, Step, Store, Trigger, Workflow, type RunView } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { Nondeterministic, Order } from "../fixtures/workflows.js"

const DAY = 86_400_000
const order = { orderId: "o1", cents: 1250 }
const empty = Trigger.manual({ payload: Schema.Struct({}) })

/** History without run-specific fields, to compare two runs of the same workflow. */
const shape = (run: RunView) => ({
  status: run.status,
  output: run.output,
  history: run.history!.map(({ attempts, ...e }) => ({ ...e, attempts: attempts.map(({ owner: _o, ...a }) => a) })),
})

describe("running workflows", () => {
  it.effect("runs an order: retrying charge, a 30-day durable sleep and a parallel join", () =>
    Effect.gen(function* () {
      let charges = 0
      yield* TestMesh.stubStep("charge", (input: { orderId: string; cents: number }) => {
        if (++charges < 3) throw new Error("psp unavailable")
        return { chargeId: `ch-${input.orderId}`, cents: input.cents }
      })
      const { runId, created } = yield* TestMesh.start(Order, order)
      expect(created).toBe(true)
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.status).toBe("completed")
      expect(run.output).toEqual({ reservation: "r-o1", chargeId: "ch-o1", tracking: "T-o1", email: "sent" })
      const byName = Object.fromEntries(run.history!.map((e) => [e.name, e]))
      expect(byName.charge!.attemptCount).toBe(3)
      // charge succeeded at t = 1h + 2h; the sleep fires 30 days later; both parallel steps run then.
      expect(byName["cool-off"]!.resolvedAt).toBe(3 * 3_600_000 + 30 * DAY)
      expect(byName.ship!.resolvedAt).toBe(byName["cool-off"]!.resolvedAt)
      expect(run.tasks).toEqual([])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("routes a failure with try/catch and completes", () => {
    const Pay = Step.make("pay", { run: () => Effect.fail(Step.fatal("card_declined")) })
    const Invoice = Step.make("invoice", { run: (reason: string) => ({ invoiced: true, reason }) })
    const Wf = Workflow.make({
      name: "fallback",
      triggers: { manual: empty },
      *run() {
        try {
          return yield* Pay()
        } catch (e) {
          if (e instanceof StepFailedError) return yield* Invoice(e.error.code)
          throw e
        }
      },
    })
    return Effect.gen(function* () {
      const run = yield* TestMesh.runUntilDone((yield* TestMesh.start(Wf, {})).runId)
      expect(run).toMatchObject({ status: "completed", output: { invoiced: true, reason: "card_declined" } })
      expect(run.history!.map((e) => `${e.name}:${e.status}`)).toEqual(["pay:failed", "invoice:completed"])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
  })

  it.effect("fails the run when a failure is not caught", () =>
    Effect.gen(function* () {
      yield* TestMesh.stubStep("reserve", () => {
        throw new TypeError("out of stock")
      })
      const run = yield* TestMesh.runUntilDone((yield* TestMesh.start(Order, order)).runId)
      expect(run.status).toBe("failed")
      expect(run.error).toEqual({ code: "type_error", message: "out of stock", step: "reserve", seq: 1 })
      expect(run.finishedAt).toBe(0)
      expect(run.history).toHaveLength(1)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("joins parallel steps in order, and fails fast cancelling the pending siblings", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      yield* TestMesh.stubStep("email", () => Effect.fail(Step.fatal("smtp_down")))
      const { runId } = yield* TestMesh.start(Order, order)
      yield* TestMesh.drain()
      yield* TestClock.adjust("30 days")
      expect(yield* mesh.executeNext()).toMatchObject({ _tag: "Executed", kind: "timer", name: "cool-off" })
      // One task at a time: the group's first step (ship) is claimed before email.
      const first = yield* mesh.executeNext()
      expect(first).toMatchObject({ _tag: "Executed", name: "ship", runStatus: "running" })
      const second = yield* mesh.executeNext()
      expect(second).toMatchObject({ _tag: "Executed", name: "email", result: "failed", runStatus: "failed" })
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run.error).toMatchObject({ code: "smtp_down", step: "email" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("cancels a sibling still pending when the group fails", () => {
    const Fast = Step.make("fast-fail", { run: () => Effect.fail(Step.fatal("nope")) })
    const Slow = Step.make("slow", { run: () => "late" })
    const Wf = Workflow.make({
      name: "group",
      triggers: { manual: empty },
      *run() {
        try {
          yield* Workflow.all([Fast(), Workflow.sleep("wait", "1 day"), Slow()])
        } catch {
          return "recovered"
        }
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* TestMesh.start(Wf, {})
      expect(yield* mesh.executeNext()).toMatchObject({ name: "fast-fail", result: "failed", runStatus: "completed" })
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run.output).toBe("recovered")
      expect(run.history!.map((e) => `${e.name}:${e.status}`)).toEqual(["fast-fail:failed", "wait:cancelled", "slow:cancelled"])
      expect(run.tasks).toEqual([])
      expect(yield* mesh.executeNext()).toEqual({ _tag: "Idle" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
  })
})

describe("determinism and replay", () => {
  it.effect("now/random/uuid keep their journaled values when the run is replayed after a cache loss", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const { runId } = yield* TestMesh.start(Nondeterministic, {})
      const before = yield* (yield* Mesh.Mesh).inspectRun(runId, { history: true })
      const journaled = Object.fromEntries(before.history!.filter((e) => e.status === "completed").map((e) => [e.name, e.output]))
      yield* TestMesh.dropCache
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.output).toEqual({ t1: 1_700_000_000_000, r: journaled.random, id: journaled.uuid, t2: 1_700_000_000_000 + DAY })
      const stats = yield* TestMesh.cacheStats
      expect(stats.misses).toBeGreaterThan(0)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Nondeterministic] }))),
  )

  it.effect("replay from scratch at every step gives the same journal as the warm path", () =>
    Effect.gen(function* () {
      const runOnce = (cold: boolean) =>
        Effect.gen(function* () {
          const { runId } = yield* TestMesh.start(Order, order)
          for (;;) {
            if (cold) yield* TestMesh.dropCache
            const [r] = yield* TestMesh.drain({ maxTasks: 1 })
            if (!r) {
              const next = yield* (yield* Mesh.Mesh).store.nextDueAt("default")
              if (next === undefined) break
              yield* TestClock.setTime(next)
            }
          }
          return yield* (yield* Mesh.Mesh).inspectRun(runId, { history: true })
        })
      const warm = yield* runOnce(false)
      yield* TestClock.setTime(0)
      const cold = yield* runOnce(true)
      expect(warm.status).toBe("completed")
      expect(shape(cold)).toEqual(shape(warm))
      const stats = yield* TestMesh.cacheStats
      expect(stats.hits).toBeGreaterThan(0)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("fails the run with a NonDeterminismError diff when the code changed under its journal", () => {
    const store = TestMesh.memoryStore()
    const V2 = Workflow.make({
      name: "order",
      triggers: Order.triggers,
      *run(input) {
        yield* Step.make("reserve", { run: (_: unknown) => ({ reservation: "x" }) })(input)
        yield* Step.make("fraud-check", { run: (_: unknown) => true })(input)
        return "v2"
      },
    })
    return Effect.gen(function* () {
      const { runId } = yield* TestMesh.start(Order, order).pipe(Effect.provide(TestMesh.layer({ workflows: [Order], store })))
      yield* TestMesh.drain({ maxTasks: 2 }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order], store }))) // reserve, charge
      // Deploy v2: a new engine (empty cache) over the same store.
      const run = yield* TestMesh.runUntilDone(runId).pipe(Effect.provide(TestMesh.layer({ workflows: [V2], store })))
      expect(run.status).toBe("failed")
      expect(run.error).toMatchObject({
        code: "non_determinism",
        seq: 2,
        details: { expected: { kind: "step", name: "charge" }, actual: { kind: "step", name: "fraud-check" } },
      })
      expect(run.tasks).toEqual([])
    })
  })

  it.effect("emits Workflow.log lines once, not again on replay", () =>
    Effect.gen(function* () {
      const lines: Array<unknown> = []
      const { Logger } = yield* Effect.promise(() => import("effect"))
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => lines.push(message)),
      )
      yield* Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Nondeterministic, {})
        yield* TestMesh.dropCache
        yield* TestMesh.runUntilDone(runId)
      }).pipe(Effect.provide(capture))
      expect(lines.flat().filter((m) => String(m).startsWith("picked "))).toHaveLength(1)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Nondeterministic] }))),
  )
})

describe("start", () => {
  it.effect("returns the same run for the same idempotency key, and conflicts on a different payload", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const a = yield* TestMesh.start(Order, order, { idempotencyKey: "order-o1" })
      const b = yield* TestMesh.start(Order, order, { idempotencyKey: "order-o1", actor: "api" })
      expect(b).toEqual({ runId: a.runId, status: "running", created: false })
      expect((yield* mesh.inspectRun(a.runId, { history: true })).commands).toEqual([{ kind: "start", actor: "system", idempotencyKey: "order-o1", at: 0 }])
      const conflict = yield* Effect.flip(TestMesh.start(Order, { ...order, cents: 1 }, { idempotencyKey: "order-o1" }))
      expect(conflict).toBeInstanceOf(ConflictError)
      expect(conflict).toMatchObject({ _tag: "ConflictError", runId: a.runId })
      expect((yield* mesh.listRuns()).runs).toHaveLength(1)
      const c = yield* TestMesh.start(Order, order, { idempotencyKey: "order-o2" })
      expect(c.runId).not.toBe(a.runId)
      const explicit = "0b6f3f2e-8a57-4c39-9d51-6f0a3c1b2e4d"
      expect((yield* TestMesh.start(Order, order, { runId: explicit })).runId).toBe(explicit)
      expect((yield* TestMesh.start(Order, order, { runId: explicit })).created).toBe(false)
      expect((yield* Effect.flip(TestMesh.start(Order, order, { runId: "nope" })))._tag).toBe("InvalidOptionError")
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("rejects a bad payload with every missing, unknown and mistyped field, writing nothing", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const error = yield* Effect.flip(TestMesh.start("order", { cents: "12", coupon: "X" }))
      expect(error).toBeInstanceOf(InvalidPayloadError)
      expect(error).toMatchObject({ workflow: "order", trigger: "manual", missing: ["orderId"], unknown: ["coupon"] })
      expect((error as InvalidPayloadError).invalid.map((f) => f.field)).toEqual(["cents"])
      expect((yield* Effect.flip(TestMesh.start("order", "not an object")))._tag).toBe("InvalidPayloadError")
      expect((yield* Effect.flip(TestMesh.start("nope", {})))._tag).toBe("InvalidWorkflowError")
      expect(yield* Effect.flip(TestMesh.start("order", order, { trigger: "cron" }))).toMatchObject({ _tag: "InvalidTriggerError", available: ["manual"] })
      expect(yield* mesh.listRuns()).toEqual({ runs: [] })
      expect(yield* mesh.store.nextDueAt("default")).toBeUndefined()
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )

  it.effect("resolves payload defaults once from the Clock and stores them with the run", () => {
    const Report = Workflow.make({
      name: "report",
      triggers: {
        manual: Trigger.manual({
          payload: Schema.Struct({ postedOn: Schema.String, region: Schema.String, at: Schema.String }),
          defaults: { postedOn: Trigger.today(), region: "eu", at: Trigger.now() },
        }),
      },
      *run(input) {
        yield* Workflow.sleep("later", "3 days")
        return input
      },
    })
    return Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 2, 4, 23, 30, 5, 7))
      const { runId } = yield* TestMesh.start(Report, {})
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.input).toEqual({ postedOn: "2026-03-04", region: "eu", at: "2026-03-04T23:30:05.007Z" })
      expect(run.output).toEqual(run.input) // replay three days later still sees the stored defaults
      const explicit = yield* TestMesh.start(Report, { region: "us" })
      expect((yield* (yield* Mesh.Mesh).inspectRun(explicit.runId)).input).toMatchObject({ region: "us", postedOn: "2026-03-07" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Report] })))
  })
})

describe("claims and fencing", () => {
  /** A step that blocks until released, so a test can act while it is in flight. */
  const gated = () => {
    const gate = Deferred.unsafeMake<void>(undefined as never)
    let runs = 0
    const Gated = Step.make("gated", {
      run: () =>
        Effect.zipRight(
          Effect.sync(() => runs++),
          Deferred.await(gate),
        ).pipe(Effect.as("done")),
    })
    const Wf = Workflow.make({
      name: "gated",
      triggers: { manual: empty },
      *run() {
        return yield* Gated()
      },
    })
    return { Wf, gate, runs: () => runs }
  }

  it.effect("a stale claim (lease expired, task re-claimed by another owner) writes nothing", () => {
    const { Wf, gate, runs } = gated()
    const base = TestMesh.memoryStore()
    // A store whose heartbeats never extend the lease: the worker looks stuck.
    const store = { ...base, heartbeat: () => Effect.succeed(true) }
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* TestMesh.start(Wf, {})
      const slow = yield* Effect.fork(mesh.executeNext({ ownerId: "A", leaseFor: "30 seconds" }))
      while (runs() < 1) yield* Effect.yieldNow()
      yield* TestClock.adjust("31 seconds")
      // B claims the expired task; its attempt blocks on the same gate.
      const fast = yield* Effect.fork(mesh.executeNext({ ownerId: "B", leaseFor: "10 minutes" }))
      while (runs() < 2) yield* Effect.yieldNow()
      const before = yield* mesh.inspectRun(runId, { history: true })
      expect(before.tasks![0]).toMatchObject({ owner: "B" })
      yield* Deferred.succeed(gate, undefined)
      const a = yield* Fiber.join(slow)
      const b = yield* Fiber.join(fast)
      expect(a).toMatchObject({ _tag: "Fenced", reason: expect.stringMatching(/stale_claim|expired_claim/) })
      expect(b).toMatchObject({ _tag: "Executed", result: "completed", runStatus: "completed" })
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run.history![0]!.attempts.map((x) => x.owner)).toEqual(["B"])
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
  })

  it.effect("a worker that loses its claim interrupts the step and writes nothing", () => {
    let interrupted = false
    const Stuck = Step.make("stuck", { run: () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))) })
    const Wf = Workflow.make({
      name: "stuck",
      triggers: { manual: empty },
      *run() {
        return yield* Stuck()
      },
    })
    const store = { ...TestMesh.memoryStore(), heartbeat: () => Effect.succeed(false) }
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* TestMesh.start(Wf, {})
      const fiber = yield* Effect.fork(mesh.executeNext({ leaseFor: "30 seconds" }))
      while (Chunk.isEmpty(yield* TestClock.sleeps())) yield* Effect.yieldNow()
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "Fenced", reason: "claim_lost" })
      expect(interrupted).toBe(true)
      const run = yield* mesh.inspectRun(runId, { history: true })
      expect(run.history![0]).toMatchObject({ status: "pending", attemptCount: 0, attempts: [] })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
  })

  it.effect("a heartbeat keeps a long step's claim alive past its lease", () => {
    const Long = Step.make("long", { run: () => Effect.sleep("10 minutes").pipe(Effect.as("ok")) })
    const Wf = Workflow.make({
      name: "long",
      triggers: { manual: empty },
      *run() {
        return yield* Long()
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* TestMesh.start(Wf, {})
      const fiber = yield* Effect.fork(mesh.executeNext({ ownerId: "A", leaseFor: "1 minute" }))
      while (Chunk.isEmpty(yield* TestClock.sleeps())) yield* Effect.yieldNow()
      for (let i = 0; i < 40; i++) {
        yield* TestClock.adjust("20 seconds")
        expect(yield* mesh.executeNext({ ownerId: "B" })).toMatchObject({ _tag: "Idle" })
      }
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "Executed", result: "completed" })
      expect((yield* mesh.inspectRun(runId)).status).toBe("completed")
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf] })))
  })

  it.effect("the Promise-free Effect API reports errors as tagged failures", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      expect((yield* Effect.flip(mesh.inspectRun("0b6f3f2e-8a57-4c39-9d51-6f0a3c1b2e4d")))._tag).toBe("RunNotFoundError")
      expect((yield* Effect.flip(mesh.inspectRun("x")))._tag).toBe("InvalidOptionError")
      const exit = yield* Effect.exit(Mesh.make({ workflows: [Order, { ...Order }] }).pipe(Effect.provide(Layer.succeed(Store, mesh.store)), Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Order] }))),
  )
})
