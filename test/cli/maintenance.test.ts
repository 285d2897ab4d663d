/**
 * The `squid-mesh` CLI: migrations applied against a URL, listed, printed and copied for host
 * tools; usage and exit codes; doctor; and the check-replay deploy gate, which must never write.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import postgres from "postgres"
import { afterAll, expect, inject, it, vi } from "vitest"
import { describeUrl, main } from "../../src/cli/main.js"
import { createMesh, PostgresStore } from "../../src/index.js"
import { postgresClient } from "../../src/store/postgres.js"
import { loadMigrations, migrate } from "../../src/store/sql/migrate.js"
import { Gated } from "../fixtures/replayV1.js"
import { freshDatabase } from "../support/database.js"

const files = loadMigrations().map((m) => m.filename)
const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** Runs the CLI in-process: `out` is what it printed on stdout, `err` on stderr. */
const capture = async (args: ReadonlyArray<string>) => {
  const out: Array<string> = []
  const errors: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")))
  const write = vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true))
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void errors.push(a.join(" ")))
  try {
    return { code: await main(args), out: out.join("\n"), err: errors.join("\n") }
  } finally {
    log.mockRestore()
    write.mockRestore()
    err.mockRestore()
  }
}
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

it("migrate applies the schema once, then reports it up to date", async () => {
  const db = await freshDatabase(inject("databaseUrl"), "cli")
  try {
    // stderr names the store, never the credentials in the URL.
    const store = `squid-mesh: store: ${describeUrl(db.url)}`
    expect(store).not.toMatch(/@|password/)
    expect(await capture(["migrate", "--url", db.url])).toEqual({ code: 0, out: `applied: ${files.join(", ")}`, err: store })
    expect(await capture(["migrate", "--url", db.url])).toEqual({ code: 0, out: "schema is up to date", err: store })
    const sql = postgres(db.url, { max: 1 })
    expect((await sql`SELECT count(*)::int AS n FROM squid_mesh.runs`)[0]!.n).toBe(0)
    await sql.end()
  } finally {
    await db.drop()
  }
})

it("lists, prints and copies the migration files for a host's own migration tool", async () => {
  expect((await capture(["migrations", "list"])).out).toBe(files.join("\n"))
  expect(files.slice(0, 2)).toEqual(["0001_init.sql", "0002_commands.sql"])
  const printed = (await capture(["migrations", "print"])).out
  expect(printed).toContain("-- 0001_init.sql")
  expect(printed).toContain("CREATE TABLE squid_mesh.runs")
  const dir = tempDir("squid-mesh-cli-")
  expect((await capture(["migrations", "copy", dir, "--prefix", "20260101_"])).code).toBe(0)
  expect(readdirSync(dir).sort()).toEqual(files.map((f) => `20260101_${f}`))
  expect(readFileSync(join(dir, "20260101_0001_init.sql"), "utf8")).toContain("CREATE SCHEMA IF NOT EXISTS squid_mesh")
})

it("--help prints the usage on stdout and exits 0; an unknown command says so on stderr and exits 2", async () => {
  const help = await capture(["--help"])
  expect(help.code).toBe(0)
  expect(help.err).toBe("")
  expect(help.out).toMatch(/^usage: squid-mesh <command>/)
  expect(help.out).toContain("check-replay --module <file>")
  const bogus = await capture(["frobnicate"])
  expect(bogus.code).toBe(2)
  expect(bogus.err.split("\n")[0]).toBe('squid-mesh: unknown command "frobnicate"')
  expect(bogus.err).toContain("usage: squid-mesh <command>")
  expect((await capture([])).code).toBe(2)
  expect(await capture(["migrate", "--url"])).toMatchObject({ code: 2, err: expect.stringContaining("--url needs a value") })
})

