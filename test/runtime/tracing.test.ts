/**
 * Spans: with a tracer installed, every step attempt, start and control runs in a span named
 * after it, with the run's attributes; with Effect's built-in tracer (nothing exported) the
 * engine makes none.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema, Tracer } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

/** Returns whether the step body runs inside a span. */
const Shout = Step.make("shout", {
  run: (s: string) => Effect.map(Effect.option(Effect.currentSpan), (span) => `${s.toUpperCase()} ${span._tag === "Some" ? span.value.name : "no span"}`),
})
const Echo = Workflow.make({
  name: "echo",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ word: Schema.String }) }) },
  *run({ word }) {
    yield* Workflow.approval("go")
    return yield* Shout(word)
  },
})

/** A tracer that records the spans it starts, delegating to Effect's built-in one. */
const recording = (spans: Array<{ name: string; attributes: Record<string, unknown> }>) =>
  Effect.map(Effect.tracer, (native) =>
    Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = native.span(name, parent, context, links, startTime, kind, options)
        const record = { name, attributes: {} as Record<string, unknown> }
        spans.push(record)
        const setAttribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          record.attributes[key] = value
          setAttribute(key, value)
        }
        return span
      },
      context: native.context,
    }),
  )

it.effect("with a tracer installed, starts, controls and step attempts are spans with the run's attributes", () => {
  const spans: Array<{ name: string; attributes: Record<string, unknown> }> = []
  return Effect.gen(function* () {
    const tracer = yield* recording(spans)
    const runId = yield* Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Echo, { word: "hi" })
      yield* mesh.approve(runId, { actor: "ann" })
      const done = yield* TestMesh.runUntilDone(runId)
      expect(done.output).toBe("HI squid-mesh.step")
      return runId
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Echo] })), Effect.withTracer(tracer))
    expect(spans.map((s) => s.name)).toEqual(["squid-mesh.start", "squid-mesh.approve", "squid-mesh.step"])
    expect(spans[0]!.attributes).toEqual({ workflow: "echo" })
    expect(spans[1]!.attributes).toEqual({ runId })
    expect(spans[2]!.attributes).toEqual({ runId, step: "shout", attempt: 1 })
  })
})

it.effect("with Effect's built-in tracer, the engine makes no spans", () =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Echo, { word: "hi" })
    yield* mesh.approve(runId, { actor: "ann" })
    const done = yield* TestMesh.runUntilDone(runId)
    expect(done.output).toBe("HI no span")
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Echo] }))),
)
