/**
 * The `SqlClient` adapter over a PGlite instance (see src/store/sql/SqlClient.ts). PGlite is a
 * single connection: it serializes statements, and a transaction holds it exclusively.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite"
import type { SqlClient } from "../sql/SqlClient.js"

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
 * Adapts a PGlite instance to the `SqlClient` driver interface. `listen`, when given, lets the
 * store subscribe to NOTIFY (the socket server provides it: only a served store has other
 * processes to hear from); without it the store sends no NOTIFY at all.
 */
export const pgliteClient = (db: PGlite, listen?: SqlClient["listen"]): SqlClient => ({
  query: async <T>(text: string, params: ReadonlyArray<unknown> = []) => (await db.query<T>(text, [...params])).rows,
  exec: async (text) => {
    await db.exec(text)
  },
  transaction: (fn) => db.transaction((tx) => fn(transactionClient(tx))),
  ...(listen ? { listen } : {}),
})
