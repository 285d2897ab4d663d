/**
 * The data-directory lock: one process opens an embedded store at a time (DESIGN.md §7,
 * invariant 10). Two PGlite instances on one directory do not fail: they silently overwrite
 * each other's pages, and runs disappear.
 *
 * The lock is a sequence of records `squid-mesh.lock.<n>` in the data directory; the one with
 * the highest `n` says who holds the directory. Each record is created whole and atomically
 * (written to a temporary file, then hard-linked into place, which fails if the name exists).
 * A record is free when it says `released`, or when its process is gone (same host, and no
 * live process with that pid and start time). Taking a free record over means creating record
 * `n + 1`: of several processes racing to take over the same stale record, exactly one
 * succeeds, and nothing is ever deleted and recreated under the same name (which is where a
 * single lock file with "remove if stale" races: a slow process removes the lock a faster one
 * just took). Releasing appends a `released` record; older records are pruned by the next holder.
 */
import { randomBytes } from "node:crypto"
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"

/** What a lock record says. */
export interface LockRecord {
  readonly pid: number
  readonly host: string
  /** When the holder took the lock (ISO time). */
  readonly startedAt: string
  /** The holder's process start time from /proc (Linux), so a recycled pid is not taken for the holder. */
  readonly procStart?: string
  /** The Unix socket the holder serves the store on, when it serves. */
  readonly socket?: string
  /** Set on the record a holder appends when it lets go. */
  readonly released?: boolean
}

/** A lock this process holds. */
export interface HeldLock {
  readonly dataDir: string
  readonly generation: number
  readonly record: LockRecord
  /** Appends a `released` record. Safe to call twice. */
  readonly release: () => void
}

/** The outcome of `tryAcquire`. */
export type LockOutcome =
  | { readonly _tag: "Acquired"; readonly lock: HeldLock }
  | { readonly _tag: "Held"; readonly record: LockRecord; readonly generation: number }

const PREFIX = "squid-mesh.lock."
const RECORD = /^squid-mesh\.lock\.(\d+)$/

/** The process start time (clock ticks since boot) of `pid`, from /proc; undefined elsewhere. */
export const processStart = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Field 22 (starttime); fields counted after the ")" that ends the command name.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

/** True when the record's process still runs (on this host). Records of other hosts count as alive: we cannot tell. */
export const holderAlive = (record: LockRecord): boolean => {
  if (record.host !== hostname()) return true
  try {
    process.kill(record.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  if (record.procStart === undefined) return true
  const now = processStart(record.pid)
  return now === undefined || now === record.procStart
}

const generations = (dataDir: string): Array<number> =>
  readdirSync(dataDir)
    .map((name) => RECORD.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)

const readRecord = (dataDir: string, generation: number): LockRecord | "missing" | "corrupt" => {
  let text: string
  try {
    text = readFileSync(join(dataDir, PREFIX + generation), "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing"
    throw error
  }
  try {
    const parsed = JSON.parse(text) as LockRecord
    return typeof parsed.pid === "number" && typeof parsed.host === "string" ? parsed : "corrupt"
  } catch {
    return "corrupt"
  }
}

/** Creates record `generation` whole, or returns false if it already exists. */
const createRecord = (dataDir: string, generation: number, record: LockRecord): boolean => {
  const temp = join(dataDir, `.${PREFIX}tmp-${process.pid}-${randomBytes(6).toString("hex")}`)
  const fd = openSync(temp, "wx", 0o600)
  try {
    writeSync(fd, JSON.stringify(record, null, 2) + "\n")
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(temp, join(dataDir, PREFIX + generation))
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
    throw error
  } finally {
    unlinkSync(temp)
  }
}

const prune = (dataDir: string, below: number) => {
  for (const g of generations(dataDir)) {
    if (g >= below) break
    try {
      unlinkSync(join(dataDir, PREFIX + g))
    } catch {
      // another holder pruned it first
    }
  }
}

/**
 * Tries to take the lock of `dataDir` (which must exist). Returns the held lock, or the record
 * of the live process that holds it. Never waits. Throws on file-system errors.
 */
export const tryAcquire = (dataDir: string, options: { readonly socket?: string | undefined } = {}): LockOutcome => {
  const ours: LockRecord = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...(processStart(process.pid) !== undefined ? { procStart: processStart(process.pid)! } : {}),
    ...(options.socket !== undefined ? { socket: options.socket } : {}),
  }
  for (let round = 0; round < 100; round++) {
    const latest = generations(dataDir).at(-1)
    let next = 1
    if (latest !== undefined) {
      const record = readRecord(dataDir, latest)
      if (record === "missing") continue // pruned or released meanwhile: look again
      // A corrupt record cannot come from createRecord (it links complete files): free it.
      if (record !== "corrupt" && !record.released && holderAlive(record)) return { _tag: "Held", record, generation: latest }
      next = latest + 1
    }
    if (!createRecord(dataDir, next, ours)) continue // someone else took it first: look again
    prune(dataDir, next)
    let released = false
    return {
      _tag: "Acquired",
      lock: {
        dataDir,
        generation: next,
        record: ours,
        release: () => {
          if (released) return
          released = true
          createRecord(dataDir, next + 1, { pid: process.pid, host: ours.host, startedAt: new Date().toISOString(), released: true })
          prune(dataDir, next + 1)
        },
      },
    }
  }
  throw new Error(`could not settle the lock of ${dataDir}: its records keep changing`)
}

/** The record of the current holder of `dataDir`, if a live process holds it. */
export const currentHolder = (dataDir: string): LockRecord | undefined => {
  const latest = generations(dataDir).at(-1)
  if (latest === undefined) return undefined
  const record = readRecord(dataDir, latest)
  return typeof record === "object" && !record.released && holderAlive(record) ? record : undefined
}
