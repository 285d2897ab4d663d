/**
 * Keeps N worker processes (workerProcess.ts) alive: respawns each one that dies, optionally
 * SIGKILLs a random live worker now and then (recorded in the kill log as `external`) or
 * pauses one (SIGSTOP/SIGCONT), keeps the tail of every worker's output for diagnostics, and
 * on `stop()` kills them all and waits until every one has exited.
 *
 * Start-up cost matters here: a crash test respawns workers dozens of times on two cores.
 * `node --import tsx --conditions=squid-mesh-source workerProcess.ts` takes about 0.7 s of CPU per start;
 * so the worker is bundled once per test process with esbuild (the same transform tsx uses)
 * into a temporary .mjs, which starts in about 0.13 s. Without esbuild it falls back to tsx.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { KillRecord, WorkerConfig } from "./workerProcess.js"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, "..", "..")
const entry = join(here, "workerProcess.ts")

/** How to start a worker: node with these arguments. */
let command: Promise<ReadonlyArray<string>> | undefined
/** The temporary directory of the bundle, removed by `disposeWorkerBundle`. */
let bundleDir: string | undefined

const buildCommand = async (): Promise<ReadonlyArray<string>> => {
  try {
    const esbuild = await import("esbuild")
    const dir = (bundleDir = mkdtempSync(join(tmpdir(), "squid-crash-worker-")))
    const outfile = join(dir, "worker.mjs")
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["squid-mesh-source"],
      logLevel: "warning",
      // Bundled CommonJS may `require` Node built-ins.
      banner: { js: "import { createRequire as __squidRequire } from 'node:module'; const require = __squidRequire(import.meta.url);" },
    })
    return [outfile]
  } catch (error) {
    console.warn(`[supervisor] could not bundle the worker (${String(error)}); starting it through tsx`)
    return ["--import", "tsx", "--conditions=squid-mesh-source", entry]
  }
}

/** The worker's node arguments (bundled once per test process). */
export const workerCommand = (): Promise<ReadonlyArray<string>> => (command ??= buildCommand())

/** Removes the bundle (call once no worker runs any more; the next start bundles again). */
export const disposeWorkerBundle = (): void => {
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true })
  bundleDir = undefined
  command = undefined
}

/** Options of a supervisor. */
export interface SupervisorOptions {
  readonly size: number
  readonly worker: WorkerConfig
  /** Respawn workers that die (default true). */
  readonly respawn?: boolean
  /** SIGKILL a random live worker every [min, max] ms (uniform); absent: never. */
  readonly externalKillEveryMs?: readonly [number, number]
  /**
   * SIGSTOP a random live worker every [min, max] ms for `freezeForMs` [min, max] ms, then
   * SIGCONT it: a paused process outlives its leases and wakes up with stale claims.
   */
  readonly freezeEveryMs?: readonly [number, number]
  readonly freezeForMs?: readonly [number, number]
}

/** How one worker process ended. */
export interface WorkerExit {
  readonly pid: number
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly lifetimeMs: number
}

interface Live {
  readonly child: ChildProcess
  readonly startedAt: number
  ready: boolean
  readonly output: Array<string>
  readonly exited: Promise<void>
}

const TAIL = 40

