/**
 * The Promise facade: same operations and the same tagged errors as the Effect API, on the
 * memory store and on PGlite (a data directory reopened by a second client).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { createMesh, InvalidPayloadError, Step, Trigger, Workflow } from "../src/index.js"

const Add = Step.make("add", { run: async (input: { a: number; b: number }) => input.a + input.b })
const Double = Step.make("double", { run: (n: number) => n * 2 })
const Calc = Workflow.make({
  name: "calc",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }) }) },
  *run(input) {
    const sum = yield* Add(input)
    const [x, y] = yield* Workflow.all([Double(sum), Double(sum + 1)])
    return { sum, x, y }
  },
})

const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

describe.each([
  ["memory", () => ({ kind: "memory" as const })],
  ["pglite", () => ({ kind: "pglite" as const, dataDir: dirs[dirs.push(mkdtempSync(join(tmpdir(), "squid-mesh-client-"))) - 1]! })],
])("createMesh on %s", (_name, storeConfig) => {
  it("starts, executes with a worker and inspects runs; errors keep their tags", async () => {
    const store = storeConfig()
    const mesh = await createMesh({ workflows: [Calc], store })
    const worker = await mesh.startWorker({ concurrency: 2, pollInterval: "20 millis" })
    try {
      const started = await Promise.all([1, 2, 3].map((a) => mesh.start(Calc, { a, b: 10 })))
      const runs = await Promise.all(started.map((s) => mesh.awaitRun(s.runId, { timeout: "5 minutes" })))
      expect(runs.map((r) => r.output)).toEqual([
        { sum: 11, x: 22, y: 24 },
        { sum: 12, x: 24, y: 26 },
        { sum: 13, x: 26, y: 28 },
      ])
      const detailed = await mesh.inspectRun(started[0]!.runId, { history: true })
      expect(detailed.history!.map((e) => e.name)).toEqual(["add", "double", "double"])
      // By name, the payload is not type-checked: the runtime check still refuses it.
      await expect(mesh.start("calc", { a: "x" })).rejects.toBeInstanceOf(InvalidPayloadError)
      await expect(mesh.start("calc", { a: "x" })).rejects.toMatchObject({ _tag: "InvalidPayloadError", missing: ["b"] })
      await expect(mesh.inspectRun("5d0e8f4e-0d7c-4a59-8b0e-1f1f1f1f1f1f")).rejects.toMatchObject({ _tag: "RunNotFoundError" })
      expect(worker.stats().executed).toBeGreaterThanOrEqual(9)
    } finally {
      await worker.stop()
      await mesh.close()
    }
    if (store.kind === "pglite") {
      const reopened = await createMesh({ workflows: [Calc], store })
      expect((await reopened.listRuns({ workflow: "calc" })).runs).toHaveLength(3)
      await reopened.close()
    }
  })
})

describe("Promise facade run control", () => {
  const Gate = Workflow.make({
    name: "gate",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
    *run() {
      const vote = yield* Workflow.approval("ok")
      const sig = yield* Workflow.signal("go", { schema: Schema.Struct({ n: Schema.Number }) })
      return { approvedBy: vote.actor, n: sig._tag === "Received" ? sig.payload.n : -1 }
    },
  })

  it("approve, signal, cancel, rerun and checkReplay behave as in the Effect API, with the same tagged errors", async () => {
    const mesh = await createMesh({ workflows: [Gate], store: { kind: "memory" } })
    try {
      const { runId } = await mesh.start(Gate, {}, { idempotencyKey: "g-1", actor: "api" })
      await expect(mesh.resume(runId, { actor: "x" })).rejects.toMatchObject({ _tag: "InvalidTransitionError" })
      await mesh.approve(runId, { actor: "boss", idempotencyKey: "ap" })
      expect((await mesh.approve(runId, { actor: "boss", idempotencyKey: "ap" })).duplicate).toBe(true)
      await expect(mesh.signal(runId, "go", { n: "nope" })).rejects.toMatchObject({ _tag: "InvalidPayloadError" })
      await mesh.signal(runId, "go", { n: 7 })
      expect(await mesh.inspectRun(runId)).toMatchObject({ status: "completed", output: { approvedBy: "boss", n: 7 } })
      const again = await mesh.rerun(runId, { actor: "ops" })
      expect(await mesh.inspectRun(again.runId)).toMatchObject({ status: "paused", rerunOf: runId })
      expect(await mesh.checkReplay()).toEqual({ ok: true, checked: 1, divergent: [] })
      await mesh.cancel(again.runId, { actor: "ops" })
      await expect(mesh.cancel(again.runId, { actor: "ops" })).rejects.toMatchObject({ _tag: "InvalidTransitionError", status: "cancelled" })
      const scheduler = await mesh.startScheduler()
      await scheduler.stop()
    } finally {
      await mesh.close()
    }
  })
})
