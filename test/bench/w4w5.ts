/**
 * wfbench W4 and W5 for Squid Mesh, as /work/shared/bench/README.md defines them, on the same
 * harness as W1–W3 (./workloads.ts: public Promise API, postgres.js store with a pool of 10,
 * the worker in this process, completion = the commit that marks the run `completed`
 * returned, timestamped by `trackedStore`).
 *
 *   W4  W4_WARMUP (20) unmeasured then W4_RUNS (200) measured runs of a 10-step no-op
 *       workflow, one at a time: the next run starts when the previous one's final commit has
 *       returned ("result available": in-process, no polling; `awaitRun` would add its poll
 *       interval). Each step body records its start and end; gap = start of step k+1's body −
 *       end of step k's body (9 per run).
 *   W5  W5_RUNS (5000) runs started from a tight loop, each parked on
 *       `Workflow.signal("w5", { timeout: "1 hour" })`. Not timed: until every run's signal
 *       wait is a pending journal entry (a signal sent now is delivered, not lost) and the
 *       engine has had no active statement for 300 ms. Timed: one `mesh.signal` per run, all
 *       issued without waiting for each other; each run checks the payload is its own, runs
 *       one step and completes. Lost = runs not durably `completed` 60 s after the last send.
 */
import { Schema } from "effect"
import { Step, Trigger, Workflow } from "../../src/index.js"
import { countRuns, countdown, dbCounters, dbDelta, latencyStats, log, now, r2, sleep, waitUntil, type BenchDb } from "./common.js"
import { open, startAll, workerFields } from "./workloads.js"

const envNum = (name: string, dflt: number) => Number(process.env[name] || dflt)

// ---- W4 -------------------------------------------------------------------------------------

export const runW4 = async (db: BenchDb) => {
  const RUNS = envNum("W4_RUNS", 200)
  const WARMUP = envNum("W4_WARMUP", 20)
  const STEPS = 10
  const total = WARMUP + RUNS
  // Marks by run * STEPS + step; the first execution's marks are kept (a retry would not overwrite them).
  const bodyStart = new Float64Array(total * STEPS).fill(NaN)
  const bodyEnd = new Float64Array(total * STEPS).fill(NaN)
  const step = Step.make("step", {
    run: async (x: number) => {
      if (Number.isNaN(bodyStart[x]!)) bodyStart[x] = now()
      if (Number.isNaN(bodyEnd[x]!)) bodyEnd[x] = now()
      return null
    },
  })
  const workflow = Workflow.make({
    name: "w4",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({ r: Schema.Number }) }) },
    *run({ r }) {
      for (let k = 0; k < STEPS; k++) yield* step(r * STEPS + k)
      return r
    },
  })
  const m = await open(db, [workflow], envNum("W1_CONCURRENCY", 10))
  try {
    const call = new Float64Array(total)
    const result = new Float64Array(total)
    let db0 = await dbCounters(db.admin)
    for (let r = 0; r < total; r++) {
      if (r === WARMUP) db0 = await dbCounters(db.admin) // warm-up excluded from the write cost
      call[r] = now()
      const { runId } = await m.mesh.start(workflow, { r })
      result[r] = await m.tracker.wait(runId)
    }
    const dbFields = await dbDelta(db.admin, db0, RUNS * STEPS, "step")
    await waitUntil(async () => (await countRuns(db.admin, "w4")) === total, 30000, 20, "all w4 completed")
    const gaps: Array<number> = []
    const runMs: Array<number> = []
    const toFirst: Array<number> = []
    const afterLast: Array<number> = []
    for (let r = WARMUP; r < total; r++) {
      const b = r * STEPS
      for (let k = 0; k < STEPS - 1; k++) gaps.push(bodyStart[b + k + 1]! - bodyEnd[b + k]!)
      runMs.push(result[r]! - call[r]!)
      toFirst.push(bodyStart[b]! - call[r]!)
      afterLast.push(result[r]! - bodyEnd[b + STEPS - 1]!)
    }
    if (gaps.some((g) => !Number.isFinite(g))) throw new Error("some w4 step bodies left no mark")
    const s = latencyStats(gaps, "step_gap_")
    const rs = latencyStats(runMs, "run_")
    return {
      runs: RUNS,
      warmup: WARMUP,
      steps: STEPS,
      gaps: gaps.length,
      completion: "final_commit",
      ...s,
      ...rs,
      to_first_step_p50_ms: latencyStats(toFirst).p50_ms,
      after_last_step_p50_ms: latencyStats(afterLast).p50_ms,
      ...dbFields,
      ...workerFields(m.worker),
    }
  } finally {
    await m.close()
  }
}

// ---- W5 -------------------------------------------------------------------------------------

