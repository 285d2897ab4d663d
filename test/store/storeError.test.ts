/**
 * Classifying store failures: which driver errors are transient (worth retrying). First a
 * table of codes, then errors the real drivers raise (postgres.js on a live server, a refused
 * connection, PGlite), so the table matches what the drivers actually put in `code`.
 */
import { randomUUID } from "node:crypto"
import { Cause, Effect, Exit, Option } from "effect"
import postgres from "postgres"
import { describe, expect, inject, it } from "vitest"
import { StoreError } from "../../src/core/errors.js"
import type { RunRecord } from "../../src/core/model.js"
import * as PgliteStore from "../../src/store/pglite.js"
import * as PostgresStore from "../../src/store/postgres.js"
import { isTransient, isTransientCode, storeError } from "../../src/store/sql/storeError.js"

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code })

describe("isTransientCode", () => {
  it.each([
    // SQLSTATE class 08: connection exceptions
    ["08000", true],
    ["08003", true],
    ["08006", true],
    ["08P01", true],
    // shutdown, cannot connect now
    ["57P01", true],
    ["57P02", true],
    ["57P03", true],
    // class 53: insufficient resources
    ["53000", true],
    ["53100", true],
    ["53200", true],
    ["53300", true],
    // serialization failure, deadlock
    ["40001", true],
    ["40P01", true],
    // Node socket errors and postgres.js connection errors
    ["ECONNRESET", true],
    ["ECONNREFUSED", true],
    ["EPIPE", true],
    ["ETIMEDOUT", true],
    ["CONNECTION_CLOSED", true],
    ["CONNECTION_ENDED", true],
    ["CONNECTION_DESTROYED", true],
    ["CONNECT_TIMEOUT", true],
    // not transient: the same call fails the same way again
    ["42601", false], // syntax_error
    ["42P01", false], // undefined_table
    ["42703", false], // undefined_column
    ["23505", false], // unique_violation
    ["23503", false], // foreign_key_violation
    ["22P02", false], // invalid_text_representation (a bad uuid)
    ["25P02", false], // in_failed_sql_transaction
    ["40002", false], // transaction_integrity_constraint_violation: class 40, but not a serialization failure
    ["57014", false], // query_canceled
    ["57P04", false], // database_dropped
    ["28P01", false], // invalid_password
    ["3D000", false], // invalid_catalog_name (no such database)
    ["ENOENT", false],
    ["EACCES", false],
    ["SSL_NOT_SUPPORTED", false],
    ["UNDEFINED_VALUE", false],
    ["08", false], // not a SQLSTATE
    ["", false],
  ])("%s → %s", (code, transient) => {
    expect(isTransientCode(code)).toBe(transient)
    expect(isTransient(withCode(code))).toBe(transient)
  })
})

describe("isTransient", () => {
  it("is false for anything without a code", () => {
    for (const cause of [new Error("connection reset"), "ECONNRESET", undefined, null, 42, { code: 40001 }]) expect(isTransient(cause)).toBe(false)
  })

  it("follows wrapped errors through cause and AggregateError", () => {
    expect(isTransient(new Error("outer", { cause: withCode("ECONNRESET") }))).toBe(true)
    expect(isTransient(new Error("outer", { cause: new Error("middle", { cause: withCode("40P01") }) }))).toBe(true)
    expect(isTransient(new Error("outer", { cause: withCode("42601") }))).toBe(false)
    expect(isTransient(new AggregateError([withCode("EADDRNOTAVAIL"), withCode("ECONNREFUSED")], "connect"))).toBe(true)
    expect(isTransient(new AggregateError([withCode("ENOENT")], "connect"))).toBe(false)
  })

  it("stops on a cause cycle", () => {
    const a: Error & { cause?: unknown } = new Error("a")
    a.cause = new Error("b", { cause: a })
    expect(isTransient(a)).toBe(false)
  })

  it("storeError carries the operation, the cause and the classification", () => {
    const cause = withCode("57P01", "terminating connection due to administrator command")
    const error = storeError("commit", cause)
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ _tag: "StoreError", operation: "commit", cause, transient: true })
    expect(storeError("commit", withCode("42601")).transient).toBe(false)
  })
})

/** The error an Effect failed with (its first typed failure). */
const failureOf = async <A, E>(effect: Effect.Effect<A, E>): Promise<E | undefined> => {
  const exit = await Effect.runPromiseExit(effect)
  return Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
}

describe("real driver errors", () => {
  it("postgres.js: server errors are not transient, a terminated connection is", async () => {
    const sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => undefined })
    const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => undefined })
    try {
      const syntax = await sql.unsafe("SELEC 1").catch((e: unknown) => e)
      expect(syntax).toMatchObject({ code: "42601" })
      expect(isTransient(syntax)).toBe(false)
      const undefinedTable = await sql.unsafe("SELECT * FROM squid_mesh_no_such_table").catch((e: unknown) => e)
      expect(undefinedTable).toMatchObject({ code: "42P01" })
      expect(isTransient(undefinedTable)).toBe(false)

      const [{ pid }] = (await sql`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }]
      // Keep the connection busy so the termination reaches a running query.
      const running = sql`SELECT pg_sleep(30)`.catch((e: unknown) => e)
      await new Promise((r) => setTimeout(r, 200))
      await admin`SELECT pg_terminate_backend(${pid})`
      const terminated = await running
      expect((terminated as { code?: string }).code).toMatch(/^(57P01|CONNECTION_CLOSED|ECONNRESET)$/)
      expect(isTransient(terminated)).toBe(true)
    } finally {
      await Promise.all([sql.end({ timeout: 1 }), admin.end({ timeout: 1 })])
    }
  })

  it("postgres.js: a refused connection makes opening the store fail with a transient StoreError", async () => {
    // Port 1 on loopback: nothing listens, so the connect is refused at once.
    const error = await failureOf(Effect.scoped(PostgresStore.make({ url: "postgres://squid@127.0.0.1:1/none", max: 1 })))
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ operation: "migrate", transient: true })
  })

  it("PGlite: a value a column refuses is not transient, nor is a closed database", async () => {
    const run: RunRecord = {
      id: "not-a-uuid",
      workflow: "w",
      trigger: "manual",
      queue: "default",
      status: "running",
      input: {},
      revision: 0,
      requestHash: "r",
      definitionHash: "d",
      createdAt: 0,
      updatedAt: 0,
    }
    const refused = await failureOf(Effect.scoped(Effect.flatMap(PgliteStore.make(), (store) => store.createRun({ run, entries: [], tasks: [] }))))
    expect(refused).toMatchObject({ _tag: "StoreError", operation: "createRun", cause: { code: "22P02" }, transient: false })
    const store = await Effect.runPromise(Effect.scoped(PgliteStore.make()))
    const closed = await failureOf(store.getRun(randomUUID()))
    expect(closed).toMatchObject({ _tag: "StoreError", operation: "getRun", transient: false })
  })
})
