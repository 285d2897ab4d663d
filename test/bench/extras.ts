/**
 * Extra measurements of Squid Mesh beyond the wfbench contract. One JSON line per measurement
 * on stdout, logs on stderr.
 *
 *   npm run -s bench:extras                      # all three
 *   npm run -s bench:extras -- w1_scaling        # or claim_with_backlog, peak_rss, runs_1m, dynamic_fanout (any subset)
 *
 * - `w1_scaling`: W1 (W1_RUNS × 3 no-op steps) with the workers in child processes
 *   (`node dist-bench/test/bench/extras.js --worker C`, compiled like this process) while this process only starts the runs:
 *   1 process × 10 slots, 2 × 5 and 2 × 10. Completion = a run's final commit returned in
 *   whichever child ran it; all marks are epoch ms (`performance.timeOrigin + now()`), so they
 *   compare across processes. Children learn of runs started here only through the store's
 *   cross-process wake-up (Postgres NOTIFY, when the engine has it) or by polling
 *   (SCALING_POLL_MS, default 100 ms); `exec_runs_per_sec` (first step began → last
 *   completion) leaves that start-up wait out.
 * - `claim_with_backlog`: BACKLOG_SHORT_RUNS (1000) runs × 1 step at worker concurrency 10,
 *   timed without and then with BACKLOG_RUNS (100,000) runs asleep on a 30-day durable timer
 *   in the same queue, inserted through `mesh.start` in concurrent batches of BACKLOG_BATCH
 *   (500). Then EXPLAIN (ANALYZE, BUFFERS) of a statement with the claim's WHERE/ORDER/LIMIT
 *   and FOR UPDATE SKIP LOCKED (src/store/sql/SqlStore.ts, `claim`; LIMIT 10, a batch claim
 *   for 10 free slots), with 100 due tasks in the table, as a custom and as a generic plan,
 *   plus the `nextDueAt` query. Each phase also reports `pg_active` (pg_stat_activity
 *   sampled every 5 ms: the engine's statements by average active backends, with their wait
 *   events), `table_scans` (seq/index scans per run of our tables, see ./pgdiag.ts) and
 *   `tasks_mod_since_analyze` at its start and end (whether the planner's statistics know
 *   the backlog: autovacuum's ANALYZE lands at an arbitrary moment). The backlog phases run
 *   as inserted (`with_backlog`), then after an explicit ANALYZE (`with_backlog_after_analyze`).
 * - `runs_1m`: listRuns (every filter, first and deep page, EXPLAIN) and purge under W1 load at
 *   a million runs (./runs1m.ts).
 * - `dynamic_fanout`: dynamic work at volume (./fanout.ts).
 * - `peak_rss`: peak RSS (getrusage maxRSS) of the process running W1 (`wfbench.ts W1`,
 *   starts + worker in one process), and of the worker-only children of `w1_scaling`.
 *
 * Each timed configuration runs EXTRAS_ROUNDS (3) times, interleaved, after one unreported
 * warm-up; reported figures are medians, with the per-round runs/s alongside.
 * Database: DATABASE_URL, else a throwaway durable cluster (like wfbench.ts). The
 * `squid_mesh` schema is dropped before every measurement.
 */
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Schema } from "effect"
import { createMesh, PostgresStore, Step, Trigger, Workflow, type AnyWorkflow } from "../../src/index.js"
import {
  CompletionTracker,
  countRuns,
  dbCounters,
  dbDelta,
  emitLine,
  epochNow,
  log,
  medianRow,
  now,
  openDb,
  peakRssMb,
  r2,
  resetSchema,
  sleep,
  trackedStore,
  w1Result,
  waitUntil,
  type BenchDb,
} from "./common.js"
import { activitySampler, claimProbeSql, explainSummary, modSinceAnalyze, statsDelta, tableStats } from "./pgdiag.js"
import { runs1m } from "./runs1m.js"
import { dynamicFanout } from "./fanout.js"
import { makeW1, startAll } from "./workloads.js"

const envNum = (name: string, dflt: number) => Number(process.env[name] || dflt)
const N1 = envNum("W1_RUNS", 1000)
const POLL_MS = envNum("SCALING_POLL_MS", 100)
// Children run this same compiled file with plain node (dist-bench/, see tsconfig.bench.json).
const SELF = fileURLToPath(import.meta.url)
const minOf = (v: ReadonlyArray<number>) => v.reduce((a, b) => Math.min(a, b), Infinity)
const maxOf = (v: ReadonlyArray<number>) => v.reduce((a, b) => Math.max(a, b), -Infinity)

