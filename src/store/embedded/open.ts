/**
 * Opens PGlite on a data directory the caller holds the lock of. A directory without a
 * database is created from the shipped template when there is one (template.ts), else by
 * PGlite's initdb. A creation that did not finish (the process died, the template did not
 * load) is detected by a marker file and redone from scratch on the next open.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { SOCKET_NAME } from "./socketPath.js"
import { extractTemplate, findTemplate, templateBlob } from "./template.js"

/** Present while a store is being created; a store with it is incomplete. */
const CREATING = "squid-mesh.creating"

/** The result of `openDataDir`. */
export interface OpenedDataDir {
  readonly db: PGlite
  /** How the database came to be: loaded from the template, created by initdb, or already there. */
  readonly created: "template" | "initdb" | false
  readonly openMs: number
}

/** Options of `openDataDir`. */
export interface OpenDataDirOptions {
  /** Print one line on stderr when a store is created. */
  readonly progress: boolean
  /** Fail instead of creating a missing store. */
  readonly mustExist: boolean
  /** The template folder to create from (default: the shipped one); false: always initdb. */
  readonly template?: string | false | undefined
}

/**
 * Postgres settings of every embedded database. shared_buffers is 128 MB by default: 32 MB
 * cuts a store's resident memory by about 120 MB and its open time, and still caches far more
 * than a workflow store's hot rows (the OS caches the rest of the files).
 */
export const START_PARAMS: ReadonlyArray<string> = [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB"]

/**
 * An in-memory database: from the template when there is one (well under a second), else
 * created by initdb (several seconds).
 */
export const openMemory = async (template?: string | false): Promise<PGlite> => {
  const found = template === false ? undefined : findTemplate(template === undefined ? undefined : [template])
  if (found) {
    try {
      return await PGlite.create({ loadDataDir: templateBlob(found.dir), startParams: [...START_PARAMS] })
    } catch {
      // unusable template: create below
    }
  }
  return PGlite.create({ startParams: [...START_PARAMS] })
}

/** True when `dataDir` holds a complete database. */
export const hasDatabase = (dataDir: string): boolean => existsSync(join(dataDir, "PG_VERSION")) && !existsSync(join(dataDir, CREATING))

/** Removes everything but our lock records and socket: what an unfinished creation left. */
const clearPartial = (dataDir: string) => {
  for (const name of readdirSync(dataDir)) {
    // Lock records, and lock attempts still being written by other processes (`.squid-mesh.lock.tmp-…`).
    if (name.startsWith("squid-mesh.lock.") || name.startsWith(".squid-mesh.lock.") || name === SOCKET_NAME || name === CREATING) continue
    rmSync(join(dataDir, name), { recursive: true, force: true })
  }
}

/** Opens (or creates) the database in `dataDir`. The caller holds the directory's lock. */
export const openDataDir = async (dataDir: string, options: OpenDataDirOptions): Promise<OpenedDataDir> => {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  if (hasDatabase(dataDir)) return { db: await PGlite.create({ dataDir, startParams: [...START_PARAMS] }), created: false, openMs: elapsed() }
  if (options.mustExist) throw new Error(`no embedded store in ${dataDir} (mustExist)`)
  if (options.progress) process.stderr.write(`squid-mesh: creating the embedded store in ${dataDir} (first run, a few seconds at most)…\n`)
  writeFileSync(join(dataDir, CREATING), `${process.pid}\n`)
  clearPartial(dataDir)
  const template = options.template === false ? undefined : findTemplate(options.template === undefined ? undefined : [options.template])
  let db: PGlite | undefined
  let created: "template" | "initdb" = "initdb"
  if (template) {
    try {
      extractTemplate(template.dir, dataDir)
      db = await PGlite.create({ dataDir, startParams: [...START_PARAMS] })
      created = "template"
    } catch {
      // An unusable template (another Postgres build): create the slow way.
      clearPartial(dataDir)
    }
  }
  db ??= await PGlite.create({ dataDir, startParams: [...START_PARAMS] })
  rmSync(join(dataDir, CREATING), { force: true })
  return { db, created, openMs: elapsed() }
}
