/**
 * A worker process of the crash-safety suite, started by supervisor.ts (bundled with esbuild
 * into one .mjs for a fast start, or else `node --import tsx --conditions=squid-mesh-source` on this file).
 *
 * It runs a Mesh worker on the postgres.js store and kills itself (SIGKILL) at random points,
 * each recorded first as one JSON line in the kill log:
 * - `pre-step`: a step body kills the process before doing anything;
 * - `post-effect`: a step body kills it right after its side effect (and, in step `b`, after
 *   its ledger INSERT through the still-open journal transaction);
 * - `mid-commit`: the Store is wrapped so that some commits are armed (plain commits, and the
 *   commit inside a transactional step's transaction); the postgres.js `debug` hook (called as
 *   each statement is built, before it is written to the socket) sees the armed commit's
 *   statement (the store's one-statement commit, which may carry a batch of commits, or the
 *   step transaction's COMMIT) and kills the process either before it is written
 *   (`before-commit`: it never lands) or right after it was written (`after-commit`: it
 *   normally lands, but the worker never learns).
 *
 * It is configured by the JSON in the CRASH_WORKER environment variable (WorkerConfig). It
 * exits when its IPC channel to the parent closes, so a dying test never leaves orphans.
 */
import { appendFileSync } from "node:fs"
import { Effect, Layer } from "effect"
import postgres from "postgres"
import { Mesh, PostgresStore, Store, type StoreService, type StepContext } from "../../src/index.js"
import { CrashFlow, installHooks, type StepKillPoint } from "./crashWorkflows.js"

/** Configuration passed by the supervisor. */
export interface WorkerConfig {
  readonly url: string
  readonly killLog: string
  /**
   * Per-event kill probabilities: per step body entry, per side effect, per store commit; and
   * `transactional`, used instead of those three for transactional steps (step `b` and its
   * commit inside the step's transaction), so that its kills are frequent enough to count.
   */
  readonly kill: { readonly preStep: number; readonly postEffect: number; readonly midCommit: number; readonly transactional: number }
  readonly concurrency: number
  readonly pollMs: number
  readonly leaseMs: number
  readonly stepDelayMs: number
}

/** One line of the kill log. */
export interface KillRecord {
  /** `freeze` is no kill: the supervisor paused the process (SIGSTOP) for `forMs`, then resumed it. */
  readonly kind: "pre-step" | "post-effect" | "mid-commit" | "external" | "freeze"
  readonly pid: number
  readonly at: number
  readonly mode?: "before-commit" | "after-commit"
  /** mid-commit: a plain store commit, or the commit inside a transactional step's transaction. */
  readonly via?: "store" | "transaction"
  readonly runId?: string
  readonly step?: string
  readonly seq?: number
  readonly attempt?: number
  /** mid-commit: the attempt record the killed commit carried (to check afterwards whether it landed). */
  readonly owner?: string
  readonly startedAt?: number
  readonly forMs?: number
  /** mid-commit: the statement the kill was timed on (the one-statement commit, or COMMIT). */
  readonly statement?: string
}

const config = JSON.parse(process.env.CRASH_WORKER ?? "null") as WorkerConfig | null
if (!config) throw new Error("workerProcess: CRASH_WORKER is not set")

// No orphans: when the test process goes away, the IPC channel closes and we leave with it.
process.on("disconnect", () => process.exit(3))
process.on("SIGTERM", () => process.exit(0))

const die = (record: Omit<KillRecord, "pid" | "at">): never => {
  appendFileSync(config.killLog, JSON.stringify({ ...record, pid: process.pid, at: Date.now() }) + "\n")
  process.kill(process.pid, "SIGKILL")
  throw new Error("unreachable: SIGKILL did not stop the process")
}

// ---- mid-commit kills: arm a commit in the Store wrapper, fire from the postgres.js debug hook.

interface Armed {
  readonly mode: "before-commit" | "after-commit"
  readonly via: "store" | "transaction"
  readonly record: Omit<KillRecord, "pid" | "at">
}
/** Armed commits by run id. */
const armed = new Map<string, Armed>()
/** Open transactions by postgres.js connection id, with the string parameters of their statements. */
const openTx = new Map<number, Array<string>>()

/**
 * Whether a statement's parameters name the run: the run id itself (e.g. a transactional step's
 * own INSERT), or a JSON parameter holding it as a string (the store's commit statement carries
 * its batch of commits as JSON, with `"run_id":"<id>"`).
 */
const names = (parameters: ReadonlyArray<string>, runId: string, exact: boolean) => parameters.some((p) => (exact && p === runId) || p.includes(`"${runId}"`))

/**
 * Called by postgres.js as each statement is built, before it is written to the socket.
 * Killing right here means the statement is never sent. postgres.js writes small messages
 * from a setImmediate queued after this call (large ones at once), so a kill two immediates
 * later happens once the statement was written.
 */
const fire = (arm: Armed, statement: string) => {
  const record = { ...arm.record, statement: statement.replace(/\s+/g, " ").slice(0, 60) }
  if (arm.mode === "before-commit") die(record)
  else setImmediate(() => setImmediate(() => die(record)))
}

const onStatement = (connection: number, text: string, parameters: ReadonlyArray<unknown>) => {
  if (armed.size === 0 && openTx.size === 0 && !/^\s*begin/i.test(text)) return
  const q = text.trim().toLowerCase()
  if (q.startsWith("begin")) {
    openTx.set(connection, [])
    return
  }
  const strings = parameters.filter((p): p is string => typeof p === "string")
  const tx = openTx.get(connection)
  if (tx) {
    // Inside a transaction (a transactional step): its commit lands with the COMMIT.
    if (q !== "rollback" && q !== "commit") {
      tx.push(...strings)
      return
    }
    openTx.delete(connection)
    for (const [runId, arm] of armed) {
      if (arm.via !== "transaction" || !names(tx, runId, true)) continue
      armed.delete(runId)
      if (q === "commit") fire(arm, text)
      return
    }
    return
  }
  // Outside a transaction the store's commit is one statement (a batch of commits).
  for (const [runId, arm] of armed) {
    if (arm.via !== "store" || !names(strings, runId, false)) continue
    armed.delete(runId)
    fire(arm, text)
    return
  }
}

