/**
 * `dynamic_fanout` (npm run -s bench:extras -- dynamic_fanout): dynamic work at volume on
 * Postgres. FANOUT_RUNS (20) runs each schedule FANOUT_NODES (50) nodes from their one step
 * (`ctx.dynamicWork.schedule`), run by one worker of FANOUT_CONCURRENCY (10) slots; timed from
 * the first start to the last run's completion. Nodes commit without the run's revision, so a
 * run's nodes settle side by side; the settle task then completes the run. Reports nodes/s
 * (median of EXTRAS_ROUNDS rounds after one warm-up), the tasks executed per node and the claims
 * that lost a race (`fenced`: settle tasks replaced by a newer one).
 */
import { Schema } from "effect"
import { Actions, createMesh, PostgresStore, Step, Trigger, Workflow } from "../../src/index.js"
import { emitLine, log, medianRow, now, r2, resetSchema, type BenchDb } from "./common.js"

const envNum = (name: string, dflt: number) => Number(process.env[name] || dflt)

const actions = Actions.make({ "bench.noop": { run: (input: { i: number }) => ({ ok: input.i }) } })

const Plan = Step.make("plan", {
  run: (input: { nodes: number }, ctx) => {
    ctx.dynamicWork.schedule({ key: "fan", nodes: Array.from({ length: input.nodes }, (_, i) => ({ id: `n${i}`, action: "bench.noop", input: { i } })) })
    return input.nodes
  },
})

const Fanout = Workflow.make({
  name: "bench-fanout",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ nodes: Schema.Number }) }) },
  *run(input) {
    return yield* Plan(input)
  },
})

/** One round: start every run, wait for all to complete; the figures of the round. */
const round = async (db: BenchDb, runs: number, nodes: number, concurrency: number) => {
  await resetSchema(db.admin)
  const mesh = await createMesh({ workflows: [Fanout], actions, store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 8, migrate: true }) } })
  try {
    const worker = await mesh.startWorker({ concurrency })
    const t0 = now()
    const started = await Promise.all(Array.from({ length: runs }, () => mesh.start(Fanout, { nodes })))
    const done = await Promise.all(
      started.map((s) =>
        mesh.awaitRun(s.runId, { timeout: "10 minutes", pollInterval: "20 millis" }).then((r) => {
          if (process.env.FANOUT_TRACE) log(`[dynamic_fanout] run ${s.runId.slice(0, 8)} ${r.status} at ${r2(now() - t0)} ms`)
          return r
        }),
      ),
    )
    const ms = now() - t0
    const stats = worker.stats()
    await worker.stop()
    const failed = done.filter((r) => r.status !== "completed").length
    if (failed > 0) throw new Error(`${failed} run(s) did not complete`)
    return { ms: r2(ms)!, nodes_per_sec: r2((runs * nodes * 1000) / ms)!, tasks_per_node: r2(stats.executed / (runs * nodes))!, fenced: stats.fenced }
  } finally {
    await mesh.close()
  }
}

/** The `dynamic_fanout` measurement: one JSON line. */
export const dynamicFanout = async (db: BenchDb) => {
  const runs = envNum("FANOUT_RUNS", 20)
  const nodes = envNum("FANOUT_NODES", 50)
  const concurrency = envNum("FANOUT_CONCURRENCY", 10)
  const rounds = envNum("EXTRAS_ROUNDS", 3)
  await round(db, runs, nodes, concurrency) // warm-up, not reported
  const rows: Array<Record<string, unknown>> = []
  for (let i = 0; i < rounds; i++) {
    const row = await round(db, runs, nodes, concurrency)
    log(`[dynamic_fanout] round ${i + 1}: ${row.nodes_per_sec} nodes/s`)
    rows.push(row)
  }
  emitLine({ measurement: "dynamic_fanout", runs, nodes_per_run: nodes, concurrency, ...medianRow(rows), rounds: rows.map((r) => r.nodes_per_sec) })
}
