/**
 * The engine's spans exported through `@effect/opentelemetry` to an in-memory exporter, for a
 * workflow with two steps, a retry and a sleep: names, parent links and attributes of the tree.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Mesh } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { Shipping } from "../fixtures/telemetry.js"

/** A span as the tree shows it: its name, the main attributes, its children. */
interface Node {
  readonly name: string
  readonly attributes: Record<string, unknown>
  readonly children: ReadonlyArray<Node>
}

const KEYS = ["workflow", "step", "attempt", "resolution", "outcome", "runStatus"]

/** The exported spans as trees, roots and children in start order. */
const treeOf = (spans: ReadonlyArray<ReadableSpan>): ReadonlyArray<Node> => {
  const ordered = [...spans].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
  const node = (span: ReadableSpan): Node => ({
    name: span.name,
    attributes: Object.fromEntries(KEYS.filter((k) => span.attributes[k] !== undefined).map((k) => [k, span.attributes[k]])),
    children: ordered.filter((c) => c.parentSpanContext?.spanId === span.spanContext().spanId).map(node),
  })
  const ids = new Set(ordered.map((s) => s.spanContext().spanId))
  return ordered.filter((s) => !s.parentSpanContext || !ids.has(s.parentSpanContext.spanId)).map(node)
}

it.effect("exports a span tree per start, step attempt and timer, each advance under what caused it", () => {
  const exporter = new InMemorySpanExporter()
  const otel = NodeSdk.layer(() => ({ resource: { serviceName: "squid-mesh-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
  return Effect.gen(function* () {
    const { runId, spans } = yield* Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* mesh.start(Shipping, { orderId: "o-1" })
      expect((yield* TestMesh.runUntilDone(runId)).status).toBe("completed")
      // Read before the layer closes: shutting the SDK down empties the in-memory exporter.
      return { runId, spans: exporter.getFinishedSpans() }
    }).pipe(Effect.provide(Layer.merge(TestMesh.layer({ workflows: [Shipping] }), otel)))
    expect(new Set(spans.map((s) => s.attributes.runId).filter((id) => id !== undefined))).toEqual(new Set([runId]))
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(5) // one trace per root
    const workflow = "shipping"
    const advance = (resolution: string, runStatus: string, outcome = "committed") => ({
      name: "squid-mesh.advance",
      attributes: { workflow, resolution, outcome, runStatus },
      children: [],
    })
    const step = (name: string, attempt: number, outcome: string, runStatus: string, child: Node) => ({
      name: "squid-mesh.step",
      attributes: { workflow, step: name, attempt, outcome, runStatus },
      children: [child],
    })
    expect(treeOf(spans)).toEqual([
      { name: "squid-mesh.start", attributes: { workflow }, children: [advance("start", "running", "created")] },
      step("pack", 1, "retry_scheduled", "running", advance("retry_scheduled", "running")),
      step("pack", 2, "completed", "running", advance("step_result", "running")),
      advance("timer_fired", "running"),
      step("dispatch", 1, "completed", "completed", advance("step_result", "completed")),
    ])
  })
})
