/**
 * Dynamic work in the read models, on the memory store and on PGlite, with journals written
 * straight to the store (./dynamicFixtures.ts): inspectRunGraph lays it over the workflow's
 * graph (dynamic nodes and edges, `dynamicWork`) without mixing it into the workflow's own
 * sequence, for a code workflow, one whose code is not registered, and a declared graph;
 * explainRun says `waiting_for_dynamic_work` when only dynamic nodes are pending (where each
 * stands: due, running, retrying, lease expired), keeps the workflow's own wait primary
 * otherwise, and explains a run failed by a dynamic node.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Mesh, Store, Trigger, Workflow, type Explanation, type RunGraph } from "../../src/index.js"
import type * as TestMesh from "../../src/testing/index.js"
import { SEQ, seedDynamicRun } from "./dynamicFixtures.js"
import { flows, freshQueue, memory, meshOn, pgliteBackend, type Backend } from "./fixtures.js"

const pglite = pgliteBackend()
beforeAll(pglite.open)
afterAll(pglite.close)

const graph = (runId: string) => Effect.flatMap(Mesh.Mesh, (m) => m.inspectRunGraph(runId))
const explain = (runId: string) => Effect.flatMap(Mesh.Mesh, (m) => m.explainRun(runId))

/** Edges as `kind from->to`, with `(not taken)`. */
const edges = (g: RunGraph) => g.edges.map((e) => `${e.kind} ${e.from}->${e.to}${e.taken ? "" : " (not taken)"}`)
const actions = (e: Explanation) => e.nextActions.map((a) => a.action)

const A = "dyn:fanout/notify-a"
const B = "dyn:fanout/notify-b"
const AUDIT = "dyn:fanout/audit"
const LATER = "dyn:plan/later"
const DYNAMIC_EDGES = [`dynamic seq-1->${A}`, `dynamic seq-1->${B}`, `dynamic ${A}->${AUDIT}`, `dynamic seq-1->${LATER} (not taken)`]

/** A declared graph whose first node is "work", as the fixture's origin step. */
const declared = (queue: string) =>
  Workflow.graph({
    name: "declared-dyn",
    queue,
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
    steps: { work: { run: () => "done" }, next: { run: () => "next", after: ["work"] } },
  })

