/**
 * Reading the costs out of a V8 `.cpuprofile` (what `node --cpu-prof` writes) and out of the
 * Postgres processes, for ./profile.ts.
 *
 * - `selfTimes`: self time per function over a time window (samples outside it are dropped),
 *   plus totals per file group, so the hot path can be named as (function, file).
 * - `clusterCpuMs`: CPU time of one Postgres cluster (postmaster and its children) from
 *   /proc, so other clusters on a shared box are not counted.
 * - `statementStats`: pg_stat_statements, when the server has it loaded.
 */
import { readFileSync, readdirSync } from "node:fs"
import type postgres from "postgres"
import { r2 } from "./common.js"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
export interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** A short location: the path below the project (dist-bench/ stripped), node:internal, or the package under node_modules. */
export const shortUrl = (url: string, root: string): string => {
  if (!url) return "(native)"
  let u = url.replace(/^file:\/\//, "")
  const nm = u.lastIndexOf("/node_modules/")
  if (nm >= 0) return u.slice(nm + "/node_modules/".length)
  if (u.startsWith(root)) u = u.slice(root.length).replace(/^\/+/, "")
  return u.replace(/^dist-bench\//, "")
}

/** Which part of the process a location belongs to: ours (src/dsl/runtime), the bench, effect, postgres, node, other. */
export const groupOf = (file: string): string => {
  if (/^(src|dsl|runtime)\//.test(file)) return "squid-mesh"
  if (file.startsWith("test/")) return "bench harness"
  if (file.startsWith("effect/")) return "effect"
  if (file.startsWith("postgres/")) return "postgres.js"
  if (file.startsWith("node:")) return "node internals"
  if (file.startsWith("(")) return file
  return file.split("/")[0] ?? file
}

/**
 * Self time per (function, file:line) within [fromUs, toUs] (profile clock, µs), as shares of
 * the non-idle samples. Samples are counted, not weighted by the time to the next one: on a
 * busy box the sampler thread is descheduled too, and one sample before a long gap would
 * otherwise take all of it. Native frames (GC, socket writes) are named with their JS caller.
 * `(idle)` is counted apart: it is not CPU.
 */
export const selfTimes = (profile: CpuProfile, root: string, fromUs = -Infinity, toUs = Infinity) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const perNode = new Map<number, number>()
  let t = profile.startTime
  let idle = 0
  let busy = 0
  for (let k = 0; k < profile.samples.length; k++) {
    t += profile.timeDeltas[k] ?? 0
    if (t < fromUs || t > toUs) continue
    const id = profile.samples[k]!
    if (byId.get(id)?.callFrame.functionName === "(idle)") idle++
    else {
      busy++
      perNode.set(id, (perNode.get(id) ?? 0) + 1)
    }
  }
  const where = (cf: CallFrame) => (cf.url ? `${shortUrl(cf.url, root)}:${cf.lineNumber + 1}` : "(native)")
  const byFn = new Map<string, { function: string; file: string; n: number }>()
  const byGroup = new Map<string, number>()
  for (const [id, n] of perNode) {
    const cf = byId.get(id)!.callFrame
    const up = parent.get(id)
    const caller = !cf.url && up !== undefined ? byId.get(up)?.callFrame : undefined
    const name = (cf.functionName || "(anonymous)") + (caller?.functionName ? ` <- ${caller.functionName}` : "")
    const file = caller ? where(caller) : where(cf)
    const key = `${name} ${file}`
    const e = byFn.get(key) ?? { function: name, file, n: 0 }
    e.n += n
    byFn.set(key, e)
    const g = groupOf(cf.url ? shortUrl(cf.url, root) : "(native)")
    byGroup.set(g, (byGroup.get(g) ?? 0) + n)
  }
  const pct = (n: number) => r2((100 * n) / Math.max(1, busy))!
  const top = (n: number) =>
    [...byFn.values()]
      .sort((a, b) => b.n - a.n)
      .slice(0, n)
      .map((e) => ({ function: e.function, file: e.file, samples: e.n, self_pct: pct(e.n) }))
  const groups = [...byGroup.entries()].sort((a, b) => b[1] - a[1]).map(([group, n]) => ({ group, samples: n, self_pct: pct(n) }))
  return { busy_samples: busy, idle_samples: idle, top, groups }
}

/** CPU ms (user + system) of a process and its direct children, from /proc (clock ticks of 10 ms). */
export const clusterCpuMs = (postmasterPid: number): { ms: number; processes: number } | null => {
  const read = (pid: string) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      // Fields after the ")" of comm: state ppid ... utime(14) stime(15), counted from 1.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) }
    } catch {
      return undefined
    }
  }
  if (!read(String(postmasterPid))) return null
  let ticks = 0
  let processes = 0
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const p = read(pid)
    if (p && (Number(pid) === postmasterPid || p.ppid === postmasterPid)) {
      ticks += p.ticks
      processes++
    }
  }
  return { ms: ticks * 10, processes }
}

/** The postmaster's pid: the parent of our own backend (null when the server is not on this machine). */
export const postmasterPid = async (admin: postgres.Sql): Promise<number | null> => {
  const [row] = await admin.unsafe<Array<{ pid: number }>>("SELECT pg_backend_pid() AS pid")
  try {
    const stat = readFileSync(`/proc/${row!.pid}/stat`, "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
  } catch {
    return null
  }
}

/** Creates pg_stat_statements if the server preloads it; false otherwise. */
export const enableStatements = async (admin: postgres.Sql): Promise<boolean> => {
  try {
    await admin.unsafe("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await admin.unsafe("SELECT pg_stat_statements_reset()")
    return true
  } catch {
    return false
  }
}

/** The engine's statements by total execution time (wall time inside the executor, not CPU). */
export const statementStats = async (admin: postgres.Sql, units: number, top = 8) => {
  const rows = await admin.unsafe<Array<{ q: string; calls: string; total_ms: number; rows: string }>>(
    `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q, calls, total_exec_time AS total_ms, rows
     FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%pg_current_%'
     ORDER BY total_exec_time DESC LIMIT ${top}`,
  )
  const total = rows.reduce((a, r) => a + r.total_ms, 0)
  return {
    exec_us_per_step_top: r2((total * 1000) / units),
    statements: rows.map((r) => ({
      statement: r.q,
      calls_per_step: r2(Number(r.calls) / units),
      exec_us_per_step: r2((r.total_ms * 1000) / units),
      us_per_call: r2((r.total_ms * 1000) / Math.max(1, Number(r.calls))),
    })),
  }
}
