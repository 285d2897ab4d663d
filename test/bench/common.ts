/**
 * Shared helpers of the Squid Mesh benchmarks (test/bench/wfbench.ts, test/bench/extras.ts):
 * a TypeScript port of /work/shared/bench/peers/lib/common.js (timing, percentiles, the
 * `wfbench/1` result line, the watchdog, the write-cost and CPU counters with the same
 * queries), plus what only our engine needs: the database (DATABASE_URL, else a throwaway
 * durable cluster), the schema reset, and a Store wrapper that timestamps each run's final
 * commit (the moment its completion is durable).
 *
 * Stdout carries only the result line: console.log/info/debug/warn (and Effect's default
 * logger, which writes through them) are redirected to stderr on import.
 */
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { Effect, Layer } from "effect"
import postgres from "postgres"
import { PostgresStore, Store, type StoreError, type StoreService } from "../../src/index.js"
import { startCluster, type PgCluster } from "../support/pgCluster.js"

const stdoutWrite = process.stdout.write.bind(process.stdout)
for (const m of ["log", "info", "debug", "warn"] as const) console[m] = (...args: Array<unknown>) => console.error(...args)

/** Monotonic milliseconds (float). */
export const now = (): number => performance.now()
/** Epoch milliseconds with sub-ms resolution, comparable across processes of one machine. */
export const epochNow = (): number => performance.timeOrigin + performance.now()

export const r2 = (x: number | null | undefined): number | null => (x == null || Number.isNaN(x) ? null : Math.round(x * 100) / 100)

/** Linear interpolation between closest ranks (numpy's default). */
export const percentile = (values: ReadonlyArray<number>, p: number): number | null => {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const idx = (p / 100) * (s.length - 1)
  const lo = Math.floor(idx)
  const hi = Math.ceil(idx)
  return s[lo]! + (s[hi]! - s[lo]!) * (idx - lo)
}

const minOf = (v: ReadonlyArray<number>) => v.reduce((a, b) => Math.min(a, b), Infinity)
const maxOf = (v: ReadonlyArray<number>) => v.reduce((a, b) => Math.max(a, b), -Infinity)

export const latencyStats = (values: ReadonlyArray<number>, prefix = ""): Record<string, number | null> => ({
  [`${prefix}p50_ms`]: r2(percentile(values, 50)),
  [`${prefix}p95_ms`]: r2(percentile(values, 95)),
  [`${prefix}p99_ms`]: r2(percentile(values, 99)),
  [`${prefix}max_ms`]: r2(maxOf(values)),
  [`${prefix}min_ms`]: r2(minOf(values)),
})

/** Median of each numeric field across rounds (other fields from the last round). */
export const medianRow = (rows: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...rows[rows.length - 1] }
  for (const [k, v] of Object.entries(out))
    if (typeof v === "number")
      out[k] = r2(
        percentile(
          rows.map((r) => r[k] as number),
          50,
        ),
      )
  return out
}

/** W1 summary from per-run times (same as common.js's w1Result). */
export const w1Result = (starts: ReadonlyArray<number>, ends: ReadonlyArray<number | undefined>, bodyStarts?: ReadonlyArray<number | undefined>) => {
  const n = starts.length
  const missing = ends.filter((e) => typeof e !== "number").length
  if (missing) throw new Error(`${missing} runs have no completion time`)
  const e = ends as ReadonlyArray<number>
  const totalMs = maxOf(e) - minOf(starts)
  const res: Record<string, unknown> = {
    n,
    total_ms: r2(totalMs),
    runs_per_sec: r2((n * 1000) / totalMs),
    ...latencyStats(starts.map((s, i) => e[i]! - s)),
  }
  if (bodyStarts)
    Object.assign(
      res,
      latencyStats(
        bodyStarts.map((b, i) => e[i]! - (b ?? NaN)),
        "exec_",
      ),
    )
  return res
}

export const log = (...args: Array<unknown>): void => {
  process.stderr.write(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") + "\n")
}

let emitted = false
/** Prints the one `wfbench/1` line (once). */
export const emit = (obj: Record<string, unknown>): void => {
  if (emitted) return
  emitted = true
  stdoutWrite(JSON.stringify({ schema: "wfbench/1", ...obj, node: process.version, ts: new Date().toISOString() }) + "\n")
}
/** Prints one JSON line on stdout (extras: one per measurement). */
export const emitLine = (obj: Record<string, unknown>): void => {
  stdoutWrite(JSON.stringify(obj) + "\n")
}

/** Peak RSS of this process so far (getrusage ru_maxrss), in MB. */
export const peakRssMb = (): number => r2(process.resourceUsage().maxRSS / 1024)!

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Resolves when `pred()` is true; rejects after timeoutMs. */
export const waitUntil = async (pred: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20, what = "condition") => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await pred()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(stepMs)
  }
}

/** A promise resolved when `done()` has been called `target` times. */
export const countdown = (target: number) => {
  let n = 0
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  if (target <= 0) resolve()
  return {
    done() {
      if (++n === target) resolve()
    },
    get count() {
      return n
    },
    promise,
  }
}

/** W3: waits a random 0..W3_PHASE_MS (default 2000) ms so timers fall due at a random phase of any polling loop. */
export const randomPhase = async (): Promise<number | null> => {
  const ms = Math.random() * Number(process.env.W3_PHASE_MS ?? 2000)
  await sleep(ms)
  return r2(ms)
}

/** Our package version. Looked up upwards: the bench runs from dist-bench/test/bench/ (compiled) or test/bench/. */
export const engineVersion = (): string => {
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version: string }
      if (pkg.name === "squid-mesh") return pkg.version
    } catch {
      // not there: try the next level up
    }
  }
  return "unknown"
}

