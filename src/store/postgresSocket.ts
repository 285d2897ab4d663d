/**
 * A run-time guard for the postgres.js 3.4.x null-socket crash (porsager/postgres#1154, #1208),
 * installed through the driver's public `socket` option, so it holds with npm, pnpm,
 * `--ignore-scripts` and bundlers alike (nothing in node_modules is edited).
 *
 * The crash: when a connection's socket closes, postgres.js's `closed()` sets its socket to
 * null and rejects the pending queries. Code reacting to that rejection (postgres.js's own
 * `begin()` sends ROLLBACK; `reserve()` users send anything) writes to the same connection,
 * `write()` schedules `nextWrite` with setImmediate, and `nextWrite` calls `socket.write` on
 * null: an uncatchable TypeError that kills the process (seen when Postgres restarts under load).
 *
 * The guard: postgres.js only ever nulls its socket in its 'close' listener, and we hand it the
 * socket object, so we decide when 'close' reaches it. When the real socket dies after the
 * connection was established, the guard
 *   1. reports the failure through 'error' first: postgres.js rejects the in-flight queries
 *      while its socket is still this (non-null) object;
 *   2. swallows the writes provoked by those rejections (a ROLLBACK, a retry) and rejects
 *      them with another 'error' on the next turn;
 *   3. emits 'close' only after two event-loop turns without a write, so the reactions to
 *      every rejection have run before postgres.js nulls its socket.
 * A write after that point would need code that waits on a timer and then writes to a
 * connection it was told is closed; postgres.js's pool never does (it reconnects instead).
 *
 * Before the connection is established (startup, authentication, a cancel request) the
 * socket is transparent: postgres.js's own reconnect-on-close logic applies unchanged.
 */
import { EventEmitter } from "node:events"
import net from "node:net"

/** The subset of postgres.js's parsed options the socket factory reads. */
export interface SocketOptions {
  readonly host: ReadonlyArray<string>
  readonly port: ReadonlyArray<number>
  readonly path?: string | false | undefined
  readonly ssl?: unknown
  readonly socket?: unknown
}

/** Byte of the ReadyForQuery message: the first one marks the connection as established. */
const READY_FOR_QUERY = 0x5a
/** Quiet turns (no write from postgres.js) before 'close' is let through. */
const QUIET_TURNS = 2
/** Safety valve: a connection writing forever while dead still gets closed. */
const MAX_TURNS = 1_000

/** Mark on socket factories made here, so a store can tell an `sql` it already guarded. */
const GUARD = Symbol.for("squid-mesh.postgresSocketGuard")

/** An error shaped like postgres.js's own connection errors (`code`, `errno`, `address`). */
const connectionError = (code: string, address: string, port: number | undefined): Error =>
  Object.assign(new Error(`write ${code} ${port === undefined ? address : `${address}:${port}`}`), {
    code,
    errno: code,
    address,
    ...(port === undefined ? {} : { port }),
  })

/**
 * The socket object handed to postgres.js: a net.Socket seen through an EventEmitter that
 * defers 'close' as described in the module comment. It implements what postgres.js's
 * connection uses: `write`, `end`, `destroy`, `setKeepAlive`, `readyState`, `host`, `port`
 * and the 'data' / 'drain' / 'error' / 'close' events.
 */
class GuardedSocket extends EventEmitter {
  readonly host: string
  readonly port: number | undefined
  private readonly raw: net.Socket
  /** The server sent its first ReadyForQuery: queries may be in flight from now on. */
  private established = false
  /** Framing state used until `established`: bytes of the current message left to skip, header bytes so far. */
  private skip = 0
  private header: Array<number> = []
  /** postgres.js asked to end or destroy the socket: its close is expected, forward it as is. */
  private ending = false
  /** The real socket failed or closed after the connection was established. */
  private dead = false
  private failure: Error | undefined
  private wroteWhileDead = false
  private closeEmitted = false

  constructor(raw: net.Socket, host: string, port: number | undefined) {
    super()
    this.raw = raw
    this.host = host
    this.port = port
    raw.on("data", (chunk: Buffer) => {
      if (this.dead) return
      if (!this.established) this.scan(chunk)
      this.emit("data", chunk)
    })
    raw.on("drain", () => this.dead || this.emit("drain"))
    raw.on("error", (error: Error) => this.onRawError(error))
    raw.on("close", (hadError: boolean) => this.onRawClose(hadError))
  }

  /** Mirrors net.Socket; "closed" once the real socket is gone, so postgres.js stops ending it. */
  get readyState(): string {
    return this.dead || this.closeEmitted ? "closed" : this.raw.readyState
  }

