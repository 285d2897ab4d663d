/**
 * What a process holds when it owns a data directory: the lock, the open PGlite database and,
 * when it serves, the socket server. Opened and closed as one unit, in the right order: the
 * server stops before the database closes, and the lock goes last.
 */
import type { PGlite } from "@electric-sql/pglite"
import { openDataDir, type OpenDataDirOptions } from "./open.js"
import { serve, type SocketServer } from "./server.js"
import type { SocketPath } from "./socketPath.js"

/** An open, locked data directory. */
export interface Holding {
  readonly db: PGlite
  readonly server: SocketServer | undefined
  readonly created: "template" | "initdb" | false
  readonly openMs: number
  /** Stops serving, closes the database, releases the lock. Never fails. */
  readonly close: () => Promise<void>
}

/** Options of `openHolding`. */
export interface HoldingOptions extends OpenDataDirOptions {
  readonly holdIdleTimeoutMs?: number | undefined
}

/**
 * Opens the data directory whose lock the caller just took (`release` gives it back), and
 * serves it on `socket` when given. On failure everything is released before it rejects.
 */
export const openHolding = async (dataDir: string, options: HoldingOptions, socket: SocketPath | undefined, release: () => void): Promise<Holding> => {
  const letGo = () => {
    try {
      release()
    } finally {
      socket?.cleanup()
    }
  }
  let db: PGlite | undefined
  try {
    const opened = await openDataDir(dataDir, options)
    db = opened.db
    const server = socket
      ? await serve(opened.db, { path: socket.path, ...(options.holdIdleTimeoutMs !== undefined ? { holdIdleTimeoutMs: options.holdIdleTimeoutMs } : {}) })
      : undefined
    let closing: Promise<void> | undefined
    return {
      db: opened.db,
      server,
      created: opened.created,
      openMs: opened.openMs,
      close: () =>
        (closing ??= (async () => {
          await server?.close().catch(() => undefined)
          if (!opened.db.closed) await opened.db.close().catch(() => undefined)
          letGo()
        })()),
    }
  } catch (cause) {
    if (db && !db.closed) await db.close().catch(() => undefined)
    letGo()
    throw cause
  }
}