// ---- child: a worker-only process (w1_scaling) ----------------------------------------------

/** Runs a worker until stdin closes, then prints its completions and marks as one JSON line. */
const workerChild = async (concurrency: number) => {
  const tracker = new CompletionTracker(epochNow)
  const w1 = makeW1(N1, "w1", epochNow)
  const mesh = await createMesh({ workflows: [w1.workflow], store: { kind: "layer", layer: trackedStore(process.env.DATABASE_URL!, tracker) } })
  let sampled = process.memoryUsage().rss
  const sampler = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 20)
  const worker = await mesh.startWorker({ concurrency, pollInterval: `${POLL_MS} millis`, ownerId: `child-${process.pid}` })
  const readyRss = process.memoryUsage().rss
  const cpu0 = process.cpuUsage()
  emitLine({ ev: "ready" })
  await new Promise<void>((resolve) => process.stdin.on("end", resolve).on("close", resolve).resume())
  const stats = worker.stats()
  const cpu = process.cpuUsage(cpu0)
  // Bounded: a shutdown that hangs must not hang the parent (the results are already in memory).
  const bounded = (p: Promise<void>, what: string) =>
    Promise.race([p, new Promise<void>((r) => setTimeout(() => (log(`[child ${process.pid}] ${what} timed out`), r()), 20000).unref())])
  await bounded(worker.stop(), "worker.stop")
  await bounded(mesh.close(), "mesh.close")
  clearInterval(sampler)
  emitLine({
    ev: "result",
    done: Object.fromEntries(tracker.at),
    body0: Array.from(w1.body0, (x) => x ?? null),
    executed: stats.executed,
    cpu_ms: r2((cpu.user + cpu.system) / 1000),
    rss_ready_mb: r2(readyRss / 2 ** 20),
    peak_rss_mb: peakRssMb(),
    sampled_peak_rss_mb: r2(sampled / 2 ** 20),
  })
  process.exit(0)
}

interface ChildResult {
  done: Record<string, number>
  body0: Array<number | null>
  executed: number
  cpu_ms: number
  rss_ready_mb: number
  peak_rss_mb: number
  sampled_peak_rss_mb: number
}

/** Spawns a worker child; resolves once it is ready. `finish` closes its stdin and returns its result. */
const spawnWorker = (url: string, concurrency: number) =>
  new Promise<{ finish: () => Promise<ChildResult> }>((resolveReady, rejectReady) => {
    const child = spawn(process.execPath, [SELF, "--worker", String(concurrency)], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["pipe", "pipe", "inherit"],
    })
    let result: ((r: ChildResult) => void) | undefined
    let failed: ((e: Error) => void) | undefined
    const resultP = new Promise<ChildResult>((res, rej) => ((result = res), (failed = rej)))
    resultP.catch(() => undefined) // an early exit is reported through rejectReady
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return log(`[child ${child.pid}] ${line}`)
      const msg = JSON.parse(line) as { ev: string } & ChildResult
      if (msg.ev === "ready") resolveReady({ finish: () => (child.stdin!.end(), resultP) })
      else if (msg.ev === "result") result!(msg)
    })
    child.on("exit", (code) => {
      const e = new Error(`worker child exited with ${code}`)
      rejectReady(e)
      failed!(e)
    })
  })

// ---- w1_scaling ------------------------------------------------------------------------------

const workerRss: Array<Record<string, unknown>> = []

const ROUNDS = envNum("EXTRAS_ROUNDS", 3)

