/**
 * The production Store backend: PostgreSQL through postgres.js. It runs the same SQL and
 * migrations as the PGlite backend (src/store/sql/), with prepared statements and a pool,
 * and is safe for many worker processes on one database.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Effect, Layer, type Scope } from "effect"
import postgres from "postgres"
import { StoreError } from "../core/errors.js"
import { migrate } from "./sql/migrate.js"
import type { SqlClient } from "./sql/SqlClient.js"
import { makeSqlStore } from "./sql/SqlStore.js"
import { Store, type StoreService } from "./Store.js"

/** Options of the postgres.js store. Give `url`, or the host's own `sql` instance. */
export interface PostgresStoreOptions {
  /** Connection URL, e.g. `postgres://user:pass@host:5432/app`. */
  readonly url?: string
  /** An existing postgres.js instance owned by the host; it is not closed by the store. */
  readonly sql?: postgres.Sql
  /** Pool size when the store opens its own connections. Default 10. */
  readonly max?: number
  /** Apply pending migrations on open (under an advisory lock). Default true. */
  readonly migrate?: boolean
}

/** Adapts a postgres.js instance (or transaction) to the `SqlClient` driver interface. */
export const postgresClient = (sql: postgres.Sql | postgres.TransactionSql): SqlClient => {
  const self: SqlClient = {
    query: async <T>(text: string, params: ReadonlyArray<unknown> = []) =>
      (await sql.unsafe(text, params as Array<postgres.ParameterOrJSON<never>>, { prepare: true })) as unknown as Array<T>,
    exec: async (text) => {
      await sql.unsafe(text).simple()
    },
    transaction: <A>(fn: (tx: SqlClient) => Promise<A>): Promise<A> =>
      "savepoint" in sql ? fn(self) : ((sql as postgres.Sql).begin((tx) => fn(postgresClient(tx))) as Promise<A>),
    handle: sql,
    ...("savepoint" in sql
      ? {}
      : {
          listen: async (channel: string, onPayload: (payload: string) => void) => {
            const subscription = await (sql as postgres.Sql).listen(channel, onPayload)
            return { unlisten: () => subscription.unlisten() }
          },
        }),
  }
  return self
}

/**
 * The typed transaction handle of a step declared with `transaction: true`. Writes through it
 * commit atomically with the step's recorded result. Throws if the step has no transaction.
 */
export const transactionOf = (ctx: { readonly sql?: unknown }): postgres.TransactionSql => {
  if (!ctx.sql) throw new Error("this step has no SQL transaction: declare it with `transaction: true` on a SQL store")
  return ctx.sql as postgres.TransactionSql
}

/**
 * True when the installed postgres.js carries the nextWrite guard (see
 * src/store/postgresDriverFix.mjs): without it, a connection closing under load (a Postgres
 * restart) can crash the process with an uncatchable TypeError.
 */
export const postgresDriverPatched = (): boolean => {
  try {
    const entry = createRequire(import.meta.url).resolve("postgres")
    const file = join(dirname(entry), "connection.js")
    return readFileSync(file, "utf8").includes("squid-mesh: nextWrite guard")
  } catch {
    return false
  }
}

/** Opens a postgres.js pool for a URL with settings the store expects. */
export const connect = (url: string, max = 10): postgres.Sql =>
  postgres(url, { max, onnotice: () => undefined, connection: { application_name: "squid-mesh" } })

/**
 * Connects (or adopts the host's `sql`), applies pending migrations and returns the Store.
 * A pool the store opened is closed when the scope closes.
 */
export const make = (options: PostgresStoreOptions): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    if (!options.sql && !options.url) return yield* new StoreError({ operation: "open", cause: new Error("PostgresStore needs `url` or `sql`") })
    const sql = options.sql
      ? options.sql
      : yield* Effect.acquireRelease(
          Effect.sync(() => connect(options.url!, options.max)),
          (pool) => Effect.promise(() => pool.end({ timeout: 5 })),
        )
    if (!postgresDriverPatched()) {
      yield* Effect.logWarning("postgres.js lacks the nextWrite guard: a Postgres restart under load can crash this process. Run `npx squid-mesh doctor --fix-postgres`.")
    }
    const client = postgresClient(sql)
    if (options.migrate !== false) {
      yield* Effect.tryPromise({ try: () => migrate(client), catch: (cause) => new StoreError({ operation: "migrate", cause }) })
    }
    return makeSqlStore(client, "postgres")
  })

/** A scoped layer providing the postgres.js Store. */
export const layer = (options: PostgresStoreOptions): Layer.Layer<Store, StoreError> => Layer.scoped(Store, make(options))
