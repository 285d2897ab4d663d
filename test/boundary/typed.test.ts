/**
 * The typed boundary: `start` checks its payload against the chosen manual trigger's schema
 * (fields with defaults optional) in the Promise API, the Effect API and the test kit; a
 * workflow's typed output comes back from `awaitRun`/`inspectRun`; a step's type says what
 * replay returns. `tsc --noEmit` (part of `npm test`) checks each `@ts-expect-error`: if a
 * wrong use compiled, the directive itself would be an error.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Mesh, Step, Trigger, Workflow, createMesh, type MeshClient, type RunView } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const Due = Step.make("due", { run: (days: number) => new Date(Date.UTC(2026, 0, 1 + days)) })
const DueTyped = Step.make("due-typed", { run: (days: number) => new Date(Date.UTC(2026, 0, 1 + days)), output: Schema.Date })
const Amounts = Step.make("amounts", {
  run: () => ({ cents: 1250n, at: new Date(Date.UTC(2026, 0, 1)) }),
  output: Schema.Struct({ cents: Schema.BigInt, at: Schema.Date }),
})

const PlaceOrder = Workflow.make({
  name: "place-order",
  triggers: {
    manual: Trigger.manual({
      payload: Schema.Struct({ orderId: Schema.String, cents: Schema.Number, placedOn: Schema.String }),
      defaults: { placedOn: Trigger.today() },
    }),
    bulk: Trigger.manual({ payload: Schema.Struct({ batch: Schema.Array(Schema.String) }) }),
    nightly: Trigger.cron("0 2 * * *"),
  },
  *run(input) {
    const plain = yield* Due(3)
    const typed = yield* DueTyped(3)
    const amounts = yield* Amounts()
    expectTypeOf(plain).toEqualTypeOf<string>()
    expectTypeOf(typed).toEqualTypeOf<Date>()
    expectTypeOf(amounts).toEqualTypeOf<{ readonly cents: bigint; readonly at: Date }>()
    // @ts-expect-error without an output Schema a Date comes back as its JSON string
    const wrong: Date = yield* Due(1)
    void wrong
    return {
      orderId: "orderId" in input ? String(input.orderId) : "bulk",
      plainIsString: typeof plain === "string",
      typedIsDate: typed instanceof Date,
      dueYear: typed.getUTCFullYear(),
      cents: String(amounts.cents),
      at: amounts.at,
    }
  },
})

const Empty = Workflow.make({
  name: "empty-payload",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return 1
  },
})

/** Compile-time only: each wrong call must fail to compile. Never called. */
export const promiseApiTypes = async (mesh: MeshClient) => {
  await mesh.start(PlaceOrder, { orderId: "o-1", cents: 100 }) // the defaulted field may be left out
  await mesh.start(PlaceOrder, { orderId: "o-1", cents: 100, placedOn: "2026-01-01" })
  await mesh.start(PlaceOrder, { batch: ["a"] }, { trigger: "bulk" })
  await mesh.start(Empty)
  await mesh.start("place-order", { anything: true }) // by name: untyped
  // @ts-expect-error an unknown field
  await mesh.start(PlaceOrder, { wrong: 1 })
  // @ts-expect-error a required field missing
  await mesh.start(PlaceOrder, { orderId: "o-1" })
  // @ts-expect-error a field of the wrong type
  await mesh.start(PlaceOrder, { orderId: "o-1", cents: "100" })
  // @ts-expect-error the payload of another trigger
  await mesh.start(PlaceOrder, { orderId: "o-1", cents: 100 }, { trigger: "bulk" })
  // @ts-expect-error a cron trigger cannot be started
  await mesh.start(PlaceOrder, {}, { trigger: "nightly" })
  // @ts-expect-error a required payload cannot be left out
  await mesh.start(PlaceOrder)
  const typed = await mesh.awaitRun(PlaceOrder, "r")
  expectTypeOf(typed.output).toEqualTypeOf<
    { orderId: string; plainIsString: boolean; typedIsDate: boolean; dueYear: number; cents: string; at: string } | undefined
  >()
  const untyped = await mesh.awaitRun("r")
  expectTypeOf(untyped).toEqualTypeOf<RunView>()
  const inspected = await mesh.inspectRun(PlaceOrder, "r", { history: true })
  expectTypeOf(inspected.output?.dueYear).toEqualTypeOf<number | undefined>()
}

