/**
 * Dynamic work on memory, PGlite and Postgres: a step schedules nodes with its result (one
 * commit), host code previews, records and schedules work on an active run, nodes run
 * registered actions with their retries, the run completes only once its nodes are done, a node
 * that fails for good fails the run, and refusals (terminal run, unknown action, unknown
 * origin, a used key) write nothing. Every `act` runs in a fresh engine, so each task replays
 * its run from the journal.
 */
import { Effect, type Layer, TestClock } from "effect"
import { describe, expect, inject, it } from "vitest"
import { Actions, DYNAMIC_SEQ_BASE, type InvalidDynamicWorkError, MemoryStore, PostgresStore, type Store, createMesh } from "../../src/index.js"
import { freshDatabase } from "../support/database.js"
import { SETTLE_SEQ } from "../../src/core/dynamicWork.js"
import { freshEngines, onEveryBackend } from "../support/engines.js"
import { DYNAMIC_WORKFLOWS, Digest, Feed, Slow, actions, calls, resetCalls } from "../fixtures/dynamic.js"

const harness = (store: Layer.Layer<Store, unknown>) => freshEngines(store, { workflows: DYNAMIC_WORKFLOWS, actions })

/** The run's journal and tasks as stored. */
const stored = (h: ReturnType<typeof harness>, runId: string) =>
  h.act((m) => Effect.all({ journal: m.store.getJournal(runId), tasks: m.store.getTasks(runId) }))

const failure = async (p: Promise<unknown>) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeDefined()
  return error as InvalidDynamicWorkError
}

