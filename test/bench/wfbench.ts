/**
 * wfbench for Squid Mesh: one benchmark process per invocation, per the contract in
 * /work/shared/bench/README.md (workloads W1–W5, one `wfbench/1` JSON line on stdout,
 * everything else on stderr). The workloads are in ./workloads.ts (W1–W3) and ./w4w5.ts.
 *
 *   npm run -s bench -- W1|W2|W3|W4|W5
 *
 * `npm run bench` compiles this with the package (tsconfig.bench.json → dist-bench/) and runs
 * plain node on the output: the figures are those of the JS users run, not of the tsx loader.
 *
 * Database: DATABASE_URL when set (that is how /work/shared/bench/run-all.sh calls us through
 * OURS_CMD); otherwise a throwaway Postgres cluster with fsync on (test/support/pgCluster.ts),
 * stopped at exit. The `squid_mesh` schema is dropped at the start (not timed) and the
 * store's open re-applies the migrations.
 *
 * Knobs: W1_RUNS, W1_CONCURRENCY, W2_STEPS, W3_RUNS, W3_SLEEP_MS, W3_PHASE_MS, W4_RUNS, W4_WARMUP,
 * W5_RUNS (defaults 1000, 10, 1000, 200, 1000, 2000, 200, 20, 5000); not part of the contract:
 * W3_CONCURRENCY (worker slots in W3, default 10), W5_WAKE_TIMEOUT_MS (60000), BENCH_TIMEOUT_MS (watchdog, 270000), BENCH_VARIANT (label).
 *
 * Extra fields beyond the contract: `completion` (how completion was timestamped, see
 * workloads.ts), `peak_rss_mb` with `peak_rss_source` (getrusage maxRSS of this process,
 * which runs both the starts and the worker), `db` (where the database came from), and the
 * worker's counters (`worker_*`).
 */
import { emit, engineVersion, installWatchdog, log, openDb, peakRssMb, resetSchema, type BenchDb } from "./common.js"
import { runW4, runW5 } from "./w4w5.js"
import { runW1, runW2, runW3 } from "./workloads.js"

const workload = (process.argv[2] || process.env.WORKLOAD || "").toUpperCase()
const base = {
  engine: "squid-mesh",
  engine_version: engineVersion(),
  workload,
  variant: process.env.BENCH_VARIANT || "worker",
}

const RUNNERS: Record<string, ((db: BenchDb) => Promise<Record<string, unknown>>) | undefined> = { W1: runW1, W2: runW2, W3: runW3, W4: runW4, W5: runW5 }

const main = async () => {
  const run = RUNNERS[workload]
  if (!run) {
    log(`fatal: unknown workload "${workload}" (want W1..W5)`)
    process.exit(2)
  }
  installWatchdog(base)
  let db: BenchDb | undefined
  try {
    db = await openDb()
    await resetSchema(db.admin)
    // W5 overrides ok (ok:false, error:"lost N") when runs were lost.
    const res: Record<string, unknown> = await run(db)
    emit({
      ...base,
      ok: true,
      ...res,
      peak_rss_mb: peakRssMb(),
      peak_rss_source: "process.resourceUsage().maxRSS",
      db: db.cluster ? "throwaway-cluster" : "DATABASE_URL",
    })
  } finally {
    await db?.close().catch((e: unknown) => log(String(e)))
  }
}

main()
  .then(() => process.exit(0))
  .catch((e: unknown) => {
    log(e instanceof Error && e.stack ? e.stack : String(e))
    emit({ ...base, ok: false, error: String(e instanceof Error ? e.message : e) })
    process.exit(1)
  })
