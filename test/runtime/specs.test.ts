/**
 * Runs of runtime-authored specs behave like graph workflows, on memory, PGlite and Postgres:
 * retries, failure routes that undo, approvals, dependency joins, rerun. Every act runs in a
 * fresh engine (an empty sticky cache and spec cache), so each task rebuilds the run's workflow
 * from the spec stored with it, as a worker started later would. A run keeps its spec version
 * after the spec is edited; the deploy gate replays spec runs against the current registry.
 */
import { Effect, type Layer } from "effect"
import { describe, expect, it } from "vitest"
import type { ActionRegistry, Store } from "../../src/index.js"
import { specFingerprint, specText } from "../../dsl/spec/build.js"
import { validateSpec } from "../../src/index.js"
import { freshEngines, names, onEveryBackend } from "../support/engines.js"
import { actions, calls, chargeNeedsCurrency, joinSpec, orderSpec, orderSpecV2, resetCalls, withoutCharge } from "../fixtures/specs.js"

/** One store and one TestClock for a scenario; `act` runs in a fresh engine (with `registry`) each time. */
const harness = (store: Layer.Layer<Store, unknown>) => {
  const engines = freshEngines(store, { workflows: [], actions })
  return {
    ...engines,
    act: <A>(f: Parameters<typeof engines.act<A>>[0], registry: ActionRegistry = actions) => engines.act(f, { actions: registry }),
    drain: (registry: ActionRegistry = actions) => engines.drain({ actions: registry }),
  }
}