/** Compile-time only: the Effect API and the test kit check payloads the same way. */
export const effectApiTypes = Effect.gen(function* () {
  const mesh = yield* Mesh.Mesh
  yield* mesh.start(PlaceOrder, { orderId: "o-1", cents: 100 })
  // @ts-expect-error an unknown field
  yield* mesh.start(PlaceOrder, { wrong: 1 })
  yield* TestMesh.start(PlaceOrder, { orderId: "o-1", cents: 100 })
  // @ts-expect-error a required field missing
  yield* TestMesh.start(PlaceOrder, { cents: 100 })
  const run = yield* mesh.awaitRun(PlaceOrder, "r")
  expectTypeOf(run.output?.cents).toEqualTypeOf<string | undefined>()
})

describe("typed boundary at run time", () => {
  it.effect("a step with an output Schema hands its value back decoded, live and after replay; without one, as JSON", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const warm = yield* TestMesh.start(PlaceOrder, { orderId: "o-1", cents: 100 })
      const warmRun = yield* TestMesh.runUntilDone(warm.runId)
      const cold = yield* TestMesh.start(PlaceOrder, { orderId: "o-2", cents: 100 })
      // Replay from the journal for every task of the second run.
      for (;;) {
        yield* TestMesh.dropCache
        const r = yield* mesh.executeNext({})
        if (r._tag === "Idle") break
      }
      const coldRun = yield* mesh.awaitRun(PlaceOrder, cold.runId, { timeout: "1 second" })
      for (const run of [warmRun, coldRun]) {
        expect({ status: run.status, error: run.error }).toEqual({ status: "completed", error: undefined })
        expect(run.output).toMatchObject({ plainIsString: true, typedIsDate: true, dueYear: 2026, cents: "1250", at: "2026-01-01T00:00:00.000Z" })
      }
      const history = (yield* mesh.inspectRun(cold.runId, { history: true })).history!
      expect(history.find((e) => e.name === "due-typed")?.output).toBe("2026-01-04T00:00:00.000Z")
      expect(history.find((e) => e.name === "amounts")?.output).toEqual({ cents: "1250", at: "2026-01-01T00:00:00.000Z" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [PlaceOrder, Empty] }))),
  )

  const Bad = Step.make("bad-output", { run: () => "not a date" as unknown as Date, output: Schema.DateFromSelf })
  const BadOutput = Workflow.make({
    name: "bad-output",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
    *run() {
      return (yield* Bad()).toISOString()
    },
  })

  it.effect("a result that does not match its output Schema fails the step for good with output_invalid", () =>
    Effect.gen(function* () {
      const W = BadOutput
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(W)
      const run = yield* TestMesh.runUntilDone(runId)
      expect(run.status).toBe("failed")
      expect(run.history?.[0]).toMatchObject({ status: "failed", attemptCount: 1, error: { code: "output_invalid" } })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [BadOutput] }))),
  )

  it("awaitRun given another workflow's run is an InvalidWorkflowError", async () => {
    const mesh = await createMesh({ workflows: [PlaceOrder, Empty], store: { kind: "memory" } })
    try {
      const { runId } = await mesh.start(Empty)
      await mesh.executeNext()
      expect((await mesh.awaitRun(Empty, runId)).output).toBe(1)
      await expect(mesh.awaitRun(PlaceOrder, runId)).rejects.toMatchObject({ _tag: "InvalidWorkflowError", workflow: "place-order" })
    } finally {
      await mesh.close()
    }
  })
})
