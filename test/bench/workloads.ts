/**
 * The wfbench workloads W1–W3 for Squid Mesh (W4/W5: ./w4w5.ts), as /work/shared/bench/README.md defines them,
 * driven through the public Promise API (`createMesh`) over the postgres.js store (pool 10)
 * with the worker in this process. Steps are no-ops apart from a `performance.now()` mark.
 *
 *   W1  W1_RUNS (1000) runs × 3 steps, all started from a tight loop, worker concurrency
 *       W1_CONCURRENCY (10). Completion = the commit that marks the run `completed` returned
 *       (the third step's result and the run's status are one atomic commit), timestamped
 *       by a pass-through wrapper of the Store's `commit` (`trackedStore`). The mark at the
 *       end of the third step's body is kept too (`body_end_*`, `commit_lag_*`). After the
 *       clock stops, every run must be `completed` in the database (else ok:false).
 *   W2  one run of W2_STEPS (1000) sequential steps, started then awaited. The bodies of
 *       steps 1, 101, 201, … record `performance.now()`; the last mark is the run's final
 *       commit, so each of the `per100_ms` intervals spans 100 whole steps.
 *   W3  W3_RUNS (200) runs: `Workflow.sleep("nap", W3_SLEEP_MS)` then one step, after a
 *       random 0..W3_PHASE_MS start delay. Lateness = the step body began − (the workflow
 *       body reached the sleep, on its first execution + W3_SLEEP_MS). Worker concurrency
 *       W3_CONCURRENCY (ours only, default 10, like the job-queue peers' workers).
 */
import { Schema } from "effect"
import { createMesh, Step, Trigger, Workflow, type AnyWorkflow, type MeshClient, type WorkerClient } from "../../src/index.js"
import {
  CompletionTracker,
  countRuns,
  countdown,
  dbCounters,
  dbDelta,
  latencyStats,
  now,
  r2,
  randomPhase,
  trackedStore,
  w1Result,
  waitUntil,
  type BenchDb,
} from "./common.js"

const envNum = (name: string, dflt: number) => Number(process.env[name] || dflt)
const Index = Schema.Struct({ i: Schema.Number })

/** A mesh over the tracked postgres.js store, with a worker of `concurrency` slots in this process. */
export const open = async (db: BenchDb, workflows: ReadonlyArray<AnyWorkflow>, concurrency: number) => {
  const tracker = new CompletionTracker()
  const mesh: MeshClient = await createMesh({ workflows, store: { kind: "layer", layer: trackedStore(db.url, tracker) } })
  const worker: WorkerClient = await mesh.startWorker({ concurrency })
  const close = async () => {
    await worker.stop()
    await mesh.close()
  }
  return { tracker, mesh, worker, close }
}

export const workerFields = (worker: WorkerClient) => {
  const s = worker.stats()
  return { worker_executed: s.executed, worker_idle_polls: s.idlePolls, worker_fenced: s.fenced, worker_errors: s.errors }
}

// ---- W1 -------------------------------------------------------------------------------------

/** The W1 workflow with its marks: body0 (step 1 began), bodyEnd (step 3's body returned). */
export const makeW1 = (n: number, name = "w1", clock: () => number = now) => {
  const body0: Array<number | undefined> = new Array(n)
  const bodyEnd: Array<number | undefined> = new Array(n)
  const done = countdown(n)
  const step1 = Step.make("step1", {
    run: async (i: number) => {
      if (body0[i] === undefined) body0[i] = clock()
      return null
    },
  })
  const step2 = Step.make("step2", { run: async (_i: number) => null })
  const step3 = Step.make("step3", {
    run: async (i: number) => {
      if (bodyEnd[i] === undefined) {
        bodyEnd[i] = clock()
        done.done()
      }
      return null
    },
  })
  const workflow = Workflow.make({
    name,
    triggers: { manual: Trigger.manual({ payload: Index }) },
    *run({ i }) {
      yield* step1(i)
      yield* step2(i)
      yield* step3(i)
      return i
    },
  })
  return { workflow, body0, bodyEnd, done }
}

/** Starts `n` runs from a tight loop (calls not awaiting each other); returns start marks and run ids. */
export const startAll = async (mesh: MeshClient, workflow: AnyWorkflow, n: number, clock: () => number = now) => {
  const starts = new Array<number>(n)
  const pending: Array<Promise<{ runId: string }>> = []
  for (let i = 0; i < n; i++) {
    starts[i] = clock()
    pending.push(mesh.start(workflow, { i }))
  }
  const runIds = (await Promise.all(pending)).map((r) => r.runId)
  return { starts, runIds }
}

/** Called just outside W1's measured window (for ./profile.ts), so the window itself is unchanged. */
export interface WindowHooks {
  readonly before?: () => Promise<void>
  readonly after?: () => Promise<void>
}

