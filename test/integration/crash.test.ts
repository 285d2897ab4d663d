/**
 * Crash safety on real Postgres with real worker processes.
 *
 * 1. Three worker processes (workerProcess.ts) serve 300 runs of
 *    `a → b (transactional) → all([c, d]) → e` while they are SIGKILLed at random points:
 *    before a step body does anything (`pre-step`), right after its side effect and, in `b`,
 *    its ledger INSERT through the still-open transaction (`post-effect`), in the middle of
 *    the store commit, before or right after the commit statement (or the step transaction's
 *    COMMIT) is sent (`mid-commit`), and from outside at random times (`external`). Now and
 *    then one is paused (SIGSTOP) past its lease and resumed with stale claims (`freeze`).
 *    A supervisor (supervisor.ts) respawns them until every run is terminal.
 * 2. Postgres itself restarts in the middle of the load; the same three workers must reconnect
 *    by themselves (none may die).
 *
 * Afterwards every run must be completed with each step applied exactly once (one journal
 * entry per step at seqs 1..5, one completed attempt, the expected output), exactly one ledger
 * row per run (the transactional step's write commits with its result), at least one
 * side-effect row per step (at-least-once), and no task left.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import postgres from "postgres"
import { afterAll, describe, expect, inject, it } from "vitest"
import { createMesh, PostgresStore, type MeshClient } from "../../src/index.js"
import { freshDatabase } from "../support/database.js"
import { startCluster, type PgCluster } from "../support/pgCluster.js"
import { CrashFlow, SIDE_TABLES_DDL } from "./crashWorkflows.js"
import { awaitAllTerminal, startRuns, summarizeKills, verifyExactlyOnce } from "./harness.js"
import { disposeWorkerBundle, readKillLog, Supervisor } from "./supervisor.js"
import type { WorkerConfig } from "./workerProcess.js"

/** Everything a test opened, closed in reverse order even when the test fails. */
const cleanups: Array<() => unknown> = []
const cleanup = async () => {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!()
    } catch (error) {
      console.error("cleanup failed:", error)
    }
  }
}
afterAll(async () => {
  await cleanup()
  disposeWorkerBundle()
})

interface Setup {
  readonly url: string
  readonly sql: postgres.Sql
  readonly mesh: MeshClient
  readonly killLog: string
}

const setup = async (baseUrl: string, prefix: string): Promise<Setup> => {
  const db = await freshDatabase(baseUrl, prefix)
  cleanups.push(() => db.drop())
  const sql = postgres(db.url, { max: 4, onnotice: () => undefined })
  cleanups.push(() => sql.end({ timeout: 2 }))
  await sql.unsafe(SIDE_TABLES_DDL)
  // The test's own Mesh starts the runs (and applies the migrations first); it runs no worker.
  const mesh = await createMesh({ workflows: [CrashFlow], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 4 }) } })
  cleanups.push(() => mesh.close())
  const dir = mkdtempSync(join(tmpdir(), "squid-crash-"))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return { url: db.url, sql, mesh, killLog: join(dir, "kills.jsonl") }
}

const supervise = async (options: ConstructorParameters<typeof Supervisor>[0]) => {
  const supervisor = new Supervisor(options)
  cleanups.push(() => supervisor.stop())
  await supervisor.start()
  return supervisor
}

const workerConfig = (s: Setup, overrides: Partial<WorkerConfig> = {}): WorkerConfig => ({
  url: s.url,
  killLog: s.killLog,
  kill: { preStep: 0, postEffect: 0, midCommit: 0, transactional: 0 },
  concurrency: 4,
  pollMs: 150,
  leaseMs: 2_000,
  stepDelayMs: 0,
  ...overrides,
})

