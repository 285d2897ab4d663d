/**
 * What only a multi-connection server shows about purging stored specs: a run of a spec
 * version started while the purge runs never loses its spec. The start finds the spec row
 * (ON CONFLICT DO NOTHING, no row lock) and commits after the purge looked for references;
 * the purge's table lock makes it wait for that start, or give up after its lock timeout.
 */
import { randomUUID } from "node:crypto"
import { Effect, Exit, Scope } from "effect"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import type { RunRecord } from "../../src/core/model.js"
import * as PostgresStore from "../../src/store/postgres.js"
import type { StoredSpec, StoreService } from "../../src/store/Store.js"
import { makePlanCache } from "../../src/store/sql/planCache.js"
import { createRuns } from "../../src/store/sql/statements/create.js"
import { freshDatabase } from "../support/database.js"

const T0 = 1_700_000_000_123

let db: { url: string; drop: () => Promise<void> }
let sql: postgres.Sql
let store: StoreService
let close: () => Promise<void>

beforeAll(async () => {
  db = await freshDatabase(inject("databaseUrl"), "retention")
  const built = await Effect.runPromise(
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const st = yield* PostgresStore.make({ url: db.url, max: 4 }).pipe(Scope.extend(scope))
      return { st, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
    }),
  )
  store = built.st
  close = built.close
  sql = postgres(db.url, { max: 2, onnotice: () => undefined })
})
afterAll(async () => {
  await sql.end()
  await close()
  await db.drop()
})

const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e)

const spec = (): StoredSpec => {
  const name = `spec-${randomUUID().slice(0, 8)}`
  return { fingerprint: `${randomUUID().replaceAll("-", "")}${"f".repeat(32)}`, name, text: JSON.stringify({ name }) }
}

const specRun = (s: StoredSpec, createdAt: number, finishedAt?: number): RunRecord => ({
  id: randomUUID(),
  workflow: `spec:${s.name}`,
  trigger: "manual",
  queue: "q",
  status: finishedAt === undefined ? "running" : "completed",
  input: {},
  revision: 0,
  requestHash: "a".repeat(64),
  definitionHash: s.fingerprint,
  createdAt,
  updatedAt: finishedAt ?? createdAt,
  ...(finishedAt !== undefined ? { output: 1, finishedAt } : {}),
})

/** A spec stored long ago whose only run was purged: the next purge of specs would delete it. */
const orphanedSpec = async (): Promise<StoredSpec> => {
  const s = spec()
  await run(store.createRun({ run: specRun(s, T0, T0 + 1), entries: [], tasks: [], spec: s }))
  await run(store.purgeRuns({ finishedBefore: T0 + 10, statuses: ["completed"], workflow: `spec:${s.name}`, limit: 10, now: T0, reason: {} }))
  expect(await run(store.countPurgeable({ before: T0 + 1000, keep: 1, workflow: `spec:${s.name}` }))).toMatchObject({ specs: 1 })
  return s
}

/**
 * Starts a run of `s` in a transaction of its own connection, through the store's own
 * run-creating statement, and keeps the transaction open until `release` resolves.
 */
const startHeld = (s: StoredSpec, release: Promise<void>) => {
  let started!: () => void
  const inserted = new Promise<void>((resolve) => {
    started = resolve
  })
  const committed = sql.begin(async (tx) => {
    const [result] = await createRuns(PostgresStore.postgresClient(tx), [{ run: specRun(s, T0 + 5_000), entries: [], tasks: [], spec: s }], makePlanCache())
    expect(result!._tag).toBe("Created")
    started()
    await release
  })
  return { inserted, committed }
}

describe("purging specs on postgres", () => {
  it("waits for a start of that spec version that is not committed yet, then keeps the spec its run needs", async () => {
    const s = await orphanedSpec()
    let release!: () => void
    const held = startHeld(
      s,
      new Promise<void>((resolve) => {
        release = resolve
      }),
    )
    await held.inserted
    let settled = false
    const purging = run(store.purgeSpecs({ createdBefore: T0 + 1000, name: s.name, limit: 10, now: T0, reason: {} })).finally(() => {
      settled = true
    })
    try {
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(settled).toBe(false) // held by the open start
    } finally {
      release()
      await held.committed
    }
    expect(await purging).toStrictEqual({ deleted: 0 })
    expect((await run(store.getSpec(s.fingerprint)))?.text).toBe(s.text)
  })

  it("gives up after its lock timeout behind a long transaction that started a run, deleting nothing", async () => {
    const s = await orphanedSpec()
    const other = await orphanedSpec()
    let release!: () => void
    const held = startHeld(
      s,
      new Promise<void>((resolve) => {
        release = resolve
      }),
    )
    await held.inserted
    try {
      const result = await run(store.purgeSpecs({ createdBefore: T0 + 1000, name: other.name, limit: 10, now: T0, reason: {} }))
      expect(result).toStrictEqual({ deleted: 0, busy: true })
      expect((await run(store.getSpec(other.fingerprint)))?.text).toBe(other.text)
    } finally {
      release()
      await held.committed
    }
    // Once the start committed, the orphan goes and the spec of the new run stays.
    expect(await run(store.purgeSpecs({ createdBefore: T0 + 1000, limit: 1000, now: T0, reason: {} }))).toStrictEqual({ deleted: 1 })
    expect(await run(store.getSpec(other.fingerprint))).toBeUndefined()
    expect((await run(store.getSpec(s.fingerprint)))?.text).toBe(s.text)
  })
})
