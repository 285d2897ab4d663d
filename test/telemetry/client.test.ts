/**
 * Telemetry from the Promise API: `createMesh` takes a host logger and a tracer (an Effect Tracer,
 * or a Layer such as `@effect/opentelemetry`'s NodeSdk) and applies them to everything the mesh
 * runs, workers included; `metrics()` and `serveMetrics()` report what ran.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { createMesh, InvalidOptionError, Step, Trigger, Workflow, type HostLogger } from "../../src/index.js"
import { parseExposition } from "../support/prometheus.js"

const Weigh = Step.make("weigh", { run: (input: { parcel: string }) => Effect.as(Effect.logInfo(`weighing ${input.parcel}`), 3) })
const Label = Step.make("label", { run: (kg: number) => `${kg} kg` })
const Parcel = Workflow.make({
  name: "parcel",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ parcel: Schema.String }) }) },
  *run(input) {
    const kg = yield* Weigh(input)
    yield* Workflow.log(`weighed ${input.parcel}`)
    return yield* Label(kg)
  },
})

interface Line {
  readonly method: string
  readonly message: string
  readonly fields: Record<string, unknown>
}

const capture = (lines: Array<Line>): HostLogger => ({
  debug: (message, fields) => lines.push({ method: "debug", message, fields }),
  info: (message, fields) => lines.push({ method: "info", message, fields }),
  warn: (message, fields) => lines.push({ method: "warn", message, fields }),
  error: (message, fields) => lines.push({ method: "error", message, fields }),
})

describe("createMesh telemetry", () => {
  it("sends workflow, step and engine log lines to the host logger, and spans of worker-run steps to the tracer layer", async () => {
    const lines: Array<Line> = []
    const exporter = new InMemorySpanExporter()
    const mesh = await createMesh({
      workflows: [Parcel],
      store: { kind: "memory" },
      logger: capture(lines),
      tracer: NodeSdk.layer(() => ({ resource: { serviceName: "parcels" }, spanProcessor: new SimpleSpanProcessor(exporter) })),
    })
    try {
      const worker = await mesh.startWorker({ concurrency: 2, pollInterval: "20 millis" })
      const { runId } = await mesh.start(Parcel, { parcel: "p-1" })
      expect((await mesh.awaitRun(Parcel, runId, { timeout: "1 minute" })).output).toBe("3 kg")
      await worker.stop()
      const step = lines.find((l) => l.message === "weighing p-1")
      expect(step).toMatchObject({ method: "info", fields: { runId, step: "weigh", attempt: 1, level: "INFO" } })
      expect(lines.find((l) => l.message === "weighed p-1")).toMatchObject({ method: "info", fields: { runId } })
      const spans = exporter.getFinishedSpans()
      const steps = spans.filter((s) => s.name === "squid-mesh.step").map((s) => [s.attributes.step, s.attributes.outcome, s.attributes.runId])
      expect(steps).toEqual([
        ["weigh", "completed", runId],
        ["label", "completed", runId],
      ])
      const stepIds = new Set(spans.filter((s) => s.name === "squid-mesh.step").map((s) => s.spanContext().spanId))
      expect(spans.filter((s) => s.name === "squid-mesh.advance" && stepIds.has(s.parentSpanContext?.spanId ?? ""))).toHaveLength(2)
    } finally {
      await mesh.close()
    }
  })

  it("takes an Effect Tracer made from an OpenTelemetry tracer, and a minimum log level", async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const tracer = Effect.runSync(Effect.provideService(OtelTracer.make, OtelTracer.OtelTracer, provider.getTracer("parcels")))
    const lines: Array<Line> = []
    const mesh = await createMesh({ workflows: [Parcel], store: { kind: "memory" }, tracer, logger: capture(lines), logLevel: "warning" })
    try {
      const { runId } = await mesh.start(Parcel, { parcel: "p-2" })
      while ((await mesh.executeNext())._tag !== "Idle");
      expect((await mesh.inspectRun(runId)).status).toBe("completed")
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
        "squid-mesh.advance",
        "squid-mesh.start",
        "squid-mesh.advance",
        "squid-mesh.step",
        "squid-mesh.advance",
        "squid-mesh.step",
      ])
      expect(lines).toEqual([]) // info lines are below "warning"
    } finally {
      await mesh.close()
    }
  })

  it("rejects a malformed logger, log level or tracer before opening anything", async () => {
    const bad = [{ logger: { info: () => {} } }, { logLevel: "loud" }, { tracer: { name: "nope" } }]
    for (const options of bad) {
      const error = await createMesh({ workflows: [Parcel], store: { kind: "memory" }, ...(options as object) }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(Object.keys(options)[0])
    }
  })
})

describe("metrics from the Promise API", () => {
  it("reports what ran, and serves it over HTTP on 127.0.0.1", async () => {
    const mesh = await createMesh({ workflows: [Parcel], store: { kind: "memory" }, logLevel: "none" })
    try {
      const worker = await mesh.startWorker({ concurrency: 2, pollInterval: "20 millis", ownerId: "w-parcels" })
      const ids = await Promise.all(["a", "b", "c"].map(async (parcel) => (await mesh.start(Parcel, { parcel })).runId))
      for (const id of ids) await mesh.awaitRun(id, { timeout: "1 minute" })
      const server = await mesh.serveMetrics({ port: 0 })
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`)
      const response = await fetch(server.url)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      const m = parseExposition(await response.text())
      expect(m.value("squid_mesh_runs", { status: "completed" })).toBe(3)
      expect(m.value("squid_mesh_step_attempts_total", { workflow: "parcel", step: "weigh", outcome: "completed" })).toBe(3)
      expect(m.value("squid_mesh_step_attempts_total", { workflow: "parcel", step: "label", outcome: "completed" })).toBe(3)
      expect(m.value("squid_mesh_worker_last_seen_seconds", { queue: "default", owner: "w-parcels" })).toBeGreaterThanOrEqual(0)
      expect(parseExposition(await mesh.metrics()).value("squid_mesh_runs", { status: "completed" })).toBe(3)
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404)
      await worker.stop()
      await server.close()
      await expect(fetch(server.url)).rejects.toThrow()
    } finally {
      await mesh.close()
    }
  })
})
