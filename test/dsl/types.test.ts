/**
 * Type tests: `tsc --noEmit` (part of `npm test`) checks every expectTypeOf and
 * @ts-expect-error below; the runtime assertions check the values agree.
 */
import { describe, expect, expectTypeOf, it } from "vitest"
import { Effect, Schema } from "effect"
import { Step, Trigger, Workflow, type InputOf, type OutputOf } from "../../src/index.js"
import { Replayer } from "../../runtime/Interpreter.js"

const Fetch = Step.make("fetch", { run: (input: { id: string }) => Effect.succeed({ id: input.id, score: 3 }) })
const Save = Step.make("save", { run: async (n: number) => ({ saved: n > 0 }) })
const Plain = Step.make("plain", { run: () => "text" as const })

const Typed = Workflow.make({
  name: "typed",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ id: Schema.String, n: Schema.Number }) }) },
  *run(input) {
    expectTypeOf(input).toEqualTypeOf<{ readonly id: string; readonly n: number }>()
    const fetched = yield* Fetch({ id: input.id })
    expectTypeOf(fetched).toEqualTypeOf<{ id: string; score: number }>()
    const saved = yield* Save(fetched.score)
    expectTypeOf(saved).toEqualTypeOf<{ saved: boolean }>()
    const plain = yield* Plain()
    expectTypeOf(plain).toEqualTypeOf<"text">()
    const [a, b, c] = yield* Workflow.all([Fetch({ id: "x" }), Save(1), Workflow.sleep("s", "1 second")])
    expectTypeOf(a).toEqualTypeOf<{ id: string; score: number }>()
    expectTypeOf(b).toEqualTypeOf<{ saved: boolean }>()
    expectTypeOf(c).toEqualTypeOf<void>()
    const now = yield* Workflow.now()
    const id = yield* Workflow.uuid()
    expectTypeOf(now).toEqualTypeOf<number>()
    expectTypeOf(id).toEqualTypeOf<string>()
    // @ts-expect-error a step's input is type-checked
    yield* Fetch({ id: 1 })
    // @ts-expect-error the payload has no such field
    input.missing
    return { total: fetched.score + now, saved: saved.saved }
  },
})

describe("DSL typing", () => {
  it("infers workflow input and output types", () => {
    expectTypeOf<InputOf<typeof Typed>>().toEqualTypeOf<{ readonly id: string; readonly n: number }>()
    expectTypeOf<OutputOf<typeof Typed>>().toEqualTypeOf<{ total: number; saved: boolean }>()
    expect(Typed.name).toBe("typed")
  })

  it("a step call is a command whose yield* result is the step's output", () => {
    const command = Fetch({ id: "q" })
    expect(command.data).toMatchObject({ _tag: "Step", input: { id: "q" } })
    expect(Fetch.stepName).toBe("fetch")
    const d = new Replayer("r", Typed, { id: "k", n: 1 }).advance({ now: 0, random: () => 0.5 })
    expect(d.entries[0]).toMatchObject({ kind: "step", name: "fetch", input: { id: "k" } })
  })

  it("rejects malformed definitions eagerly", () => {
    expect(() => Workflow.make({ name: "", triggers: Typed.triggers, *run() {} })).toThrow(/name/)
    expect(() => Workflow.make({ name: "x", triggers: {}, *run() {} })).toThrow(/trigger/)
    expect(() => Step.make("", { run: () => 1 })).toThrow(/name/)
  })
})