/** Resolves once no backend of the engine (application_name squid-mesh) has been active for `quietMs`. */
const waitQuiet = async (db: BenchDb, quietMs = 300, timeoutMs = 60000) => {
  const deadline = now() + timeoutMs
  let quietSince = now()
  while (now() < deadline) {
    const [row] = await db.admin.unsafe<Array<{ n: number }>>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state <> 'idle' AND application_name = 'squid-mesh' AND pid <> pg_backend_pid()",
    )
    if ((row?.n ?? 0) > 0) quietSince = now()
    else if (now() - quietSince >= quietMs) return
    await sleep(10)
  }
  throw new Error(`the engine was not quiet for ${quietMs} ms within ${timeoutMs} ms`)
}

const parkedCount = async (db: BenchDb): Promise<number> => {
  const [row] = await db.admin.unsafe<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM squid_mesh.entries e JOIN squid_mesh.runs r ON r.id = e.run_id
     WHERE r.workflow = 'w5' AND e.kind = 'signal' AND e.status = 'pending'`,
  )
  return row?.n ?? 0
}

export const runW5 = async (db: BenchDb) => {
  const N = envNum("W5_RUNS", 5000)
  const WAKE_TIMEOUT_MS = envNum("W5_WAKE_TIMEOUT_MS", 60000)
  let wrongPayload = 0
  const step = Step.make("after_signal", { run: async (_i: number) => null })
  const workflow = Workflow.make({
    name: "w5",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({ i: Schema.Number }) }) },
    *run({ i }) {
      const got = yield* Workflow.signal("w5", { schema: Schema.Number, timeout: "1 hour" })
      if (got._tag !== "Received" || got.payload !== i) {
        wrongPayload++
        throw new Error(`w5 run ${i} got ${JSON.stringify(got)}`)
      }
      yield* step(i)
      return i
    },
  })
  const m = await open(db, [workflow], envNum("W1_CONCURRENCY", 10))
  try {
    // ---- not timed: park every run, then let the engine go quiet
    const p0 = now()
    const { runIds } = await startAll(m.mesh, workflow, N)
    const startAllMs = now() - p0
    await waitUntil(async () => (await parkedCount(db)) === N, 120000, 50, "all w5 runs parked")
    await waitQuiet(db)
    const parkMs = now() - p0
    log(`[w5] ${N} runs parked in ${r2(parkMs)} ms`)

    // ---- timed: one signal per run, all at once
    const index = new Map(runIds.map((id, i) => [id, i]))
    const done = new Float64Array(N).fill(NaN)
    const finished = countdown(N)
    m.tracker.onRecord = (runId, t) => {
      const i = index.get(runId)
      if (i !== undefined && Number.isNaN(done[i]!)) {
        done[i] = t
        finished.done()
      }
    }
    const sendCall = new Float64Array(N)
    const sendRet = new Float64Array(N).fill(NaN)
    let sendErrors = 0
    let firstSendError: string | undefined
    const db0 = await dbCounters(db.admin)
    const t0 = now()
    const sends: Array<Promise<void>> = []
    for (let i = 0; i < N; i++) {
      sendCall[i] = now()
      sends.push(
        m.mesh.signal(runIds[i]!, "w5", i).then(
          () => void (sendRet[i] = now()),
          (e: unknown) => {
            sendErrors++
            firstSendError ??= String(e instanceof Error ? e.message : e)
          },
        ),
      )
    }
    await Promise.all(sends)
    const sendAllMs = now() - t0
    await Promise.race([finished.promise, sleep(WAKE_TIMEOUT_MS)])
    const completedInProcess = finished.count
    const completed = await countRuns(db.admin, "w5")
    const dbFields = await dbDelta(db.admin, db0, N, "run")
    const last = done.reduce((a, b) => (Number.isNaN(b) ? a : Math.max(a, b)), -Infinity)
    const totalMs = last - t0
    const lat: Array<number> = []
    const wake: Array<number> = []
    for (let i = 0; i < N; i++) {
      if (Number.isNaN(done[i]!)) continue
      lat.push(done[i]! - sendCall[i]!)
      if (!Number.isNaN(sendRet[i]!)) wake.push(done[i]! - sendRet[i]!)
    }
    const w = latencyStats(wake, "wake_")
    const lost = N - completed
    if (sendErrors) log(`[w5] ${sendErrors} sends failed, first: ${firstSendError}`)
    return {
      ...(lost > 0 ? { ok: false, error: `lost ${lost}` } : {}),
      n: N,
      completed,
      completed_in_process: completedInProcess,
      completion: "final_commit",
      total_ms: r2(totalMs),
      runs_per_sec: r2((completedInProcess * 1000) / totalMs),
      ...latencyStats(lat),
      park_ms: r2(parkMs),
      start_all_ms: r2(startAllMs),
      send_all_ms: r2(sendAllMs),
      wake_p50_ms: w.wake_p50_ms,
      wake_p95_ms: w.wake_p95_ms,
      wake_max_ms: w.wake_max_ms,
      send_errors: sendErrors,
      ...(firstSendError ? { first_send_error: firstSendError } : {}),
      wrong_payload: wrongPayload,
      ...dbFields,
      ...workerFields(m.worker),
    }
  } finally {
    m.tracker.onRecord = undefined
    await m.close()
  }
}
