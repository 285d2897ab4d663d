/**
 * The socket server (src/store/embedded/server.ts) in one process: PGlite in memory, served on
 * a Unix socket, with several postgres.js clients and the holder's own queries at once.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { execFile, spawnSync } from "node:child_process"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { promisify } from "node:util"
import { join } from "node:path"
import { PGlite, protocol } from "@electric-sql/pglite"
import postgres from "postgres"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { serve, type SocketServer } from "../../src/store/embedded/server.js"
import { SOCKET_NAME } from "../../src/store/embedded/socketPath.js"

let dir: string
let db: PGlite
let server: SocketServer
const pools: Array<postgres.Sql> = []

const client = (max = 2) => {
  const sql = postgres({ path: server.path, max, onnotice: () => undefined, username: "postgres", database: "postgres" })
  pools.push(sql)
  return sql
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await sleep(10)
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squid-mesh-server-"))
  db = await PGlite.create()
  await db.exec("CREATE TABLE counter (id int PRIMARY KEY, v int NOT NULL); INSERT INTO counter VALUES (1, 0); CREATE TABLE log (who text, seq int)")
  server = await serve(db, { path: join(dir, SOCKET_NAME), holdIdleTimeoutMs: 2_000 })
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end({ timeout: 1 })))
})
afterAll(async () => {
  await server.close()
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("embedded socket server", () => {
  it("serves the socket to this user only", () => {
    expect(statSync(server.path).isSocket()).toBe(true)
    expect(statSync(server.path).mode & 0o777).toBe(0o600)
  })

  it("keeps each client's transaction whole while other clients and the holder run transactions", async () => {
    const [a, b, c] = [client(3), client(3), client(1)]
    // Read-modify-write with a pause in between: if statements of different transactions
    // interleaved on PGlite's single session, increments would be lost or mixed up.
    const bump = (who: string, sql: postgres.Sql) =>
      sql.begin(async (tx) => {
        const [row] = await tx<Array<{ v: number }>>`SELECT v FROM counter WHERE id = ${1}`
        await sleep(Math.random() * 3)
        await tx`INSERT INTO log VALUES (${who}, ${row!.v})`
        await tx`UPDATE counter SET v = ${row!.v + 1} WHERE id = ${1}`
      })
    const holderBump = () =>
      db.transaction(async (tx) => {
        const { rows } = await tx.query<{ v: number }>("SELECT v FROM counter WHERE id = 1")
        await sleep(Math.random() * 3)
        await tx.query("INSERT INTO log VALUES ($1, $2)", ["holder", rows[0]!.v])
        await tx.query("UPDATE counter SET v = $1 WHERE id = 1", [rows[0]!.v + 1])
      })
    const rounds = 15
    await Promise.all([
      ...[a, b, c].flatMap((sql, i) => Array.from({ length: rounds }, () => bump(`c${i}`, sql))),
      ...Array.from({ length: rounds }, () => holderBump()),
      // plain statements in between, from the holder and from clients
      ...Array.from({ length: rounds }, (_, i) => db.query("SELECT $1::int AS i", [i])),
      ...Array.from({ length: rounds }, (_, i) => a`SELECT ${i}::int AS i`),
    ])
    const [{ v }] = (await db.query<{ v: number }>("SELECT v FROM counter")).rows as [{ v: number }]
    expect(v).toBe(rounds * 4)
    // Every transaction saw the value the previous one wrote: 0, 1, 2, ... with no repeats.
    const seen = (await db.query<{ seq: number }>("SELECT seq FROM log ORDER BY seq")).rows.map((r) => r.seq)
    expect(seen).toEqual(Array.from({ length: rounds * 4 }, (_, i) => i))
  })

  it("rolls back what a client left open when it disconnects, and frees PGlite for the others", async () => {
    const before = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM log")).rows[0]!.n
    const quitter = client(1)
    let inside!: () => void
    const entered = new Promise<void>((resolve) => (inside = resolve))
    const abandoned = quitter
      .begin(async (tx) => {
        await tx`INSERT INTO log VALUES (${"quitter"}, ${-1})`
        inside()
        await sleep(60_000)
      })
      .catch(() => "ended")
    await entered
    // The holder waits for the open transaction; the client's connection then drops.
    const holderQuery = db.query<{ n: number }>("SELECT count(*)::int AS n FROM log")
    await quitter.end({ timeout: 0 })
    expect(await abandoned).toBe("ended")
    expect((await holderQuery).rows[0]!.n).toBe(before)
    expect((await db.query("SELECT 1 FROM log WHERE who = 'quitter'")).rows).toEqual([])
    await until(() => server.connections() === 0)
    // Its prepared statements are gone too (only ones the holder never made remain: none).
    expect((await db.query("SELECT name FROM pg_prepared_statements")).rows).toEqual([])
  })

  it("holds PGlite through an extended-protocol sequence that a client sends in several parts", async () => {
    const raw = connect(server.path)
    let received = Buffer.alloc(0)
    raw.on("data", (d: Buffer) => (received = Buffer.concat([received, d])))
    raw.on("error", () => undefined)
    const startup = Buffer.alloc(8 + 14)
    startup.writeInt32BE(startup.length, 0)
    startup.writeInt32BE(196608, 4)
    startup.write("user\0postgres\0\0", 8)
    raw.write(startup)
    await until(() => received.includes(Buffer.from("Z\0\0\0\x05I", "latin1")))
    received = Buffer.alloc(0)
    // One write: a complete query, then the first half of an unnamed extended query.
    raw.write(
      Buffer.concat([
        protocol.serialize.query("SELECT 1"),
        protocol.serialize.parse({ text: "SELECT $1::int * 6 AS answer" }),
        protocol.serialize.describe({ type: "S" }),
        protocol.serialize.flush(),
      ]),
    )
    await until(() => received.includes(Buffer.from("1", "latin1")) && received.includes(Buffer.from("t", "latin1")))
    // The holder's own query (which uses the unnamed statement too) must wait for the client's sequence.
    let holderDone = false
    const holder = db.query<{ x: number }>("SELECT $1::int AS x", [99]).then((r) => ((holderDone = true), r.rows[0]!.x))
    await sleep(150)
    expect(holderDone).toBe(false)
    raw.write(Buffer.concat([protocol.serialize.bind({ values: ["7"] }), protocol.serialize.execute(), protocol.serialize.sync()]))
    await until(() => received.includes(Buffer.from("42", "latin1")))
    expect(await holder).toBe(99)
    raw.end()
  })

  it("disconnects a client that holds PGlite and goes silent", async () => {
    const raw = connect(server.path)
    const startup = Buffer.alloc(8 + 5 + 9)
    startup.writeInt32BE(startup.length, 0)
    startup.writeInt32BE(196608, 4)
    startup.write("user\0postgres\0\0", 8)
    const begin = Buffer.concat([Buffer.from("Q"), Buffer.alloc(4), Buffer.from("BEGIN\0")])
    begin.writeInt32BE(begin.length - 1, 1)
    let closed = false
    raw.on("close", () => (closed = true))
    raw.on("error", () => undefined)
    let received = ""
    raw.on("data", (d: Buffer) => (received += d.toString("latin1")))
    raw.write(startup)
    await sleep(50)
    raw.write(begin)
    await sleep(200)
    const started = Date.now()
    // Waits for the silent client's hold to time out (2 s in this suite), then runs.
    await db.query("SELECT 1")
    expect(Date.now() - started).toBeGreaterThan(1_000)
    await until(() => closed)
    expect(received).toContain("idle for 2000 ms while holding the embedded database")
    expect(db.isInTransaction()).toBe(false)
  })

  it.skipIf(spawnSync("psql", ["--version"]).status !== 0)("speaks to psql (libpq): `psql -h <data dir>` opens a session", async () => {
    // Asynchronously: the server answers from this process's event loop.
    const { stdout } = await promisify(execFile)("psql", ["-h", dir, "-U", "postgres", "-At", "-c", "SELECT v FROM counter", "-c", "SELECT 6 * 7"], {
      encoding: "utf8",
      timeout: 30_000,
    })
    expect(stdout.trim().split("\n").at(-1)).toBe("42")
  })

  it("routes NOTIFY both ways: client to holder, holder to listening clients; UNLISTEN by one client leaves the others", async () => {
    const heardByHolder: Array<string> = []
    const sub = await server.listen("wake", (p) => heardByHolder.push(p))
    const [x, y] = [client(1), client(1)]
    const heardByX: Array<string> = []
    const heardByY: Array<string> = []
    const lx = await x.listen("wake", (p) => heardByX.push(p))
    await y.listen("wake", (p) => heardByY.push(p))
    await x`SELECT pg_notify('wake', 'from-x')`
    await db.query("SELECT pg_notify('wake', 'from-holder')")
    await until(() => heardByHolder.length === 2 && heardByX.length === 2 && heardByY.length === 2)
    expect(heardByHolder.sort()).toEqual(["from-holder", "from-x"])
    expect(heardByY.sort()).toEqual(["from-holder", "from-x"])
    await lx.unlisten()
    await y`SELECT pg_notify('wake', 'after-unlisten')`
    await until(() => heardByHolder.length === 3 && heardByY.length === 3)
    await sleep(50)
    expect(heardByX).toHaveLength(2)
    await sub.unlisten()
  })
})