describe("crash safety (real Postgres, worker processes)", () => {
  it("every run completes exactly once while workers are SIGKILLed at random points", async () => {
    const t0 = Date.now()
    const RUNS = 300
    const s = await setup(inject("databaseUrl"), "crash")
    const supervisor = await supervise({
      size: 3,
      worker: workerConfig(s, { kill: { preStep: 0.008, postEffect: 0.008, midCommit: 0.008, transactional: 0.03 }, stepDelayMs: 4 }),
      externalKillEveryMs: [1_000, 3_000],
      freezeEveryMs: [3_000, 6_000],
      freezeForMs: [2_500, 4_000],
    })

    const runIds = await startRuns(s.mesh, "crash", RUNS)
    // Idempotent start: the same key names the same run, and nothing new is created.
    for (const n of [0, 7, 150, RUNS - 1]) {
      const again = await s.mesh.start(CrashFlow, { n }, { idempotencyKey: `crash-${n}` })
      expect(again).toMatchObject({ runId: runIds[n], created: false })
    }

    const counts = await awaitAllTerminal({ sql: s.sql, mesh: s.mesh, total: RUNS, stallMs: 90_000, context: () => supervisor.describe() })
    await supervisor.stop()

    const verdict = await verifyExactlyOnce(s.sql, s.mesh, runIds)
    const kills = await summarizeKills(s.sql, readKillLog(s.killLog))
    console.log(
      `[crash] ${RUNS} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s; workers spawned ${supervisor.spawned}; ` +
        `kills ${JSON.stringify(kills.byKind)}; by step ${JSON.stringify(kills.byStep)}; mid-commit ${JSON.stringify(kills.midCommit)}; ` +
        `side-effect rows ${verdict.sideEffectRows} (${verdict.reexecutions} re-executions); failed attempts ${verdict.failedAttempts}; ` +
        `store failures ${JSON.stringify(supervisor.storeTotals().failureMessages)}` +
        (kills.afterCommitNotLanded.length > 0 ? `; after-commit kills whose commit did not land: ${JSON.stringify(kills.afterCommitNotLanded)}` : ""),
    )
    expect(
      verdict.problems,
      `kill log (pauses and kills by pid and time):\n${readKillLog(s.killLog)
        .filter((k) => k.kind === "freeze" || k.kind === "external")
        .map((k) => JSON.stringify(k))
        .join("\n")}`,
    ).toEqual([])
    expect(counts).toEqual({ completed: RUNS })
    expect(verdict.ledgerRows).toBe(RUNS)
    expect(supervisor.unexpectedExits(), supervisor.describe()).toEqual([])
    for (const kind of ["pre-step", "post-effect", "mid-commit", "external", "freeze"]) {
      expect(kills.byKind[kind], `kills of kind ${kind}: ${JSON.stringify(kills.byKind)}`).toBeGreaterThan(0)
    }
    // The transactional step died with its ledger INSERT uncommitted, and in its own commit.
    expect(kills.byStep["post-effect@b"], JSON.stringify(kills.byStep)).toBeGreaterThan(0)
    expect(kills.midCommitInTransaction, JSON.stringify(kills.midCommit)).toBeGreaterThan(0)
    await cleanup()
  }, 900_000)

  it("every run completes exactly once across a Postgres restart mid-load, with the same workers", async () => {
    const t0 = Date.now()
    const RUNS = 200
    const cluster: PgCluster = await startCluster()
    cleanups.push(() => cluster.stop())
    const s = await setup(cluster.url, "restart")
    const supervisor = await supervise({ size: 3, respawn: false, worker: workerConfig(s, { stepDelayMs: 30 }) })

    const runIds = await startRuns(s.mesh, "restart", RUNS)
    let restartedAt: number | undefined
    let completedAtRestart = 0
    const counts = await awaitAllTerminal({
      sql: s.sql,
      mesh: s.mesh,
      total: RUNS,
      stallMs: 90_000,
      context: () => supervisor.describe(),
      onTick: (c) => {
        if (restartedAt === undefined && (c.completed ?? 0) >= RUNS * 0.1) {
          completedAtRestart = c.completed ?? 0
          restartedAt = Date.now()
          cluster.restart({ downMs: 1_500 }) // synchronous: stop (fast), 1.5 s down, start
          console.log(`[restart] Postgres restarted at ${completedAtRestart}/${RUNS} completed runs (took ${Date.now() - restartedAt} ms)`)
        }
      },
    })
    const exitsDuringLoad = [...supervisor.exits]
    await supervisor.stop()
    const verdict = await verifyExactlyOnce(s.sql, s.mesh, runIds)
    console.log(
      `[restart] ${RUNS} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s; store failures in the workers ${JSON.stringify(supervisor.storeTotals().failures)}; ` +
        `side-effect rows ${verdict.sideEffectRows} (${verdict.reexecutions} re-executions); failed attempts ${verdict.failedAttempts}`,
    )
    expect(restartedAt, "the restart happened before the load finished").toBeDefined()
    expect(completedAtRestart).toBeLessThan(RUNS)
    // The workers did notice the outage (and got over it by themselves).
    expect(supervisor.storeErrors(), supervisor.describe()).toBeGreaterThan(0)
    expect(verdict.problems).toEqual([])
    expect(counts).toEqual({ completed: RUNS })
    // The same three processes did all the work: none died or was replaced.
    expect(exitsDuringLoad, supervisor.describe()).toEqual([])
    expect(supervisor.spawned).toBe(3)
    expect(verdict.ledgerRows).toBe(RUNS)
    await cleanup()
  }, 900_000)
})