const scenarios = (backend: string, store: () => Layer.Layer<Store, unknown>) =>
  describe(`dynamic work on ${backend}`, () => {
    it("a step schedules nodes with its result; the run completes once they ran", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(Digest, { subscribers: ["ann", "bob"] }))
      const first = await h.act((m) => m.executeNext({ ownerId: "w" }))
      expect(first).toMatchObject({ _tag: "Executed", name: "plan-digest", result: "completed", runStatus: "running" })
      // One commit wrote the step's result, the fact and both nodes with their tasks.
      const planned = await stored(h, runId)
      expect(planned.journal.map((e) => `${e.kind}:${e.name}:${e.status}`)).toEqual([
        "step:plan-digest:completed",
        "dynamic_work:digest-fanout:completed",
        "dynamic:deliver-ann:pending",
        "dynamic:deliver-bob:pending",
      ])
      // The workflow finished with its nodes pending: the run is held, with its settle task.
      expect(planned.tasks.map((t) => [t.kind, t.seq])).toEqual([
        ["advance", SETTLE_SEQ],
        ["dynamic", DYNAMIC_SEQ_BASE + 1],
        ["dynamic", DYNAMIC_SEQ_BASE + 2],
      ])
      const fact = planned.journal[1]!.input as Record<string, any>
      expect(fact).toMatchObject({ mode: "scheduled", origin: { step: "plan-digest", seq: 1, attempt: 1 }, reason: "one delivery per subscriber" })
      expect(fact.metadata).toEqual({ subscribers: 2, apiToken: "[REDACTED]" })
      expect(fact.edges.map((e: { id: string }) => e.id)).toEqual(["plan-digest->deliver-ann", "plan-digest->deliver-bob"])
      // The workflow's body is done, but its run waits for its dynamic nodes: explained and drawn so.
      expect((await h.act((m) => m.inspectRun(runId))).status).toBe("running")
      const why = await h.act((m) => m.explainRun(runId))
      expect(why.reason).toBe("waiting_for_dynamic_work")
      expect(why.evidence.dynamicWork).toMatchObject({ keys: 1, scheduled: 2, pending: 2 })
      expect(why.nextActions.map((a) => a.action)).toEqual(["cancel"])
      const graph = await h.act((m) => m.inspectRunGraph(runId))
      expect(graph.dynamicWork).toMatchObject([{ key: "digest-fanout", mode: "scheduled", origin: { step: "plan-digest", nodeId: "seq-1" } }])
      const dynamicNodes = graph.nodes.filter((n) => n.kind === "dynamic")
      expect(dynamicNodes.map((n) => [n.name, n.status])).toEqual([
        ["deliver-ann", "pending"],
        ["deliver-bob", "pending"],
      ])
      expect(graph.edges.filter((e) => e.kind === "dynamic").map((e) => [e.from, e.to])).toEqual(dynamicNodes.map((n) => ["seq-1", n.id]))

      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(done.status).toBe("completed")
      expect(done.output).toEqual({ planned: 2 })
      expect(calls).toMatchObject({ "plan-digest": 1, "deliver:ann": 1, "deliver:bob": 1 })
      const nodes = (await stored(h, runId)).journal.filter((e) => e.kind === "dynamic")
      expect(nodes.map((e) => [e.name, e.status, e.output])).toEqual([
        ["deliver-ann", "completed", { delivered: "ann", channel: "email" }],
        ["deliver-bob", "completed", { delivered: "bob", channel: "email" }],
      ])
      expect((await stored(h, runId)).tasks).toEqual([])
      const drawn = await h.act((m) => m.inspectRunGraph(runId))
      expect(drawn.nodes.filter((n) => n.kind === "dynamic").map((n) => n.status)).toEqual(["completed", "completed"])
      await h.close()
    })

    it("a failed attempt's work is dropped with it; the retry's is written once", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(Digest, { subscribers: ["cy"], failFirst: true }))
      await h.drain()
      expect((await stored(h, runId)).journal.map((e) => e.kind)).toEqual(["step"])
      await h.adjust("1 second")
      await h.drain()
      const { journal } = await stored(h, runId)
      expect(journal.map((e) => `${e.kind}:${e.name}:${e.status}`)).toEqual([
        "step:plan-digest:completed",
        "dynamic_work:digest-fanout:completed",
        "dynamic:deliver-cy:completed",
      ])
      expect((journal[1]!.input as { origin: unknown }).origin).toEqual({ step: "plan-digest", seq: 1, attempt: 2 })
      expect((await h.act((m) => m.inspectRun(runId))).status).toBe("completed")
      expect(calls).toMatchObject({ "plan-digest": 2, "deliver:cy": 1 })
      await h.close()
    })

    it("host code previews, records and schedules work on an active run; duplicates write nothing", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(Feed, { feed: "rss" }))
      await h.drain()
      const proposal = {
        key: "per-item",
        origin: { step: "fetch" },
        nodes: [
          { id: "item-1", action: "digest.deliver", params: { channel: "discord" }, input: { to: "i1" } },
          { id: "item-2", action: "digest.flaky", input: { to: "i2" }, retry: { maxAttempts: 3 } },
        ],
      }
      const before = (await stored(h, runId)).journal.length
      const preview = await h.act((m) => m.previewDynamicWork(runId, proposal))
      expect(preview).toMatchObject({
        key: "per-item",
        originNodeId: "seq-1",
        origin: { step: "fetch", seq: 1, attempt: 1 },
        addedNodeIds: ["item-1", "item-2"],
        addedEdgeIds: ["fetch->item-1", "fetch->item-2"],
        duplicate: false,
        recordable: true,
        schedulable: true,
        problems: [],
      })
      expect((await stored(h, runId)).journal.length).toBe(before)

      const recorded = await h.act((m) => m.recordDynamicWork(runId, { key: "plan-only", origin: { step: "fetch" }, nodes: [{ id: "maybe" }] }))
      expect(recorded).toMatchObject({ mode: "recorded", duplicate: false, nodes: [{ id: "maybe" }] })
      const scheduled = await h.act((m) => m.scheduleDynamicWork(runId, proposal, { actor: "ops:ann" }))
      expect(scheduled).toMatchObject({ mode: "scheduled", duplicate: false, nodes: [{ id: "item-1" }, { id: "item-2" }] })
      expect(scheduled.nodes.every((n) => typeof n.seq === "number")).toBe(true)
      // The same proposal again: nothing written, the work as it is.
      const again = await h.act((m) => m.scheduleDynamicWork(runId, proposal))
      expect(again).toMatchObject({ duplicate: true, nodes: scheduled.nodes })
      const afterWrites = await stored(h, runId)
      expect(afterWrites.journal.filter((e) => e.kind === "dynamic_work").map((e) => e.name)).toEqual(["plan-only", "per-item"])
      expect(afterWrites.tasks.filter((t) => t.kind === "dynamic")).toHaveLength(2)
      const commands = await h.act((m) => m.inspectRun(runId, { history: true }))
      expect(commands.commands?.filter((c) => c.kind === "dynamic_work").map((c) => c.actor)).toEqual(["host", "ops:ann"])

      // The nodes run while the workflow waits for its signal; the flaky one retries by its node's policy.
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      await h.adjust("1 second")
      await h.drain()
      const nodes = (await stored(h, runId)).journal.filter((e) => e.kind === "dynamic")
      expect(nodes.map((e) => `${e.name}:${e.status}:${e.attempts}`)).toEqual(["item-1:completed:1", "item-2:completed:3"])
      expect((await h.act((m) => m.inspectRun(runId))).status).toBe("running")
      await h.act((m) => m.signal(runId, "publish", { by: "ann" }, { actor: "ann" }))
      await h.drain()
      const done = await h.act((m) => m.inspectRun(runId))
      expect(done).toMatchObject({ status: "completed", output: { fetched: { items: 3, feed: "rss" }, by: "ann" } })
      // Dynamic work is replay-unsafe by default: a rerun must be asked for explicitly.
      const refused = await failure(h.act((m) => m.rerun(runId, { actor: "ops" })))
      expect(refused).toMatchObject({ _tag: "RerunRefusedError", reason: "irreversible_steps", steps: ["item-1", "item-2"] })
      await h.close()
    })

    it("refuses bad proposals with every problem and its path, and writes nothing", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(Feed, { feed: "rss" }))
      const early = await failure(
        h.act((m) =>
          m.scheduleDynamicWork(runId, { key: "early", origin: { step: "fetch" }, nodes: [{ id: "n", action: "digest.deliver", params: { channel: "x" } }] }),
        ),
      )
      expect(early.problems).toEqual([{ at: "origin.step", message: 'step "fetch" is pending: only a completed step\'s work can be scheduled' }])
      await h.drain()
      const before = await stored(h, runId)
      const bad = await failure(
        h.act((m) =>
          m.scheduleDynamicWork(runId, {
            key: "bad key!",
            origin: { step: "nope" },
            nodes: [
              { id: "a", action: "digest.unknown" },
              { id: "a", action: "digest.deliver", params: { channel: 7 } },
              { id: "b", extra: true },
            ],
            edges: [{ from: "a", to: "zzz" }],
          } as never),
        ),
      )
      expect(bad._tag).toBe("InvalidDynamicWorkError")
      expect(bad.problems.map((p) => p.at)).toEqual(
        expect.arrayContaining(["key", "origin.step", "nodes[0].action", "nodes[1].id", "nodes[1].params.channel", "nodes[2].extra", "nodes[2].action"]),
      )
      await h.act((m) =>
        m.scheduleDynamicWork(runId, { key: "k", origin: { step: "fetch" }, nodes: [{ id: "x", action: "digest.deliver", params: { channel: "c" } }] }),
      )
      const clash = await failure(
        h.act((m) =>
          m.scheduleDynamicWork(runId, { key: "k", origin: { step: "fetch" }, nodes: [{ id: "y", action: "digest.deliver", params: { channel: "c" } }] }),
        ),
      )
      expect(clash.problems).toEqual([{ at: "key", message: '"k" is already used for other dynamic work in this run' }])
      const reused = await failure(h.act((m) => m.recordDynamicWork(runId, { key: "k2", origin: { step: "fetch" }, nodes: [{ id: "x" }] })))
      expect(reused.problems).toEqual([{ at: "nodes[0].id", message: '"x" is a dynamic node of this run already' }])
      expect((await stored(h, runId)).journal.length).toBe(before.journal.length + 2)
      await h.act((m) => m.cancel(runId, { actor: "ops" }))
      const terminal = await failure(h.act((m) => m.recordDynamicWork(runId, { key: "late", origin: { step: "fetch" }, nodes: [{ id: "z" }] })))
      expect(terminal.problems).toEqual([{ at: "", message: "the run is cancelled: dynamic work needs an active run" }])
      await h.close()
    })

    it("edges between nodes order them: a node runs once every node before it completed, with their results", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(Feed, { feed: "rss" }))
      await h.drain()
      const node = (id: string, to?: string) => ({ id, action: "digest.deliver", params: { channel: "c" }, ...(to ? { input: { to } } : {}) })
      const cyclic = await failure(
        h.act((m) =>
          m.scheduleDynamicWork(runId, {
            key: "loop",
            origin: { step: "fetch" },
            nodes: [node("x"), node("y")],
            edges: [
              { from: "x", to: "y" },
              { from: "y", to: "x" },
            ],
          }),
        ),
      )
      expect(cyclic.problems).toEqual([{ at: "edges", message: "the edges between nodes make a cycle: x -> y -> x" }])
      const textInput = await failure(
        h.act((m) =>
          m.scheduleDynamicWork(runId, {
            key: "text",
            origin: { step: "fetch" },
            nodes: [node("x"), { ...node("y"), input: "hi" }],
            edges: [{ from: "x", to: "y" }],
          }),
        ),
      )
      expect(textInput.problems).toEqual([
        { at: "nodes[1].input", message: "a node with edges from other nodes takes an object input (or none): their results are added as `after`" },
      ])
      await h.act((m) =>
        m.scheduleDynamicWork(runId, {
          key: "fan-in",
          origin: { step: "fetch" },
          nodes: [node("d1", "p"), node("d2", "q"), { id: "sum", action: "digest.summary", input: { title: "daily" } }],
          edges: [
            { from: "fetch", to: "d1" },
            { from: "fetch", to: "d2" },
            { from: "d1", to: "sum" },
            { from: "d2", to: "sum" },
          ],
        }),
      )
      // Only the nodes that wait for nobody have tasks; `sum` waits for both.
      const planned = await stored(h, runId)
      const seqOf = (name: string) => planned.journal.find((e) => e.name === name)!.seq
      expect(planned.tasks.filter((t) => t.kind === "dynamic").map((t) => t.seq)).toEqual([seqOf("d1"), seqOf("d2")])
      const why = await h.act((m) => m.explainRun(runId))
      const waits = [why.evidence.wait, ...(why.evidence.alsoWaiting ?? [])]
      expect(waits.find((w) => w?.name === "sum")?.dynamic).toMatchObject({ state: "waiting_for_nodes", waitsFor: ["d1", "d2"] })
      await h.drain()
      const done = await stored(h, runId)
      const sum = done.journal.find((e) => e.name === "sum")!
      expect(sum).toMatchObject({ status: "completed", output: { title: "daily", from: ["d1", "d2"], delivered: ["p", "q"] } })
      const resolvedAt = (name: string) => done.journal.find((e) => e.name === name)!.resolvedAt!
      expect(sum.resolvedAt).toBeGreaterThanOrEqual(Math.max(resolvedAt("d1"), resolvedAt("d2")))
      expect(calls.summary).toBe(1)
      await h.act((m) => m.signal(runId, "publish", { by: "ann" }, { actor: "ann" }))
      await h.drain()
      expect((await h.act((m) => m.inspectRun(runId))).status).toBe("completed")
      await h.close()
    })

    it("a node that fails for good fails the run; the run's other tasks are withdrawn", async () => {
      resetCalls()
      const h = harness(store())
      const { runId } = await h.act((m) => m.start(Feed, { feed: "rss" }))
      await h.drain()
      await h.act((m) => m.scheduleDynamicWork(runId, { key: "k", origin: { step: "fetch" }, nodes: [{ id: "relay", action: "digest.broken" }] }))
      await h.drain()
      const failed = await h.act((m) => m.inspectRun(runId))
      expect(failed.status).toBe("failed")
      expect(failed.error).toMatchObject({ code: "dynamic_work_failed", step: "relay", details: { key: "k", node: "relay", action: "digest.broken" } })
      expect(calls.broken).toBe(1)
      expect((await stored(h, runId)).tasks).toEqual([])
      await h.close()
    })
  })

