/**
 * The PGlite Store backend: embedded Postgres (WebAssembly) in the same process, in memory or
 * in a data directory. The zero-setup default for examples, the CLI and local development.
 * It runs the same SQL and migrations as the postgres.js backend (see src/store/sql/).
 */
import { PGlite, type Transaction } from "@electric-sql/pglite"
import { Effect, Layer, type Scope } from "effect"
import { StoreError } from "../core/errors.js"
import { migrate } from "./sql/migrate.js"
import type { SqlClient } from "./sql/SqlClient.js"
import { makeSqlStore } from "./sql/SqlStore.js"
import { Store, type StoreService } from "./Store.js"

/** Options of the PGlite store. */
export interface PgliteStoreOptions {
  /**
   * The data directory. Undefined means an in-memory database that disappears when the scope
   * closes. Applications conventionally use `.squid-mesh/`, but that default is the caller's.
   */
  readonly dataDir?: string | undefined
  /** Apply pending migrations on open. Default true; false opens the database as it is (read-only tools). */
  readonly migrate?: boolean
}

/** Adapts a PGlite transaction to `SqlClient`; nested `transaction` calls reuse it. */
const transactionClient = (tx: Transaction): SqlClient => {
  const self: SqlClient = {
    query: async <T>(text: string, params: ReadonlyArray<unknown> = []) => (await tx.query<T>(text, [...params])).rows,
    exec: async (text) => {
      await tx.exec(text)
    },
    transaction: (fn) => fn(self),
    handle: tx,
  }
  return self
}

/**
 * Adapts a PGlite instance to the `SqlClient` driver interface. PGlite is a single
 * connection: it serializes statements, and a transaction holds it exclusively.
 */
export const pgliteClient = (db: PGlite): SqlClient => ({
  query: async <T>(text: string, params: ReadonlyArray<unknown> = []) => (await db.query<T>(text, [...params])).rows,
  exec: async (text) => {
    await db.exec(text)
  },
  transaction: (fn) => db.transaction((tx) => fn(transactionClient(tx))),
})

/**
 * Opens PGlite (in memory, or in `options.dataDir`), applies pending migrations and returns
 * the Store. The database is closed when the scope closes, which leaves the data directory
 * ready to be reopened by the next process. Fails with `StoreError` when the database cannot
 * be opened or migrated.
 */
export const make = (options: PgliteStoreOptions = {}): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const db = await PGlite.create(options.dataDir !== undefined ? { dataDir: options.dataDir } : {})
        try {
          if (options.migrate !== false) await migrate(pgliteClient(db))
        } catch (cause) {
          await db.close().catch(() => undefined)
          throw cause
        }
        return db
      },
      catch: (cause) => new StoreError({ operation: "open", cause }),
    }),
    (db) =>
      Effect.tryPromise({
        try: () => (db.closed ? Promise.resolve() : db.close()),
        catch: (cause) => new StoreError({ operation: "close", cause }),
      }).pipe(Effect.ignoreLogged),
  ).pipe(Effect.map((db) => makeSqlStore(pgliteClient(db), "pglite")))

/** A scoped layer providing the PGlite Store; the database closes when the layer is released. */
export const layer = (options: PgliteStoreOptions = {}): Layer.Layer<Store, StoreError> => Layer.scoped(Store, make(options))
