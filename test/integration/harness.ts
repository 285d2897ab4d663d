/**
 * Shared pieces of the crash-safety suite: starting runs, waiting for them with a deadline
 * (and a readable report of the stuck ones), the exactly-once checks, and the kill summary.
 */
import { isDeepStrictEqual } from "node:util"
import type postgres from "postgres"
import type { MeshClient, RunView } from "../../src/index.js"
import { CrashFlow, STEP_NAMES, expected } from "./crashWorkflows.js"
import type { KillRecord } from "./workerProcess.js"

/** Runs `f` over `items`, `concurrency` at a time. */
export const mapPool = async <A, B>(items: ReadonlyArray<A>, concurrency: number, f: (a: A, i: number) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await f(items[i]!, i)
      }
    }),
  )
  return out
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts runs n = 0..count-1 with idempotency keys `${prefix}-${n}`; returns run id by n. */
export const startRuns = async (mesh: MeshClient, prefix: string, count: number): Promise<Array<string>> =>
  mapPool(
    Array.from({ length: count }, (_, n) => n),
    8,
    async (n) => {
      const started = await mesh.start(CrashFlow, { n }, { idempotencyKey: `${prefix}-${n}` })
      if (!started.created) throw new Error(`run ${prefix}-${n} was not created`)
      return started.runId
    },
  )

/** Run status counts straight from the table; undefined while the database is unreachable. */
export const statusCounts = async (sql: postgres.Sql): Promise<Record<string, number> | undefined> => {
  try {
    const rows = await sql<Array<{ status: string; count: string }>>`SELECT status, count(*) FROM squid_mesh.runs GROUP BY status`
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]))
  } catch {
    return undefined
  }
}

const terminal = (counts: Record<string, number>) => (counts.completed ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0)

/** Compact journal of a run, for failure messages. */
export const explain = (view: RunView): string => {
  const lines = [
    `run ${view.id} status=${view.status} revision=${view.revision} input=${JSON.stringify(view.input)}${view.error ? ` error=${JSON.stringify(view.error)}` : ""}`,
  ]
  for (const e of view.history ?? []) {
    lines.push(
      `  #${e.seq} ${e.kind} ${e.name} ${e.status} attempts=${e.attemptCount} output=${JSON.stringify(e.output)}${e.error ? ` error=${JSON.stringify(e.error)}` : ""}`,
    )
    for (const a of e.attempts) lines.push(`      attempt ${a.attempt} ${a.status} owner=${a.owner}${a.error ? ` ${a.error.code}: ${a.error.message}` : ""}`)
  }
  for (const t of view.tasks ?? []) lines.push(`  task seq=${t.seq} ${JSON.stringify(t)}`)
  return lines.join("\n")
}

/**
 * Polls until every run is terminal. Progress decides, not the wall clock: it gives up only
 * when no run has finished for `stallMs` (a slow, loaded machine still gets there), and then
 * throws with the status counts, the journals of a few stuck runs and whatever `context()`
 * adds (the workers' output).
 */
export const awaitAllTerminal = async (options: {
  readonly sql: postgres.Sql
  readonly mesh: MeshClient
  readonly total: number
  readonly stallMs: number
  readonly context: () => string
  readonly onTick?: (counts: Record<string, number>) => void | Promise<void>
}): Promise<Record<string, number>> => {
  let deadline = Date.now() + options.stallMs
  let last: Record<string, number> | undefined
  let finished = -1
  for (;;) {
    const counts = await statusCounts(options.sql)
    if (counts) {
      last = counts
      await options.onTick?.(counts)
      if (terminal(counts) >= options.total) return counts
      if (terminal(counts) > finished) {
        finished = terminal(counts)
        deadline = Date.now() + options.stallMs
      }
    }
    if (Date.now() > deadline) break
    await sleep(200)
  }
  let stuck = ""
  try {
    const rows = await options.sql<Array<{ id: string }>>`SELECT id FROM squid_mesh.runs WHERE status = 'running' ORDER BY updated_at LIMIT 5`
    const views = await Promise.all(rows.map((r) => options.mesh.inspectRun(r.id, { history: true })))
    stuck = views.map(explain).join("\n")
  } catch (error) {
    stuck = `(could not inspect the stuck runs: ${String(error)})`
  }
  throw new Error(
    `no run finished for ${options.stallMs} ms: ${JSON.stringify(last)} of ${options.total}\n` +
      `oldest stuck runs:\n${stuck}\n\nworkers:\n${options.context()}`,
  )
}

