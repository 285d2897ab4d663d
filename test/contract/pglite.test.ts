import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { randomUUID } from "node:crypto"
import { PGlite } from "@electric-sql/pglite"
import { Cause, Effect, Exit, Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { StoreError } from "../../src/core/errors.js"
import type { RunRecord } from "../../src/core/model.js"
import * as PgliteStore from "../../src/store/pglite.js"
import { loadMigrations, migrate, migrationsDir } from "../../src/store/sql/migrate.js"
import { storeContract } from "./storeContract.js"

storeContract("pglite (in-memory)", () => PgliteStore.make())

const T0 = 1_700_000_000_000

const sampleRun = (): RunRecord => ({
  id: randomUUID(),
  workflow: "orders",
  trigger: "manual",
  queue: "default",
  status: "running",
  input: { orderId: "o-1", note: null },
  revision: 0,
  idempotencyKey: "k-1",
  requestHash: "r".repeat(64),
  definitionHash: "d".repeat(64),
  createdAt: T0 + 1,
  updatedAt: T0 + 2,
})

const migrationRows = async (dataDir: string) => {
  const db = await PGlite.create({ dataDir })
  try {
    const { rows } = await db.query<{ version: number; name: string; applied_at: Date }>(
      "SELECT version, name, applied_at FROM squid_mesh.schema_migrations ORDER BY version",
    )
    return rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at.toISOString() }))
  } finally {
    await db.close()
  }
}

describe("migrations", () => {
  it("lists the package's migration files in version order", () => {
    const migrations = loadMigrations()
    expect(migrations.map((m) => [m.version, m.name, m.filename])).toStrictEqual([
      [1, "init", "0001_init.sql"],
      [2, "commands", "0002_commands.sql"],
      [3, "signals", "0003_signals.sql"],
      [4, "rerun", "0004_rerun.sql"],
      [5, "deadlines", "0005_deadlines.sql"],
      [6, "children", "0006_children.sql"],
      [7, "workers", "0007_workers.sql"],
      [8, "run_attributes", "0008_run_attributes.sql"],
      [9, "journal_flags", "0009_journal_flags.sql"],
      [10, "run_specs", "0010_run_specs.sql"],
      [11, "schedules", "0011_schedules.sql"],
      [12, "retention", "0012_retention.sql"],
    ])
    expect(migrations[0]!.path.startsWith(migrationsDir())).toBe(true)
    expect(migrations[0]!.sql).toContain("CREATE SCHEMA IF NOT EXISTS squid_mesh")
  })

  it("applies each migration once, even when runners start concurrently", async () => {
    const db = await PGlite.create()
    try {
      const client = PgliteStore.pgliteClient(db)
      const results = await Promise.all([migrate(client), migrate(client), migrate(client)])
      expect(results.map((r) => r.length).sort()).toStrictEqual([0, 0, 12])
      expect(await migrate(client)).toStrictEqual([])
      const { rows } = await db.query<{ version: number; name: string }>("SELECT version, name FROM squid_mesh.schema_migrations")
      expect(rows).toStrictEqual([
        { version: 1, name: "init" },
        { version: 2, name: "commands" },
        { version: 3, name: "signals" },
        { version: 4, name: "rerun" },
        { version: 5, name: "deadlines" },
        { version: 6, name: "children" },
        { version: 7, name: "workers" },
        { version: 8, name: "run_attributes" },
        { version: 9, name: "journal_flags" },
        { version: 10, name: "run_specs" },
        { version: 11, name: "schedules" },
        { version: 12, name: "retention" },
      ])
      const { rows: tables } = await db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'squid_mesh' ORDER BY table_name",
      )
      expect(tables.map((t) => t.table_name)).toStrictEqual([
        "attempts",
        "commands",
        "entries",
        "purges",
        "run_attributes",
        "run_specs",
        "runs",
        "schedule_events",
        "schedules",
        "schema_migrations",
        "signals",
        "tasks",
        "workers",
      ])
    } finally {
      await db.close()
    }
  })

  it("rolls back a failing migration entirely", async () => {
    const db = await PGlite.create()
    try {
      const client = PgliteStore.pgliteClient(db)
      const broken = [
        ...loadMigrations(),
        { version: 2, name: "broken", filename: "0002_broken.sql", path: "", sql: "CREATE TABLE squid_mesh.x (a int); SELECT nope;" },
      ]
      await expect(migrate(client, broken)).rejects.toThrow()
      const { rows } = await db.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'squid_mesh'")
      expect(rows).toStrictEqual([])
    } finally {
      await db.close()
    }
  })
})

