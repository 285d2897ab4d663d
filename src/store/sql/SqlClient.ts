/**
 * The tiny driver interface the SQL store is written against. PGlite (embedded/pgliteClient.ts)
 * and postgres.js (postgres.ts) implement it, and run the same SQL.
 *
 * Conventions every adapter must follow, so the SQL stays driver-neutral:
 * - Parameters are positional (`$1`, `$2`, ...). Values are JS strings, numbers or null.
 *   JSON travels as JSON text cast in SQL (`$1::text::jsonb`), never as a JS object.
 * - Rows come back as plain objects keyed by column name. The store selects JSON columns as
 *   text and times as float8 epoch milliseconds, so driver-specific type parsing does not matter.
 */
export interface SqlClient {
  /** Runs one parameterized statement and returns its rows (empty for statements without rows). */
  readonly query: <T = Record<string, unknown>>(text: string, params?: ReadonlyArray<unknown>) => Promise<Array<T>>
  /**
   * Runs a script of one or more statements without parameters (the simple query protocol),
   * used for migration files. postgres.js: `sql.unsafe(text).simple()`; PGlite: `db.exec(text)`.
   */
  readonly exec: (text: string) => Promise<void>
  /**
   * Runs `fn` in a transaction: committed when the promise resolves, rolled back when it
   * rejects. Calling `transaction` on a client that is already a transaction runs `fn` in
   * the same transaction (no nesting).
   */
  readonly transaction: <A>(fn: (tx: SqlClient) => Promise<A>) => Promise<A>
  /** The driver's own object behind this client (a transaction inside `transaction`), given to transactional steps. */
  readonly handle?: unknown
  /** Subscribes to a NOTIFY channel; absent when the driver cannot listen. */
  readonly listen?: (channel: string, onPayload: (payload: string) => void) => Promise<{ readonly unlisten: () => Promise<void> }>
}
