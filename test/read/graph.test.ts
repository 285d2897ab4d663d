/**
 * inspectRunGraph on the memory store and on PGlite: nodes with their status, attempts and
 * timings; sequence, fork, join and compensation edges; race losers; the path taken, the
 * current nodes, and the links between parent and child runs.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Mesh, Store, type RunGraph } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { flows, freshQueue, memory, meshOn, pgliteBackend, type Backend, storedRun } from "./fixtures.js"

const pglite = pgliteBackend()
beforeAll(pglite.open)
afterAll(pglite.close)

const graph = (runId: string) => Effect.flatMap(Mesh.Mesh, (m) => m.inspectRunGraph(runId))

/** Edges as `kind from->to`, with `(not taken)` and `(race loser)` marks. */
const edges = (g: RunGraph) => g.edges.map((e) => `${e.kind} ${e.from}->${e.to}${e.taken ? "" : " (not taken)"}${e.raceLoser ? " (race loser)" : ""}`)

const cases = (backend: Backend) =>
  describe(`inspectRunGraph on ${backend.name}`, () => {
    const test = (name: string, body: (queue: string, F: ReturnType<typeof flows>) => Effect.Effect<void, unknown, Mesh.Mesh | TestMesh.MeshHooks | Store>) =>
      it.effect(name, () => {
        const queue = freshQueue(backend)
        const F = flows(queue)
        return body(queue, F).pipe(Effect.provide(meshOn(backend.store(), Object.values(F))))
      })

    test("a sequence of gates: nodes with timings, sequence edges, the path and the current node", (_queue, F) =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* TestMesh.start(F.Gates, {})
        const opened = yield* graph(runId)
        expect(opened).toMatchObject({
          runId,
          workflow: "gates",
          status: "paused",
          terminal: false,
          structure: "replayed",
          path: [],
          current: ["seq-1"],
          children: [],
        })
        expect(opened.nodes).toEqual([{ id: "seq-1", seq: 1, kind: "pause", name: "hold", status: "pending", attempts: 0, createdAt: 0 }])
        expect(opened.edges).toEqual([])
        yield* TestClock.adjust("1 hour")
        yield* mesh.resume(runId, { actor: "ops" })
        yield* TestClock.adjust("2 hours")
        yield* mesh.approve(runId, { actor: "mgr" })
        yield* mesh.signal(runId, "go", { word: "hi" })
        const done = yield* graph(runId)
        expect(done).toMatchObject({ status: "completed", terminal: true, path: ["seq-1", "seq-2", "seq-3"], current: [] })
        expect(done.nodes.map((n) => [n.id, n.kind, n.name, n.status, n.createdAt, n.resolvedAt, n.durationMs])).toEqual([
          ["seq-1", "pause", "hold", "completed", 0, 3_600_000, 3_600_000],
          ["seq-2", "approval", "sign-off", "completed", 3_600_000, 10_800_000, 7_200_000],
          ["seq-3", "signal", "go", "completed", 10_800_000, 10_800_000, 0],
        ])
        expect(edges(done)).toEqual(["sequence seq-1->seq-2", "sequence seq-2->seq-3"])
        expect(JSON.parse(JSON.stringify(done))).toEqual(done)
      }))

    test("parallel groups: fork into a group, join out of it, race losers marked and their joins not taken", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Parallel, {})
        const forked = yield* graph(runId)
        expect(forked.current).toEqual(["seq-2", "seq-3"])
        expect(forked.path).toEqual(["seq-1"])
        expect(forked.nodes.map((n) => [n.id, n.kind, n.status, n.group?.type])).toEqual([
          ["seq-1", "now", "completed", undefined],
          ["seq-2", "step", "pending", "all"],
          ["seq-3", "sleep", "pending", "all"],
        ])
        expect(edges(forked)).toEqual(["fork seq-1->seq-2", "fork seq-1->seq-3"])
        const run = yield* TestMesh.runUntilDone(runId, { queue })
        expect(run.status).toBe("completed")
        const g = yield* graph(runId)
        expect(g.nodes.map((n) => [n.id, n.kind, n.name, n.status, n.group?.id ?? null, n.raceLoser ?? false])).toEqual([
          ["seq-1", "now", "start", "completed", null, false],
          ["seq-2", "step", "work", "completed", "group-2", false],
          ["seq-3", "sleep", "t", "completed", "group-2", false],
          ["seq-4", "step", "work", "completed", "group-4", false],
          ["seq-5", "sleep", "timeout", "cancelled", "group-4", true],
          ["seq-6", "log", "log", "completed", null, false],
        ])
        expect(g.nodes[4]!.group).toEqual({ id: "group-4", type: "race" })
        expect(edges(g)).toEqual([
          "fork seq-1->seq-2",
          "fork seq-1->seq-3",
          "join seq-2->seq-4",
          "join seq-2->seq-5",
          "join seq-3->seq-4",
          "join seq-3->seq-5",
          "join seq-4->seq-6",
          "join seq-5->seq-6 (not taken) (race loser)",
        ])
        expect(g.path).toEqual(["seq-1", "seq-2", "seq-3", "seq-4", "seq-6"])
        expect(g.current).toEqual([])
      }))

    test("compensation edges from each step to its undo; attempts and start times", (queue, F) =>
      Effect.gen(function* () {
        let tries = 0
        yield* TestMesh.stubStep("compensate:reserve", () => (++tries === 1 ? Effect.fail(new Error("psp down")) : Effect.void))
        const { runId } = yield* TestMesh.start(F.Saga, {})
        yield* TestMesh.runUntilDone(runId, { queue })
        const g = yield* graph(runId)
        expect(g).toMatchObject({ status: "failed", terminal: true, path: ["seq-1", "seq-2", "seq-3"], current: [] })
        expect(g.nodes.map((n) => [n.id, n.kind, n.name, n.status, n.attempts, n.startedAt])).toEqual([
          ["seq-1", "step", "reserve", "completed", 1, 0],
          ["seq-2", "step", "ship", "failed", 1, 0],
          ["seq-3", "compensation", "compensate:reserve", "completed", 2, 0],
        ])
        expect(g.nodes[1]!.error).toEqual({ code: "no_courier", message: "no courier available" })
        expect(edges(g)).toEqual(["sequence seq-1->seq-2", "sequence seq-2->seq-3", "compensation seq-1->seq-3"])
      }))

    test("a running node while a worker holds its task", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Retrying, {})
        yield* TestMesh.drain({ queue })
        const retrying = yield* graph(runId)
        expect(retrying.nodes).toMatchObject([{ id: "seq-1", status: "pending", attempts: 1, startedAt: 0 }])
        yield* TestClock.adjust("10 seconds")
        const store = yield* Store
        yield* store.claim({ queue, owner: "w-1", now: 10_000, leaseUntil: 70_000, limit: 1 })
        const running = yield* graph(runId)
        expect(running.nodes).toMatchObject([{ id: "seq-1", status: "running", attempts: 1 }])
        expect(running.current).toEqual(["seq-1"])
      }))

    test("child links both ways: the parent's node and the child's run, with its status", (queue, F) =>
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(F.Outer, {})
        yield* TestMesh.drain({ queue })
        const parent = yield* graph(runId)
        const childId = parent.nodes[0]!.childRunId!
        expect(parent.nodes).toMatchObject([{ id: "seq-1", kind: "child", name: "inner", status: "pending" }])
        expect(parent.children).toEqual([{ node: "seq-1", runId: childId, workflow: "inner", status: "paused", wait: true }])
        expect(parent.current).toEqual(["seq-1"])
        const child = yield* graph(childId)
        expect(child).toMatchObject({ workflow: "inner", status: "paused", parent: { runId, node: "seq-1" }, current: ["seq-1"] })
        yield* Effect.flatMap(Mesh.Mesh, (m) => m.resume(childId, { actor: "ops" }))
        yield* TestMesh.runUntilDone(runId, { queue })
        const settled = yield* graph(runId)
        expect(settled.children).toEqual([{ node: "seq-1", runId: childId, workflow: "inner", status: "completed", wait: true }])
        expect(settled.path).toEqual(["seq-1"])
      }))

    test("without the workflow's code: nodes from the journal alone, each its own stage", (queue) =>
      Effect.gen(function* () {
        const store = yield* Store
        const id = randomUUID()
        const run = storedRun(id, "elsewhere", queue)
        yield* store.createRun({
          run,
          entries: [
            { seq: 1, kind: "step", name: "a", status: "completed", attempts: 1, createdAt: 0, resolvedAt: 5 },
            { seq: 2, kind: "step", name: "b", status: "pending", attempts: 0, createdAt: 5 },
            { seq: 3, kind: "sleep", name: "c", status: "pending", attempts: 0, createdAt: 5 },
          ],
          tasks: [],
        })
        const g = yield* graph(id)
        expect(g).toMatchObject({ structure: "journal", path: ["seq-1"], current: ["seq-2", "seq-3"] })
        expect(edges(g)).toEqual(["sequence seq-1->seq-2", "sequence seq-2->seq-3"])
      }))

    test("a malformed id is an InvalidOptionError, an unknown one a RunNotFoundError", () =>
      Effect.gen(function* () {
        expect(yield* Effect.flip(graph("nope"))).toMatchObject({ _tag: "InvalidOptionError", option: "runId" })
        expect(yield* Effect.flip(graph(randomUUID()))).toMatchObject({ _tag: "RunNotFoundError" })
      }))
  })

cases(memory)
cases(pglite.backend)
