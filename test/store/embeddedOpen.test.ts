/**
 * Opening the embedded store: the default directory, the template (older templates still get
 * newer migrations), the fallback when a template is unusable, `mustExist`, the progress line.
 */
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { Cause, Effect, Exit, Option } from "effect"
import { afterAll, describe, expect, it, vi } from "vitest"
import { StoreError } from "../../src/core/errors.js"
import { resolveDataDir } from "../../src/store/embedded/dataDir.js"
import { buildTemplate, findTemplate, pgliteVersion } from "../../src/store/embedded/template.js"
import * as PgliteStore from "../../src/store/pglite.js"
import { loadMigrations } from "../../src/store/sql/migrate.js"

const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
const freshDir = () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "squid-mesh-open-")))
  dirs.push(dir)
  return dir
}

const open = (options: PgliteStore.PgliteStoreOptions) =>
  Effect.runPromiseExit(Effect.scoped(Effect.map(PgliteStore.make(options), (store) => PgliteStore.storeInfo(store))))

const failureOf = <A, E>(exit: Exit.Exit<A, E>) => (Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined)

const appliedMigrations = async (dataDir: string) => {
  const db = await PGlite.create({ dataDir })
  try {
    return (await db.query<{ version: number }>("SELECT version FROM squid_mesh.schema_migrations ORDER BY version")).rows.map((r) => r.version)
  } finally {
    await db.close()
  }
}

describe("default data directory", () => {
  it("is $SQUID_MESH_DATA_DIR, else .squid-mesh in the project root of the entry script, else of the cwd", () => {
    const root = freshDir()
    const app = join(root, "app")
    mkdirSync(join(app, "src", "jobs"), { recursive: true })
    writeFileSync(join(app, "package.json"), "{}")
    writeFileSync(join(app, "src", "jobs", "main.js"), "")
    mkdirSync(join(app, "node_modules", "squid-mesh", "dist"), { recursive: true })
    writeFileSync(join(app, "node_modules", "squid-mesh", "package.json"), "{}")
    writeFileSync(join(app, "node_modules", "squid-mesh", "dist", "cli.js"), "")
    const elsewhere = join(root, "elsewhere")
    mkdirSync(elsewhere)
    symlinkSync(join(app, "src", "jobs", "main.js"), join(elsewhere, "linked.js"))

    expect(resolveDataDir({ env: { SQUID_MESH_DATA_DIR: "/var/lib/mesh" }, entry: join(app, "src", "jobs", "main.js"), cwd: elsewhere })).toBe("/var/lib/mesh")
    expect(resolveDataDir({ env: { SQUID_MESH_DATA_DIR: "data" }, cwd: elsewhere })).toBe(join(elsewhere, "data"))
    // Started from another folder: still the app's store.
    expect(resolveDataDir({ env: {}, entry: join(app, "src", "jobs", "main.js"), cwd: elsewhere })).toBe(join(app, ".squid-mesh"))
    // Through a symlink: the script's real location decides.
    expect(resolveDataDir({ env: {}, entry: join(elsewhere, "linked.js"), cwd: elsewhere })).toBe(join(app, ".squid-mesh"))
    // A CLI inside node_modules is not the app: the cwd's project is.
    expect(resolveDataDir({ env: {}, entry: join(app, "node_modules", "squid-mesh", "dist", "cli.js"), cwd: join(app, "src") })).toBe(join(app, ".squid-mesh"))
    // No project anywhere: the cwd.
    expect(resolveDataDir({ env: {}, entry: undefined, cwd: elsewhere })).toBe(join(elsewhere, ".squid-mesh"))
  })
})