onEveryBackend("dynamic", scenarios)

describe("dynamic work in one warm engine", () => {
  it("a node settled while the workflow ran: the workflow's end, seen from its cached interpreter, is settled by the settle task", async () => {
    resetCalls()
    const h = harness(MemoryStore.layer)
    const steps = await h.act((m) =>
      Effect.gen(function* () {
        const { runId } = yield* m.start(Slow, { subscribers: ["dee"] })
        const next = () => Effect.map(m.executeNext({ ownerId: "w" }), (r) => (r._tag === "Executed" ? `${r.kind}:${r.name}:${r.runStatus}` : r._tag))
        const done: Array<string> = [yield* next(), yield* next()] // plan-digest, then its node (the cache keeps plan's view)
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 3; i++) done.push(yield* next())
        // Held, every node done: the run waits for its settle task, which a worker runs next.
        const held = yield* m.explainRun(runId)
        for (let i = 0; i < 2; i++) done.push(yield* next())
        const tasks = yield* m.store.getTasks(runId)
        return { done, run: yield* m.inspectRun(runId), tasks, held }
      }),
    )
    expect(steps.done).toEqual([
      "step:plan-digest:running",
      "dynamic:deliver-dee:running",
      // The node's settle task: the workflow is not done yet, so nothing to settle.
      "advance::running",
      "timer:pause:running",
      // The cached interpreter still sees the node pending: the run is held, with a settle task...
      "step:finish:running",
      // ...which reads the run afresh, finds nothing pending, and completes it.
      "advance::completed",
      "Idle",
    ])
    expect(steps.run).toMatchObject({ status: "completed", output: { planned: { planned: 1 }, finish: "finished" } })
    expect(steps.tasks).toEqual([])
    expect(steps.held).toMatchObject({
      status: "running",
      reason: "waiting_for_worker",
      evidence: { wait: { kind: "advance", seq: SETTLE_SEQ, name: "settle the run (its dynamic nodes are done)" }, dynamicWork: { pending: 0, completed: 1 } },
    })
    await h.close()
  })
})

