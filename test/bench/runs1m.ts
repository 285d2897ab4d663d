/**
 * `runs_1m` (test/bench/extras.ts): listing and purging at a million runs.
 *
 * 1. Bulk-loads RUNS_1M (1,000,000) runs straight into `squid_mesh.runs` with one
 *    generate_series INSERT (and their `run_attributes` rows): 20 workflows plus a rare one
 *    (1 in 1,000), statuses 70% completed / 10% failed / 5% cancelled / 10% running / 5% paused,
 *    a cron trigger for 1 in 10, created 5 s apart over ~58 days, updated 0–49 s later, 80% with
 *    attributes (tenant t0..t99, region eu/us/apac), 30% with an idempotency key, 1 in 10 a child
 *    of the run before it. Then ANALYZE.
 * 2. For each filter: the first page and a deep page (after following nextCursor over 20
 *    pages of 1,000) of 50 runs through the public `listRuns`, each the median of LIST_REPEAT
 *    (5) calls, plus EXPLAIN (ANALYZE, BUFFERS) of the same statement (literal parameters, a
 *    custom plan): plan nodes with index names, buffers, execution time.
 * 3. The alternative for attributes: a GIN jsonb_path_ops index on `runs.attributes`, timed
 *    and explained with `@>` and the same order, then dropped.
 * 4. Purge under load: every loaded run made terminal, then W1 (PURGE_W1_RUNS × 3 no-op steps,
 *    worker concurrency 10, in this process) timed alone (3 rounds), then again round after
 *    round while a second client purges the loaded runs (`purge({ olderThan: "1 day" })`,
 *    batches of 500 back to back). Reports purge time and rate, and W1 runs/s during vs without.
 */
import { createMesh, PostgresStore } from "../../src/index.js"
import { listRunsStatement } from "../../src/store/sql/statements/listRuns.js"
import type { RunFilter } from "../../src/store/Store.js"
import { countRuns, emitLine, log, now, r2, resetSchema, waitUntil, type BenchDb } from "./common.js"
import { explainSummary } from "./pgdiag.js"
import { makeW1, startAll } from "./workloads.js"

const envNum = (name: string, dflt: number) => Number(process.env[name] || dflt)
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const LOAD_SQL = (n: number) => `
  INSERT INTO squid_mesh.runs (id, workflow, trigger, queue, status, input, revision, idempotency_key, request_hash, definition_hash,
    parent_run_id, parent_seq, attributes, created_at, updated_at, finished_at)
  SELECT md5('r' || i)::uuid,
    CASE WHEN i % 1000 = 0 THEN 'rare' ELSE 'wf_' || (i % 20) END,
    CASE WHEN i % 10 = 0 THEN 'nightly' ELSE 'manual' END,
    'default', st, '{}'::jsonb, 3,
    CASE WHEN i % 10 < 3 THEN 'k' || i END, 'h', 'd',
    CASE WHEN i % 10 = 5 THEN md5('r' || (i - 1))::uuid END, CASE WHEN i % 10 = 5 THEN 1 END,
    CASE WHEN i % 5 <> 0 THEN jsonb_build_object('tenant', 't' || (i % 100), 'region', (ARRAY['eu', 'us', 'apac'])[i % 3 + 1]) END,
    t0 + i * interval '5 seconds', t0 + i * interval '5 seconds' + (i % 50) * interval '1 second',
    CASE WHEN st IN ('completed', 'failed', 'cancelled') THEN t0 + i * interval '5 seconds' + (i % 50) * interval '1 second' END
  FROM (SELECT i, now() - interval '60 days' AS t0,
          CASE WHEN i % 100 < 70 THEN 'completed' WHEN i % 100 < 80 THEN 'failed' WHEN i % 100 < 85 THEN 'cancelled'
               WHEN i % 100 < 95 THEN 'running' ELSE 'paused' END AS st
        FROM generate_series(1, ${n}) AS i) g`