/** One W1 with `procs` worker children of `conc` slots each; this process only starts the runs. */
const scalingRound = async (db: BenchDb, procs: number, conc: number) => {
  await resetSchema(db.admin)
  const w1 = makeW1(N1, "w1", epochNow)
  const mesh = await createMesh({ workflows: [w1.workflow], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 10 }) } })
  const kids: Array<{ finish: () => Promise<ChildResult> }> = []
  try {
    kids.push(...(await Promise.all(Array.from({ length: procs }, () => spawnWorker(db.url, conc)))))
    const db0 = await dbCounters(db.admin)
    const { starts, runIds } = await startAll(mesh, w1.workflow, N1, epochNow)
    await waitUntil(async () => (await countRuns(db.admin, "w1")) === N1, 120000, 25, "all w1 completed")
    const dbf = await dbDelta(db.admin, db0, N1, "run")
    const results = await Promise.all(kids.map((k) => k.finish()))
    const done = Object.assign({}, ...results.map((r) => r.done)) as Record<string, number>
    const ends = runIds.map((id) => done[id])
    const body0 = starts.map((_, i) => minOf(results.map((r) => r.body0[i] ?? Infinity)))
    const res = w1Result(starts, ends, body0)
    const workersCores = results.reduce((a, r) => a + r.cpu_ms, 0) / (dbf.cpu_window_ms ?? NaN)
    const row = {
      processes: procs,
      concurrency_per_process: conc,
      total_concurrency: procs * conc,
      runs_per_sec: res.runs_per_sec,
      exec_runs_per_sec: r2((N1 * 1000) / (maxOf(ends as Array<number>) - minOf(body0))),
      p50_ms: res.p50_ms,
      exec_p50_ms: res.exec_p50_ms,
      executed_per_process: results.map((r) => r.executed),
      write_tx_per_run: dbf.write_tx_per_run,
      cpu_starter_cores: dbf.cpu_node_cores,
      cpu_workers_cores: r2(workersCores),
      cpu_other_cores: r2((dbf.cpu_other_cores ?? NaN) - workersCores),
      worker_peak_rss_mb: results.map((r) => r.peak_rss_mb),
    }
    log("[w1_scaling]", row)
    return { row, results }
  } finally {
    for (const k of kids) k.finish().catch(() => undefined) // no-op after a normal finish
    await mesh.close()
  }
}

const w1Scaling = async (db: BenchDb) => {
  const configs = [
    { procs: 1, conc: 10 },
    { procs: 2, conc: 5 },
    { procs: 2, conc: 10 },
  ]
  await scalingRound(db, 1, 10) // warm-up, not reported
  const rounds: Array<Array<Record<string, unknown>>> = configs.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, { procs, conc }] of configs.entries()) {
      const { row, results } = await scalingRound(db, procs, conc)
      rounds[k]!.push(row)
      workerRss.push(
        ...results.map((r) => ({
          config: `${procs}x${conc}`,
          rss_ready_mb: r.rss_ready_mb,
          peak_rss_mb: r.peak_rss_mb,
          sampled_peak_rss_mb: r.sampled_peak_rss_mb,
        })),
      )
    }
  }
  const rows: Array<Record<string, unknown>> = rounds.map((rs) => ({ ...medianRow(rs), runs_per_sec_per_round: rs.map((r) => r.runs_per_sec) }))
  const rate = (i: number) => (rows[i]!.runs_per_sec as number) / (rows[0]!.runs_per_sec as number)
  emitLine({
    measurement: "w1_scaling",
    n: N1,
    steps_per_run: 3,
    rounds: ROUNDS,
    poll_ms: POLL_MS,
    completion: "final_commit (in the worker child)",
    configs: rows,
    speedup_2x5: r2(rate(1)),
    speedup_2x10: r2(rate(2)),
  })
}

// ---- claim_with_backlog -----------------------------------------------------------------------

const Index = Schema.Struct({ i: Schema.Number })
const shortWorkflow = (name: string, n: number) => {
  const body0: Array<number | undefined> = new Array(n)
  const step = Step.make("only", {
    run: async (i: number) => {
      if (body0[i] === undefined) body0[i] = now()
      return null
    },
  })
  const workflow = Workflow.make({
    name,
    triggers: { manual: Trigger.manual({ payload: Index }) },
    *run({ i }) {
      yield* step(i)
      return i
    },
  })
  return { workflow, body0 }
}

