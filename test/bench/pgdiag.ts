/**
 * Postgres-side diagnostics for the benchmarks (used by test/bench/extras.ts): where the
 * database's time goes while a phase runs, without pg_stat_statements.
 *
 * - `explainSummary`: EXPLAIN (ANALYZE, BUFFERS) of a statement, custom or generic plan,
 *   inside a transaction that is rolled back, summarised (node types, rows, buffers, time).
 * - `activitySampler`: samples pg_stat_activity every few ms on its own connection; reports
 *   for each statement (first characters, with its wait event or CPU) the average number of
 *   backends running it, i.e. roughly how many cores Postgres spent on it.
 * - `tableStats` / `statsDelta`: seq/index scan counters of our tables (pg_stat_user_tables).
 *   Idle backends flush them within 10 s, so let them settle before reading.
 * - `modSinceAnalyze`: rows changed since the table's last ANALYZE (stale planner statistics).
 * - `claimProbeSql`: the claim's row-locking SELECT, for EXPLAIN.
 */
import postgres from "postgres"
import { r2, sleep } from "./common.js"

type Row = Record<string, unknown>

/**
 * A statement with the claim's WHERE / ORDER BY / LIMIT and FOR UPDATE SKIP LOCKED (the `due`
 * part of `claim` in src/store/sql/SqlStore.ts), literal (custom plan) or with $1..$3 (generic).
 */
export const claimProbeSql = (generic: boolean) =>
  `SELECT run_id, seq, available_at FROM squid_mesh.tasks
   WHERE queue = ${generic ? "$1" : "'default'"} AND available_at <= (timestamptz 'epoch' + ${generic ? "$2" : String(Date.now())}::float8 * interval '1 millisecond')
   ORDER BY available_at, run_id, seq LIMIT ${generic ? "$3" : "10"} FOR UPDATE SKIP LOCKED`

/** Plan summary of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON). `args` is `(v1, v2, …)` for a generic plan. */
export const explainSummary = async (admin: postgres.Sql, sql: string, generic: boolean, args = "") => {
  let doc: Array<Row> = []
  await admin
    .begin(async (tx) => {
      if (generic) {
        await tx.unsafe("SET LOCAL plan_cache_mode = force_generic_plan")
        await tx.unsafe(`PREPARE bench_probe AS ${sql}`)
      }
      const rows = await tx.unsafe(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${generic ? `EXECUTE bench_probe${args}` : sql}`)
      doc = (rows[0] as Row)["QUERY PLAN"] as Array<Row>
      throw new Error("rollback")
    })
    .catch((e: unknown) => {
      if (!(e instanceof Error && e.message === "rollback")) throw e
    })
  const top = doc[0]!
  const plan = top.Plan as Row
  const nodes: Array<string> = []
  let scan: Row | undefined
  const walk = (n: Row) => {
    nodes.push(`${n["Node Type"]}${n["Index Name"] ? ` using ${n["Index Name"]}` : ""}`)
    if (String(n["Node Type"]).includes("Scan")) scan ??= n
    for (const c of (n.Plans as Array<Row> | undefined) ?? []) walk(c)
  }
  walk(plan)
  return {
    plan: nodes.join(" > "),
    index_scan: nodes.some((x) => x.includes("Index")),
    scan_rows: scan?.["Actual Rows"] ?? null,
    shared_hit_blocks: plan["Shared Hit Blocks"] ?? null,
    shared_read_blocks: plan["Shared Read Blocks"] ?? null,
    execution_ms: top["Execution Time"] ?? null,
  }
}

const LABELS: ReadonlyArray<[string, string]> = [
  ["WITH c AS", "commit"],
  ["WITH due AS", "claim"],
  ["WITH r AS", "createRuns"],
  ["SELECT (extract(epoch from min(available_at", "nextDueAt"],
]
const label = (q: string) => LABELS.find(([prefix]) => q.startsWith(prefix))?.[1] ?? q

/** Starts sampling the engine's active statements; `stop()` returns the top ones. */
export const activitySampler = (url: string, applicationName = "squid-mesh", everyMs = 5) => {
  const sql = postgres(url, { max: 1, onnotice: () => undefined })
  const counts = new Map<string, number>()
  let samples = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql.unsafe<Array<{ q: string; w: string }>>(
        `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 48) AS q, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w
         FROM pg_stat_activity WHERE state = 'active' AND application_name = $1`,
        [applicationName],
      )
      samples++
      for (const r of rows) counts.set(`${label(r.q)} [${r.w}]`, (counts.get(`${label(r.q)} [${r.w}]`) ?? 0) + 1)
      await sleep(everyMs)
    }
  })()
  return {
    stop: async (top = 6) => {
      stopped = true
      await loop
      await sql.end({ timeout: 5 })
      const total = [...counts.values()].reduce((a, b) => a + b, 0)
      return {
        samples,
        avg_active_backends: r2(total / Math.max(1, samples)),
        top: [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, top)
          .map(([statement, n]) => ({ statement, avg_active: r2(n / Math.max(1, samples)) })),
      }
    },
  }
}

export type TableStats = Record<string, { seq_scan: number; seq_tup_read: number; idx_scan: number }>

/** Scan counters of squid_mesh's tables, after a short pause for exiting backends to flush. */
export const tableStats = async (admin: postgres.Sql): Promise<TableStats> => {
  await sleep(200)
  const rows = await admin.unsafe<Array<{ relname: string; seq_scan: string; seq_tup_read: string; idx_scan: string | null }>>(
    "SELECT relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables WHERE schemaname = 'squid_mesh'",
  )
  return Object.fromEntries(
    rows.map((r) => [r.relname, { seq_scan: Number(r.seq_scan), seq_tup_read: Number(r.seq_tup_read), idx_scan: Number(r.idx_scan ?? 0) }]),
  )
}

/** Per-unit deltas of the tables that scanned anything. */
export const statsDelta = (before: TableStats, after: TableStats, units: number) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([t, a]) => {
        const b = before[t] ?? { seq_scan: 0, seq_tup_read: 0, idx_scan: 0 }
        return [
          t,
          {
            seq_scans_per_run: r2((a.seq_scan - b.seq_scan) / units),
            seq_rows_read_per_run: r2((a.seq_tup_read - b.seq_tup_read) / units),
            idx_scans_per_run: r2((a.idx_scan - b.idx_scan) / units),
          },
        ] as const
      })
      .filter(([, d]) => (d.seq_scans_per_run ?? 0) > 0 || (d.idx_scans_per_run ?? 0) > 0),
  )

/** Rows changed in a squid_mesh table since its statistics were last gathered (auto or manual ANALYZE). */
export const modSinceAnalyze = async (admin: postgres.Sql, table: string): Promise<number> => {
  const [row] = await admin.unsafe<Array<{ n: string }>>(
    "SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables WHERE schemaname = 'squid_mesh' AND relname = $1",
    [table],
  )
  return Number(row?.n ?? NaN)
}
