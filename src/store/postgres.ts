/**
 * The production Store backend: PostgreSQL through postgres.js. It runs the same SQL and
 * migrations as the PGlite backend (src/store/sql/), with prepared statements and a pool,
 * and is safe for many worker processes on one database.
 */
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Effect, Layer, type Scope } from "effect"
import postgres from "postgres"
import type { StoreError } from "../core/errors.js"
import { canGuard, guardedSocket, isGuard, type GuardTls, type SocketOptions } from "./postgresSocket.js"
export { guardedSocket, type GuardTls } from "./postgresSocket.js"
import { migrate } from "./sql/migrate.js"
import type { SqlClient } from "./sql/SqlClient.js"
import { makeSqlStore } from "./sql/SqlStore.js"
import { storeError } from "./sql/storeError.js"
import { Store, type StoreService } from "./Store.js"

/** Options of the postgres.js store. Give `url`, or the host's own `sql` instance. */
export interface PostgresStoreOptions {
  /** Connection URL, e.g. `postgres://user:pass@host:5432/app`. */
  readonly url?: string
  /**
   * An existing postgres.js instance owned by the host; it is not closed by the store. The
   * store installs its null-socket guard on it (see `installGuard`), so pass it before it
   * has run queries.
   */
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

/** Whether a postgres.js instance runs with the null-socket guard (src/store/postgresSocket.ts), and if not, why. */
export type GuardStatus = "guarded" | "tls" | "custom-socket"

/**
 * Installs the guard against the postgres.js 3.4.x null-socket crash (porsager/postgres#1154,
 * #1208) on `sql` through its public `socket` option, and says whether it holds. Connections
 * opened after this call are guarded; call it before the first query. It cannot hold on a pool
 * created with TLS (postgres.js replaces the socket with its own TLS socket; create such a pool
 * with `ssl: false, socket: guardedSocket({ ssl })` instead, as `connect` does) nor replace a
 * custom `socket` the host set: those report "tls" / "custom-socket".
 */
export const installGuard = (sql: postgres.Sql): GuardStatus => {
  const options = sql.options as unknown as SocketOptions & { socket?: unknown }
  if (isGuard(options.socket)) return "guarded"
  if (!canGuard(options)) return options.ssl ? "tls" : "custom-socket"
  // postgres.js reads `options.socket` each time a connection opens its socket.
  options.socket = guardedSocket()
  return "guarded"
}

/** The installed postgres.js version, or undefined when it cannot be read (e.g. inside a bundle). */
export const postgresDriverVersion = (): string | undefined => {
  try {
    // postgres.js does not export its package.json: walk up from its entry point.
    let dir = dirname(createRequire(import.meta.url).resolve("postgres"))
    for (; dirname(dir) !== dir; dir = dirname(dir)) {
      const file = join(dir, "package.json")
      if (!existsSync(file)) continue
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string }
      if (pkg.name === "postgres") return pkg.version
    }
    return undefined
  } catch {
    return undefined
  }
}

/** Options of `connect` beyond the URL. */
export interface ConnectOptions {
  /** Pool size. Default 10. */
  readonly max?: number
  /** Open every session read-only (`default_transaction_read_only`): the server refuses writes. */
  readonly readOnly?: boolean
  /** TLS, as postgres.js's `ssl` option (e.g. `{ ca }`); default: the URL's `sslmode`. The guard negotiates it. */
  readonly ssl?: GuardTls["ssl"]
}

/**
 * Opens a postgres.js pool for a URL with settings the store expects, guarded against the
 * null-socket crash (TLS included). Hosts can use it for the pool they pass as `{ sql }`.
 */
export const connect = (url: string, options: ConnectOptions = {}): postgres.Sql => {
  const settings = {
    max: options.max ?? 10,
    onnotice: () => undefined,
    connection: { application_name: "squid-mesh", ...(options.readOnly ? { default_transaction_read_only: true } : {}) },
  }
  const sql = postgres(url, settings)
  const parsed = sql.options as unknown as { ssl?: GuardTls["ssl"] | false; sslnegotiation?: GuardTls["negotiation"] }
  const ssl = options.ssl ?? parsed.ssl
  if (!ssl) {
    installGuard(sql)
    return sql
  }
  // TLS asked for (sslmode in the URL): postgres.js would swap in its own TLS socket and bypass
  // the guard, so the guard encrypts instead. The first instance never connected.
  void sql.end({ timeout: 0 })
  return postgres(url, { ...settings, ssl: false, socket: guardedSocket({ ssl, negotiation: parsed.sslnegotiation }) } as postgres.Options<{}>)
}

/**
 * Connects (or adopts the host's `sql`), applies pending migrations and returns the Store.
 * A pool the store opened is closed when the scope closes.
 */
export const make = (options: PostgresStoreOptions): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    if (!options.sql && !options.url) return yield* storeError("open", new Error("PostgresStore needs `url` or `sql`"))
    const sql = options.sql
      ? options.sql
      : yield* Effect.acquireRelease(
          Effect.sync(() => connect(options.url!, options.max === undefined ? {} : { max: options.max })),
          (pool) => Effect.promise(() => pool.end({ timeout: 5 })),
        )
    const guard = installGuard(sql)
    if (guard !== "guarded") {
      yield* Effect.logWarning(
        `postgres.js runs without the squid-mesh null-socket guard (${guard === "tls" ? "the pool uses postgres.js's own TLS" : "the pool has its own socket option"}): ` +
          "with postgres.js 3.4.x a connection closing under load (a Postgres restart) can crash this process (porsager/postgres#1208). " +
          "Open the pool with PostgresStore.connect(url, { max, ssl }) to get the guard.",
      )
    }
    const client = postgresClient(sql)
    if (options.migrate !== false) {
      yield* Effect.tryPromise({ try: () => migrate(client), catch: (cause) => storeError("migrate", cause) })
    }
    return makeSqlStore(client, "postgres")
  })

/** A scoped layer providing the postgres.js Store. */
export const layer = (options: PostgresStoreOptions): Layer.Layer<Store, StoreError> => Layer.scoped(Store, make(options))