const claimWithBacklog = async (db: BenchDb) => {
  const SHORT = envNum("BACKLOG_SHORT_RUNS", 1000)
  const SIZE = envNum("BACKLOG_RUNS", 100000)
  const BATCH = envNum("BACKLOG_BATCH", 500)
  await resetSchema(db.admin)
  const tracker = new CompletionTracker()
  const without = Array.from({ length: ROUNDS }, (_, k) => shortWorkflow(`short_without_${k}`, SHORT))
  const withB = Array.from({ length: ROUNDS }, (_, k) => shortWorkflow(`short_with_${k}`, SHORT))
  const analyzed = Array.from({ length: ROUNDS }, (_, k) => shortWorkflow(`short_analyzed_${k}`, SHORT))
  const probe = shortWorkflow("probe", 100)
  const warm = shortWorkflow("warmup", SHORT)
  const Noop = Step.make("noop", { run: async (_: number) => null })
  const Sleeper = Workflow.make({
    name: "sleeper",
    triggers: { manual: Trigger.manual({ payload: Index }) },
    *run({ i }) {
      yield* Workflow.sleep("long", "30 days")
      yield* Noop(i)
      return i
    },
  })
  const workflows: Array<AnyWorkflow> = [warm, ...without, ...withB, ...analyzed, probe].map((w) => w.workflow as AnyWorkflow).concat([Sleeper])
  // One long-lived mesh, like a worker process that lives through the backlog's arrival: its
  // pooled connections keep their prepared statements (and cached plans) across phases.
  const mesh = await createMesh({ workflows, store: { kind: "layer", layer: trackedStore(db.url, tracker) } })
  try {
    // Idle backends flush table statistics within 10 s (PGSTAT_IDLE_INTERVAL): settle before reading them.
    const settledStats = async () => (await sleep(11000), tableStats(db.admin))
    const phase = async (w: ReturnType<typeof shortWorkflow>, withStats: boolean) => {
      const stats0 = withStats ? await settledStats() : undefined
      const modAtStart = await modSinceAnalyze(db.admin, "tasks")
      const worker = await mesh.startWorker({ concurrency: 10 })
      const sampler = activitySampler(db.url)
      const db0 = await dbCounters(db.admin)
      const { starts, runIds } = await startAll(mesh, w.workflow, SHORT)
      await waitUntil(() => runIds.every((id) => tracker.at.has(id)), 120000, 5, `${w.workflow.name} final commits`)
      const activity = await sampler.stop()
      await waitUntil(async () => (await countRuns(db.admin, w.workflow.name)) === SHORT, 30000, 20, `${w.workflow.name} completed`)
      const res = w1Result(
        starts,
        runIds.map((id) => tracker.at.get(id)),
        w.body0,
      )
      const dbf = await dbDelta(db.admin, db0, SHORT, "run")
      await worker.stop()
      return {
        runs_per_sec: res.runs_per_sec,
        p50_ms: res.p50_ms,
        exec_p50_ms: res.exec_p50_ms,
        exec_p95_ms: res.exec_p95_ms,
        write_tx_per_run: dbf.write_tx_per_run,
        cpu_node_cores: dbf.cpu_node_cores,
        cpu_other_cores: dbf.cpu_other_cores,
        pg_active: activity,
        ...(stats0 ? { table_scans: statsDelta(stats0, await settledStats(), SHORT) } : {}),
        tasks_mod_since_analyze: [modAtStart, await modSinceAnalyze(db.admin, "tasks")],
      }
    }
    // Table scan counters only for the first round of each group (each costs two 11 s pauses).
    const group = async (ws: ReadonlyArray<ReturnType<typeof shortWorkflow>>) => {
      const out: Array<Record<string, unknown>> = []
      for (const [k, w] of ws.entries()) out.push(await phase(w, k === 0))
      return out
    }
    await phase(warm, false) // not reported: JIT and prepared statements
    const as = await group(without)
    log("[claim_with_backlog] without backlog", as)
    const t0 = now()
    for (let base = 0; base < SIZE; base += BATCH) {
      const batch: Array<Promise<unknown>> = []
      for (let i = base; i < Math.min(SIZE, base + BATCH); i++) batch.push(mesh.start(Sleeper, { i }))
      await Promise.all(batch)
      if ((base / BATCH) % 20 === 0) log(`[claim_with_backlog] backlog ${base + batch.length}/${SIZE}`)
    }
    const insertMs = now() - t0
    const bs = await group(withB)
    log("[claim_with_backlog] with backlog", bs)
    // The same again once the planner knows the table's size (what autovacuum does on its own, eventually).
    await db.admin.unsafe("ANALYZE squid_mesh.tasks, squid_mesh.runs, squid_mesh.entries")
    const cs = await group(analyzed)
    log("[claim_with_backlog] with backlog, after ANALYZE", cs)
    // Medians over rounds, pg_active of the last round, table_scans of the first, and per round:
    // runs/s, the planner's staleness at the start, and the busiest statement.
    const summary = (rs: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> => ({
      ...medianRow(rs),
      table_scans: rs[0]!.table_scans,
      per_round: rs.map((r) => {
        const top = (r.pg_active as { top: Array<{ statement: string; avg_active: number }> }).top[0]
        return {
          runs_per_sec: r.runs_per_sec,
          tasks_mod_since_analyze: (r.tasks_mod_since_analyze as Array<number>)[0],
          busiest: top ? `${top.statement} ${top.avg_active}` : null,
        }
      }),
    })
    const [a, b, c] = [summary(as), summary(bs), summary(cs)]
    // 100 due tasks (no worker running) so the probes find rows to lock, as a real claim would.
    await startAll(mesh, probe.workflow, 100)
    const [tasks] = await db.admin.unsafe<Array<Record<string, unknown>>>(
      `SELECT count(*)::int AS rows, pg_relation_size('squid_mesh.tasks')::bigint AS heap_bytes,
        pg_relation_size('squid_mesh.tasks_claim_idx')::bigint AS claim_idx_bytes,
        (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'squid_mesh.tasks'::regclass)::int AS dead_tuples,
        (SELECT last_autoanalyze IS NOT NULL FROM pg_stat_user_tables WHERE relid = 'squid_mesh.tasks'::regclass) AS autoanalyzed
       FROM squid_mesh.tasks`,
    )
    emitLine({
      measurement: "claim_with_backlog",
      short_runs: SHORT,
      steps_per_run: 1,
      rounds: ROUNDS,
      backlog_runs: SIZE,
      backlog_method: `mesh.start (public API), ${BATCH} concurrent calls per batch, batches sequential`,
      backlog_insert_ms: r2(insertMs),
      backlog_starts_per_sec: r2((SIZE * 1000) / insertMs),
      without_backlog: a,
      with_backlog: b,
      with_backlog_after_analyze: c,
      with_over_without: r2((b.runs_per_sec as number) / (a.runs_per_sec as number)),
      analyzed_over_without: r2((c.runs_per_sec as number) / (a.runs_per_sec as number)),
      tasks_table: { ...tasks, heap_bytes: Number(tasks?.heap_bytes), claim_idx_bytes: Number(tasks?.claim_idx_bytes) },
      claim_explain_custom: await explainSummary(db.admin, claimProbeSql(false), false),
      claim_explain_generic: await explainSummary(db.admin, claimProbeSql(true), true, `('default', ${Date.now()}, 10)`),
      next_due_explain: await explainSummary(db.admin, "SELECT min(available_at) FROM squid_mesh.tasks WHERE queue = 'default'", false),
    })
  } finally {
    await mesh.close()
  }
}

// ---- peak_rss ---------------------------------------------------------------------------------

const peakRss = async (db: BenchDb) => {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("./wfbench.js", import.meta.url)), "W1"], {
      env: { ...process.env, DATABASE_URL: db.url },
      stdio: ["ignore", "pipe", "inherit"],
    })
    let text = ""
    child.stdout!.on("data", (d: Buffer) => (text += d.toString()))
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wfbench W1 exited with ${code}`))))
  })
  const line = JSON.parse(
    out
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .pop()!,
  ) as Record<string, unknown>
  emitLine({
    measurement: "peak_rss",
    w1_process_peak_rss_mb: line.peak_rss_mb,
    w1_process_source: `${line.peak_rss_source} of wfbench.js W1 (starts ${N1} runs and runs the worker, concurrency 10)`,
    w1_runs_per_sec: line.runs_per_sec,
    worker_only_processes: workerRss.length ? workerRss : "run w1_scaling in the same invocation for worker-only figures",
  })
}

// ---- main -------------------------------------------------------------------------------------

const ALL = { w1_scaling: w1Scaling, claim_with_backlog: claimWithBacklog, peak_rss: peakRss, runs_1m: runs1m, dynamic_fanout: dynamicFanout } as const

const main = async () => {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
  const names = (wanted.length ? wanted : Object.keys(ALL)) as Array<keyof typeof ALL>
  for (const n of names) if (!(n in ALL)) throw new Error(`unknown measurement ${n} (want ${Object.keys(ALL).join(", ")})`)
  const db = await openDb()
  try {
    for (const n of names) {
      log(`[extras] ${n}`)
      try {
        await ALL[n](db)
      } catch (e) {
        log(e instanceof Error && e.stack ? e.stack : String(e))
        emitLine({ measurement: n, ok: false, error: String(e instanceof Error ? e.message : e) })
      }
    }
  } finally {
    await db.close()
  }
}

if (process.argv[2] === "--worker") {
  workerChild(Number(process.argv[3] || 10)).catch((e: unknown) => {
    log(String(e instanceof Error && e.stack ? e.stack : e))
    process.exit(1)
  })
} else {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      log(String(e instanceof Error && e.stack ? e.stack : e))
      process.exit(1)
    },
  )
}