/** Every worker process still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL")
})

export class Supervisor {
  private readonly live = new Map<number, Live>()
  private stopping = false
  private externalTimer: NodeJS.Timeout | undefined
  private freezeTimer: NodeJS.Timeout | undefined
  private readonly frozen = new Set<number>()
  private readonly tails = new Map<number, ReadonlyArray<string>>()
  private args: ReadonlyArray<string> = []
  readonly exits: Array<WorkerExit> = []
  spawned = 0
  readyCount = 0
  /** Store calls and failures by operation, as last reported by each worker. */
  private readonly storeStats = new Map<number, { calls: Record<string, number>; failures: Record<string, number>; failureMessages: Record<string, number> }>()

  constructor(readonly options: SupervisorOptions) {}

  /** Spawns the workers and resolves once each of the first `size` reported ready. */
  async start(timeoutMs = 180_000): Promise<void> {
    this.args = await workerCommand()
    const first = Array.from({ length: this.options.size }, () => this.spawnOne())
    const deadline = Date.now() + timeoutMs
    while (first.some((w) => !w.ready)) {
      if (Date.now() > deadline) throw new Error(`workers not ready after ${timeoutMs} ms:\n${this.describe()}`)
      if (this.stopping) throw new Error("supervisor stopped while starting")
      await sleep(25)
    }
    if (this.options.externalKillEveryMs) this.scheduleExternalKill()
    if (this.options.freezeEveryMs) this.scheduleFreeze()
  }

  /** Store calls and failures by operation, summed over every worker (as last reported). */
  storeTotals(): { calls: Record<string, number>; failures: Record<string, number>; failureMessages: Record<string, number> } {
    const sum = (pick: "calls" | "failures" | "failureMessages") => {
      const total: Record<string, number> = {}
      for (const stats of this.storeStats.values()) for (const [k, n] of Object.entries(stats[pick])) total[k] = (total[k] ?? 0) + n
      return total
    }
    return { calls: sum("calls"), failures: sum("failures"), failureMessages: sum("failureMessages") }
  }

  /** Failed store operations the workers reported, in total. */
  storeErrors(): number {
    return Object.values(this.storeTotals().failures).reduce((a, b) => a + b, 0)
  }

  /** Live worker pids. */
  pids(): Array<number> {
    return [...this.live.keys()]
  }

  /** Exits not caused by SIGKILL (ours) or by `stop()`: crashes of the worker code itself. */
  unexpectedExits(): Array<WorkerExit> {
    return this.exits.filter((e) => e.signal !== "SIGKILL" && !(this.stopping && (e.signal === "SIGTERM" || e.code === 0)))
  }

  /** Kills every worker (SIGTERM, then SIGKILL after `graceMs`) and waits for all to exit. */
  async stop(graceMs = 1_000): Promise<void> {
    this.stopping = true
    if (this.externalTimer) clearTimeout(this.externalTimer)
    if (this.freezeTimer) clearTimeout(this.freezeTimer)
    const all = [...this.live.values()]
    for (const w of all) {
      w.child.kill("SIGTERM")
      w.child.kill("SIGCONT")
    }
    const escalate = setTimeout(() => {
      for (const w of this.live.values()) w.child.kill("SIGKILL")
    }, graceMs)
    await Promise.all(all.map((w) => w.exited))
    clearTimeout(escalate)
  }

  /** The last lines of output of live and dead workers. */
  describe(): string {
    const lines: Array<string> = []
    for (const [pid, w] of this.live) lines.push(`-- worker ${pid} (live, ready=${w.ready})`, ...w.output.slice(-TAIL))
    const exited = [...this.tails].filter(([, tail]) => tail.length > 0)
    if (exited.length > 6) lines.push(`-- (${exited.length - 6} more exited workers with output not shown)`)
    for (const [pid, tail] of exited.slice(-6)) lines.push(`-- worker ${pid} (exited)`, ...tail)
    lines.push(`exits: ${JSON.stringify(this.exits.slice(-20))}`)
    lines.push(`store failures: ${JSON.stringify(this.storeTotals().failureMessages, null, 1)}`)
    return lines.join("\n")
  }

  private spawnOne(): Live {
    const child = spawn(process.execPath, [...this.args], {
      cwd: repoRoot,
      env: { ...process.env, CRASH_WORKER: JSON.stringify(this.options.worker) },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    })
    this.spawned++
    running.add(child)
    const output: Array<string> = []
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue
        output.push(line.length > 400 ? line.slice(0, 400) + "…" : line)
      }
      if (output.length > TAIL * 4) output.splice(0, output.length - TAIL)
    }
    child.stdout?.on("data", keep)
    child.stderr?.on("data", keep)
    const startedAt = Date.now()
    let resolveExit!: () => void
    const exited = new Promise<void>((resolve) => (resolveExit = resolve))
    const w: Live = { child, startedAt, ready: false, output, exited }
    child.on("message", (m: unknown) => {
      const message = m as { type?: string; calls?: Record<string, number>; failures?: Record<string, number>; failureMessages?: Record<string, number> } | null
      if (message?.type === "ready") {
        w.ready = true
        this.readyCount++
      } else if (message?.type === "storeStats" && child.pid !== undefined) {
        this.storeStats.set(child.pid, { calls: message.calls ?? {}, failures: message.failures ?? {}, failureMessages: message.failureMessages ?? {} })
      }
    })
    child.on("exit", (code, signal) => {
      running.delete(child)
      const pid = child.pid ?? -1
      this.live.delete(pid)
      this.tails.set(pid, output.slice(-TAIL))
      this.exits.push({ pid, code, signal, lifetimeMs: Date.now() - startedAt })
      resolveExit()
      if (!this.stopping && this.options.respawn !== false) setTimeout(() => this.stopping || this.spawnOne(), 50)
    })
    child.on("error", (error) => output.push(`spawn error: ${String(error)}`))
    if (child.pid === undefined) throw new Error("could not spawn a worker process")
    this.live.set(child.pid, w)
    return w
  }

  private scheduleFreeze() {
    const uniform = ([min, max]: readonly [number, number]) => min + Math.random() * (max - min)
    this.freezeTimer = setTimeout(() => {
      if (this.stopping) return
      const ready = [...this.live.values()].filter((w) => w.ready && !this.frozen.has(w.child.pid ?? -1))
      const victim = ready[Math.floor(Math.random() * ready.length)]
      const pid = victim?.child.pid
      if (victim && pid !== undefined) {
        const forMs = uniform(this.options.freezeForMs ?? [2_500, 4_000])
        appendFileSync(
          this.options.worker.killLog,
          JSON.stringify({ kind: "freeze", pid, at: Date.now(), forMs: Math.round(forMs) } satisfies KillRecord) + "\n",
        )
        this.frozen.add(pid)
        // A detached shell pauses and resumes the worker, so it resumes even if this test
        // process dies meanwhile (it then sees its IPC channel closed and exits).
        spawn("sh", ["-c", `kill -STOP ${pid} && sleep ${(forMs / 1000).toFixed(3)}; kill -CONT ${pid} 2>/dev/null`], {
          detached: true,
          stdio: "ignore",
        }).unref()
        setTimeout(() => this.frozen.delete(pid), forMs)
      }
      this.scheduleFreeze()
    }, uniform(this.options.freezeEveryMs!))
  }

  private scheduleExternalKill() {
    const [min, max] = this.options.externalKillEveryMs!
    this.externalTimer = setTimeout(
      () => {
        if (this.stopping) return
        // Only workers that are up and working: killing one still booting proves nothing.
        const ready = [...this.live.values()].filter((w) => w.ready && !this.frozen.has(w.child.pid ?? -1))
        const victim = ready[Math.floor(Math.random() * ready.length)]
        if (victim?.child.pid !== undefined) {
          const record: KillRecord = { kind: "external", pid: victim.child.pid, at: Date.now() }
          appendFileSync(this.options.worker.killLog, JSON.stringify(record) + "\n")
          victim.child.kill("SIGKILL")
        }
        this.scheduleExternalKill()
      },
      min + Math.random() * (max - min),
    )
  }
}

/** Reads the kill log written by the workers and the supervisor. */
export const readKillLog = (path: string): Array<KillRecord> =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as KillRecord)
    : []

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
