/**
 * Graph workflows run by the same engine as code workflows: retries, failure routes that undo,
 * approvals, conditional routing, dependency joins, input failures, rerun and replay, on
 * memory, PGlite and Postgres. Every drain runs in a fresh engine (an empty sticky cache), so
 * each task replays the run from its journal, as after a restart.
 */
import { describe, expect, it } from "vitest"
import type { Layer } from "effect"
import type { Store } from "../../src/index.js"
import { freshEngines, names, onEveryBackend } from "../support/engines.js"
import { GraphBroken, GraphJoin, GraphOrder, GraphRoute, GraphUnmatched, calls, resetCalls } from "../fixtures/graphs.js"

const WORKFLOWS = [GraphOrder, GraphRoute, GraphJoin, GraphBroken, GraphUnmatched]

/** One store and one TestClock for a scenario; every `act` runs in a fresh engine. */
const harness = (store: Layer.Layer<Store, unknown>) => freshEngines(store, { workflows: WORKFLOWS })

const scenarios = (backend: string, store: () => Layer.Layer<Store, unknown>) =>
  describe(`graph workflows on ${backend}`, () => {
    it("routes ok through a retried step and an approval, and completes with the context", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(GraphOrder, { orderId: "o1" }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      expect((await h.act((m) => m.inspectRun(runId))).status).toBe("paused")
      await h.act((m) => m.approve(runId, { actor: "ann" }))
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(names(done.history)).toEqual(["reserve:completed", "charge:completed", "review:completed", "ship:completed"])
      expect(done.history![1]!.attemptCount).toBe(2)
      expect(done.output).toMatchObject({
        orderId: "o1",
        reservation: "r-o1",
        charge: { id: "ch-o1", cents: 1200 },
        review: { approved: true, actor: "ann" },
        shipping: "shipped o1 for ch-o1",
      })
      expect(calls).toMatchObject({ reserve: 1, charge: 2, ship: 1 })
      expect(calls["undo:reserve"]).toBeUndefined()
      // A rerun of a graph run is a new run of the same graph, with the same input.
      const again = await h.act((m) => m.rerun(runId, { actor: "ops" }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      await h.act((m) => m.approve(again.runId, { actor: "ann" }))
      await h.drain()
      expect((await h.act((m) => m.inspectRun(again.runId))).output).toMatchObject({ orderId: "o1", shipping: "shipped o1 for ch-o1" })
      await h.close()
    })

    it("a rejection routes to the error transition, which undoes the completed steps first", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(GraphOrder, { orderId: "o2" }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      await h.act((m) => m.reject(runId, { actor: "bob", note: "no stock" }))
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(names(done.history)).toEqual(["reserve:completed", "charge:completed", "review:completed", "compensate:reserve:completed", "cancelled:completed"])
      expect(done.output).toMatchObject({ review: { approved: false, actor: "bob", note: "no stock" }, notice: "cancelled (rejected)" })
      expect(calls).toMatchObject({ "undo:reserve": 1, cancelled: 1 })
      expect(calls.ship).toBeUndefined()
      // The graph is the declared one, with the path taken and the branch skipped.
      const graph = await h.act((m) => m.inspectRunGraph(runId))
      expect(graph.structure).toBe("declared")
      expect(graph.nodes.map((n) => `${n.name}:${n.status}`)).toEqual([
        "reserve:completed",
        "charge:completed",
        "review:completed",
        "ship:skipped",
        "cancelled:completed",
        "compensate:reserve:completed",
      ])
      const edge = (id: string) => graph.edges.find((e) => e.id === id)
      expect(edge("transition:review-error-cancelled")).toMatchObject({ taken: true, label: "error · undo" })
      expect(edge("transition:review-ok-ship")).toMatchObject({ taken: false, label: "ok", to: "node-ship" })
      expect(edge("transition:charge-error-cancelled")).toMatchObject({ taken: false })
      expect(graph.edges.filter((e) => e.taken).map((e) => e.kind)).toEqual(["transition", "transition", "transition", "compensation"])
      expect(graph.path).toHaveLength(5)
      await h.close()
    })

    it("a step failing for good takes its error transition, with the failure in the context", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(GraphOrder, { orderId: "o3", failCharge: true }))
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(names(done.history)).toEqual(["reserve:completed", "charge:failed", "compensate:reserve:completed", "cancelled:completed"])
      expect(done.output).toMatchObject({ failure: { node: "charge", code: "card_declined" }, notice: "cancelled (card_declined)" })
      await h.close()
    })

    it("conditional transitions are tried in order, the unconditional one last", async () => {
      const h = harness(store())
      const lanes: Array<unknown> = []
      const ids: Array<string> = []
      for (const payload of [
        { score: 10, tag: "x" },
        { score: 90, tag: "x" },
        { score: 90, tag: "vip" },
      ]) {
        const { runId } = await h.act((m) => m.start(GraphRoute, payload))
        ids.push(runId)
        await h.drain()
        const done = await h.act((m) => m.inspectRun(runId, { history: true }))
        lanes.push([done.output && (done.output as { lane: string }).lane, names(done.history)])
      }
      const route = await h.act((m) => m.inspectRunGraph(ids[2]!))
      expect(route.edges.map((e) => [e.label, e.taken])).toEqual([
        ['ok · band.tag = "vip"', true],
        ["ok", false],
        ["ok · band.score > 50", false],
      ])
      expect(lanes).toEqual([
        ["slow lane", ["classify:completed", "low:completed"]],
        ["fast lane", ["classify:completed", "high:completed"]],
        ["vip lane", ["classify:completed", "vip:completed"]],
      ])
      await h.close()
    })

    it("dependency nodes run by phase: roots in parallel, the join once all it depends on completed", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(GraphJoin, { n: 4, failB: false }))
      await h.drain()
      const waiting = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(names(waiting.history)).toEqual(["a:completed", "b:completed", "nap:pending"])
      expect(calls.join).toBeUndefined()
      await h.adjust("1 minute")
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(names(done.history)).toEqual(["a:completed", "b:completed", "nap:completed", "join:completed", "log:completed"])
      expect(done.output).toMatchObject({ n: 4, a: 5, b: 40, sum: 45 })

      const broken = await h.act((m) => m.start(GraphJoin, { n: 1, failB: true }))
      await h.drain()
      const failed = await h.act((m) => m.inspectRun(broken.runId, { history: true }))
      expect(failed.status).toBe("failed")
      expect(failed.error).toMatchObject({ code: "b_broke" })
      expect(calls.join).toBe(1)
      await h.close()
    })

    it("a missing input path and an unmatched transition fail the run with their codes", async () => {
      const h = harness(store())
      const broken = await h.act((m) => m.start(GraphBroken, { order: { id: "x" } }))
      const unmatched = await h.act((m) => m.start(GraphUnmatched, {}))
      await h.drain()
      const a = await h.act((m) => m.inspectRun(broken.runId, { history: true }))
      expect(a.status).toBe("failed")
      expect(a.error).toMatchObject({ code: "missing_input_path", details: { node: "read", target: "total", path: ["order", "total"], missingAt: 1 } })
      expect(names(a.history)).toEqual(["pick:completed"])
      const b = await h.act((m) => m.inspectRun(unmatched.runId))
      expect(b.status).toBe("failed")
      expect(b.error).toMatchObject({ code: "no_matching_transition", details: { node: "pick", outcome: "ok" } })
      await h.close()
    })
  })

onEveryBackend("graph", scenarios)