describe("socket path", () => {
  it("falls back to a private folder under the temp directory when the data directory's path is too long", async () => {
    const dataDir = join(freshDir(), "a-folder-name-long-enough-to-push-the-socket-path-past-the-sun-path-limit", ".squid-mesh")
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const holder = yield* PgliteStore.make({ dataDir, progress: false })
          const client = yield* PgliteStore.make({ dataDir })
          const holderInfo = PgliteStore.storeInfo(holder)
          const socket = holderInfo?.mode === "holder" ? holderInfo.socket : undefined
          return {
            holderInfo,
            clientInfo: PgliteStore.storeInfo(client),
            mode: socket ? statSync(dirname(socket)).mode & 0o777 : undefined,
            runs: yield* client.listRuns({}),
          }
        }),
      ),
    )
    expect(failureOf(exit)).toBeUndefined()
    const value = Exit.isSuccess(exit) ? exit.value : undefined
    const socket = value?.holderInfo?.mode === "holder" ? value.holderInfo.socket : undefined
    expect(socket?.startsWith(tmpdir())).toBe(true)
    expect(Buffer.byteLength(socket ?? "")).toBeLessThanOrEqual(100)
    expect(value?.mode).toBe(0o700)
    expect(value?.clientInfo).toMatchObject({ mode: "client", holderPid: process.pid, socket })
    // Released with the store: the fallback folder is gone.
    expect(existsSync(dirname(socket!))).toBe(false)
  })
})

describe("creating a store", () => {
  it("from a template built with older migrations: loads it, then applies the newer ones", async () => {
    const root = freshDir()
    const template = join(root, "template")
    const info = await buildTemplate(template, loadMigrations().slice(0, 3))
    expect(info.migrations).toEqual([1, 2, 3])
    const dataDir = join(root, "store")
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true)
    const exit = await open({ dataDir, template })
    const lines = stderr.mock.calls.map((c) => String(c[0]))
    stderr.mockRestore()
    expect(failureOf(exit)).toBeUndefined()
    expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ mode: "holder", created: "template", dataDir })
    expect(lines.filter((l) => l.includes(`creating the embedded store in ${dataDir}`))).toHaveLength(1)
    expect(await appliedMigrations(dataDir)).toEqual(loadMigrations().map((m) => m.version))
    // The second open finds the store: nothing created, no progress line.
    const again = vi.spyOn(process.stderr, "write").mockImplementation(() => true)
    const reopened = await open({ dataDir, template })
    const quiet = again.mock.calls.length
    again.mockRestore()
    expect(Exit.isSuccess(reopened) && reopened.value).toMatchObject({ mode: "holder", created: false })
    expect(quiet).toBe(0)
  }, 300_000)

  it("falls back to initdb when the template cannot be loaded, leaving a complete store", async () => {
    const root = freshDir()
    const template = join(root, "broken")
    mkdirSync(template)
    writeFileSync(join(template, "template.json"), JSON.stringify({ pglite: "0.5.0", migrations: [1], createdAt: "" }))
    writeFileSync(join(template, "pgdata.tar.gz"), "not a tarball")
    const dataDir = join(root, "store")
    const exit = await open({ dataDir, template, progress: false })
    expect(failureOf(exit)).toBeUndefined()
    expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ mode: "holder", created: "initdb" })
    expect(await appliedMigrations(dataDir)).toEqual(loadMigrations().map((m) => m.version))
    expect(existsSync(join(dataDir, "squid-mesh.creating"))).toBe(false)
  }, 300_000)

  it("ignores a template with migrations this code does not know (built from newer sources)", async () => {
    const root = freshDir()
    const template = join(root, "future")
    mkdirSync(template)
    writeFileSync(
      join(template, "template.json"),
      JSON.stringify({ pglite: pgliteVersion(), migrations: [...loadMigrations().map((m) => m.version), 9999], createdAt: "" }),
    )
    writeFileSync(join(template, "pgdata.tar.gz"), "unused")
    expect(findTemplate([template])).toBeUndefined()
    writeFileSync(join(template, "template.json"), JSON.stringify({ pglite: pgliteVersion(), migrations: [1, 2], createdAt: "" }))
    expect(findTemplate([template])?.dir).toBe(template)
  })

  it("with mustExist, fails instead of creating, and leaves no directory behind", async () => {
    const root = freshDir()
    const missing = join(root, "nope", ".squid-mesh")
    const error = failureOf(await open({ dataDir: missing, mustExist: true }))
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ operation: "open" })
    expect((error as StoreError).message).toContain(`no embedded store in ${missing}`)
    expect(existsSync(join(root, "nope"))).toBe(false)
    const empty = join(root, "empty")
    mkdirSync(empty)
    expect(failureOf(await open({ dataDir: empty, mustExist: true }))).toMatchObject({ _tag: "StoreError", operation: "open" })
    expect(existsSync(join(empty, "PG_VERSION"))).toBe(false)
  })
})