export const runW1 = async (db: BenchDb, hooks: WindowHooks = {}) => {
  const N = envNum("W1_RUNS", 1000)
  const CONC = envNum("W1_CONCURRENCY", 10)
  const w1 = makeW1(N)
  const m = await open(db, [w1.workflow], CONC)
  try {
    await hooks.before?.()
    const db0 = await dbCounters(db.admin)
    const t0 = now()
    const { starts, runIds } = await startAll(m.mesh, w1.workflow, N)
    const enqueueAll = now() - t0
    await w1.done.promise
    // Durability check: every run completed in the database (its final commit may trail the body by ms).
    await waitUntil(async () => (await countRuns(db.admin, "w1")) === N, 30000, 20, "all w1 completed")
    let completion = "final_commit"
    try {
      await waitUntil(() => runIds.every((id) => m.tracker.at.has(id)), 2000, 5, "final commits observed")
    } catch {
      completion = "step3_body_end" // the store port changed under us: fall back to the body mark
    }
    const ends = completion === "final_commit" ? runIds.map((id) => m.tracker.at.get(id)) : w1.bodyEnd
    const res = w1Result(starts, ends, w1.body0)
    const body = w1Result(starts, w1.bodyEnd)
    const lag =
      completion === "final_commit"
        ? latencyStats(
            runIds.map((id, i) => m.tracker.at.get(id)! - w1.bodyEnd[i]!),
            "commit_lag_",
          )
        : {}
    const dbFields = await dbDelta(db.admin, db0, N, "run")
    await hooks.after?.()
    return {
      concurrency: CONC,
      completion,
      enqueue_all_ms: r2(enqueueAll),
      ...res,
      body_end_runs_per_sec: body.runs_per_sec,
      body_end_p50_ms: body.p50_ms,
      commit_lag_p50_ms: lag.commit_lag_p50_ms ?? null,
      commit_lag_p95_ms: lag.commit_lag_p95_ms ?? null,
      ...dbFields,
      ...workerFields(m.worker),
    }
  } finally {
    await m.close()
  }
}

// ---- W2 -------------------------------------------------------------------------------------

export const runW2 = async (db: BenchDb) => {
  const N = envNum("W2_STEPS", 1000)
  const marks: Array<number | undefined> = []
  const step = Step.make("step", {
    run: async (k: number) => {
      if ((k - 1) % 100 === 0 && marks[(k - 1) / 100] === undefined) marks[(k - 1) / 100] = now()
      return null
    },
  })
  const workflow = Workflow.make({
    name: "w2",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
    *run({ n }) {
      for (let k = 1; k <= n; k++) yield* step(k)
      return n
    },
  })
  const m = await open(db, [workflow], 10)
  try {
    const db0 = await dbCounters(db.admin)
    const t0 = now()
    const { runId } = await m.mesh.start(workflow, { n: N })
    // The final commit's timestamp; a slow poll of awaitRun only guards against a hang.
    const polled = m.mesh.awaitRun(runId, { pollInterval: "200 millis", timeout: "240 seconds" }).then((v) => ({ v, t: now() }))
    const first = await Promise.race([m.tracker.wait(runId), polled.then((p) => p.t)])
    const committed = m.tracker.at.get(runId)
    const end = committed ?? first
    const total = end - t0
    const view = (await polled).v
    if (view.status !== "completed") throw new Error(`w2 run ended ${view.status}`)
    await waitUntil(async () => (await countRuns(db.admin, "w2")) === 1, 30000, 20, "w2 completed")
    const points = [...marks, end].filter((x): x is number => typeof x === "number")
    const per100: Array<number | null> = []
    for (let k = 1; k < points.length; k++) per100.push(r2(points[k]! - points[k - 1]!))
    const first100 = per100[0] ?? null
    const last100 = per100[per100.length - 1] ?? null
    return {
      steps: N,
      completion: committed !== undefined ? "final_commit" : "await_run_poll",
      total_ms: r2(total),
      body_ms: r2(end - (marks[0] ?? t0)),
      steps_per_sec: r2((N * 1000) / total),
      first100_ms: first100,
      last100_ms: last100,
      last_over_first: first100 && last100 ? r2(last100 / first100) : null,
      per100_ms: per100,
      ...(await dbDelta(db.admin, db0, N, "step")),
      ...workerFields(m.worker),
    }
  } finally {
    await m.close()
  }
}

// ---- W3 -------------------------------------------------------------------------------------

export const runW3 = async (db: BenchDb) => {
  const N = envNum("W3_RUNS", 200)
  const SLEEP_MS = envNum("W3_SLEEP_MS", 1000)
  const req: Array<number | undefined> = new Array(N)
  const wake: Array<number | undefined> = new Array(N)
  const done = countdown(N)
  const step = Step.make("after_sleep", {
    run: async (i: number) => {
      if (wake[i] === undefined) {
        wake[i] = now()
        done.done()
      }
      return null
    },
  })
  const workflow = Workflow.make({
    name: "w3",
    triggers: { manual: Trigger.manual({ payload: Index }) },
    *run({ i }) {
      if (req[i] === undefined) req[i] = now() // first execution only: replay re-runs the body
      yield* Workflow.sleep("nap", SLEEP_MS)
      yield* step(i)
      return i
    },
  })
  const CONC = envNum("W3_CONCURRENCY", 10)
  const m = await open(db, [workflow], CONC)
  try {
    const phase = await randomPhase()
    const db0 = await dbCounters(db.admin)
    const t0 = now()
    const pending: Array<Promise<unknown>> = []
    for (let i = 0; i < N; i++) pending.push(m.mesh.start(workflow, { i }))
    await Promise.all(pending)
    const startAllMs = now() - t0
    await done.promise
    const total = now() - t0
    const late = req.map((r, i) => wake[i]! - (r! + SLEEP_MS))
    if (late.some((x) => !Number.isFinite(x))) throw new Error("some w3 runs have no sleep or wake mark")
    await waitUntil(async () => (await countRuns(db.admin, "w3")) === N, 30000, 20, "all w3 completed")
    return {
      n: N,
      concurrency: CONC,
      sleep_ms: SLEEP_MS,
      phase_ms: phase,
      start_all_ms: r2(startAllMs),
      total_ms: r2(total),
      ...latencyStats(late, "lateness_"),
      ...(await dbDelta(db.admin, db0, N, "run")),
      ...workerFields(m.worker),
    }
  } finally {
    await m.close()
  }
}
