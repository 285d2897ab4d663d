/**
 * Where the holder's Unix socket goes: inside the data directory (private to the user who owns
 * the store), unless that path is too long for a socket address (sun_path holds about 107
 * bytes on Linux, 103 on macOS); then in a fresh private folder under the OS temp directory.
 * Either way the path is recorded in the lock record, where other processes read it.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * The socket's file name: the one libpq expects, so `psql -h <that folder> -U postgres`
 * opens a session on the embedded database (PGDATA never holds a socket of its own).
 */
export const SOCKET_NAME = ".s.PGSQL.5432"

/** Longest socket path we use: under both the Linux and the macOS sun_path limits. */
const MAX_SOCKET_PATH = 100

/** A socket path and how to clean up what was made for it. */
export interface SocketPath {
  readonly path: string
  /** Removes the fallback folder (the socket server removes the socket file itself). */
  readonly cleanup: () => void
}

/** Picks the socket path for a data directory (absolute). */
export const socketPathFor = (dataDir: string): SocketPath => {
  const preferred = join(dataDir, SOCKET_NAME)
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return { path: preferred, cleanup: () => undefined }
  // mkdtemp makes a 0700 folder with a random name: nobody else can have prepared it.
  const dir = mkdtempSync(join(tmpdir(), "squid-mesh-"))
  return { path: join(dir, SOCKET_NAME), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