const sql = postgres(config.url, {
  max: 6,
  onnotice: () => undefined,
  connection: { application_name: "crash-worker" },
  ...(config.kill.midCommit > 0 || config.kill.transactional > 0
    ? { debug: (connection: number, text: string, parameters: ReadonlyArray<unknown>) => onStatement(connection, text, parameters) }
    : {}),
})

/** Arms some commits at random: the debug hook then kills the process at the armed commit's statement. */
const armCommit =
  (commit: StoreService["commit"], via: "store" | "transaction"): StoreService["commit"] =>
  (c) =>
    Effect.suspend(() => {
      if (Math.random() >= (via === "transaction" ? config.kill.transactional : config.kill.midCommit)) return commit(c)
      const attempt = c.attempts[0]
      const mode = Math.random() < 0.5 ? "before-commit" : "after-commit"
      const record: Omit<KillRecord, "pid" | "at"> = {
        kind: "mid-commit",
        mode,
        via,
        runId: c.runId,
        ...(c.fence ? { seq: c.fence.seq } : {}),
        ...(attempt ? { attempt: attempt.attempt, owner: attempt.owner, startedAt: attempt.startedAt } : {}),
      }
      const arm: Armed = { mode, via, record }
      armed.set(c.runId, arm)
      // A plain commit is one statement: disarm once it is done. Inside a transaction the
      // COMMIT (or ROLLBACK) comes after this returns: the debug hook disarms it there.
      const disarm = Effect.sync(() => armed.get(c.runId) === arm && armed.delete(c.runId))
      return via === "store" ? commit(c).pipe(Effect.ensuring(disarm)) : commit(c).pipe(Effect.onError(() => disarm))
    })

type TransactionFn = NonNullable<StoreService["transaction"]>

/** Store calls and failures (e.g. while Postgres restarts) by operation, reported to the supervisor. */
const calls: Record<string, number> = {}
const failures: Record<string, number> = {}
/** Failures by operation and message (the postgres.js error objects are huge with `debug` on). */
const failureMessages: Record<string, number> = {}
const describeFailure = (key: string, error: unknown): string => {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error
  const c = cause as { message?: unknown; code?: unknown } | null
  return `${key}: ${String(c?.code ?? "")} ${String(c?.message ?? cause)}`.replace(/\s+/g, " ").slice(0, 160)
}
const instrument = (store: StoreService): StoreService => {
  const counted: Record<string, unknown> = { ...store }
  for (const [key, value] of Object.entries(store)) {
    if (typeof value !== "function" || key === "transaction" || key === "listen") continue
    counted[key] = (...args: Array<unknown>) => {
      calls[key] = (calls[key] ?? 0) + 1
      return Effect.tapError((value as (...a: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args), (error) =>
        Effect.sync(() => {
          failures[key] = (failures[key] ?? 0) + 1
          const message = describeFailure(key, error)
          failureMessages[message] = (failureMessages[message] ?? 0) + 1
        }),
      )
    }
  }
  return counted as unknown as StoreService
}
setInterval(() => process.send?.({ type: "storeStats", calls, failures, failureMessages }), 250).unref()

/** The real store, with its commits (plain, and inside a step's transaction) armed at random. */
const wrapStore = (real: StoreService): StoreService => {
  const store = instrument(real)
  const transaction = store.transaction
  const wrapped: TransactionFn | undefined = transaction && ((f) => transaction((scope) => f({ ...scope, commit: armCommit(scope.commit, "transaction") })))
  return { ...store, commit: armCommit(store.commit, "store"), ...(wrapped ? { transaction: wrapped } : {}) }
}

// ---- step kills

const probability: Record<StepKillPoint, number> = { "pre-step": config.kill.preStep, "post-effect": config.kill.postEffect }

installHooks({
  sideEffects: postgres(config.url, { max: 2, onnotice: () => undefined, connection: { application_name: "crash-side-effects" } }),
  stepDelayMs: config.stepDelayMs,
  killPoint: (point: StepKillPoint, ctx: StepContext) => {
    const p = ctx.sql === undefined ? probability[point] : config.kill.transactional
    if (Math.random() < p) die({ kind: point, runId: ctx.runId, step: ctx.step, seq: ctx.seq, attempt: ctx.attempt })
  },
})

// ---- the worker

// The test process applied the migrations before starting any worker (and a bundled worker
// could not find the migrations folder next to its own module anyway).
const StoreLive = Layer.scoped(Store, Effect.map(PostgresStore.make({ sql, migrate: false }), wrapStore))
const MeshLive = Mesh.layer({ workflows: [CrashFlow] }).pipe(Layer.provide(StoreLive))

const program = Effect.gen(function* () {
  const mesh = yield* Mesh.Mesh
  yield* mesh.worker({
    concurrency: config.concurrency,
    pollInterval: config.pollMs,
    leaseFor: config.leaseMs,
    ownerId: `worker-${process.pid}`,
  })
  process.send?.({ type: "ready", pid: process.pid })
  return yield* Effect.never
})

Effect.runFork(program.pipe(Effect.scoped, Effect.provide(MeshLive))).addObserver((exit) => {
  console.error("worker program ended", JSON.stringify(exit))
  process.exit(4)
})
