/**
 * A run-time guard for the postgres.js 3.4.x null-socket crash (porsager/postgres#1154, #1208),
 * installed through the driver's public `socket` option, so it holds with npm, pnpm,
 * `--ignore-scripts` and bundlers alike (nothing in node_modules is edited).
 *
 * The crash: when a connection's socket closes, postgres.js's `closed()` sets its socket to
 * null and rejects the pending queries. Code that still holds the connection then writes to
 * it (postgres.js's own `begin()` sends ROLLBACK; a transaction body wakes from a timer and
 * sends its next statement; `reserve()` users send anything): `write()` schedules `nextWrite`
 * with setImmediate, and `nextWrite` calls `socket.write` on null, an uncatchable TypeError
 * that kills the process (seen when Postgres restarts under load).
 *
 * The guard: postgres.js only ever nulls its socket in its 'close' listener, and we hand it the
 * socket object, so we decide when 'close' reaches it. When the real socket dies after the
 * connection was established, the guard
 *   1. reports the failure through 'error' first: postgres.js rejects the in-flight queries
 *      while its socket is still this (non-null) object;
 *   2. swallows every later write and rejects it with another 'error' on the next turn;
 *   3. lets 'close' through only when the connection is free: two event-loop turns without a
 *      write and, if the session was inside a transaction, once the transaction's owner has
 *      sent its COMMIT or ROLLBACK (read from the protocol: ReadyForQuery's transaction status
 *      and the statements written). A transaction body sleeping on a timer therefore still
 *      writes to this object, never to a null socket.
 * What stays unguarded: a `reserve()`d connection outside a transaction whose owner writes
 * again after a timer, and a transaction body idle for longer than HOLD_MS after the death.
 *
 * Before the connection is established (startup, authentication, a cancel request) the
 * socket is transparent: postgres.js's own reconnect-on-close logic applies unchanged.
 *
 * TLS: postgres.js's own TLS replaces the socket it was given with a TLS socket whose close
 * goes straight to `closed()`. So for TLS the guard negotiates it (`GuardTls`) and postgres.js
 * runs with `ssl: false` over the already encrypted socket.
 */
import { EventEmitter, once } from "node:events"
import net from "node:net"
import tls from "node:tls"

/** The subset of postgres.js's parsed options the socket factory reads. */
export interface SocketOptions {
  readonly host: ReadonlyArray<string>
  readonly port: ReadonlyArray<number>
  readonly path?: string | false | undefined
  readonly ssl?: unknown
  readonly socket?: unknown
}

/** Protocol message types the guard reads. */
const READY_FOR_QUERY = 0x5a // Z (server): carries the transaction status
const PARSE = 0x50 // P (client): statement name, query text
const BIND = 0x42 // B (client): portal, statement name
const QUERY = 0x51 // Q (client): simple query text
const IDLE = 0x49 // I: ReadyForQuery status outside a transaction
/** Quiet turns (no write from postgres.js) before 'close' is let through. */
const QUIET_TURNS = 2
/** Safety valve: a connection writing forever while dead still gets closed. */
const MAX_TURNS = 1_000
/** How long a dead connection is held for a transaction that has not ended yet. */
const HOLD_MS = 10 * 60_000

/** Statements that end a transaction (not `ROLLBACK TO SAVEPOINT`). */
const TX_END = /^(commit|rollback|end|abort|prepare\s+transaction)\b(?!\s+to\b)/