/** What the exactly-once checks found. `problems` is empty when everything holds. */
export interface Verdict {
  readonly problems: Array<string>
  readonly sideEffectRows: number
  readonly reexecutions: number
  readonly failedAttempts: number
  readonly ledgerRows: number
}

/**
 * The exactly-once checks over every run (by n): completed with the expected output; the
 * journal holds steps a, b, c, d, e at seqs 1..5, each completed once with its expected output
 * and exactly one completed attempt; no live tasks; one ledger row per run; at least one
 * side-effect row per (run, step); the tasks table is empty.
 */
export const verifyExactlyOnce = async (sql: postgres.Sql, mesh: MeshClient, runIds: ReadonlyArray<string>): Promise<Verdict> => {
  const problems: Array<string> = []
  const problem = (p: string) => problems.length < 200 && problems.push(p)
  const views = await mapPool(runIds, 8, (id) => mesh.inspectRun(id, { history: true }))
  const expectedSteps = (n: number): Record<string, unknown> => ({ a: expected.a(n), b: expected.b(n), c: expected.c(n), d: expected.d(n), e: expected.e(n) })
  // For runs that did not complete: what their steps wrote, by whom and when (vs. the kill log).
  const writes = async (runId: string) => {
    const ledger = await sql`SELECT pid, attempt, at FROM ledger WHERE run_id = ${runId}`
    const effects = await sql`SELECT step, attempt, pid, at FROM side_effects WHERE run_id = ${runId} ORDER BY id`
    return `  ledger rows: ${JSON.stringify(ledger)}\n  side effects: ${JSON.stringify(effects)}`
  }
  const incomplete = new Map<string, string>()
  for (const view of views) if (view.status !== "completed") incomplete.set(view.id, await writes(view.id))
  views.forEach((view, n) => {
    const where = `run n=${n} (${view.id})`
    if (view.status !== "completed") return problem(`${where}: status ${view.status}\n${explain(view)}\n${incomplete.get(view.id)}`)
    if (!isDeepStrictEqual(view.output, expected.run(n)))
      problem(`${where}: output ${JSON.stringify(view.output)}, expected ${JSON.stringify(expected.run(n))}`)
    const history = view.history ?? []
    const names = history.map((e) => e.name)
    if (!isDeepStrictEqual(names, [...STEP_NAMES])) problem(`${where}: journal names ${JSON.stringify(names)}\n${explain(view)}`)
    const seqs = history.map((e) => e.seq)
    if (!isDeepStrictEqual(seqs, [1, 2, 3, 4, 5])) problem(`${where}: journal seqs ${JSON.stringify(seqs)}\n${explain(view)}`)
    const want = expectedSteps(n)
    for (const entry of history) {
      if (entry.kind !== "step" || entry.status !== "completed") problem(`${where}: entry #${entry.seq} ${entry.kind} ${entry.name} is ${entry.status}`)
      if (!isDeepStrictEqual(entry.output, want[entry.name]))
        problem(`${where}: ${entry.name} output ${JSON.stringify(entry.output)}, expected ${JSON.stringify(want[entry.name])}`)
      const completed = entry.attempts.filter((a) => a.status === "completed")
      if (completed.length !== 1) problem(`${where}: ${entry.name} has ${completed.length} completed attempts\n${explain(view)}`)
      else if (completed[0]!.attempt !== entry.attemptCount)
        problem(`${where}: ${entry.name} completed attempt ${completed[0]!.attempt} but attemptCount ${entry.attemptCount}`)
    }
    if ((view.tasks ?? []).length > 0) problem(`${where}: live tasks remain ${JSON.stringify(view.tasks)}`)
  })

  const ids = [...runIds]
  const [tasks] = await sql<Array<{ count: string }>>`SELECT count(*) FROM squid_mesh.tasks`
  if (Number(tasks!.count) !== 0) problem(`squid_mesh.tasks still holds ${tasks!.count} rows`)
  const [entries] = await sql<Array<{ count: string }>>`SELECT count(*) FROM squid_mesh.entries WHERE run_id = ANY(${ids}::uuid[])`
  if (Number(entries!.count) !== ids.length * STEP_NAMES.length) problem(`squid_mesh.entries holds ${entries!.count} rows for ${ids.length} runs`)
  const attempts = await sql<Array<{ run_id: string; seq: number; completed: string; failed: string }>>`
    SELECT run_id, seq, count(*) FILTER (WHERE status = 'completed') AS completed, count(*) FILTER (WHERE status = 'failed') AS failed
    FROM squid_mesh.attempts WHERE run_id = ANY(${ids}::uuid[]) GROUP BY run_id, seq`
  let failedAttempts = 0
  for (const a of attempts) {
    failedAttempts += Number(a.failed)
    if (Number(a.completed) !== 1) problem(`attempts of ${a.run_id} #${a.seq}: ${a.completed} completed`)
  }
  if (attempts.length !== ids.length * STEP_NAMES.length) problem(`attempt groups: ${attempts.length}, expected ${ids.length * STEP_NAMES.length}`)

  const ledger = await sql<Array<{ run_id: string; n: number }>>`SELECT run_id, n FROM ledger`
  const byRun = new Map<string, Array<number>>()
  for (const row of ledger) byRun.set(row.run_id, [...(byRun.get(row.run_id) ?? []), row.n])
  ids.forEach((id, n) => {
    const rows = byRun.get(id) ?? []
    if (rows.length !== 1 || rows[0] !== n) problem(`ledger rows of run n=${n} (${id}): ${JSON.stringify(rows)}, expected exactly [${n}]`)
  })
  if (ledger.length !== ids.length) problem(`ledger holds ${ledger.length} rows for ${ids.length} runs`)

  const effects = await sql<Array<{ run_id: string; step: string; count: string }>>`
    SELECT run_id, step, count(*) FROM side_effects WHERE run_id = ANY(${ids}::uuid[]) GROUP BY run_id, step`
  const seen = new Map(effects.map((r) => [`${r.run_id}/${r.step}`, Number(r.count)]))
  let sideEffectRows = 0
  for (const c of seen.values()) sideEffectRows += c
  for (const id of ids) for (const step of STEP_NAMES) if (!seen.has(`${id}/${step}`)) problem(`no side effect recorded for run ${id} step ${step}`)

  return {
    problems,
    sideEffectRows,
    reexecutions: sideEffectRows - ids.length * STEP_NAMES.length,
    failedAttempts,
    ledgerRows: ledger.length,
  }
}

