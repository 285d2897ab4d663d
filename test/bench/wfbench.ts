/**
 * wfbench for Squid Mesh: one benchmark process per invocation, per the contract in
 * /work/shared/bench/README.md (workloads W1/W2/W3, one `wfbench/1` JSON line on stdout,
 * everything else on stderr). The workloads themselves are in ./workloads.ts.
 *
 *   npm run -s bench -- W1|W2|W3
 *
 * Database: DATABASE_URL when set (that is how /work/shared/bench/run-all.sh calls us through
 * OURS_CMD); otherwise a throwaway Postgres cluster with fsync on (test/support/pgCluster.ts),
 * stopped at exit. The `squid_mesh` schema is dropped at the start (not timed) and the
 * store's open re-applies the migrations.
 *
 * Knobs: W1_RUNS, W1_CONCURRENCY, W2_STEPS, W3_RUNS, W3_SLEEP_MS, W3_PHASE_MS (defaults 1000,
 * 10, 1000, 200, 1000, 2000), W3_CONCURRENCY (worker slots in W3, default 10; not part of the
 * contract), BENCH_TIMEOUT_MS (watchdog, 270000), BENCH_VARIANT (label).
 *
 * Extra fields beyond the contract: `completion` (how completion was timestamped, see
 * workloads.ts), `peak_rss_mb` with `peak_rss_source` (getrusage maxRSS of this process,
 * which runs both the starts and the worker), `db` (where the database came from), and the
 * worker's counters (`worker_*`).
 */
import { emit, engineVersion, installWatchdog, log, openDb, peakRssMb, resetSchema, type BenchDb } from "./common.js"
import { runW1, runW2, runW3 } from "./workloads.js"

const workload = (process.argv[2] || process.env.WORKLOAD || "").toUpperCase()
const base = {
  engine: "squid-mesh",
  engine_version: engineVersion(),
  workload,
  variant: process.env.BENCH_VARIANT || "worker",
}

const main = async () => {
  if (!["W1", "W2", "W3"].includes(workload)) {
    log(`fatal: unknown workload "${workload}" (want W1, W2 or W3)`)
    process.exit(2)
  }
  installWatchdog(base)
  let db: BenchDb | undefined
  try {
    db = await openDb()
    await resetSchema(db.admin)
    const res = workload === "W1" ? await runW1(db) : workload === "W2" ? await runW2(db) : await runW3(db)
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