const endsTransaction = (buf: Buffer, start: number, end: number): boolean =>
  TX_END.test(
    buf
      .toString("latin1", start, Math.min(end, start + 48))
      .trimStart()
      .toLowerCase(),
  )

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
  /** Incoming framing: header bytes of the current message so far, bytes of it left, whether the next byte is a ReadyForQuery status. */
  private header: Array<number> = []
  private skip = 0
  private statusNext = false
  /** The last ReadyForQuery said the session is inside a transaction. */
  private inTransaction = false
  /** A COMMIT / ROLLBACK was written since that ReadyForQuery. */
  private endSent = false
  /** Prepared statements that end a transaction, by name (postgres.js Binds them without re-parsing). */
  private readonly endStatements = new Set<string>()
  /** postgres.js asked to end or destroy the socket: its close is expected, forward it as is. */
  private ending = false
  /** The real socket failed or closed after the connection was established. */
  private dead = false
  private failure: Error | undefined
  private wroteWhileDead = false
  private tickPending = false
  private quiet = 0
  private turns = 0
  private holdExpired = false
  private valve: NodeJS.Timeout | undefined
  private closeEmitted = false
  /** A stand-in for a connection that failed before postgres.js got it (see `failed`). */
  private broken = false

  constructor(raw: net.Socket, host: string, port: number | undefined) {
    super()
    this.raw = raw
    this.host = host
    this.port = port
    raw.on("data", (chunk: Buffer) => {
      if (this.dead) return
      this.scanIncoming(chunk)
      this.emit("data", chunk)
    })
    raw.on("drain", () => this.dead || this.emit("drain"))
    raw.on("error", (error: Error) => this.onRawError(error))
    raw.on("close", (hadError: boolean) => this.onRawClose(hadError))
  }

  /**
   * A socket whose connection failed before postgres.js got it (a refused connect, a failed
   * TLS handshake). postgres.js only moves a connection back to its pool on 'close', so the
   * failure is reported as a refused plain socket would: 'error', then 'close', once it listens.
   */
  static failed(error: Error, host: string, port: number | undefined): GuardedSocket {
    // An unconnected stand-in: it is destroyed by emitClose, after the error.
    const socket = new GuardedSocket(new net.Socket(), host, port)
    socket.broken = true
    setImmediate(() => {
      socket.emitError(error)
      socket.emitClose(true)
    })
    return socket
  }

  /** Mirrors net.Socket; "closed" once the real socket is gone, so postgres.js stops ending it. */
  get readyState(): string {
    return this.dead || this.closeEmitted || this.broken ? "closed" : this.raw.readyState
  }

  /** Writes to the real socket; once it is dead, swallows the write and rejects it on the next turn. */
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    if (this.established) this.scanOutgoing(chunk)
    // Failed before it was established: its 'error' and 'close' are on their way.
    if (this.broken || (!this.established && this.raw.destroyed)) return true
    if (!this.dead && !this.closeEmitted) return this.raw.write(chunk, callback)
    this.wroteWhileDead = true
    if (callback) process.nextTick(callback, this.failure)
    this.kick()
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
    if (this.established && !this.ending && !this.dead) {
      this.failure = error
      this.die()
    }
    this.emitError(error)
  }

  private onRawClose(hadError: boolean): void {
    if (this.closeEmitted || this.dead) return
    if (!this.established || this.ending) {
      this.emitClose(hadError)
      return
    }
    // A clean close (the server went away): reject what is in flight before postgres.js
    // sees the close, so its reactions write to this object, not to a null socket.
    this.failure = connectionError("CONNECTION_CLOSED", this.host, this.port)
    this.die()
    this.emitError(this.failure)
  }

  private die(): void {
    this.dead = true
    this.valve = setTimeout(() => {
      this.holdExpired = true
      this.kick()
    }, HOLD_MS)
    this.valve.unref()
    this.kick()
  }

  /** Schedules one turn of the deferred close. */
  private kick(): void {
    if (this.tickPending || this.closeEmitted || !this.dead) return
    this.tickPending = true
    setImmediate(() => this.tick())
  }

  /** Rejects writes that arrived; lets 'close' through after QUIET_TURNS quiet turns once no transaction holds the connection. */
  private tick(): void {
    this.tickPending = false
    if (this.closeEmitted) return
    const exhausted = ++this.turns > MAX_TURNS
    if (this.wroteWhileDead && !exhausted) {
      this.wroteWhileDead = false
      this.quiet = 0
      this.emitError(this.failure!)
      this.kick()
      return
    }
    if (++this.quiet < QUIET_TURNS && !exhausted) {
      this.kick()
      return
    }
    // A transaction's owner still holds the connection: wait for its next write (or the valve).
    if (this.inTransaction && !this.endSent && !this.holdExpired && !exhausted) return
    // hadError=false makes postgres.js reject anything still queued with CONNECTION_CLOSED
    // (it skips that for hadError=true, trusting the 'error' event to have done it).
    this.emitClose(false)
  }

  private emitError(error: Error): void {
    // An 'error' without listeners would throw; postgres.js removes them all on close.
    if (this.listenerCount("error") > 0) this.emit("error", error)
  }

  private emitClose(hadError: boolean): void {
    this.closeEmitted = true
    if (this.valve) clearTimeout(this.valve)
    if (!this.raw.destroyed) this.raw.destroy()
    this.emit("close", hadError)
  }

  /** Follows the server's message framing: the first ReadyForQuery establishes, each one gives the transaction status. */
  private scanIncoming(chunk: Buffer): void {
    let i = 0
    while (i < chunk.length) {
      if (this.skip > 0) {
        if (this.statusNext) {
          this.statusNext = false
          this.established = true
          this.inTransaction = chunk[i] !== IDLE
          this.endSent = false
        }
        const n = Math.min(this.skip, chunk.length - i)
        this.skip -= n
        i += n
        continue
      }
      if (this.header.length === 0 && chunk.length - i >= 5) {
        this.enterMessage(chunk[i]!, chunk.readUInt32BE(i + 1))
        i += 5
        continue
      }
      this.header.push(chunk[i++]!)
      if (this.header.length < 5) continue
      const [type, a, b, c, d] = this.header as [number, number, number, number, number]
      this.header = []
      this.enterMessage(type, ((a << 24) | (b << 16) | (c << 8) | d) >>> 0)
    }
  }

  private enterMessage(type: number, length: number): void {
    this.skip = length - 4
    this.statusNext = type === READY_FOR_QUERY && this.skip > 0
  }

  /** Notes COMMIT / ROLLBACK among the client's messages (postgres.js writes whole messages). */
  private scanOutgoing(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    for (let i = 0; i + 5 <= buf.length; ) {
      const type = buf[i]!
      const end = i + 1 + buf.readUInt32BE(i + 1)
      if (end > buf.length || end < i + 5) return
      if (type === QUERY) {
        if (endsTransaction(buf, i + 5, end)) this.endSent = true
      } else if (type === PARSE) {
        const nameEnd = buf.indexOf(0, i + 5)
        if (nameEnd < 0 || nameEnd >= end) return
        if (endsTransaction(buf, nameEnd + 1, end)) {
          this.endSent = true
          if (nameEnd > i + 5) this.endStatements.add(buf.toString("latin1", i + 5, nameEnd))
        }
      } else if (type === BIND && this.endStatements.size > 0) {
        const portalEnd = buf.indexOf(0, i + 5)
        const nameEnd = portalEnd < 0 ? -1 : buf.indexOf(0, portalEnd + 1)
        if (nameEnd < 0 || nameEnd >= end) return
        if (nameEnd > portalEnd + 1 && this.endStatements.has(buf.toString("latin1", portalEnd + 1, nameEnd))) this.endSent = true
      }
      i = end
    }
  }
}

