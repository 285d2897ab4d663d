/**
 * Rerun: a new run with the source's resolved input, linked to it; refused after irreversible
 * steps unless allowed; `fromStep` forks keep the journal before the step and need unchanged code.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Mesh, RerunRefusedError, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const calls: Record<string, number> = {}
const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1)
const Quote = Step.make("quote", { run: (day: string) => (count("quote"), { day, price: 42 }) })
const Book = Step.make("book", { run: (price: number) => (count("book"), { booked: price }) })
const Pay = Step.make("pay", { irreversible: true, run: (_price: number) => (count("pay"), Effect.fail(Step.fatal("declined"))) })
const Trip = Workflow.make({
  name: "trip",
  triggers: {
    manual: Trigger.manual({ payload: Schema.Struct({ day: Schema.String, pay: Schema.Boolean }), defaults: { day: Trigger.today() } }),
  },
  *run(input) {
    const quote = yield* Quote(input.day)
    const booking = yield* Book(quote.price)
    if (input.pay) yield* Pay(booking.booked)
    return { day: quote.day, booked: booking.booked }
  },
})

describe("rerun", () => {
  it.effect("starts a linked run with the source's resolved input (defaults kept), leaving the source untouched", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      yield* TestClock.setTime(Date.UTC(2026, 0, 5))
      const source = yield* TestMesh.start(Trip, { pay: false })
      yield* TestMesh.runUntilDone(source.runId)
      const before = yield* mesh.inspectRun(source.runId, { history: true })
      yield* TestClock.setTime(Date.UTC(2026, 4, 9))
      const again = yield* mesh.rerun(source.runId, { actor: "ops", idempotencyKey: "r-1" })
      expect(again).toMatchObject({ rerunOf: source.runId, duplicate: false })
      const run = yield* TestMesh.runUntilDone(again.runId)
      expect(run).toMatchObject({
        status: "completed",
        rerunOf: source.runId,
        input: { day: "2026-01-05", pay: false },
        output: { day: "2026-01-05", booked: 42 },
      })
      expect(run.commands).toMatchObject([{ kind: "rerun", actor: "ops", idempotencyKey: "r-1" }])
      expect(yield* mesh.inspectRun(source.runId, { history: true })).toEqual(before)
      expect(yield* mesh.rerun(source.runId, { actor: "ops", idempotencyKey: "r-1" })).toEqual({
        runId: again.runId,
        rerunOf: source.runId,
        status: "completed",
        duplicate: true,
      })
      expect((yield* Effect.flip(mesh.rerun(source.runId, { actor: "ops", idempotencyKey: "r-1", fromStep: "book" })))._tag).toBe("ConflictError")
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Trip] }))),
  )

  it.effect("is refused after an irreversible step completed, unless allowed", () => {
    const Charged = Workflow.make({
      name: "charged",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
      *run() {
        const charge = yield* Step.make("charge", { irreversible: true, run: () => "ch-1" })()
        return yield* Step.make("fail", { run: (_: string) => Effect.fail(Step.fatal("later_failure")) })(charge)
      },
    })
    return Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Charged, {})
      yield* TestMesh.runUntilDone(runId)
      const refused = yield* Effect.flip(mesh.rerun(runId, { actor: "ops" }))
      expect(refused).toBeInstanceOf(RerunRefusedError)
      expect(refused).toMatchObject({ reason: "irreversible_steps", steps: ["charge"] })
      expect((yield* mesh.listRuns()).runs).toHaveLength(1)
      expect((yield* mesh.rerun(runId, { actor: "ops", allowIrreversible: true })).duplicate).toBe(false)
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Charged] })))
  })

  it.effect("fromStep forks: keeps the journal before the step and re-executes from there", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      for (const k of Object.keys(calls)) delete calls[k]
      yield* TestMesh.stubStep("pay", () => Effect.fail(Step.fatal("declined")))
      const source = yield* TestMesh.start(Trip, { day: "2026-02-02", pay: true })
      expect((yield* TestMesh.runUntilDone(source.runId)).status).toBe("failed")
      expect(calls).toEqual({ quote: 1, book: 1 })
      yield* TestMesh.stubStep("pay", () => ({ paid: true }))
      const fork = yield* mesh.rerun(source.runId, { actor: "ops", fromStep: "book", allowIrreversible: true })
      const run = yield* TestMesh.runUntilDone(fork.runId)
      expect(run).toMatchObject({ status: "completed", output: { day: "2026-02-02", booked: 42 } })
      expect(calls).toEqual({ quote: 1, book: 2 }) // quote was kept, not re-run
      expect(run.history!.map((e) => `${e.name}:${e.status}`)).toEqual(["quote:completed", "book:completed", "pay:completed"])
      expect(yield* Effect.flip(mesh.rerun(source.runId, { actor: "ops", fromStep: "nope" }))).toMatchObject({ reason: "unknown_step" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Trip] }))),
  )

  it.effect("a fork needs the same code as the source", () => {
    const store = TestMesh.memoryStore()
    const Changed = Workflow.make({
      name: "trip",
      triggers: Trip.triggers,
      *run(input) {
        const quote = yield* Quote(input.day)
        return { day: quote.day, booked: (yield* Book(quote.price)).booked, v: 2 }
      },
    })
    return Effect.gen(function* () {
      const runId = yield* Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Trip, { day: "2026-03-03", pay: false })
        yield* TestMesh.runUntilDone(runId)
        return runId
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [Trip], store })))
      const refused = yield* Effect.flip(Effect.flatMap(Mesh.Mesh, (m) => m.rerun(runId, { actor: "ops", fromStep: "book" }))).pipe(
        Effect.provide(TestMesh.layer({ workflows: [Changed], store })),
      )
      expect(refused).toMatchObject({ _tag: "RerunRefusedError", reason: "definition_changed" })
    })
  })
})
