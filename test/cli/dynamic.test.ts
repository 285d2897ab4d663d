/**
 * `runs show` and `runs graph` of a run with dynamic work, in-process on an embedded store the
 * test wrote the run to (journal straight to the store, test/read/dynamicFixtures.ts): the
 * tables list each fact (key, mode, origin, nodes with their status) and the dynamic nodes
 * and edges; `--json` carries the graph's overlay (`runs graph`) and `dynamicWork` beside the
 * run (`runs show`); `runs explain` says the run waits for dynamic work.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { main } from "../../src/cli/main.js"
import { PgliteStore } from "../../src/index.js"
import { seedDynamicRun } from "../read/dynamicFixtures.js"

let dataDir: string
const runId = randomUUID()

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "squid-mesh-cli-dynamic-"))
  // Written, then closed: each command below opens the store itself.
  await Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(PgliteStore.make({ dataDir }), (store) => seedDynamicRun(store, { id: runId, workflow: "fanout-demo", queue: "dynamic-demo" })),
    ),
  )
}, 120_000)
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** Runs the CLI in-process on the test's store: its exit code and stdout. */
const cli = async (...args: Array<string>) => {
  const out: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")))
  const err = vi.spyOn(console, "error").mockImplementation(() => undefined)
  try {
    return { code: await main([...args, "--data-dir", dataDir]), out: out.join("\n") }
  } finally {
    log.mockRestore()
    err.mockRestore()
  }
}

/** The rows of the table printed under `title` (up to the next blank line), split on runs of spaces. */
const section = (out: string, title: string): Array<Array<string>> => {
  const lines = out.split("\n")
  const start = lines.indexOf(title)
  expect(start, `no "${title}" in:\n${out}`).toBeGreaterThanOrEqual(0)
  const end = lines.indexOf("", start)
  return lines.slice(start + 1, end === -1 ? undefined : end).map((l) => l.split(/\s{2,}/))
}

describe("the CLI on a run with dynamic work", () => {
  it("runs graph: dynamic nodes with their work, dynamic edges from the origin, and a table of the work", async () => {
    const { code, out } = await cli("runs", "graph", runId)
    expect(code).toBe(0)
    const nodes = section(out, "nodes:")
    expect(nodes[0]).toEqual(["NODE", "KIND", "NAME", "STATUS", "ATTEMPTS", "STARTED", "TOOK", "GROUP / WORK", "CHILD RUN"])
    expect(nodes.slice(1).map((r) => [r[0], r[1], r[3], r[7]])).toEqual([
      ["seq-1", "step", "completed", "-"],
      ["dyn:fanout/notify-a", "dynamic", "pending", "scheduled fanout"],
      ["dyn:fanout/notify-b", "dynamic", "completed", "scheduled fanout"],
      ["dyn:fanout/audit", "dynamic", "pending", "scheduled fanout"],
      ["dyn:plan/later", "dynamic", "recorded", "recorded plan"],
    ])
    expect(section(out, "edges:").slice(1)).toEqual([
      ["seq-1", "dyn:fanout/notify-a", "dynamic", "yes"],
      ["seq-1", "dyn:fanout/notify-b", "dynamic", "yes"],
      ["dyn:fanout/notify-a", "dyn:fanout/audit", "dynamic", "yes"],
      ["seq-1", "dyn:plan/later", "dynamic", "no"],
    ])
    expect(out).toContain("current: dyn:fanout/notify-a, dyn:fanout/audit")
    const work = section(out, "dynamic work:")
    expect(work[0]).toEqual(["KEY", "MODE", "ORIGIN", "ADDED", "NODES", "REASON"])
    expect(work.slice(1)).toEqual([
      [
        "fanout",
        "scheduled",
        "work (seq 1, attempt 1)",
        "1970-01-01T00:00:01Z",
        "notify-a[notify]=pending, notify-b[notify]=completed, audit[audit]=pending",
        "REASON-SENTINEL",
      ],
      ["plan", "recorded", "work (seq 1, attempt 1)", "1970-01-01T00:00:02Z", "later[notify]=recorded", "-"],
    ])
  })

  it("runs graph --json: the API's RunGraph, with its dynamicWork", async () => {
    const { code, out } = await cli("runs", "graph", runId, "--json")
    expect(code).toBe(0)
    const graph = JSON.parse(out)
    expect(graph.dynamicWork.map((w: { key: string; nodeIds: Array<string> }) => [w.key, w.nodeIds])).toEqual([
      ["fanout", ["dyn:fanout/notify-a", "dyn:fanout/notify-b", "dyn:fanout/audit"]],
      ["plan", ["dyn:plan/later"]],
    ])
    expect(graph.nodes.filter((n: { kind: string }) => n.kind === "dynamic")).toHaveLength(4)
    expect(graph.edges.filter((e: { kind: string }) => e.kind === "dynamic")).toHaveLength(4)
  })

  it("runs show: the run's dynamic work after its records; --json adds dynamicWork with each fact's nodes", async () => {
    const table = await cli("runs", "show", runId, "--history")
    expect(table.code).toBe(0)
    expect(section(table.out, "journal:").map((r) => [r[0], r[1], r[2]])).toEqual([
      ["SEQ", "KIND", "NAME"],
      ["1", "step", "work"],
      ["1000000000", "dynamic_work", "fanout"],
      ["1000000001", "dynamic", "notify-a"],
      ["1000000002", "dynamic", "notify-b"],
      ["1000000003", "dynamic", "audit"],
      ["1000000004", "dynamic_work", "plan"],
    ])
    expect(section(table.out, "dynamic work:").map((r) => [r[0], r[1], r[4]])).toEqual([
      ["KEY", "MODE", "NODES"],
      ["fanout", "scheduled", "notify-a[notify]=pending, notify-b[notify]=completed, audit[audit]=pending"],
      ["plan", "recorded", "later[notify]=recorded"],
    ])
    // Without history too: the work is read from the graph.
    expect((await cli("runs", "show", runId)).out).toContain("dynamic work:")

    const json = await cli("runs", "show", runId, "--json")
    const run = JSON.parse(json.out)
    expect(run).toMatchObject({ id: runId, workflow: "fanout-demo", status: "running" })
    expect(run.dynamicWork[0]).toMatchObject({
      key: "fanout",
      mode: "scheduled",
      origin: { step: "work", seq: 1, attempt: 1, nodeId: "seq-1" },
      nodes: [
        { id: "dyn:fanout/notify-a", node: "notify-a", action: "notify", status: "pending", attempts: 1 },
        { id: "dyn:fanout/notify-b", node: "notify-b", action: "notify", status: "completed", attempts: 1 },
        { id: "dyn:fanout/audit", node: "audit", action: "audit", status: "pending", attempts: 0 },
      ],
    })
    expect(run.dynamicWork[1]).toMatchObject({ key: "plan", mode: "recorded", nodes: [{ id: "dyn:plan/later", status: "recorded" }] })
  })

  it("runs explain: waiting for dynamic work, with the counts in the evidence", async () => {
    const { code, out } = await cli("runs", "explain", runId)
    expect(code).toBe(0)
    expect(out).toMatch(/^reason: +waiting_for_dynamic_work$/m)
    expect(out).toMatch(/^summary: +waiting for dynamic work \(2 node\(s\) pending\)/m)
    expect(out).toContain("  dynamicWork:\n    keys: 2\n    recorded: 1\n    scheduled: 3\n    pending: 2")
  })
})
