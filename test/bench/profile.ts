/**
 * Where W1's time goes: Node µs per step, Postgres µs per step, and the top costs by self time.
 *
 *   npm run -s bench:profile            # one JSON line on stdout, a readable summary on stderr
 *
 * Runs wfbench's W1 (compiled, ./workloads.ts `runW1`, unchanged) in a child process under
 * `node --cpu-prof`, and reads every figure over W1's measured window only (from its first
 * start call to its durability check; opening the store, migrations and shutdown excluded):
 *
 * - Node: the child's `process.cpuUsage()` (all threads, GC included) ÷ steps; the profile's
 *   samples are cut to the window with the monotonic clock V8 and `process.hrtime` share.
 * - Postgres: CPU of the cluster's processes (postmaster and children, /proc) ÷ steps. This
 *   counts every backend of that cluster (the bench's own few queries too), but not other
 *   clusters on a shared box. With pg_stat_statements loaded, the statements by executor time
 *   (wall time, not CPU).
 *
 * Database: DATABASE_URL, else a throwaway durable cluster with pg_stat_statements preloaded.
 * Knobs: W1_RUNS, W1_CONCURRENCY (as wfbench), PROFILE_DIR (where the .cpuprofile is kept,
 * default .tmp/bench-profile/<time>), PROFILE_TOP (10). Open the .cpuprofile in Chrome
 * DevTools (Performance) or speedscope for the call tree.
 */
import { spawn } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { startCluster, type PgCluster } from "../support/pgCluster.js"
import { emitLine, log, openDb, r2, resetSchema } from "./common.js"
import { clusterCpuMs, enableStatements, postmasterPid, selfTimes, statementStats, type CpuProfile } from "./cpuprofile.js"
import { runW1 } from "./workloads.js"

const SELF = fileURLToPath(import.meta.url)
// dist-bench/test/bench/profile.js → the project root.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "")
const N = Number(process.env.W1_RUNS || 1000)
const STEPS = N * 3
const hrUs = () => Number(process.hrtime.bigint() / 1000n)

// ---- child: W1 under --cpu-prof ---------------------------------------------------------------

const child = async () => {
  const db = await openDb()
  try {
    await resetSchema(db.admin)
    const statements = await enableStatements(db.admin)
    const pm = await postmasterPid(db.admin)
    const w: Record<string, unknown> = {}
    let node0 = process.cpuUsage()
    let pg0: ReturnType<typeof clusterCpuMs> = null
    const res = await runW1(db, {
      before: async () => {
        if (statements) await db.admin.unsafe("SELECT pg_stat_statements_reset()")
        pg0 = pm === null ? null : clusterCpuMs(pm)
        node0 = process.cpuUsage()
        w.from_us = hrUs()
      },
      after: async () => {
        w.to_us = hrUs()
        const node = process.cpuUsage(node0)
        const pg1 = pm === null ? null : clusterCpuMs(pm)
        w.node_cpu_ms = r2((node.user + node.system) / 1000)
        w.pg_cpu_ms = pg0 && pg1 ? pg1.ms - pg0.ms : null
        w.pg_processes = pg1?.processes ?? null
        w.statements = statements ? await statementStats(db.admin, STEPS) : "pg_stat_statements not loaded on this server"
      },
    })
    emitLine({ ev: "result", window: w, w1: res })
  } finally {
    await db.close()
  }
}

// ---- driver -----------------------------------------------------------------------------------

const runChild = (url: string, dir: string) =>
  new Promise<Record<string, any>>((resolve, reject) => {
    const p = spawn(process.execPath, ["--cpu-prof", "--cpu-prof-dir", dir, SELF, "--child"], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "inherit"],
    })
    let result: Record<string, any> | undefined
    createInterface({ input: p.stdout! }).on("line", (line) => {
      if (line.startsWith("{")) result = JSON.parse(line) as Record<string, any>
      else log(line)
    })
    p.on("exit", (code) => (code === 0 && result ? resolve(result) : reject(new Error(`profiled W1 exited with ${code}`))))
  })