const cases = (backend: Backend) =>
  describe(`dynamic work read on ${backend.name}`, () => {
    const test = (name: string, body: (queue: string) => Effect.Effect<void, unknown, Mesh.Mesh | TestMesh.MeshHooks | Store>) =>
      it.effect(name, () => {
        const queue = freshQueue(backend)
        return body(queue).pipe(Effect.provide(meshOn(backend.store(), [...Object.values(flows(queue)), declared(queue)])))
      })
    const seed = (queue: string, workflow: string, options: Omit<Parameters<typeof seedDynamicRun>[1], "id" | "workflow" | "queue"> = {}) =>
      Effect.gen(function* () {
        const id = randomUUID()
        yield* seedDynamicRun(yield* Store, { id, workflow, queue, ...options })
        return id
      })

    test("graph: dynamic nodes and edges laid over a code workflow's graph, never in its sequence; the overlay names them", (queue) =>
      Effect.gen(function* () {
        const id = yield* seed(queue, "single")
        const g = yield* graph(id)
        // The workflow replays without its dynamic work: its structure comes from the code.
        expect(g).toMatchObject({ status: "running", terminal: false, structure: "replayed", path: ["seq-1"], current: [A, AUDIT] })
        expect(g.nodes.map((n) => [n.id, n.seq, n.kind, n.name, n.status, n.attempts])).toEqual([
          ["seq-1", 1, "step", "work", "completed", 1],
          [A, SEQ.notifyA, "dynamic", "notify-a", "pending", 1],
          [B, SEQ.notifyB, "dynamic", "notify-b", "completed", 1],
          [AUDIT, SEQ.audit, "dynamic", "audit", "pending", 0],
          [LATER, SEQ.plan, "dynamic", "later", "recorded", 0],
        ])
        expect(g.nodes[1]).toEqual({
          id: A,
          seq: SEQ.notifyA,
          kind: "dynamic",
          name: "notify-a",
          status: "pending",
          attempts: 1,
          createdAt: 1_000,
          startedAt: 1_000,
          dynamic: {
            key: "fanout",
            node: "notify-a",
            mode: "scheduled",
            action: "notify",
            maxAttempts: 3,
            params: { channel: "PARAM-SENTINEL" },
            input: { to: "INPUT-SENTINEL" },
            metadata: { note: "NODE-META-SENTINEL" },
          },
        })
        expect(g.nodes[2]).toMatchObject({
          startedAt: 1_500,
          resolvedAt: 3_000,
          durationMs: 2_000,
          dynamic: { key: "fanout", node: "notify-b", action: "notify" },
        })
        expect(g.nodes[4]).toEqual({
          id: LATER,
          seq: SEQ.plan,
          kind: "dynamic",
          name: "later",
          status: "recorded",
          attempts: 0,
          createdAt: 2_000,
          dynamic: { key: "plan", node: "later", mode: "recorded", action: "notify" },
        })
        expect(edges(g)).toEqual(DYNAMIC_EDGES)
        expect(g.dynamicWork).toEqual([
          {
            key: "fanout",
            mode: "scheduled",
            seq: SEQ.fanout,
            origin: { step: "work", seq: 1, attempt: 1, nodeId: "seq-1" },
            nodeIds: [A, B, AUDIT],
            edgeIds: ["dynamic:fanout/work-%3Enotify-a", "dynamic:fanout/work-%3Enotify-b", "dynamic:fanout/notify-a-%3Eaudit"],
            reason: "REASON-SENTINEL",
            metadata: { ticket: "FACT-META-SENTINEL" },
            createdAt: 1_000,
          },
          {
            key: "plan",
            mode: "recorded",
            seq: SEQ.plan,
            origin: { step: "work", seq: 1, attempt: 1, nodeId: "seq-1" },
            nodeIds: [LATER],
            edgeIds: ["dynamic:plan/work-%3Elater"],
            createdAt: 2_000,
          },
        ])
        const ids = new Set(g.nodes.map((n) => n.id))
        for (const e of g.edges) expect([ids.has(e.from), ids.has(e.to)]).toEqual([true, true])
        expect(JSON.parse(JSON.stringify(g))).toEqual(g)

        // A worker holds "audit": it is running.
        yield* TestClock.adjust("31 seconds")
        const [claimed] = yield* (yield* Store).claim({ queue, owner: "w-2", now: 31_000, leaseUntil: 91_000, limit: 5 })
        expect(claimed).toMatchObject({ seq: SEQ.audit, kind: "dynamic" })
        const running = yield* graph(id)
        expect(running.nodes.find((n) => n.id === AUDIT)?.status).toBe("running")
        expect(running.current).toEqual([A, AUDIT])
      }))

    test("graph: without the code, the workflow's entries are its stages and dynamic work stays beside them", (queue) =>
      Effect.gen(function* () {
        const more = {
          entries: [{ seq: 2, kind: "step" as const, name: "next", status: "pending" as const, attempts: 0, createdAt: 1_000 }],
          tasks: [{ runId: "", seq: 2, queue, kind: "step" as const, attempt: 1, visibleAt: 1_000 }],
        }
        const id = randomUUID()
        yield* seedDynamicRun(yield* Store, { id, workflow: "elsewhere", queue, more: { ...more, tasks: more.tasks.map((t) => ({ ...t, runId: id })) } })
        const g = yield* graph(id)
        expect(g).toMatchObject({ structure: "journal", path: ["seq-1"], current: ["seq-2", A, AUDIT] })
        expect(g.nodes.map((n) => n.id)).toEqual(["seq-1", "seq-2", A, B, AUDIT, LATER])
        expect(edges(g)).toEqual(["sequence seq-1->seq-2", ...DYNAMIC_EDGES])
      }))

    test("graph: a declared graph with dynamic work laid over it; its path leaves the dynamic entries out", (queue) =>
      Effect.gen(function* () {
        const id = yield* seed(queue, "declared-dyn")
        const g = yield* graph(id)
        expect(g).toMatchObject({ structure: "declared", path: ["seq-1"], current: [A, AUDIT] })
        expect(g.nodes.map((n) => [n.id, n.status])).toEqual([
          ["seq-1", "completed"],
          ["node-next", "not_reached"],
          [A, "pending"],
          [B, "completed"],
          [AUDIT, "pending"],
          [LATER, "recorded"],
        ])
        expect(edges(g)).toEqual(["sequence seq-1->node-next (not taken)", ...DYNAMIC_EDGES])
        expect(g.dynamicWork?.map((w) => w.key)).toEqual(["fanout", "plan"])
      }))

    test("graph: a run without dynamic work has no dynamicWork field", (queue) =>
      Effect.gen(function* () {
        const id = randomUUID()
        yield* (yield* Store).createRun({
          run: {
            id,
            workflow: "single",
            trigger: "manual",
            queue,
            status: "running",
            input: {},
            revision: 1,
            requestHash: "r",
            definitionHash: "d",
            createdAt: 0,
            updatedAt: 0,
          },
          entries: [{ seq: 1, kind: "step", name: "work", status: "pending", attempts: 0, createdAt: 0 }],
          tasks: [],
        })
        const g = yield* graph(id)
        expect(g).not.toHaveProperty("dynamicWork")
        expect((yield* explain(id)).evidence).not.toHaveProperty("dynamicWork")
      }))

    test("explain: waiting_for_dynamic_work when only dynamic nodes are pending: where each stands, not stalled", (queue) =>
      Effect.gen(function* () {
        const id = yield* seed(queue, "single")
        yield* TestClock.adjust("31 seconds")
        const due = yield* explain(id)
        expect(due).toMatchObject({ status: "running", reason: "waiting_for_dynamic_work" })
        expect(due.summary).toBe(
          `waiting for dynamic work (2 node(s) pending): dynamic node "audit" of work "fanout" has waited 30s for a worker on queue "${queue}"; no worker has been seen on it (and 1 more wait(s))`,
        )
        expect(due.evidence.dynamicWork).toEqual({ keys: 2, recorded: 1, scheduled: 3, pending: 2, completed: 1, failed: 0 })
        expect(due.evidence.wait).toEqual({
          reason: "waiting_for_dynamic_work",
          seq: SEQ.audit,
          kind: "dynamic",
          name: "audit",
          since: 1_000,
          waitedMs: 30_000,
          task: { kind: "dynamic", state: "due", attempt: 1, visibleAt: 1_000 },
          attempt: 1,
          dynamic: { key: "fanout", action: "audit", node: AUDIT, state: "waiting_for_worker" },
        })
        expect(due.evidence.alsoWaiting).toEqual([
          {
            reason: "waiting_for_dynamic_work",
            seq: SEQ.notifyA,
            kind: "dynamic",
            name: "notify-a",
            since: 1_000,
            waitedMs: 30_000,
            task: { kind: "dynamic", state: "scheduled", attempt: 2, visibleAt: 60_000 },
            attempt: 2,
            maxAttempts: 3,
            lastError: { code: "smtp_down", message: "smtp refused for INPUT-SENTINEL" },
            dueAt: 60_000,
            dynamic: { key: "fanout", action: "notify", node: A, state: "waiting_for_retry" },
          },
        ])
        expect(actions(due)).toEqual(["cancel"])

        const store = yield* Store
        yield* store.claim({ queue, owner: "w-2", now: 31_000, leaseUntil: 91_000, limit: 5 })
        const running = yield* explain(id)
        expect(running.reason).toBe("waiting_for_dynamic_work")
        expect(running.summary).toBe(
          'waiting for dynamic work (2 node(s) pending): dynamic node "audit" of work "fanout" attempt 1 is running on worker "w-2" (lease expires in 1m) (and 1 more wait(s))',
        )
        expect(running.evidence.wait).toMatchObject({ dynamic: { state: "running" }, task: { state: "claimed", owner: "w-2", leaseUntil: 91_000 } })

        // The lease lapses: that node is the most telling; "notify-a" is due meanwhile.
        yield* TestClock.adjust("2 minutes")
        const expired = yield* explain(id)
        expect(expired.summary).toBe(
          `waiting for dynamic work (2 node(s) pending): the lease of worker "w-2" on dynamic node "audit" of work "fanout" expired 1m ago; a worker of queue "${queue}" will reclaim it (and 1 more wait(s))`,
        )
        expect(expired.evidence.alsoWaiting).toMatchObject([{ name: "notify-a", dynamic: { state: "waiting_for_worker" } }])
        expect(actions(expired)).toEqual(["cancel"])
      }))

    test("explain: a node waiting to retry: attempt n of m, when, and its last error code in the summary", (queue) =>
      Effect.gen(function* () {
        const id = yield* seed(queue, "single", { statuses: { audit: "completed" } })
        yield* TestClock.adjust("31 seconds")
        const e = yield* explain(id)
        expect(e.reason).toBe("waiting_for_dynamic_work")
        expect(e.summary).toBe(
          'waiting for dynamic work (1 node(s) pending): dynamic node "notify-a" of work "fanout" waits to retry: attempt 2 of 3 in 29s (last error: smtp_down)',
        )
        expect(e.evidence.wait).toMatchObject({ name: "notify-a", dueAt: 60_000, lastError: { code: "smtp_down" }, dynamic: { state: "waiting_for_retry" } })
        expect(e.evidence).not.toHaveProperty("alsoWaiting")
        expect(e.evidence.dynamicWork).toMatchObject({ pending: 1, completed: 2 })
      }))

    test("explain: dynamic nodes pending without a task still wait for dynamic work (stalled where they stand), never `stalled` as a whole", (queue) =>
      Effect.gen(function* () {
        const id = yield* seed(queue, "single")
        const store = yield* Store
        const withdrawn = yield* store.commit({ runId: id, now: 3_000, resolve: [], append: [], attempts: [], tasks: [], withdraw: [SEQ.notifyA, SEQ.audit] })
        expect(withdrawn._tag).toBe("Committed")
        expect(yield* store.getTasks(id)).toEqual([])
        const e = yield* explain(id)
        expect(e.reason).toBe("waiting_for_dynamic_work")
        expect(e.evidence.wait).toMatchObject({ name: "notify-a", dynamic: { state: "stalled" } })
        expect(e.evidence.wait).not.toHaveProperty("task")
        expect(e.summary).toBe(
          'waiting for dynamic work (2 node(s) pending): dynamic node "notify-a" of work "fanout" is pending but has no task the engine can act on; inspect the run\'s journal (and 1 more wait(s))',
        )
        expect(actions(e)).toEqual(["cancel"])
      }))

    test("explain: while the workflow itself waits, its wait is primary and the dynamic nodes wait beside it", (queue) =>
      Effect.gen(function* () {
        const id = randomUUID()
        yield* seedDynamicRun(yield* Store, {
          id,
          workflow: "elsewhere",
          queue,
          more: {
            entries: [{ seq: 2, kind: "step", name: "next", status: "pending", attempts: 0, createdAt: 1_000 }],
            tasks: [{ runId: id, seq: 2, queue, kind: "step", attempt: 1, visibleAt: 1_000 }],
          },
        })
        yield* TestClock.adjust("31 seconds")
        const e = yield* explain(id)
        expect(e.reason).toBe("waiting_for_worker")
        expect(e.evidence.wait).toMatchObject({ kind: "step", name: "next" })
        expect(e.evidence.alsoWaiting?.map((w) => [w.reason, w.name])).toEqual([
          ["waiting_for_dynamic_work", "notify-a"],
          ["waiting_for_dynamic_work", "audit"],
        ])
        expect(e.summary).toContain('step "next" has waited 30s for a worker')
        expect(actions(e)).toEqual(["cancel"])
      }))

    test("explain and graph: a run failed by a dynamic node that failed for good", (queue) =>
      Effect.gen(function* () {
        const id = yield* seed(queue, "single", { status: "failed", statuses: { "notify-a": "failed", audit: "completed" } })
        const e = yield* explain(id)
        expect(e).toMatchObject({ status: "failed", reason: "failed" })
        expect(e.evidence.error).toEqual({
          code: "dynamic_work_failed",
          message: 'dynamic node "notify-a" (action "notify", work "fanout") failed: smtp refused for INPUT-SENTINEL',
          step: "notify-a",
          seq: SEQ.notifyA,
        })
        expect(e.summary).toBe('failed at dynamic node "notify-a": dynamic_work_failed')
        expect(e.evidence.dynamicWork).toEqual({ keys: 2, recorded: 1, scheduled: 3, pending: 0, completed: 2, failed: 1 })
        expect(e.evidence).not.toHaveProperty("wait")
        expect(actions(e)).not.toContain("cancel")
        const g = yield* graph(id)
        expect(g).toMatchObject({ status: "failed", terminal: true, current: [] })
        expect(g.nodes.find((n) => n.id === A)).toMatchObject({ status: "failed", attempts: 3, error: { code: "smtp_down" } })
      }))
  })

cases(memory)
cases(pglite.backend)