it("doctor reports the driver and its built-in guard, and with --url the connection and the schema", async () => {
  const plain = await capture(["doctor"])
  expect(plain.code).toBe(0)
  expect(plain.out).toMatch(/^node: v\d+/)
  expect(plain.out).toMatch(/postgres\.js: 3\.\d+\.\d+/)
  expect(plain.out).toContain("postgres.js null-socket guard: built in")
  const db = await freshDatabase(inject("databaseUrl"), "cli")
  try {
    const empty = await capture(["doctor", "--url", db.url])
    expect(empty.code).toBe(1)
    expect(empty.out).toMatch(/database: reachable \(PostgreSQL \d+/)
    expect(empty.out).toContain("schema: missing (run `squid-mesh migrate`)")
    await capture(["migrate", "--url", db.url])
    expect(await capture(["doctor", "--url", db.url])).toMatchObject({ code: 0, out: expect.stringContaining("schema: up to date") })
  } finally {
    await db.drop()
  }
  const down = await capture(["doctor", "--url", "postgres://nobody@127.0.0.1:1/none"])
  expect(down.code).toBe(1)
  expect(down.out).toContain("database: unreachable")
})

it("check-replay gates a deploy on PGlite: exit 0 when open runs replay, 1 with the divergence; relative and absolute --module", async () => {
  const dataDir = tempDir("squid-mesh-gate-")
  const mesh = await createMesh({ workflows: [Gated], store: { kind: "pglite", dataDir } })
  const { runId } = await mesh.start(Gated, {})
  for (let i = 0; i < 3; i++) await mesh.executeNext()
  expect((await mesh.inspectRun(runId)).status).toBe("paused")
  await mesh.close()
  const same = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--pglite", dataDir])
  expect(same.code).toBe(0)
  expect(JSON.parse(same.out)).toEqual({ ok: true, checked: 1, divergent: [] })
  const changed = await capture(["check-replay", "--module", resolve("test/fixtures/replayV2.ts"), "--pglite", dataDir])
  expect(changed.code).toBe(1)
  expect(JSON.parse(changed.out)).toMatchObject({ ok: false, divergent: [{ runId, seq: 2, expected: { name: "b" }, actual: { name: "fraud-check" } }] })
})

it("check-replay refuses (exit 2) a missing module, a missing or non-PGlite directory, and never creates a store", async () => {
  const missingModule = await capture(["check-replay", "--module", "test/fixtures/nope.ts", "--pglite", tempDir("squid-mesh-gate-")])
  expect(missingModule).toMatchObject({ code: 2, err: expect.stringContaining("module not found") })
  const nowhere = join(tmpdir(), `squid-mesh-absent-${process.pid}`)
  const missingDir = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--pglite", nowhere])
  expect(missingDir).toMatchObject({ code: 2, err: expect.stringContaining("is not a PGlite data directory") })
  expect(() => readdirSync(nowhere)).toThrow()
  const notPglite = tempDir("squid-mesh-gate-")
  mkdirSync(join(notPglite, "stuff"))
  const wrongDir = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--pglite", notPglite])
  expect(wrongDir.code).toBe(2)
  expect(readdirSync(notPglite)).toEqual(["stuff"])
  const both = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--pglite", notPglite, "--url", "postgres://x@127.0.0.1:1/x"])
  expect(both).toMatchObject({ code: 2, err: expect.stringContaining("either --url or --pglite, not both") })
})

it("check-replay --url is read-only: it refuses an empty or outdated schema without migrating, and gates a migrated one", async () => {
  const db = await freshDatabase(inject("databaseUrl"), "cli")
  const sql = postgres(db.url, { max: 1, onnotice: () => undefined })
  try {
    const schemaExists = async () => (await sql`SELECT to_regnamespace('squid_mesh') IS NOT NULL AS e`)[0]!.e as boolean
    const empty = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--url", db.url])
    expect(empty.code).toBe(2)
    expect(empty.err).toBe("squid-mesh: the database has no squid-mesh schema; run `squid-mesh migrate` first")
    expect(await schemaExists()).toBe(false)

    await migrate(postgresClient(sql), loadMigrations().slice(0, 2))
    const behind = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--url", db.url])
    expect(behind.code).toBe(2)
    expect(behind.err).toContain(`the database is behind this package's schema (missing ${files.slice(2).join(", ")})`)
    expect((await sql`SELECT count(*)::int AS n FROM squid_mesh.schema_migrations`)[0]!.n).toBe(2)

    await migrate(postgresClient(sql))
    const mesh = await createMesh({ workflows: [Gated], store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 2 }) } })
    const { runId } = await mesh.start(Gated, {})
    for (let i = 0; i < 3; i++) await mesh.executeNext()
    await mesh.close()
    const same = await capture(["check-replay", "--module", resolve("test/fixtures/replayV1.ts"), "--url", db.url])
    expect(same.code, same.err).toBe(0)
    expect(JSON.parse(same.out)).toEqual({ ok: true, checked: 1, divergent: [] })
    const changed = await capture(["check-replay", "--module", "test/fixtures/replayV2.ts", "--url", db.url])
    expect(changed.code).toBe(1)
    expect(JSON.parse(changed.out)).toMatchObject({ ok: false, divergent: [{ runId, seq: 2 }] })
  } finally {
    await sql.end()
    await db.drop()
  }
})