const scenarios = (backend: string, store: () => Layer.Layer<Store, unknown>) =>
  describe(`spec runs on ${backend}`, () => {
    it("retries, approves and completes; graph as declared; rerun of the same stored spec", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.startSpec(orderSpec, undefined, { orderId: "o1" }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      const paused = await h.act((m) => m.inspectRun(runId))
      expect(paused).toMatchObject({ status: "paused", workflow: "spec:order" })
      await h.act((m) => m.approve(runId, { actor: "ann" }))
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(names(done.history)).toEqual(["reserve:completed", "charge:completed", "review:completed", "ship:completed"])
      expect(done.history![1]!.attemptCount).toBe(2)
      expect(done.output).toMatchObject({ orderId: "o1", reservation: "r-o1", charge: { id: "ch-o1", cents: 1200 }, shipping: "shipped o1 for ch-o1" })
      expect(calls).toMatchObject({ reserve: 1, charge: 2, ship: 1 })
      const graph = await h.act((m) => m.inspectRunGraph(runId))
      expect(graph.structure).toBe("declared")
      expect(graph.nodes.map((n) => `${n.name}:${n.status}`)).toEqual([
        "reserve:completed",
        "charge:completed",
        "review:completed",
        "ship:completed",
        "cancelled:skipped",
      ])

      // `ship` is irreversible: a rerun needs the operator's word, then runs the same stored spec.
      await expect(h.act((m) => m.rerun(runId, { actor: "ops" }))).rejects.toMatchObject({ _tag: "RerunRefusedError" })
      const again = await h.act((m) => m.rerun(runId, { actor: "ops", allowIrreversible: true }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      await h.act((m) => m.approve(again.runId, { actor: "ann" }))
      await h.drain()
      const rerun = await h.act((m) => m.inspectRun(again.runId))
      expect(rerun).toMatchObject({
        status: "completed",
        workflow: "spec:order",
        definitionHash: done.definitionHash,
        output: { shipping: "shipped o1 for ch-o1" },
      })
      await h.close()
    })

    it("a rejection and a failed step take their error routes, undoing the reservation first", async () => {
      resetCalls()
      const h = harness(store())
      const rejected = await h.act((m) => m.startSpec(JSON.stringify(orderSpec), "manual", { orderId: "o2" }))
      const declined = await h.act((m) => m.startSpec(orderSpec, undefined, { orderId: "o3", failCharge: true }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      await h.act((m) => m.reject(rejected.runId, { actor: "bob", note: "no stock" }))
      await h.drain()
      const a = await h.act((m) => m.inspectRun(rejected.runId, { history: true }))
      expect(a.status).toBe("completed")
      expect(names(a.history)).toEqual(["reserve:completed", "charge:completed", "review:completed", "compensate:reserve:completed", "cancelled:completed"])
      expect(a.output).toMatchObject({ notice: "cancelled (rejected)" })
      const b = await h.act((m) => m.inspectRun(declined.runId, { history: true }))
      expect(names(b.history)).toEqual(["reserve:completed", "charge:failed", "compensate:reserve:completed", "cancelled:completed"])
      expect(b.output).toMatchObject({ failure: { node: "charge", code: "card_declined" }, notice: "cancelled (card_declined)" })
      expect(calls).toMatchObject({ "undo:reserve": 2, cancelled: 2 })
      expect(calls.ship).toBeUndefined()
      await h.close()
    })

    it("dependency nodes run by phase and join; the first failure fails the run", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.startSpec(joinSpec, undefined, { n: 4 }))
      await h.drain()
      expect(names((await h.act((m) => m.inspectRun(runId, { history: true }))).history)).toEqual(["a:completed", "b:completed", "nap:pending"])
      await h.adjust("1 minute")
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(names(done.history)).toEqual(["a:completed", "b:completed", "nap:completed", "sum:completed", "log:completed"])
      expect(done.output).toMatchObject({ n: 4, a: 5, b: 40, sum: 45 })
      const broken = await h.act((m) => m.startSpec(joinSpec, undefined, { n: 1, failB: true }))
      await h.drain()
      expect(await h.act((m) => m.inspectRun(broken.runId))).toMatchObject({ status: "failed", error: { code: "b_broke" } })
      await h.close()
    })

    it("a run keeps its spec version after the spec changes; the deploy gate replays spec runs against the registry", async () => {
      resetCalls()
      const h = harness(store())
      const old = await h.act((m) => m.startSpec(orderSpec, undefined, { orderId: "v1" }))
      const edited = await h.act((m) => m.startSpec(orderSpecV2, undefined, { orderId: "v2" }))
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      const [v1, v2] = [await h.act((m) => m.inspectRun(old.runId)), await h.act((m) => m.inspectRun(edited.runId, { history: true }))]
      expect(v1.status).toBe("paused") // the old version still waits at its approval
      expect(v2.status).toBe("completed")
      expect(names(v2.history)).toEqual(["reserve:completed", "charge:completed", "log:completed", "ship:completed"])
      expect(v1.definitionHash).not.toBe(v2.definitionHash)

      expect(await h.act((m) => m.checkReplay())).toMatchObject({ ok: true, checked: 1 })
      // A deploy that removed an action, or changed its params' shape, is caught before it ships.
      const removed = await h.act((m) => m.checkReplay(), withoutCharge)
      expect(removed.ok).toBe(false)
      expect(removed.divergent[0]).toMatchObject({ runId: old.runId, workflow: "spec:order", reason: "unresolvable_spec" })
      expect(removed.divergent[0]!.message).toContain("steps.charge.action")
      const reshaped = await h.act((m) => m.checkReplay(), chargeNeedsCurrency)
      expect(reshaped.divergent[0]).toMatchObject({ reason: "unresolvable_spec" })
      expect(reshaped.divergent[0]!.message).toContain("steps.charge.params.currency")

      // A worker started later, with the registry the run needs, still runs the old version.
      await h.act((m) => m.approve(old.runId, { actor: "ann" }))
      await h.drain()
      const finished = await h.act((m) => m.inspectRun(old.runId, { history: true }))
      expect(names(finished.history)).toEqual(["reserve:completed", "charge:completed", "review:completed", "ship:completed"])
      await h.close()
    })

    it("a malformed spec, an unknown action or a bad payload is refused whole, and nothing is written", async () => {
      const h = harness(store())
      const before = (await h.act((m) => m.listRuns())).runs.length
      const broken = {
        ...orderSpec,
        steps: {
          ...orderSpec.steps,
          reserve: { action: "inventory.reserv" },
          charge: { ...orderSpec.steps.charge, params: { cents: -5 }, retry: { maxAttempts: "3" } },
          ship: { action: "shipping.shipp", timeout: "soon" },
        },
      }
      const refused = await h.act((m) => Effect.flip(m.startSpec(broken, undefined, { orderId: "x" })))
      expect(refused).toMatchObject({ _tag: "InvalidSpecError", spec: "order" })
      const problems = (refused as { problems: ReadonlyArray<{ at: string }> }).problems.map((p) => p.at)
      expect(problems).toEqual(expect.arrayContaining(["steps.reserve.action", "steps.charge.retry.maxAttempts", "steps.ship.timeout", "steps.ship.action"]))
      expect((refused as { unknownActions: unknown }).unknownActions).toEqual([
        { at: "steps.reserve.action", action: "inventory.reserv" },
        { at: "steps.ship.action", action: "shipping.shipp" },
      ])
      const params = await h.act((m) =>
        Effect.flip(m.startSpec({ ...orderSpec, steps: { ...orderSpec.steps, charge: { ...orderSpec.steps.charge, params: { cents: -5 } } } })),
      )
      expect((params as { problems: unknown }).problems).toEqual([{ at: "steps.charge.params.cents", message: expect.stringContaining("positive") }])
      const cycle = await h.act((m) =>
        Effect.flip(m.startSpec({ ...joinSpec, steps: { ...joinSpec.steps, a: { ...joinSpec.steps.a, after: ["done"] } } }, undefined, { n: 1 })),
      )
      expect((cycle as { problems: ReadonlyArray<{ message: string }> }).problems[0]!.message).toContain("dependency cycle")
      const unstored = { ...orderSpec, name: "order-unstored" }
      const payload = await h.act((m) => Effect.flip(m.startSpec(unstored, undefined, { orderId: "", extra: 1 })))
      expect(payload).toMatchObject({ _tag: "InvalidPayloadError", workflow: "spec:order-unstored" })
      expect((payload as { invalid: ReadonlyArray<{ field: string }> }).invalid.map((f) => f.field).sort()).toEqual(["extra", "orderId"])
      const huge = await h.act((m) => Effect.flip(m.startSpec({ ...orderSpec, description: "x".repeat(300_000) })))
      expect(huge).toMatchObject({ _tag: "InvalidSpecError", problems: [{ at: "" }] })
      // Nothing was written: no run, and not the spec whose payload was refused.
      expect((await h.act((m) => m.listRuns())).runs).toHaveLength(before)
      const valid = validateSpec(unstored)
      if (!valid.ok) throw new Error("the unstored spec is valid")
      expect(await h.act((m) => m.store.getSpec(specFingerprint(specText(valid.spec))))).toBeUndefined()
      await h.close()
    })
  })

onEveryBackend("specs", scenarios)
