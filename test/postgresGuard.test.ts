/**
 * The run-time guard for the postgres.js null-socket crash (src/store/postgresSocket.ts).
 *
 * Each case runs in a child process, because the unguarded failure is an uncaught TypeError
 * from a setImmediate that kills whatever process it happens in. The repro is the one of
 * porsager/postgres#1208: a backend dies while a transaction's statement is in flight, and
 * postgres.js's own `begin()` answers with a ROLLBACK on the dead connection.
 */
import { spawnSync } from "node:child_process"
import { Socket } from "node:net"
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { connect, installGuard } from "../src/store/postgres.js"
import { isGuard } from "../src/store/postgresSocket.js"
import { freshDatabase } from "./support/database.js"
import { startCluster, type PgCluster } from "./support/pgCluster.js"

// Inside the project (.tmp/ is git-ignored) so the child resolves the project's own postgres.js.
mkdirSync(".tmp", { recursive: true })
const dir = mkdtempSync(join(resolve(".tmp"), "guard-"))
afterAll(() => process.env.KEEP_GUARD_DIR || rmSync(dir, { recursive: true, force: true }))

const guardModule = pathToFileURL(resolve("src/store/postgresSocket.ts")).href
const storeModule = pathToFileURL(resolve("src/store/postgres.ts")).href

/** The child: kills its own backends mid-statement (in a transaction or a reserved connection), then queries again. */
type Mode = "begin" | "begin-timer" | "reserve"

/** The work each round runs: it publishes its backend pid, and the backend is killed while it waits. */
const WORK: Record<Mode, string> = {
  // A statement in flight when the backend dies; postgres.js's begin() then sends ROLLBACK.
  begin: `sql.begin(async (t) => {
    const [row] = await t\`select pg_backend_pid() as pid\`
    pid = row.pid
    await t\`select pg_sleep(5)\`
  })`,
  // The transaction body is on a timer when the backend dies, and writes again afterwards.
  "begin-timer": `sql.begin(async (t) => {
    const [row] = await t\`select pg_backend_pid() as pid\`
    pid = row.pid
    await new Promise((r) => setTimeout(r, 300))
    await t\`select 1\`
  })`,
  reserve: `sql.reserve().then(async (r) => {
    const [row] = await r\`select pg_backend_pid() as pid\`
    pid = row.pid
    try { await r\`select pg_sleep(5)\` } catch (e) { await r\`select 1\`.catch(() => {}); throw e } finally { r.release() }
  })`,
}

/** How the child opens its pool: postgres.js alone, with the guard's socket, or through the store's `connect` (TLS from the URL). */
type Pool = "plain" | "guarded" | "connect"

const POOL: Record<Pool, string> = {
  plain: "postgres(url, { max: 2, onnotice: () => {} })",
  guarded: "postgres(url, { max: 2, onnotice: () => {}, socket: guardedSocket() })",
  connect: "connect(url, { max: 2 })",
}

const script = (pool: Pool, mode: Mode) => `
import postgres from "postgres"
import { guardedSocket } from ${JSON.stringify(guardModule)}
import { connect } from ${JSON.stringify(storeModule)}
const url = process.env.URL
const sql = ${POOL[pool]}
const [{ ssl }] = await sql\`select coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as ssl\`
console.log(JSON.stringify({ ssl }))
const killer = postgres(url.replace(/\\?.*$/, ""), { max: 1, onnotice: () => {} })
const outcomes = []
let kills = 0
for (let round = 0; round < 3; round++) {
  let pid = null
  const work = ${WORK[mode]}.then(() => "resolved", (e) => e.code ?? e.message)
  let settled = false
  work.then(() => (settled = true))
  // postgres.js may fail the next statement on a reconnected connection with the stale FATAL: then nothing to kill.
  while (pid === null && !settled) await new Promise((r) => setTimeout(r, 10))
  if (pid !== null) kills++, await killer\`select pg_terminate_backend(\${pid})\`
  // Nothing else uses the pool meanwhile, so the dead connection is not reconnected under the work's feet.
  await new Promise((r) => setTimeout(r, 500))
  outcomes.push(await work)
}
// A reconnected connection may still fail one statement with the stale FATAL (postgres.js keeps it): retry once or twice.
let after
for (let i = 0; i < 3 && !after; i++) after = await sql\`select 41 + 1 as answer\`.then((rows) => rows[0], () => undefined)
console.log(JSON.stringify({ outcomes, kills, answer: after.answer }))
await sql.end({ timeout: 1 })
await killer.end({ timeout: 1 })
`

const runChild = (url: string, pool: Pool, mode: Mode) => {
  const file = join(dir, `${mode}-${pool}.mts`)
  writeFileSync(file, script(pool, mode))
  const child = spawnSync(process.execPath, ["--import", "tsx", file], {
    env: { ...process.env, URL: url },
    encoding: "utf8",
    timeout: 30_000,
    cwd: process.cwd(),
  })
  return { status: child.status, stdout: child.stdout, stderr: child.stderr }
}

