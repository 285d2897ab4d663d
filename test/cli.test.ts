/** The `squid-mesh` CLI: migrations applied against a URL, listed, printed and copied for host tools. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import postgres from "postgres"
import { afterAll, expect, inject, it, vi } from "vitest"
import { main } from "../src/cli.js"
import { loadMigrations } from "../src/store/sql/migrate.js"
import { freshDatabase } from "./support/database.js"

const files = loadMigrations().map((m) => m.filename)
const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const capture = async (args: ReadonlyArray<string>) => {
  const out: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")))
  const write = vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true))
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void out.push(a.join(" ")))
  try {
    return { code: await main(args), out: out.join("\n") }
  } finally {
    log.mockRestore()
    write.mockRestore()
    err.mockRestore()
  }
}

it("migrate applies the schema once, then reports it up to date", async () => {
  const db = await freshDatabase(inject("databaseUrl"), "cli")
  try {
    expect(await capture(["migrate", "--url", db.url])).toEqual({ code: 0, out: `applied: ${files.join(", ")}` })
    expect(await capture(["migrate", "--url", db.url])).toEqual({ code: 0, out: "schema is up to date" })
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
  const dir = mkdtempSync(join(tmpdir(), "squid-mesh-cli-"))
  dirs.push(dir)
  expect((await capture(["migrations", "copy", dir, "--prefix", "20260101_"])).code).toBe(0)
  expect(readdirSync(dir).sort()).toEqual(files.map((f) => `20260101_${f}`))
  expect(readFileSync(join(dir, "20260101_0001_init.sql"), "utf8")).toContain("CREATE SCHEMA IF NOT EXISTS squid_mesh")
})

it("prints usage and fails on unknown commands", async () => {
  const r = await capture(["frobnicate"])
  expect(r.code).toBe(2)
  expect(r.out).toContain("usage:")
})

it("doctor reports the postgres.js nextWrite guard (applied by postinstall)", async () => {
  expect(await capture(["doctor"])).toEqual({ code: 0, out: "postgres.js nextWrite guard: applied" })
  expect((await capture(["doctor", "--fix-postgres"])).out).toBe("postgres.js nextWrite guard: already-patched")
})

it("check-replay gates a deploy: exit 0 when open runs replay, 1 with the divergence otherwise", async () => {
  const { createMesh } = await import("../src/index.js")
  const { Gated } = await import("./fixtures/replayV1.js")
  const dataDir = mkdtempSync(join(tmpdir(), "squid-mesh-gate-"))
  dirs.push(dataDir)
  const mesh = await createMesh({ workflows: [Gated], store: { kind: "pglite", dataDir } })
  const { runId } = await mesh.start(Gated, {})
  for (let i = 0; i < 3; i++) await mesh.executeNext()
  expect((await mesh.inspectRun(runId)).status).toBe("paused")
  await mesh.close()
  const same = await capture(["check-replay", "--module", "test/fixtures/replayV1.ts", "--pglite", dataDir])
  expect(same.code).toBe(0)
  expect(JSON.parse(same.out)).toEqual({ ok: true, checked: 1, divergent: [] })
  const changed = await capture(["check-replay", "--module", "test/fixtures/replayV2.ts", "--pglite", dataDir])
  expect(changed.code).toBe(1)
  expect(JSON.parse(changed.out)).toMatchObject({ ok: false, divergent: [{ runId, seq: 2, expected: { name: "b" }, actual: { name: "fraud-check" } }] })
})