  /** Writes to the real socket; once it is dead, swallows the write and rejects it on the next turn. */
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    if (!this.dead && !this.closeEmitted) return this.raw.write(chunk, callback)
    this.wroteWhileDead = true
    if (callback) process.nextTick(callback, this.failure)
    return true
  }

  /** Ends the real socket (postgres.js sends Terminate this way). */
  end(chunk?: Uint8Array): this {
    this.ending = true
    if (!this.dead) chunk === undefined ? this.raw.end() : this.raw.end(chunk)
    return this
  }

  /** Destroys the real socket (postgres.js does on connect timeout). */
  destroy(error?: Error): this {
    this.ending = true
    this.raw.destroy(error)
    return this
  }

  /** Forwarded to the real socket (postgres.js's `keep_alive`). */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.raw.setKeepAlive(enable, initialDelay)
    return this
  }

  private onRawError(error: Error): void {
    if (this.closeEmitted) return
    if (this.established && !this.ending) {
      this.dead = true
      this.failure = error
    }
    this.emitError(error)
  }

  private onRawClose(hadError: boolean): void {
    if (this.closeEmitted) return
    if (!this.established || this.ending) return this.emitClose(hadError)
    this.dead = true
    if (!this.failure) {
      // A clean close (the server went away): reject what is in flight before postgres.js
      // sees the close, so its reactions write to this object, not to a null socket.
      this.failure = connectionError("CONNECTION_CLOSED", this.host, this.port)
      this.emitError(this.failure)
    }
    this.settle(0, 0)
  }

  /** One turn of the deferred close: reject writes that arrived, close after QUIET_TURNS quiet turns. */
  private settle(quiet: number, turns: number): void {
    setImmediate(() => {
      if (this.closeEmitted) return
      if (this.wroteWhileDead && turns < MAX_TURNS) {
        this.wroteWhileDead = false
        this.emitError(this.failure!)
        return this.settle(0, turns + 1)
      }
      if (quiet + 1 < QUIET_TURNS && turns < MAX_TURNS) return this.settle(quiet + 1, turns + 1)
      // hadError=false makes postgres.js reject anything still queued with CONNECTION_CLOSED
      // (it skips that for hadError=true, trusting the 'error' event to have done it).
      this.emitClose(false)
    })
  }

  private emitError(error: Error): void {
    // An 'error' without listeners would throw; postgres.js removes them all on close.
    if (this.listenerCount("error") > 0) this.emit("error", error)
  }

  private emitClose(hadError: boolean): void {
    this.closeEmitted = true
    if (!this.raw.destroyed) this.raw.destroy()
    this.emit("close", hadError)
  }

  /** Follows the server's message framing until the first ReadyForQuery (then stops looking). */
  private scan(chunk: Buffer): void {
    let i = 0
    while (i < chunk.length && !this.established) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i)
        this.skip -= n
        i += n
        continue
      }
      this.header.push(chunk[i++]!)
      if (this.header.length < 5) continue
      const [type, a, b, c, d] = this.header as [number, number, number, number, number]
      this.header = []
      if (type === READY_FOR_QUERY) this.established = true
      else this.skip = ((a << 24) | (b << 16) | (c << 8) | d) - 4
    }
  }
}

/** A postgres.js `socket` option function, marked as the squid-mesh guard. */
export type GuardedSocketFactory = ((options: SocketOptions) => GuardedSocket) & { readonly [GUARD]: true }

/**
 * Returns a function for postgres.js's `socket` option that opens guarded connections (TCP,
 * or the unix socket of `path`). Pass it when the host creates its own pool:
 * `postgres(url, { socket: guardedSocket() })`. Not for TLS connections: postgres.js replaces
 * the socket with its own TLS socket there (see `canGuard`).
 */
export const guardedSocket = (): GuardedSocketFactory => {
  let next = 0
  const factory = (options: SocketOptions): GuardedSocket => {
    if (options.path) return new GuardedSocket(net.connect(options.path), options.path, undefined)
    // Several hosts: take them in turn, as postgres.js does with its own sockets.
    const i = next++ % Math.max(1, options.host.length)
    const host = options.host[i] ?? "localhost"
    const port = options.port[i] ?? options.port[0] ?? 5432
    return new GuardedSocket(net.connect(port, host), host, port)
  }
  return Object.assign(factory, { [GUARD]: true as const })
}

/** True when `socket` (a postgres.js `socket` option value) is this guard. */
export const isGuard = (socket: unknown): boolean => typeof socket === "function" && (socket as Partial<GuardedSocketFactory>)[GUARD] === true

/**
 * Whether postgres.js options can take the guard: no TLS (postgres.js swaps in its own TLS
 * socket, whose close would bypass the guard) and no custom socket of the host's.
 */
export const canGuard = (options: SocketOptions): boolean => !options.ssl && (options.socket === undefined || isGuard(options.socket))