describe("PGlite store", () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "squid-mesh-pglite-"))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("keeps its data in a data directory across close and reopen, without re-applying migrations", async () => {
    const dataDir = join(dir, "db")
    const record = sampleRun()
    const claimed = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* PgliteStore.make({ dataDir })
          expect(store.backend).toBe("pglite")
          yield* store.createRun({
            run: record,
            entries: [{ seq: 1, kind: "step", name: "charge", status: "pending", input: { cents: 5 }, attempts: 0, createdAt: T0 + 3 }],
            tasks: [{ runId: record.id, seq: 1, queue: "default", kind: "step", attempt: 1, visibleAt: T0 + 3 }],
          })
          const [claimed] = yield* store.claim({ queue: "default", owner: "w1", now: T0 + 10, leaseUntil: T0 + 1000, limit: 1 })
          return claimed!
        }),
      ),
    )
    const firstMigrations = await migrationRows(dataDir)
    expect(firstMigrations.map((m) => [m.version, m.name])).toStrictEqual([
      [1, "init"],
      [2, "commands"],
      [3, "signals"],
      [4, "rerun"],
      [5, "deadlines"],
      [6, "children"],
      [7, "workers"],
      [8, "run_attributes"],
      [9, "journal_flags"],
      [10, "run_specs"],
      [11, "schedules"],
      [12, "retention"],
    ])

    const reopened = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* PgliteStore.make({ dataDir })
          const snapshot = yield* Effect.all({
            run: store.getRun(record.id),
            journal: store.getJournal(record.id),
            tasks: store.getTasks(record.id),
          })
          // the claim survived the restart: its fence still commits
          const result = yield* store.commit({
            runId: record.id,
            now: T0 + 20,
            fence: { runId: record.id, seq: 1, claimId: claimed.claimId, token: claimed.token },
            task: { _tag: "Done" },
            expectedRevision: 0,
            resolve: [],
            append: [],
            attempts: [],
            tasks: [],
            withdraw: [],
          })
          return { snapshot, result }
        }),
      ),
    )
    expect(reopened.snapshot.run).toStrictEqual(record)
    expect(reopened.snapshot.journal).toStrictEqual([
      { seq: 1, kind: "step", name: "charge", status: "pending", input: { cents: 5 }, attempts: 0, createdAt: T0 + 3 },
    ])
    expect(reopened.snapshot.tasks).toStrictEqual([
      { runId: record.id, seq: 1, queue: "default", kind: "step", attempt: 1, visibleAt: T0 + 3, owner: "w1", claimId: claimed.claimId, leaseUntil: T0 + 1000 },
    ])
    expect(reopened.result).toStrictEqual({ _tag: "Committed", revision: 1 })

    expect(await migrationRows(dataDir)).toStrictEqual(firstMigrations)
  })

  it("turns driver errors into StoreError with the operation name", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* PgliteStore.make()
          // "not-a-uuid" cannot be stored in a uuid column
          return yield* store.createRun({ run: { ...sampleRun(), id: "not-a-uuid" }, entries: [], tasks: [] })
        }),
      ),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ operation: "createRun" })
  })

  it("rolls a commit back entirely when a statement fails midway", async () => {
    const record = sampleRun()
    const outcome = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* PgliteStore.make()
          const attempt = { seq: 1, attempt: 1, status: "failed" as const, owner: "w", startedAt: T0, finishedAt: T0 + 1 }
          yield* store.createRun({
            run: record,
            entries: [{ seq: 1, kind: "step", name: "a", status: "pending", attempts: 0, createdAt: T0 }],
            tasks: [{ runId: record.id, seq: 1, queue: "default", kind: "step", attempt: 1, visibleAt: T0 }],
          })
          yield* store.commit({ runId: record.id, now: T0 + 1, expectedRevision: 0, resolve: [], append: [], attempts: [attempt], tasks: [], withdraw: [] })
          const snapshot = Effect.all({
            run: store.getRun(record.id),
            journal: store.getJournal(record.id),
            tasks: store.getTasks(record.id),
            attempts: store.getAttempts(record.id),
          })
          const before = yield* snapshot
          // The journal and task writes come before the attempts insert, which hits the primary key.
          const exit = yield* Effect.exit(
            store.commit({
              runId: record.id,
              now: T0 + 2,
              expectedRevision: 1,
              run: { status: "completed", output: 1 },
              resolve: [{ seq: 1, kind: "step", name: "a", status: "completed", output: 1, attempts: 1, createdAt: T0, resolvedAt: T0 + 2 }],
              append: [{ seq: 2, kind: "log", name: "x", status: "completed", attempts: 0, createdAt: T0 + 2 }],
              attempts: [attempt],
              tasks: [{ runId: record.id, seq: 2, queue: "default", kind: "step", attempt: 1, visibleAt: T0 }],
              withdraw: [1],
            }),
          )
          return { before, after: yield* snapshot, exit }
        }),
      ),
    )
    const error = Exit.isFailure(outcome.exit) ? Option.getOrUndefined(Cause.failureOption(outcome.exit.cause)) : undefined
    expect(error).toBeInstanceOf(StoreError)
    expect(error?.operation).toBe("commit")
    expect(outcome.after).toStrictEqual(outcome.before)
    expect(outcome.before.run?.revision).toBe(1)
  })

  it("fails with StoreError after its scope has closed the database", async () => {
    const store = await Effect.runPromise(Effect.scoped(PgliteStore.make()))
    const exit = await Effect.runPromiseExit(store.getRun(randomUUID()))
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    expect(error).toBeInstanceOf(StoreError)
    expect(error?.operation).toBe("getRun")
  })
})