/** The child exited normally, its pool was (or was not) on TLS, every round's work failed catchably, and the pool answers again. */
const expectSurvived = (r: { status: number | null; stdout: string; stderr: string }, ssl: boolean) => {
  expect(r.stderr).not.toMatch(/TypeError/)
  expect(r.status, r.stderr).toBe(0)
  const lines = r.stdout.trim().split("\n")
  expect(JSON.parse(lines[0]!)).toEqual({ ssl })
  const result = JSON.parse(lines.at(-1)!) as { outcomes: Array<string>; kills: number; answer: number }
  expect(result.answer).toBe(42)
  expect(result.outcomes).toHaveLength(3)
  expect(result.kills).toBeGreaterThanOrEqual(2)
  // The backend's death surfaces as a catchable error (the server's 57P01, or a closed connection).
  for (const outcome of result.outcomes) expect(outcome).toMatch(/^(57P01|CONNECTION_CLOSED|ECONNRESET)$/)
}

describe("postgres.js null-socket guard", () => {
  for (const mode of ["begin", "begin-timer"] as const) {
    it(`without the guard, the installed postgres.js dies with the upstream TypeError under ${mode} (if this fails, upstream fixed it)`, async () => {
      const db = await freshDatabase(inject("databaseUrl"), "guard")
      try {
        const r = runChild(db.url, "plain", mode)
        expect(r.status, r.stdout).not.toBe(0)
        expect(r.stderr).toMatch(/Cannot read properties of null \(reading 'write'\)/)
      } finally {
        await db.drop()
      }
    })
  }

  for (const mode of ["begin", "begin-timer", "reserve"] as const) {
    it(`with the guard, a backend dying under ${mode}() rejects the work and the pool recovers`, async () => {
      const db = await freshDatabase(inject("databaseUrl"), "guard")
      try {
        expectSurvived(runChild(db.url, "guarded", mode), false)
      } finally {
        await db.drop()
      }
    })
  }
})

describe("installGuard on a host's pool", () => {
  it("guards a plain pool before its first query, and says why it cannot guard a TLS pool or one with its own socket", async () => {
    const url = inject("databaseUrl")
    const plain = postgres(url, { max: 1, onnotice: () => undefined })
    const tlsPool = postgres(url, { max: 1, ssl: "prefer" })
    const custom = postgres(url, { max: 1, socket: () => new Socket() } as postgres.Options<{}>)
    try {
      expect(installGuard(plain)).toBe("guarded")
      expect(isGuard((plain.options as unknown as { socket: unknown }).socket)).toBe(true)
      expect(installGuard(plain)).toBe("guarded")
      expect(await plain`select 41 + 1 as answer`).toEqual([{ answer: 42 }])
      expect(installGuard(tlsPool)).toBe("tls")
      expect(installGuard(custom)).toBe("custom-socket")
    } finally {
      await Promise.all([plain.end(), tlsPool.end(), custom.end()])
    }
  })
})

describe("postgres.js null-socket guard over TLS (the guard encrypts, sslmode from the URL)", () => {
  let cluster: PgCluster | undefined
  beforeAll(async () => {
    cluster = await startCluster()
    // A self-signed certificate in the data directory, owned like it (the server refuses a key others can read).
    const crt = join(cluster.dataDir, "server.crt")
    const key = join(cluster.dataDir, "server.key")
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", crt], {
      encoding: "utf8",
    })
    expect(made.status, made.stderr).toBe(0)
    const owner = statSync(cluster.dataDir)
    for (const file of [crt, key]) chownSync(file, owner.uid, owner.gid)
    chmodSync(key, 0o600)
    const admin = postgres(cluster.url, { max: 1, onnotice: () => undefined })
    await admin.unsafe("ALTER SYSTEM SET ssl = on")
    await admin`select pg_reload_conf()`
    await admin.end()
  }, 60_000)
  afterAll(() => cluster?.stop())

  it("connect() with sslmode=require refuses a server without TLS, every time (no connection leaks), and prefer falls back", async () => {
    const base = inject("databaseUrl")
    const required = connect(`${base}${base.includes("?") ? "&" : "?"}sslmode=require`, { max: 1 })
    try {
      for (let i = 0; i < 3; i++) await expect(required`select 1`).rejects.toMatchObject({ code: "SSL_NOT_SUPPORTED" })
    } finally {
      await required.end({ timeout: 1 })
    }
    const preferred = connect(`${base}${base.includes("?") ? "&" : "?"}sslmode=prefer`, { max: 1 })
    try {
      expect(await preferred`select 41 + 1 as answer`).toEqual([{ answer: 42 }])
    } finally {
      await preferred.end({ timeout: 1 })
    }
  })

  it("connect() with sslmode=require is encrypted and guarded: a transaction on a timer survives its backend's death", () => {
    expectSurvived(runChild(`${cluster!.url}?sslmode=require`, "connect", "begin-timer"), true)
  })
})