describe("dynamic work across engines", () => {
  it("a process without the workflow's code records work; one without the action leaves a node to one that has it", async () => {
    resetCalls()
    const h = harness(MemoryStore.layer)
    const { runId } = await h.act((m) => m.start(Feed, { feed: "rss" }))
    await h.drain()
    // No workflows, no actions: recording needs neither; scheduling needs the actions.
    const codeless = { workflows: [], actions: Actions.empty }
    await h.act((m) => m.recordDynamicWork(runId, { key: "seen", origin: { step: "fetch" }, nodes: [{ id: "s1" }] }), codeless)
    const refused = await failure(
      h.act(
        (m) => m.scheduleDynamicWork(runId, { key: "k", origin: { step: "fetch" }, nodes: [{ id: "n1", action: "digest.deliver", params: { channel: "c" } }] }),
        codeless,
      ),
    )
    expect(refused.problems).toEqual([{ at: "nodes[0].action", message: 'unknown action "digest.deliver": not in the engine\'s action registry' }])
    await h.act((m) =>
      m.scheduleDynamicWork(runId, { key: "k", origin: { step: "fetch" }, nodes: [{ id: "n1", action: "digest.deliver", params: { channel: "c" } }] }),
    )
    // A worker whose registry lacks the action gives the node back.
    const skipped = await h.act((m) => m.executeNext({ ownerId: "w" }), { actions: Actions.empty })
    expect(skipped).toMatchObject({ _tag: "Skipped", reason: "unknown_action" })
    expect(calls["deliver:c"]).toBeUndefined()
    await h.adjust("1 minute")
    await h.drain()
    expect((await stored(h, runId)).journal.find((e) => e.name === "n1")?.status).toBe("completed")
    await h.close()
  })
})