/** The statement's text with its parameters inlined (what a custom plan sees), for EXPLAIN. */
const inline = (filter: RunFilter) => {
  const { text, params } = listRunsStatement(filter)
  let out = text
  for (let k = params.length; k >= 1; k--) {
    const v = params[k - 1]
    out = out.replaceAll(`$${k}`, v === null ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`)
  }
  return out
}

export const runs1m = async (db: BenchDb) => {
  const N = envNum("RUNS_1M", 1_000_000)
  const REPEAT = envNum("LIST_REPEAT", 5)
  await resetSchema(db.admin)
  const lister = await createMesh({ workflows: [], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 4 }) } })
  try {
    let t = now()
    await db.admin.unsafe(LOAD_SQL(N))
    await db.admin.unsafe(`INSERT INTO squid_mesh.run_attributes (run_id, key, value, created_at)
      SELECT r.id, kv.key, kv.value, r.created_at FROM squid_mesh.runs r, jsonb_each_text(r.attributes) kv WHERE r.attributes IS NOT NULL`)
    const loadMs = now() - t
    t = now()
    await db.admin.unsafe("VACUUM ANALYZE squid_mesh.runs")
    await db.admin.unsafe("VACUUM ANALYZE squid_mesh.run_attributes")
    const analyzeMs = now() - t
    const [sizes] = await db.admin.unsafe<Array<Record<string, string>>>(
      `SELECT pg_size_pretty(pg_total_relation_size('squid_mesh.runs')) AS runs_total, pg_size_pretty(pg_relation_size('squid_mesh.runs')) AS runs_heap,
        pg_size_pretty(pg_total_relation_size('squid_mesh.run_attributes')) AS attributes_total`,
    )
    log(`[runs_1m] loaded ${N} runs in ${r2(loadMs)} ms, analyzed in ${r2(analyzeMs)} ms`, sizes)
    const mid = Date.now() - 30 * 86_400_000
    const [parent] = await db.admin.unsafe<Array<{ id: string }>>("SELECT md5('r' || 500004)::uuid::text AS id")
    const filters: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
      ["none", {}],
      ["status running", { status: "running" }],
      ["status paused", { status: "paused" }],
      ["status running|paused", { status: ["running", "paused"] }],
      ["workflow wf_7", { workflow: "wf_7" }],
      ["workflow rare", { workflow: "rare" }],
      ["status failed + workflow wf_15", { status: "failed", workflow: "wf_15" }],
      ["trigger nightly", { trigger: "nightly" }],
      ["created 1-day window", { created: { from: mid, to: mid + 86_400_000 } }],
      ["updated last 3 days", { updated: { from: Date.now() - 3 * 86_400_000 } }],
      ["updated before 50 days ago", { updated: { to: Date.now() - 50 * 86_400_000 } }],
      ["parentRunId", { parentRunId: parent!.id }],
      ["idempotencyKey", { idempotencyKey: "k500002" }],
      ["attributes tenant=t42", { attributes: { tenant: "t42" } }],
      ["attributes region=eu", { attributes: { region: "eu" } }],
      ["attributes tenant=t42,region=eu", { attributes: { tenant: "t42", region: "eu" } }],
      ["attributes region=eu + status paused", { attributes: { region: "eu" }, status: "paused" }],
    ]
    const timed = async (filter: Record<string, unknown>) => {
      const ms: Array<number> = []
      let page: Awaited<ReturnType<typeof lister.listRuns>> | undefined
      for (let k = 0; k < REPEAT; k++) {
        const t0 = now()
        page = await lister.listRuns({ ...filter, limit: 50 })
        ms.push(now() - t0)
      }
      return { ms: r2(median(ms)), rows: page!.runs.length }
    }
    const rows: Array<Record<string, unknown>> = []
    for (const [name, filter] of filters) {
      const first = await timed(filter)
      // Deep: follow nextCursor over 20 pages of 1,000 (20,000 runs in), then time a page of 50 there.
      let cursor: string | undefined
      let depth = 0
      for (let p = 0; p < 20; p++) {
        const page = await lister.listRuns({ ...filter, limit: 1000, ...(cursor ? { cursor } : {}) })
        if (!page.nextCursor) break
        cursor = page.nextCursor
        depth += page.runs.length
      }
      const deep = cursor ? await timed({ ...filter, cursor }) : undefined
      const storeFilter = toStoreFilter(filter)
      const plan = await explainSummary(db.admin, inline({ ...storeFilter, limit: 51 }), false)
      const row = {
        filter: name,
        first_page_ms: first.ms,
        first_page_rows: first.rows,
        deep_page_ms: deep?.ms ?? null,
        deep_after_rows: deep ? depth : null,
        plan: plan.plan,
        exec_ms: plan.execution_ms,
        shared_hit: plan.shared_hit_blocks,
        shared_read: plan.shared_read_blocks,
      }
      log("[runs_1m]", row)
      rows.push(row)
    }
    // The alternative: GIN (jsonb_path_ops) on runs.attributes with `@>`, newest first.
    t = now()
    await db.admin.unsafe("CREATE INDEX runs_attributes_gin ON squid_mesh.runs USING gin (attributes jsonb_path_ops)")
    const ginBuildMs = now() - t
    await db.admin.unsafe("ANALYZE squid_mesh.runs")
    const gin: Array<Record<string, unknown>> = []
    for (const attrs of [{ tenant: "t42" }, { region: "eu" }, { tenant: "t42", region: "eu" }]) {
      const sql = `SELECT id FROM squid_mesh.runs WHERE attributes @> '${JSON.stringify(attrs)}'::jsonb ORDER BY created_at DESC, id DESC LIMIT 51`
      const ms: Array<number> = []
      for (let k = 0; k < REPEAT; k++) {
        const t0 = now()
        await db.admin.unsafe(sql)
        ms.push(now() - t0)
      }
      const plan = await explainSummary(db.admin, sql, false)
      gin.push({ attributes: attrs, first_page_ms: r2(median(ms)), plan: plan.plan, exec_ms: plan.execution_ms })
    }
    const [ginSize] = await db.admin.unsafe<Array<{ s: string }>>("SELECT pg_size_pretty(pg_relation_size('squid_mesh.runs_attributes_gin')) AS s")
    await db.admin.unsafe("DROP INDEX squid_mesh.runs_attributes_gin")
    log("[runs_1m] gin alternative", gin)
    const purge = await purgeUnderLoad(db, N)
    emitLine({
      measurement: "runs_1m",
      runs: N,
      load_ms: r2(loadMs),
      analyze_ms: r2(analyzeMs),
      sizes,
      page_size: 50,
      repeat: REPEAT,
      filters: rows,
      gin_alternative: { build_ms: r2(ginBuildMs), size: ginSize?.s, queries: gin },
      purge,
    })
  } finally {
    await lister.close()
  }
}

/** The store filter of a public filter (the bench's filters are valid). */
const toStoreFilter = (f: Record<string, unknown>): RunFilter => {
  const range = (r: unknown) => (r ?? {}) as { from?: number; to?: number }
  const status = f.status as string | Array<string> | undefined
  return {
    ...(status ? { statuses: (typeof status === "string" ? [status] : status) as NonNullable<RunFilter["statuses"]> } : {}),
    ...(f.workflow ? { workflow: f.workflow as string } : {}),
    ...(f.trigger ? { trigger: f.trigger as string } : {}),
    ...(range(f.created).from !== undefined ? { createdFrom: range(f.created).from! } : {}),
    ...(range(f.created).to !== undefined ? { createdTo: range(f.created).to! } : {}),
    ...(range(f.updated).from !== undefined ? { updatedFrom: range(f.updated).from! } : {}),
    ...(range(f.updated).to !== undefined ? { updatedTo: range(f.updated).to! } : {}),
    ...(f.parentRunId ? { parentRunId: f.parentRunId as string } : {}),
    ...(f.idempotencyKey ? { idempotencyKey: f.idempotencyKey as string } : {}),
    ...(f.attributes ? { attributes: f.attributes as Record<string, string> } : {}),
  }
}

/** W1 throughput alone, then while another client purges the loaded runs. */
const purgeUnderLoad = async (db: BenchDb, n: number) => {
  const W1N = envNum("PURGE_W1_RUNS", 1000)
  await db.admin.unsafe("UPDATE squid_mesh.runs SET status = 'cancelled', finished_at = updated_at WHERE finished_at IS NULL")
  await db.admin.unsafe("VACUUM ANALYZE squid_mesh.runs")
  let round = 0
  const w1Round = async () => {
    const w1 = makeW1(W1N, `w1_${round++}`)
    const mesh = await createMesh({ workflows: [w1.workflow], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 10 }) } })
    try {
      const worker = await mesh.startWorker({ concurrency: 10 })
      const t0 = now()
      await startAll(mesh, w1.workflow, W1N)
      await waitUntil(async () => (await countRuns(db.admin, w1.workflow.name)) === W1N, 300_000, 10, `${w1.workflow.name} completed`)
      const ms = now() - t0
      await worker.stop()
      return r2((W1N * 1000) / ms)!
    } finally {
      await mesh.close()
    }
  }
  await w1Round() // warm-up
  const alone = [await w1Round(), await w1Round(), await w1Round()]
  log("[runs_1m] W1 alone runs/s", alone)
  const purger = await createMesh({ workflows: [], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 2 }) } })
  try {
    const t0 = now()
    let purgeDone = false
    const purging = purger.purge({ olderThan: "1 day" }).finally(() => (purgeDone = true))
    const during: Array<number> = []
    while (!purgeDone) {
      during.push(await w1Round())
      log("[runs_1m] W1 during purge runs/s", during[during.length - 1])
    }
    const result = await purging
    const purgeMs = now() - t0
    const [audit] = await db.admin.unsafe<Array<{ batches: number; purged: number }>>(
      "SELECT count(*)::int AS batches, sum(purged)::int AS purged FROM squid_mesh.purges",
    )
    return {
      loaded_runs: n,
      purged: result.purged,
      batches: result.batches,
      audit_rows: audit,
      purge_ms: r2(purgeMs),
      purged_per_sec: r2((result.purged * 1000) / purgeMs),
      w1_runs: W1N,
      w1_alone_runs_per_sec: alone,
      w1_during_purge_runs_per_sec: during,
      w1_alone_median: median(alone),
      w1_during_median: during.length ? median(during) : null,
      during_over_alone: during.length ? r2(median(during) / median(alone)) : null,
    }
  } finally {
    await purger.close()
  }
}
