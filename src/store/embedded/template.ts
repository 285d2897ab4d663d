/**
 * The pre-initialised data directory that makes a first open fast. Creating a PGlite database
 * runs initdb in a second WebAssembly instance (seconds, and several hundred MB more memory);
 * loading a dump of a fresh, migrated database skips that. `npm run build` writes the template
 * to `dist/template/` (see buildTemplate.ts). Migrations newer than the template are applied
 * on open as usual, so an old template stays correct, only a little slower.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { gunzipSync } from "node:zlib"
import { fileURLToPath } from "node:url"
import { PGlite } from "@electric-sql/pglite"
import { loadMigrations, migrate, type Migration } from "../sql/migrate.js"
import { pgliteClient } from "./pgliteClient.js"

/** The template's description, next to its tarball. */
export interface TemplateInfo {
  /** The PGlite version that wrote it; the data directory format follows PGlite's Postgres. */
  readonly pglite: string
  /** The migration versions already applied in it. */
  readonly migrations: ReadonlyArray<number>
  readonly createdAt: string
}

const TARBALL = "pgdata.tar.gz"
const INFO = "template.json"

/** The installed PGlite version, read from its package.json. */
export const pgliteVersion = (): string | undefined => {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"))
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      const file = join(dir, "package.json")
      if (!existsSync(file)) continue
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string }
      if (pkg.name === "@electric-sql/pglite") return pkg.version
    }
  } catch {
    // not resolvable: no template then
  }
  return undefined
}

/**
 * Folders a template may be in: `dist/template/` seen from the built module
 * (dist/src/store/embedded/), then from the source module (src/store/embedded/).
 */
export const templateDirs = (): ReadonlyArray<string> =>
  ["../../../template/", "../../../dist/template/"].map((rel) => fileURLToPath(new URL(rel, import.meta.url)))

const known = (): ReadonlySet<number> => new Set(loadMigrations().map((m) => m.version))

/** Same Postgres data format: PGlite releases with the same major.minor version. */
const compatible = (a: string, b: string): boolean => a.split(".").slice(0, 2).join(".") === b.split(".").slice(0, 2).join(".")

/**
 * The template usable with the installed PGlite, looked for in `dirs` (default: the shipped
 * one), or undefined (then a store is created the slow way).
 */
export const findTemplate = (dirs: ReadonlyArray<string> = templateDirs()): { readonly dir: string; readonly info: TemplateInfo } | undefined => {
  const installed = pgliteVersion()
  if (installed === undefined) return undefined
  for (const dir of dirs) {
    try {
      if (!existsSync(join(dir, INFO)) || !existsSync(join(dir, TARBALL))) continue
      const info = JSON.parse(readFileSync(join(dir, INFO), "utf8")) as TemplateInfo
      // A template with migrations this code does not have (a dist/ built from newer sources) would give it a schema it does not know.
      if (typeof info.pglite === "string" && compatible(info.pglite, installed) && info.migrations.every((v) => known().has(v))) return { dir, info }
    } catch {
      // unreadable template: try the next, or none
    }
  }
  return undefined
}

/** The template's tarball, for PGlite's `loadDataDir` (used for in-memory databases). */
export const templateBlob = (dir: string): Blob => new Blob([readFileSync(join(dir, TARBALL))])

/**
 * Unpacks the template's tarball into `into` with Node's own file system calls: several
 * times faster than PGlite's `loadDataDir`, which writes each file through its WebAssembly
 * file system, and without holding the unpacked data in JavaScript memory twice. Reads the
 * ustar entries PGlite's `dumpDataDir` writes: directories and regular files.
 */
export const extractTemplate = (dir: string, into: string): void => {
  const tar = gunzipSync(readFileSync(join(dir, TARBALL)))
  const text = (header: Buffer, start: number, length: number) => {
    const raw = header.toString("utf8", start, start + length)
    const nul = raw.indexOf("\0")
    return nul === -1 ? raw : raw.slice(0, nul)
  }
  let offset = 0
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)
    if (header[0] === 0) break // the end-of-archive blocks
    const name = text(header, 0, 100)
    const prefix = text(header, 257, 6).startsWith("ustar") ? text(header, 345, 155) : ""
    const size = parseInt(text(header, 124, 12).trim() || "0", 8)
    const mode = parseInt(text(header, 100, 8).trim() || "600", 8) & 0o777
    const type = String.fromCharCode(header[156]!)
    const path = (prefix ? `${prefix}/${name}` : name).replace(/^\/+/, "")
    if (path.split("/").includes("..")) throw new Error(`template entry outside the data directory: ${path}`)
    offset += 512
    const target = join(into, path)
    if (type === "5") mkdirSync(target, { recursive: true, mode: 0o700 })
    else if (type === "0" || type === "\0") {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 })
      writeFileSync(target, tar.subarray(offset, offset + size), { mode })
    }
    offset += Math.ceil(size / 512) * 512
  }
}

/** Writes a fresh template, migrated with `migrations` (default: all of the package's), into `outDir`. Returns what it wrote. */
export const buildTemplate = async (outDir: string, migrations: ReadonlyArray<Migration> = loadMigrations()): Promise<TemplateInfo> => {
  const version = pgliteVersion()
  if (version === undefined) throw new Error("cannot read the installed @electric-sql/pglite version")
  // Less to unpack and write on every first open: 1 MB WAL segments instead of 16 MB (a
  // cluster setting fixed at initdb), and no spare segments kept by this build instance.
  const db = await PGlite.create({ initDbStartParams: ["--wal-segsize=1"], startParams: [...PGlite.defaultStartParams, "-c", "min_wal_size=2MB"] })
  try {
    await migrate(pgliteClient(db), migrations)
    // A checkpoint first, so the dump carries the tables' pages rather than a WAL to replay.
    await db.exec("CHECKPOINT")
    const dump = await db.dumpDataDir("gzip")
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, TARBALL), Buffer.from(await dump.arrayBuffer()))
    const info: TemplateInfo = { pglite: version, migrations: migrations.map((m) => m.version), createdAt: new Date().toISOString() }
    writeFileSync(join(outDir, INFO), JSON.stringify(info, null, 2) + "\n")
    return info
  } finally {
    await db.close()
  }
}