describe("dynamic work fan-out with a worker on Postgres", () => {
  it("60 nodes of three runs settle side by side: every node runs once, every run completes", async () => {
    resetCalls()
    const db = await freshDatabase(inject("databaseUrl"), "fanout")
    const mesh = await createMesh({
      workflows: DYNAMIC_WORKFLOWS,
      actions,
      store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 6, migrate: true }) },
    })
    try {
      const worker = await mesh.startWorker({ concurrency: 8 })
      const guests = (run: number) => Array.from({ length: 20 }, (_, i) => `g${run}-${i}`)
      const runs = await Promise.all([0, 1, 2].map((n) => mesh.start(Digest, { subscribers: guests(n) })))
      // Progress decides: a stuck run would stop here, however long the machine takes.
      const done = await Promise.all(runs.map((r) => mesh.awaitRun(r.runId, { timeout: "120 seconds" })))
      await worker.stop()
      expect(done.map((r) => r.status)).toEqual(["completed", "completed", "completed"])
      for (const n of [0, 1, 2]) for (const g of guests(n)) expect(calls[`deliver:${g}`]).toBe(1)
      for (const r of runs) {
        const view = await mesh.inspectRun(r.runId, { history: true })
        expect(view.history!.filter((e) => e.kind === "dynamic").map((e) => e.status)).toEqual(Array(20).fill("completed"))
        expect(view.tasks).toEqual([])
      }
    } finally {
      await mesh.close()
      await db.drop()
    }
  }, 180_000)
})