/** A postgres.js `socket` option function, marked as the squid-mesh guard. */
export type GuardedSocketFactory = ((options: SocketOptions) => GuardedSocket | Promise<GuardedSocket>) & { readonly [GUARD]: true }

/**
 * TLS done by the guard itself, because postgres.js's own TLS replaces the socket it was given.
 * `ssl` takes postgres.js's values: "require" / "allow" / "prefer" (encrypted, certificate not
 * verified; "prefer" falls back to plain text when the server has no TLS), "verify-full" or
 * `true` (verified), or tls.connect options.
 */
export interface GuardTls {
  readonly ssl: true | "require" | "allow" | "prefer" | "verify-full" | tls.ConnectionOptions
  /** "direct": TLS from the first byte (PostgreSQL 17 `sslnegotiation=direct`), no SSLRequest. */
  readonly negotiation?: "direct" | "postgres" | null | undefined
}

/** The SSLRequest message: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])

/** Opens the plain socket, negotiates TLS as postgres.js would, and resolves once it is secure (or plain under "prefer"). */
const openTls = async (raw: net.Socket, host: string, config: GuardTls): Promise<net.Socket> => {
  const failed = (error: Error) => {
    raw.destroy()
    throw error
  }
  await once(raw, "connect").catch(failed)
  if (config.negotiation !== "direct") {
    raw.write(SSL_REQUEST)
    const [answer] = (await once(raw, "data").catch(failed)) as [Buffer]
    if (answer[0] !== 0x53 /* S */) {
      if (config.ssl === "prefer") return raw
      failed(Object.assign(new Error(`the server at ${host} does not accept TLS connections`), { code: "SSL_NOT_SUPPORTED" }))
    }
  }
  const { ssl } = config
  const options: tls.ConnectionOptions = {
    socket: raw,
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(config.negotiation === "direct" ? { ALPNProtocols: ["postgresql"] } : {}),
    ...(ssl === "require" || ssl === "allow" || ssl === "prefer" ? { rejectUnauthorized: false } : typeof ssl === "object" ? ssl : {}),
  }
  const secure = tls.connect(options)
  await once(secure, "secureConnect").catch((error: Error) => {
    secure.destroy()
    return failed(error)
  })
  return secure
}

