/**
 * The Store contract on real PostgreSQL (postgres.js), plus what only a multi-connection
 * server can show: concurrent migrations and concurrent claims.
 */
import { randomUUID } from "node:crypto"
import { Deferred, Effect, Fiber } from "effect"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import type { RunRecord } from "../../src/core/model.js"
import * as PostgresStore from "../../src/store/postgres.js"
import { migrate } from "../../src/store/sql/migrate.js"
import { freshDatabase } from "../support/database.js"
import { storeContract } from "./storeContract.js"

let db: { url: string; drop: () => Promise<void> }
beforeAll(async () => {
  db = await freshDatabase(inject("databaseUrl"), "contract")
})
afterAll(() => db.drop())

storeContract("postgres", () => PostgresStore.make({ url: db.url, max: 4 }))

/** A fresh running run on `queue`, as the store tests create them directly. */
const runningRun = (queue: string): RunRecord => ({
  id: randomUUID(),
  workflow: "w",
  trigger: "manual",
  queue,
  status: "running",
  input: {},
  revision: 1,
  requestHash: "r",
  definitionHash: "d",
  createdAt: 0,
  updatedAt: 0,
})

describe("postgres-only", () => {
  it("applies migrations exactly once when several processes start at once", async () => {
    const fresh = await freshDatabase(inject("databaseUrl"), "migr")
    const pools = Array.from({ length: 6 }, () => postgres(fresh.url, { max: 1, onnotice: () => undefined }))
    try {
      await Promise.all(pools.map((sql) => migrate(PostgresStore.postgresClient(sql))))
      const rows = await pools[0]!`SELECT version FROM squid_mesh.schema_migrations`
      expect(rows.map((r) => Number(r.version)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    } finally {
      await Promise.all(pools.map((sql) => sql.end()))
      await fresh.drop()
    }
  })

  it("concurrent claimers never get the same task (FOR UPDATE SKIP LOCKED)", async () => {
    const program = Effect.scoped(
      Effect.gen(function* () {
        const store = yield* PostgresStore.make({ url: db.url, max: 8 })
        const queue = `q-${randomUUID()}`
        const runs = Array.from({ length: 40 }, () => runningRun(queue))
        yield* Effect.forEach(runs, (run) =>
          store.createRun({
            run,
            entries: [],
            tasks: [1, 2, 3].map((seq) => ({ runId: run.id, seq, queue, kind: "step" as const, attempt: 1, visibleAt: 0 })),
          }),
        )
        const claims = yield* Effect.all(
          Array.from({ length: 8 }, (_, i) => store.claim({ queue, owner: `w${i}`, now: 10, leaseUntil: 1_000, limit: 20 })),
          { concurrency: "unbounded" },
        )
        const keys = claims.flat().map((t) => `${t.runId}#${t.seq}`)
        expect(keys).toHaveLength(120)
        expect(new Set(keys).size).toBe(120)
      }),
    )
    await Effect.runPromise(program)
  })

  it("concurrent commits are batched, yet each gets its own verdict and only valid ones write", async () => {
    const program = Effect.scoped(
      Effect.gen(function* () {
        const store = yield* PostgresStore.make({ url: db.url, max: 4 })
        const queue = `q-${randomUUID()}`
        const runs = Array.from({ length: 60 }, () => runningRun(queue))
        yield* Effect.forEach(
          runs,
          (run) => store.createRun({ run, entries: [], tasks: [{ runId: run.id, seq: 1, queue, kind: "step", attempt: 1, visibleAt: 0 }] }),
          { concurrency: "unbounded" },
        )
        const claims = yield* store.claim({ queue, owner: "w", now: 10, leaseUntil: 10_000, limit: 60 })
        expect(claims).toHaveLength(60)
        // Every third commit uses a wrong token (stale), every fifth a wrong revision; the rest are valid.
        const results = yield* Effect.forEach(
          claims,
          (t, k) =>
            store.commit({
              runId: t.runId,
              now: 20,
              fence: { runId: t.runId, seq: 1, claimId: t.claimId, token: k % 3 === 0 ? "wrong" : t.token },
              task: { _tag: "Done" },
              expectedRevision: k % 5 === 0 ? 7 : 1,
              run: { status: "completed", output: k },
              resolve: [],
              append: [],
              attempts: [],
              tasks: [],
              withdraw: [],
            }),
          { concurrency: "unbounded" },
        )
        const expected = claims.map((_, k) => (k % 3 === 0 ? "stale_claim" : k % 5 === 0 ? "revision_conflict" : "ok"))
        expect(results.map((r) => (r._tag === "Committed" ? "ok" : r.reason))).toEqual(expected)
        const stored = yield* Effect.forEach(claims, (t) => store.getRun(t.runId))
        expect(stored.map((r) => r!.status)).toEqual(expected.map((e) => (e === "ok" ? "completed" : "running")))
        expect(stored.map((r, k) => (r!.status === "completed" ? r!.output : k))).toEqual(claims.map((_, k) => k))
        // Two commits racing on one run with the same expected revision: exactly one wins.
        const run = runs.find((r) => r.id === claims[3]!.runId)! // rejected above: still running at revision 1
        const racing = yield* Effect.all(
          [0, 1].map(() => store.commit({ runId: run.id, now: 30, expectedRevision: 1, resolve: [], append: [], attempts: [], tasks: [], withdraw: [] })),
          { concurrency: "unbounded" },
        )
        expect(racing.map((r) => r._tag).sort()).toEqual(["Committed", "Rejected"])
      }),
    )
    await Effect.runPromise(program)
  })

  it("a child's wake reaches a parent whose park was committing at the same time (newest-row re-check)", async () => {
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined })
    const program = Effect.scoped(
      Effect.gen(function* () {
        const store = yield* PostgresStore.make({ url: db.url, max: 4 })
        const queue = `q-${randomUUID()}`
        const mk = (extra: Partial<RunRecord> = {}): RunRecord => ({
          id: randomUUID(),
          workflow: "w",
          trigger: "manual",
          queue,
          status: "running",
          input: {},
          revision: 1,
          requestHash: "r",
          definitionHash: "d",
          createdAt: 0,
          updatedAt: 0,
          ...extra,
        })
        const parent = mk()
        const child = mk({ parentRunId: parent.id, parentSeq: 1 })
        yield* store.createRun({ run: parent, entries: [], tasks: [{ runId: parent.id, seq: 1, queue, kind: "child", attempt: 1, visibleAt: 0 }] })
        yield* store.createRun({ run: child, entries: [], tasks: [] })
        const [task] = yield* store.claim({ queue, owner: "p", now: 10, leaseUntil: 100_000, limit: 1 })
        const release = yield* Deferred.make<void>()
        // T1: the parent parks its child task (retry in an hour), and holds its transaction open.
        const parking = yield* Effect.fork(
          store.transaction!((scope) =>
            Effect.gen(function* () {
              const parked = yield* scope.commit({
                runId: parent.id,
                now: 20,
                fence: { runId: parent.id, seq: 1, claimId: task!.claimId, token: task!.token },
                task: { _tag: "Retry", attempt: 1, visibleAt: 3_600_000 },
                expectedRevision: 1,
                resolve: [],
                append: [],
                attempts: [],
                tasks: [],
                withdraw: [],
              })
              yield* Deferred.await(release)
              return parked
            }),
          ),
        )
        // T2: the child ends while T1 is open; it blocks on the parent's row lock.
        while ((yield* Effect.promise(() => admin`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`))[0]!.n === 0 && parking.unsafePoll() === null) {
          const ending = yield* Effect.fork(
            store.commit({
              runId: child.id,
              now: 30,
              expectedRevision: 1,
              run: { status: "completed", output: 1 },
              wakeParent: { runId: parent.id, seq: 1 },
              resolve: [],
              append: [],
              attempts: [],
              tasks: [],
              withdraw: [],
            }),
          )
          while ((yield* Effect.promise(() => admin`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`))[0]!.n === 0) yield* Effect.yieldNow()
          yield* Deferred.succeed(release, undefined)
          expect(yield* Fiber.join(parking)).toMatchObject({ _tag: "Committed" })
          expect(yield* Fiber.join(ending)).toMatchObject({ _tag: "Committed" })
        }
        const [woken] = yield* store.getTasks(parent.id)
        expect(woken).toMatchObject({ seq: 1, visibleAt: 30 }) // due now, not in an hour
        expect((yield* store.getRun(parent.id))!.revision).toBe(3) // parked (+1) and woken (+1)
      }),
    )
    try {
      await Effect.runPromise(program)
    } finally {
      await admin.end()
    }
  })
})
