/**
 * Visibility of dynamic work (journals written straight to the memory store): auditors see its
 * payloads (node params, inputs and metadata, the work's metadata and reason); operators and
 * external actors keep its shape (node ids, actions, statuses, the overlay's nodes and edges,
 * the counts and where each pending node stands) without any of them, and summaries written
 * from what they keep.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Mesh, Store } from "../../src/index.js"
import { SENTINELS, seedDynamicRun, type DynamicRunOptions } from "./dynamicFixtures.js"
import { AUDITOR, EXTERNAL, OPERATOR, expectClean, explanations, json, runViews, withMesh } from "./visibilityFixtures.js"

const A = "dyn:fanout/notify-a"

const seeded = (options: Omit<DynamicRunOptions, "id" | "workflow" | "queue"> = {}) =>
  Effect.gen(function* () {
    const id = randomUUID()
    yield* seedDynamicRun(yield* Store, { id, workflow: "elsewhere", queue: "default", ...options })
    return id
  })

const graphs = (runId: string) =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    return {
      raw: yield* mesh.inspectRunGraph(runId),
      auditor: yield* mesh.inspectRunGraph(runId, { as: AUDITOR }),
      operator: yield* mesh.inspectRunGraph(runId, { as: OPERATOR }),
      external: yield* mesh.inspectRunGraph(runId, { as: EXTERNAL }),
    }
  })

describe("visibility: dynamic work", () => {
  it.effect("graph: auditors see the payloads; below, node ids, actions, statuses and the overlay's shape and edges stay", () =>
    withMesh(
      Effect.gen(function* () {
        const id = yield* seeded()
        const g = yield* graphs(id)
        for (const sentinel of SENTINELS) expect(json(g.auditor)).toContain(sentinel)
        expect(g.auditor).toEqual({ ...g.raw, scope: "auditor" })
        for (const scope of ["operator", "external"] as const) {
          const view = g[scope]
          expectClean(view, scope)
          expect(view.scope).toBe(scope)
          expect(view.edges).toEqual(g.raw.edges)
          expect(view.current).toEqual(g.raw.current)
          expect(view.nodes.map((n) => [n.id, n.kind, n.name, n.status])).toEqual(g.raw.nodes.map((n) => [n.id, n.kind, n.name, n.status]))
          expect(view.nodes.find((n) => n.id === A)?.dynamic).toEqual({
            key: "fanout",
            node: "notify-a",
            mode: "scheduled",
            action: "notify",
            maxAttempts: 3,
            hidden: ["params", "input", "metadata"],
          })
          // Nothing to withhold: no `hidden`.
          expect(view.nodes.find((n) => n.id === "dyn:plan/later")?.dynamic).toEqual({ key: "plan", node: "later", mode: "recorded", action: "notify" })
          expect(view.dynamicWork).toEqual([
            {
              key: "fanout",
              mode: "scheduled",
              seq: g.raw.dynamicWork![0]!.seq,
              origin: { step: "work", seq: 1, attempt: 1, nodeId: "seq-1" },
              nodeIds: g.raw.dynamicWork![0]!.nodeIds,
              edgeIds: g.raw.dynamicWork![0]!.edgeIds,
              createdAt: 1_000,
              hidden: ["reason", "metadata"],
            },
            g.raw.dynamicWork![1],
          ])
        }
      }),
    ),
  )

  it.effect("graph of a run a dynamic node failed: operators keep the node's error code, external actors lose it", () =>
    withMesh(
      Effect.gen(function* () {
        const id = yield* seeded({ status: "failed", statuses: { "notify-a": "failed", audit: "completed" } })
        const g = yield* graphs(id)
        expect(g.raw.nodes.find((n) => n.id === A)?.error).toEqual({ code: "smtp_down", message: "smtp refused for INPUT-SENTINEL" })
        expect(g.operator.nodes.find((n) => n.id === A)).toMatchObject({ status: "failed", error: { code: "smtp_down", hidden: ["message"] } })
        const external = g.external.nodes.find((n) => n.id === A)!
        expect(external).not.toHaveProperty("error")
        expect(external.hidden).toEqual(["error"])
        expectClean(g.operator, "operator")
        expectClean(g.external, "external")
      }),
    ),
  )

  it.effect("explanation: counts and where each node stands for everyone; the last error's code for operators; summaries from what each keeps", () =>
    withMesh(
      Effect.gen(function* () {
        const id = yield* seeded({ statuses: { audit: "completed" } })
        yield* TestClock.adjust("31 seconds")
        const e = yield* explanations(id)
        expect(e.raw.reason).toBe("waiting_for_dynamic_work")
        expect(json(e.auditor)).toContain("INPUT-SENTINEL")
        const counts = { keys: 2, recorded: 1, scheduled: 3, pending: 1, completed: 2, failed: 0 }
        const standing = { key: "fanout", action: "notify", node: A, state: "waiting_for_retry" }
        expect(e.operator.evidence).toMatchObject({ dynamicWork: counts, wait: { dynamic: standing, lastError: { code: "smtp_down", hidden: ["message"] } } })
        expect(e.operator.summary).toBe(e.raw.summary)
        expect(e.operator.summary).toContain("(last error: smtp_down)")
        expect(e.external.evidence).toMatchObject({ dynamicWork: counts, wait: { dynamic: standing, dueAt: 60_000, hidden: ["lastError"] } })
        expect(e.external.summary).toBe(
          'waiting for dynamic work (1 node(s) pending): dynamic node "notify-a" of work "fanout" waits to retry: attempt 2 of 3 in 29s',
        )
        expectClean(e.operator, "operator")
        expectClean(e.external, "external")
      }),
    ),
  )

  it.effect("explanation of a run a dynamic node failed, and the run's history: no payload below auditor", () =>
    withMesh(
      Effect.gen(function* () {
        const id = yield* seeded({ status: "failed", statuses: { "notify-a": "failed", audit: "completed" } })
        const e = yield* explanations(id)
        expect(e.operator.summary).toBe('failed at dynamic node "notify-a": dynamic_work_failed')
        expect(e.operator.evidence.error).toEqual({ code: "dynamic_work_failed", step: "notify-a", seq: e.raw.evidence.error!.seq, hidden: ["message"] })
        expect(e.external.summary).toBe("failed")
        expectClean(e.operator, "operator")
        expectClean(e.external, "external")
        const runs = yield* runViews(id)
        expect(runs.external.history?.filter((h) => h.kind === "dynamic_work").map((h) => [h.name, h.hidden])).toEqual([
          ["fanout", ["input"]],
          ["plan", ["input"]],
        ])
        expectClean(runs.operator, "operator")
        expectClean(runs.external, "external")
      }),
    ),
  )
})