/** Kill counts by kind, and for mid-commit kills whether the killed commit landed. */
export const summarizeKills = async (sql: postgres.Sql, kills: ReadonlyArray<KillRecord>) => {
  const byKind: Record<string, number> = { "pre-step": 0, "post-effect": 0, "mid-commit": 0, external: 0, freeze: 0 }
  const byStep: Record<string, number> = {}
  for (const k of kills) {
    byKind[k.kind] = (byKind[k.kind] ?? 0) + 1
    if (k.step) byStep[`${k.kind}@${k.step}`] = (byStep[`${k.kind}@${k.step}`] ?? 0) + 1
  }
  const midCommit: Record<string, number> = {}
  /** After-commit kills whose commit did not land (a fenced or conflicting commit, say): listed for the report. */
  const afterCommitNotLanded: Array<KillRecord> = []
  for (const k of kills) {
    if (k.kind !== "mid-commit") continue
    let outcome = "no-attempt"
    if (k.runId && k.seq !== undefined && k.attempt !== undefined && k.owner && k.startedAt !== undefined) {
      const rows = await sql<Array<{ started: number }>>`
        SELECT (extract(epoch FROM started_at) * 1000)::float8 AS started FROM squid_mesh.attempts
        WHERE run_id = ${k.runId} AND seq = ${k.seq} AND attempt = ${k.attempt} AND owner = ${k.owner}`
      outcome = rows.some((r) => Math.abs(Number(r.started) - k.startedAt!) < 1) ? "landed" : "not-landed"
    }
    if (k.mode === "after-commit" && outcome !== "landed") afterCommitNotLanded.push(k)
    const key = `${k.via}/${k.mode}:${outcome}`
    midCommit[key] = (midCommit[key] ?? 0) + 1
  }
  const midCommitInTransaction = kills.filter((k) => k.kind === "mid-commit" && k.via === "transaction").length
  return { byKind, byStep, midCommit, midCommitInTransaction, afterCommitNotLanded }
}
