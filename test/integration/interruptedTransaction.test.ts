/**
 * A transactional step (`transaction: true`) whose attempt is interrupted must write nothing
 * through its transaction handle: the attempt's transaction rolls back, and a body that keeps
 * running afterwards (a Promise cannot be cancelled) must not be able to write through
 * `ctx.sql` outside that transaction.
 *
 * The crash suite (crash.test.ts) hit this when a worker paused (SIGSTOP) past its lease in
 * the middle of step `b`: the claim was lost, the attempt interrupted and rolled back, yet the
 * body's ledger INSERT landed, so the re-executed step failed on the duplicate ledger row.
 * These are the two smallest deterministic reproductions: an attempt timeout, and a lost claim.
 */
import { Schema, type Duration } from "effect"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { createMesh, PostgresStore, Step, Trigger, Workflow, type MeshClient } from "../../src/index.js"
import { freshDatabase } from "../support/database.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let db: { url: string; drop: () => Promise<void> }
let sql: postgres.Sql
beforeAll(async () => {
  db = await freshDatabase(inject("databaseUrl"), "txint")
  sql = postgres(db.url, { max: 2, onnotice: () => undefined })
  await sql`CREATE TABLE writes (id bigserial PRIMARY KEY, run_id uuid NOT NULL, step text NOT NULL, execution int NOT NULL)`
})
afterAll(async () => {
  await sql?.end({ timeout: 2 })
  await db?.drop()
})

const Empty = Schema.Struct({})

/** Runs one workflow on an in-process worker and returns the run and the rows its step wrote. */
const runOne = async (
  flow: Workflow.WorkflowDef<any, any>,
  worker: { leaseFor: Duration.DurationInput },
  during?: (mesh: MeshClient, runId: string) => Promise<void>,
) => {
  const mesh = await createMesh({ workflows: [flow], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 4 }) } })
  const handle = await mesh.startWorker({ concurrency: 1, pollInterval: "50 millis", leaseFor: worker.leaseFor })
  try {
    const { runId } = await mesh.start(flow, {})
    await during?.(mesh, runId)
    const run = await mesh.awaitRun(runId, { timeout: "5 minutes" })
    await sleep(600) // let any body still running after its attempt finish its late write
    const rows = await sql<Array<{ execution: number }>>`SELECT execution FROM writes WHERE run_id = ${runId} ORDER BY id`
    return { run, rows: rows.map((r) => r.execution) }
  } finally {
    await handle.stop()
    await mesh.close()
  }
}

describe("transactional step interrupted mid-body", () => {
  it("writes nothing through ctx.sql once its attempt timed out and rolled back", async () => {
    let executions = 0
    const Slow = Step.make("slow", {
      transaction: true,
      timeout: "100 millis",
      retry: { maxAttempts: 2 },
      run: async (_: {}, ctx) => {
        const execution = ++executions
        const tx = PostgresStore.transactionOf(ctx)
        await sleep(300) // outlives the timeout: the attempt is interrupted and rolled back
        await tx`INSERT INTO writes (run_id, step, execution) VALUES (${ctx.runId}, ${ctx.step}, ${execution})`
        return "ok"
      },
    })
    const Flow = Workflow.make({
      name: "tx-timeout",
      triggers: { manual: Trigger.manual({ payload: Empty }) },
      *run() {
        return yield* Slow({})
      },
    })
    const { run, rows } = await runOne(Flow, { leaseFor: "5 seconds" })
    expect(run.status).toBe("failed")
    expect(run.error?.code).toBe("step_timeout")
    // Both attempts were rolled back: their writes must not exist.
    expect(rows, "rows written by rolled-back attempts").toEqual([])
  })

  it("writes nothing through ctx.sql once its claim was lost, and exactly once on re-execution", async () => {
    let executions = 0
    let inside: () => void = () => undefined
    const entered = new Promise<void>((resolve) => (inside = resolve))
    const Paused = Step.make("paused", {
      transaction: true,
      run: async (_: {}, ctx) => {
        const execution = ++executions
        const tx = PostgresStore.transactionOf(ctx)
        if (execution === 1) {
          inside()
          await sleep(1_200) // meanwhile the claim is taken away: the heartbeat reports it lost
        }
        await tx`INSERT INTO writes (run_id, step, execution) VALUES (${ctx.runId}, ${ctx.step}, ${execution})`
        return { execution }
      },
    })
    const Flow = Workflow.make({
      name: "tx-lost-claim",
      triggers: { manual: Trigger.manual({ payload: Empty }) },
      *run() {
        return yield* Paused({})
      },
    })
    const { run, rows } = await runOne(Flow, { leaseFor: "600 millis" }, async (_mesh, runId) => {
      await entered
      // What a second worker does after the first one's lease ran out: take over the claim.
      await sql`UPDATE squid_mesh.tasks SET claim_id = 'taken-over', token_hash = 'taken-over' WHERE run_id = ${runId}`
    })
    expect(run.status).toBe("completed")
    expect(run.output).toEqual({ execution: 2 })
    // Only the execution whose result was recorded may have written.
    expect(rows, "rows written through ctx.sql").toEqual([2])
  })
})