/**
 * Returns a function for postgres.js's `socket` option that opens guarded connections (TCP,
 * or the unix socket of `path`). Pass it when the host creates its own pool:
 * `postgres(url, { socket: guardedSocket() })`. For TLS give `tls` and pass `ssl: false` to
 * postgres.js, so that the guard, not postgres.js, encrypts the connection.
 */
export const guardedSocket = (tlsConfig?: GuardTls): GuardedSocketFactory => {
  let next = 0
  const factory = (options: SocketOptions): GuardedSocket | Promise<GuardedSocket> => {
    let raw: net.Socket
    let host: string
    let port: number | undefined
    if (options.path) {
      raw = net.connect(options.path)
      host = options.path
    } else {
      // Several hosts: take them in turn, as postgres.js does with its own sockets.
      const i = next++ % Math.max(1, options.host.length)
      host = options.host[i] ?? "localhost"
      port = options.port[i] ?? options.port[0] ?? 5432
      raw = net.connect(port, host)
    }
    if (!tlsConfig) return new GuardedSocket(raw, host, port)
    return openTls(raw, host, tlsConfig).then(
      (socket) => new GuardedSocket(socket, host, port),
      (error: Error) => GuardedSocket.failed(error, host, port),
    )
  }
  return Object.assign(factory, { [GUARD]: true as const })
}

/**
 * The guard over connections that `open` makes itself (the embedded store's clients reach the
 * holder's Unix socket this way, taking the directory over when the holder is gone). `label`
 * names the peer in errors.
 */
export const guardedSocketFrom = (open: () => Promise<net.Socket>, label: string): GuardedSocketFactory => {
  const factory = (): Promise<GuardedSocket> =>
    open().then(
      (raw) => new GuardedSocket(raw, label, undefined),
      (error: Error) => GuardedSocket.failed(error, label, undefined),
    )
  return Object.assign(factory, { [GUARD]: true as const })
}

/** True when `socket` (a postgres.js `socket` option value) is this guard. */
export const isGuard = (socket: unknown): boolean => typeof socket === "function" && (socket as Partial<GuardedSocketFactory>)[GUARD] === true

/**
 * Whether postgres.js options can take the guard as they are: no TLS of postgres.js's own (it
 * swaps in its TLS socket, whose close would bypass the guard) and no custom socket of the host's.
 */
export const canGuard = (options: SocketOptions): boolean => !options.ssl && (options.socket === undefined || isGuard(options.socket))
