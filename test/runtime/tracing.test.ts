/**
 * Spans: with a tracer installed, every start, control, advance and step attempt runs in a span
 * named after it, with the run's attributes and its outcome, parented the documented way (an
 * advance under the start, control or step attempt that caused it); with Effect's built-in
 * tracer (nothing exported) the engine makes none. Replay makes no span and no log line again.
 */
import { expect, it } from "@effect/vitest"
import { Clock, Effect, Logger, Schema, TestClock, Tracer } from "effect"
import { Mesh, Step, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { Shipping } from "../fixtures/telemetry.js"

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

interface Recorded {
  readonly name: string
  readonly parent: string | undefined
  readonly attributes: Record<string, unknown>
}

/** A tracer that records the spans it starts (name, parent's name, attributes), delegating to Effect's built-in one. */
const recording = (spans: Array<Recorded>) =>
  Effect.map(Effect.tracer, (native) => {
    const names = new Map<string, string>()
    return Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = native.span(name, parent, context, links, startTime, kind, options)
        names.set(span.spanId, name)
        const record = { name, parent: parent._tag === "Some" ? names.get(parent.value.spanId) : undefined, attributes: {} as Record<string, unknown> }
        spans.push(record)
        const setAttribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          record.attributes[key] = value
          setAttribute(key, value)
        }
        return span
      },
      context: native.context,
    })
  })

it.effect("with a tracer installed, starts, controls, advances and step attempts are spans with the run's attributes and outcome", () => {
  const spans: Array<Recorded> = []
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
    expect(spans.map((s) => [s.name, s.parent])).toEqual([
      ["squid-mesh.start", undefined],
      ["squid-mesh.advance", "squid-mesh.start"],
      ["squid-mesh.approve", undefined],
      ["squid-mesh.advance", "squid-mesh.approve"],
      ["squid-mesh.step", undefined],
      ["squid-mesh.advance", "squid-mesh.step"],
    ])
    const workflow = "echo"
    expect(spans.map((s) => s.attributes)).toEqual([
      { workflow },
      { runId, workflow, resolution: "start", outcome: "created", runStatus: "paused" },
      { runId },
      { runId, workflow, resolution: "control.approve", outcome: "committed", runStatus: "running" },
      { runId, workflow, step: "shout", attempt: 1, outcome: "completed", runStatus: "completed" },
      { runId, workflow, resolution: "step_result", seq: 2, outcome: "committed", runStatus: "completed" },
    ])
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

/**
 * Runs Shipping to the end, one task at a time; with `replay`, the sticky cache is dropped before
 * every task, so each one rebuilds the run from its journal first. Returns the spans and log lines.
 */
const runShipping = (replay: boolean) => {
  const spans: Array<Recorded> = []
  const logs: Array<string> = []
  const logger = Logger.make(({ message }) => {
    logs.push(String(Array.isArray(message) ? message.join(" ") : message))
  })
  return Effect.gen(function* () {
    const tracer = yield* recording(spans)
    const hits = yield* Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const hooks = yield* TestMesh.MeshHooks
      const { runId } = yield* mesh.start(Shipping, { orderId: "o-1" })
      for (;;) {
        if (replay) yield* hooks.dropCache
        const result = yield* mesh.executeNext({ ownerId: "w-1" })
        if (result._tag !== "Idle") continue
        if (result.nextDueAt === undefined) break
        yield* TestClock.setTime(Math.max(result.nextDueAt, yield* Clock.currentTimeMillis))
      }
      expect((yield* mesh.inspectRun(runId)).status).toBe("completed")
      return (yield* hooks.cacheStats).hits
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Shipping] })), Effect.withTracer(tracer), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { spans: spans.map((s) => [s.name, s.parent, s.attributes.step ?? s.attributes.resolution, s.attributes.outcome]), logs, hits }
  })
}

it.effect("replay re-emits no span and no Workflow.log line for work already done", () =>
  Effect.gen(function* () {
    const warm = yield* runShipping(false)
    const replayed = yield* runShipping(true)
    expect(warm.hits).toBeGreaterThan(0)
    expect(replayed.hits).toBe(0) // every task rebuilt the run from its journal
    expect(replayed.logs).toEqual(["packed box-o-1", "sent box-o-1"])
    expect(replayed.logs).toEqual(warm.logs)
    expect(replayed.spans).toEqual(warm.spans)
    expect(replayed.spans).toEqual([
      ["squid-mesh.start", undefined, undefined, undefined],
      ["squid-mesh.advance", "squid-mesh.start", "start", "created"],
      ["squid-mesh.step", undefined, "pack", "retry_scheduled"],
      ["squid-mesh.advance", "squid-mesh.step", "retry_scheduled", "committed"],
      ["squid-mesh.step", undefined, "pack", "completed"],
      ["squid-mesh.advance", "squid-mesh.step", "step_result", "committed"],
      ["squid-mesh.advance", undefined, "timer_fired", "committed"],
      ["squid-mesh.step", undefined, "dispatch", "completed"],
      ["squid-mesh.advance", "squid-mesh.step", "step_result", "committed"],
    ])
  }),
)