const newestProfile = (dir: string): string => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f))
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`)
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!
}

const main = async () => {
  const dir = process.env.PROFILE_DIR || join(ROOT, ".tmp", "bench-profile", new Date().toISOString().replace(/[:.]/g, "-"))
  mkdirSync(dir, { recursive: true })
  let cluster: PgCluster | undefined
  let url = process.env.DATABASE_URL
  if (!url) {
    log("[profile] DATABASE_URL not set: starting a throwaway durable cluster with pg_stat_statements")
    cluster = await startCluster({ durable: true, settings: ["shared_preload_libraries = 'pg_stat_statements'"] })
    url = cluster.url
  }
  try {
    const { window: w, w1 } = await runChild(url, dir)
    const file = newestProfile(dir)
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
    // The window is in process.hrtime µs; V8's profile clock is the same monotonic clock. If it
    // ever is not, say so and fall back to the whole profile rather than cut at random.
    const inside = w.from_us >= profile.startTime && w.to_us <= profile.endTime
    const cut = selfTimes(profile, ROOT, inside ? w.from_us : -Infinity, inside ? w.to_us : Infinity)
    const topN = Number(process.env.PROFILE_TOP || 10)
    const windowMs = (w.to_us - w.from_us) / 1000
    const summary = {
      measurement: "w1_profile",
      runs: N,
      steps: STEPS,
      runs_per_sec: w1.runs_per_sec,
      window_ms: r2(windowMs),
      node_us_per_step: r2((w.node_cpu_ms * 1000) / STEPS),
      pg_us_per_step: w.pg_cpu_ms == null ? null : r2((w.pg_cpu_ms * 1000) / STEPS),
      node_cores: r2(w.node_cpu_ms / windowMs),
      pg_cores: w.pg_cpu_ms == null ? null : r2(w.pg_cpu_ms / windowMs),
      pg_processes: w.pg_processes,
      write_tx_per_run: w1.write_tx_per_run,
      profile_window: inside ? "W1 measured window" : "whole process (profile clock did not match the window)",
      profile_busy_samples: cut.busy_samples,
      profile_idle_samples: cut.idle_samples,
      // Estimate: a cost's share of the main thread's samples × the process' CPU per step.
      top_self: cut.top(topN).map((e) => ({ ...e, est_us_per_step: r2((e.self_pct * w.node_cpu_ms * 10) / STEPS) })),
      by_group: cut.groups.map((g) => ({ ...g, est_us_per_step: r2((g.self_pct * w.node_cpu_ms * 10) / STEPS) })),
      pg_statements: w.statements,
      cpuprofile: file,
    }
    emitLine(summary)
    log(`\nW1 ${N} runs × 3 steps, ${summary.runs_per_sec} runs/s, window ${summary.window_ms} ms`)
    log(
      `Node ${summary.node_us_per_step} µs/step (${summary.node_cores} cores), Postgres ${summary.pg_us_per_step} µs/step (${summary.pg_cores} cores, ${summary.pg_processes} processes)`,
    )
    log(`top ${topN} by self time (share of ${summary.profile_busy_samples} non-idle main-thread samples; µs/step = share × Node µs/step):`)
    for (const t of summary.top_self) log(`  ${String(t.self_pct).padStart(6)}%  ${String(t.est_us_per_step).padStart(7)} µs  ${t.function}  ${t.file}`)
    log("by group:", summary.by_group.map((g) => `${g.group} ${g.self_pct}%`).join(", "))
    log(`profile: ${file}`)
  } finally {
    cluster?.stop()
  }
}

if (process.argv[2] === "--child") {
  child().then(
    () => process.exit(0),
    (e: unknown) => {
      log(String(e instanceof Error && e.stack ? e.stack : e))
      process.exit(1)
    },
  )
} else {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      log(String(e instanceof Error && e.stack ? e.stack : e))
      process.exit(1)
    },
  )
}