// ---- database ---------------------------------------------------------------------------

/** The database: DATABASE_URL, or a throwaway durable cluster (fsync on) stopped by `close`. */
export interface BenchDb {
  readonly url: string
  /** A one-connection pool for the harness' own queries (counters, checks, resets). */
  readonly admin: postgres.Sql
  readonly cluster: PgCluster | undefined
  readonly close: () => Promise<void>
}

let liveCluster: PgCluster | undefined
const stopCluster = () => {
  const c = liveCluster
  liveCluster = undefined
  if (c) c.stop()
}
process.on("exit", stopCluster)
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130))

export const openDb = async (): Promise<BenchDb> => {
  let url = process.env.DATABASE_URL
  let cluster: PgCluster | undefined
  if (!url) {
    log("[bench] DATABASE_URL not set: starting a throwaway durable cluster")
    cluster = liveCluster = await startCluster({ durable: true })
    url = cluster.url
  }
  const admin = postgres(url, { max: 1, onnotice: () => undefined })
  return {
    url,
    admin,
    cluster,
    close: async () => {
      await admin.end({ timeout: 5 })
      stopCluster()
    },
  }
}

/** Drops our schema (not timed); the store's open re-applies the migrations. */
export const resetSchema = async (admin: postgres.Sql) => {
  await admin.unsafe("DROP SCHEMA IF EXISTS squid_mesh CASCADE")
}

export const countRuns = async (admin: postgres.Sql, workflow: string, status = "completed"): Promise<number> => {
  const [row] = await admin.unsafe<Array<{ n: number }>>("SELECT count(*)::int AS n FROM squid_mesh.runs WHERE workflow = $1 AND status = $2", [
    workflow,
    status,
  ])
  return row?.n ?? 0
}

// ---- write cost and CPU (same queries and arithmetic as common.js) -----------------------

const machineBusyMs = (): number | null => {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f
    return (user + nice + system + irq + softirq + (steal || 0)) * 10 // USER_HZ = 100
  } catch {
    return null
  }
}

export interface Counters {
  readonly xid: number
  readonly lsn: string
  readonly t: number
  readonly cpu: NodeJS.CpuUsage
  readonly busy: number | null
}

export const dbCounters = async (admin: postgres.Sql): Promise<Counters> => {
  const [row] = await admin.unsafe<Array<{ xid: string; lsn: string }>>("SELECT pg_current_xact_id()::text::bigint AS xid, pg_current_wal_lsn()::text AS lsn")
  return { xid: Number(row!.xid), lsn: row!.lsn, t: now(), cpu: process.cpuUsage(), busy: machineBusyMs() }
}

export const dbDelta = async (admin: postgres.Sql, before: Counters, units: number, unitName: string) => {
  const wall = now() - before.t
  const cpu = process.cpuUsage(before.cpu)
  const busy = machineBusyMs()
  const after = await dbCounters(admin)
  const [row] = await admin.unsafe<Array<{ b: string }>>("SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint AS b", [after.lsn, before.lsn])
  const tx = after.xid - before.xid - 1
  const wal = Number(row!.b)
  const nodeMs = (cpu.user + cpu.system) / 1000
  const out: Record<string, number | null> = {
    db_write_tx: tx,
    db_wal_bytes: wal,
    [`write_tx_per_${unitName}`]: r2(tx / units),
    [`wal_bytes_per_${unitName}`]: Math.round(wal / units),
    cpu_window_ms: r2(wall),
    cpu_node_cores: r2(nodeMs / wall),
  }
  if (busy != null && before.busy != null) out.cpu_other_cores = r2(Math.max(0, busy - before.busy - nodeMs) / wall)
  return out
}

// ---- completion tracking ------------------------------------------------------------------

/**
 * Timestamps (`now()`) of the store commits that moved a run to `completed`, taken when the
 * commit returned, i.e. when the run's completion is durable. Fed by `trackedStore`.
 */
export class CompletionTracker {
  readonly at = new Map<string, number>()
  private readonly waiters = new Map<string, (t: number) => void>()
  constructor(private readonly clock: () => number = now) {}
  record(runId: string): void {
    const t = this.clock()
    if (!this.at.has(runId)) this.at.set(runId, t)
    this.waiters.get(runId)?.(t)
    this.waiters.delete(runId)
    this.onRecord?.(runId, t)
  }
  onRecord: ((runId: string, t: number) => void) | undefined
  /** Resolves with the completion time of a run (immediately if already seen). */
  wait(runId: string): Promise<number> {
    const t = this.at.get(runId)
    return t !== undefined ? Promise.resolve(t) : new Promise((r) => this.waiters.set(runId, r))
  }
}

/**
 * The postgres.js store (pool of `max`), with `commit` wrapped to report completed runs to
 * the tracker. Only the public Store port is used; every other operation passes through.
 */
export const trackedStore = (url: string, tracker: CompletionTracker, max = 10): Layer.Layer<Store, StoreError> =>
  Layer.effect(
    Store,
    Effect.map(
      Store,
      (inner): StoreService => ({
        ...inner,
        commit: (c) =>
          Effect.tap(inner.commit(c), (r) => {
            if (r._tag === "Committed" && c.run?.status === "completed") tracker.record(c.runId)
          }),
      }),
    ),
  ).pipe(Layer.provide(PostgresStore.layer({ url, max })))

/** Installs the common.js watchdog: a result line with ok:false and exit 3 after `ms`. */
export const installWatchdog = (base: Record<string, unknown>, ms = Number(process.env.BENCH_TIMEOUT_MS || 270000)) => {
  const t = setTimeout(() => {
    emit({ ...base, ok: false, error: `watchdog: no result after ${ms} ms` })
    process.exit(3)
  }, ms)
  t.unref()
}
