/**
 * Serves an open PGlite database to other local processes on a Unix socket, speaking the
 * Postgres wire protocol, so that the CLI or a second app process reach the one process that
 * holds the data directory (DESIGN.md §4, invariant 10) instead of opening it a second time.
 *
 * PGlite is a single Postgres backend, so clients share one session. What keeps them apart:
 * - A client holds PGlite exclusively (both of its mutexes, the ones `query` and `transaction`
 *   take) from its first message until a ReadyForQuery says idle ('I'). Its transaction, or an
 *   extended-protocol sequence spread over several round trips (postgres.js sends Parse,
 *   Describe, Flush, then Bind/Execute/Sync), never interleaves with the holder's own queries
 *   or another client's.
 * - The startup handshake is answered here (trust authentication; the socket is private to the
 *   user), never by the shared backend.
 * - Prepared statements a client created are deallocated when it disconnects; a transaction it
 *   left open is rolled back.
 * - NOTIFY: the backend's NotificationResponse messages are taken out of every response and
 *   routed to whoever listens: the holder's in-process listeners and the clients that ran
 *   LISTEN on that channel. A client's UNLISTEN only unsubscribes it: the statement is replaced
 *   by a no-op, so the shared backend keeps listening for everyone else.
 */
import { randomInt } from "node:crypto"
import { chmodSync, rmSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import type { PGlite } from "@electric-sql/pglite"
import * as Wire from "./wire.js"

/** Options of `serve`. */
export interface ServeOptions {
  /** The socket path (see `socketPathFor`). A stale file there is removed: the caller holds the lock. */
  readonly path: string
  /**
   * A client that keeps PGlite (inside a transaction or an unfinished extended-protocol
   * sequence) and sends nothing for this long is disconnected and its transaction rolled back,
   * so a hung client cannot stall the holder forever. Default 60 s.
   */
  readonly holdIdleTimeoutMs?: number
}

/** A running socket server. */
export interface SocketServer {
  readonly path: string
  /** Connected clients now. */
  readonly connections: () => number
  /**
   * Subscribes an in-process listener to a channel. It receives notifications sent by the
   * holder's own statements and by every client.
   */
  readonly listen: (channel: string, onPayload: (payload: string) => void) => Promise<{ readonly unlisten: () => Promise<void> }>
  /** Stops accepting, disconnects clients (rolling back what they left open) and removes the socket file. */
  readonly close: () => Promise<void>
}

type Release = () => void

/** Holds PGlite the way its own `transaction` does: the transaction mutex, then the query mutex. */
const acquire = (db: PGlite): Promise<Release> =>
  new Promise<Release>((resolve, reject) => {
    db._runExclusiveTransaction(() => db._runExclusiveQuery(() => new Promise<void>((release) => resolve(release)))).catch(reject)
  })

/**
 * Runs messages on PGlite and returns its raw reply. The streaming variant, because the plain
 * raw call also parses the reply into PGlite's per-query state (dispatching notifications a
 * second time, and keeping results until the holder's next own query).
 */
const run = async (db: PGlite, message: Uint8Array): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  await db.execProtocolRawStream(message, { syncToFs: false, onRawData: (data) => void chunks.push(Buffer.from(data)) })
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/** Statement text that replaces a client's UNLISTEN: same reply shape (no rows), changes nothing. */
const NO_OP = "DO $squid_mesh$ BEGIN END $squid_mesh$"

/** Starts serving `db` on `options.path`. Fails when the socket cannot be bound. */
export const serve = async (db: PGlite, options: ServeOptions): Promise<SocketServer> => {
  const holdIdleTimeoutMs = options.holdIdleTimeoutMs ?? 60_000
  const inProcess = new Map<string, Set<(payload: string) => void>>()
  const clients = new Set<Connection>()
  const backendListening = new Set<string>()

  const emit = (channel: string, payload: string) => {
    for (const cb of inProcess.get(channel) ?? []) queueMicrotask(() => cb(payload))
    for (const c of clients) if (c.channels.has(channel) || c.channels.has("*")) c.notify(channel, payload)
  }
  // Notifications that surface in the holder's own query results (PGlite parses those).
  const offNotification = db.onNotification(emit)

  const settings = await db.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [
    ["server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings"],
  ])

  class Connection {
    buffer: Buffer = Buffer.alloc(0)
    startup = true
    release: Release | undefined
    chain: Promise<void> = Promise.resolve()
    closed = false
    idle: ReturnType<typeof setTimeout> | undefined
    readonly channels = new Set<string>()
    /** Named statements this client prepared, with the LISTEN/UNLISTEN each one is. */
    readonly statements = new Map<string, ReturnType<typeof Wire.listenStatement>>()
    unnamed: ReturnType<typeof Wire.listenStatement>

    constructor(readonly socket: Socket) {}

    notify(channel: string, payload: string) {
      if (!this.closed && this.socket.writable) this.socket.write(Wire.notificationResponse(process.pid, channel, payload))
    }

    receive(data: Buffer) {
      this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data])
      let frames: Array<Wire.Frame>
      try {
        const split = Wire.splitFrames(this.buffer, this.startup)
        frames = split.frames
        this.buffer = Buffer.from(split.rest)
      } catch (error) {
        this.fail("08P01", error instanceof Error ? error.message : String(error))
        return
      }
      if (frames.length === 0) return
      if (frames.some((f) => f.type === "" && Wire.isStartup(f.bytes.readInt32BE(4)))) this.startup = false
      this.chain = this.chain
        .then(() => this.handle(frames))
        .catch((error: unknown) => this.fail("XX000", error instanceof Error ? error.message : String(error)))
    }

    async handle(frames: ReadonlyArray<Wire.Frame>) {
      let batch: Array<Buffer> = []
      // Whether the batch ends at a Sync or a Query: messages after the last one (Parse,
      // Describe, Flush...) start a sequence the client will finish later, holding PGlite.
      let ended = false
      for (const frame of frames) {
        if (this.closed) return
        if (frame.type === "") {
          this.handshake(frame)
          continue
        }
        if (frame.type === "X") {
          if (batch.length) await this.execute(batch, ended)
          batch = []
          this.socket.end()
          return
        }
        batch.push(this.inspect(frame))
        ended = frame.type === "S" || frame.type === "Q"
      }
      if (batch.length) await this.execute(batch, ended)
    }

    handshake(frame: Wire.Frame) {
      const code = frame.bytes.readInt32BE(4)
      if (code === Wire.SSL_REQUEST || code === Wire.GSSENC_REQUEST) this.socket.write("N")
      else if (code === Wire.CANCEL_REQUEST)
        this.socket.end() // no backend process to signal
      else if (!Wire.isStartup(code)) this.fail("08P01", `unsupported protocol ${code >> 16}.${code & 0xffff}`)
      else {
        this.socket.write(
          Buffer.concat([
            // A client asking for 3.1+ is told that 3.0 is what it gets.
            ...(code === Wire.PROTOCOL_V3 ? [] : [Wire.negotiateProtocolVersion()]),
            Wire.authenticationOk(),
            ...settings.rows.map((s) => Wire.parameterStatus(s.name, s.setting)),
            Wire.parameterStatus("application_name", ""),
            Wire.backendKeyData(process.pid, randomInt(2 ** 31 - 1)),
            Wire.readyForQuery("I"),
          ]),
        )
      }
    }

    /** Records what a message does to LISTEN subscriptions and prepared statements; rewrites UNLISTEN. */
    inspect(frame: Wire.Frame): Buffer {
      if (frame.type === "Q") {
        const action = Wire.listenStatement(Wire.queryText(frame))
        if (!action) return frame.bytes
        this.apply(action)
        return action.kind === "unlisten" ? Wire.query(NO_OP) : frame.bytes
      }
      if (frame.type === "P") {
        const parsed = Wire.parseMessage(frame)
        const action = Wire.listenStatement(parsed.text)
        if (parsed.name === "") this.unnamed = action
        else this.statements.set(parsed.name, action)
        return action?.kind === "unlisten" ? Wire.rewriteParse(parsed.name, NO_OP, parsed.tail) : frame.bytes
      }
      if (frame.type === "B") {
        const name = Wire.bindStatement(frame)
        const action = name === "" ? this.unnamed : this.statements.get(name)
        if (action) this.apply(action)
        return frame.bytes
      }
      if (frame.type === "C") {
        const target = Wire.closeTarget(frame)
        if (target.kind === "S") this.statements.delete(target.name)
      }
      return frame.bytes
    }

    apply(action: NonNullable<ReturnType<typeof Wire.listenStatement>>) {
      if (action.kind === "listen") {
        this.channels.add(action.channel)
        backendListening.add(action.channel)
      } else if (action.channel === "*") this.channels.clear()
      else this.channels.delete(action.channel)
    }

    /** Runs messages on PGlite, holding it until the client is idle again. */
    async execute(batch: ReadonlyArray<Buffer>, ended: boolean) {
      this.release ??= await acquire(db)
      if (this.closed) return // onClose's cleanup runs next on this chain and lets go
      const data = await run(db, batch.length === 1 ? batch[0]! : Buffer.concat(batch))
      const { out, notifications, status } = Wire.scanResponse(data)
      if (out.length > 0 && this.socket.writable) this.socket.write(out)
      if (status === "I" && ended) this.letGo()
      else this.armIdle()
      for (const n of notifications) emit(n.channel, n.payload)
    }

    letGo() {
      if (this.idle) clearTimeout(this.idle)
      this.idle = undefined
      const release = this.release
      this.release = undefined
      release?.()
    }

    armIdle() {
      if (this.idle) clearTimeout(this.idle)
      this.idle = setTimeout(
        () => this.fail("25P03", `squid-mesh: idle for ${holdIdleTimeoutMs} ms while holding the embedded database; disconnected`),
        holdIdleTimeoutMs,
      )
      this.idle.unref()
    }

    fail(code: string, text: string) {
      if (this.socket.writable) this.socket.end(Wire.errorResponse("FATAL", code, text))
      this.socket.destroy()
    }

    /** Ends what the client left behind: an open transaction, its prepared statements. */
    async cleanup() {
      const statements = [...this.statements.keys()]
      this.statements.clear()
      if (!this.release && statements.length === 0) return
      this.release ??= await acquire(db)
      try {
        if (db.closed) return
        await run(db, Wire.sync())
        if (db.isInTransaction()) await run(db, Wire.query("ROLLBACK"))
        for (const name of statements) await run(db, Wire.query(`DEALLOCATE ${Wire.quoteIdent(name)}`))
        // Notifications that arrived meanwhile are dropped with the rest of these replies: nobody asked.
      } finally {
        this.letGo()
      }
    }

    onClose(): Promise<void> {
      if (this.closed) return this.chain
      this.closed = true
      clients.delete(this)
      this.chain = this.chain.then(() => this.cleanup()).catch(() => this.letGo())
      return this.chain
    }
  }

  rmSync(options.path, { force: true })
  const server: Server = createServer((socket) => {
    const connection = new Connection(socket)
    clients.add(connection)
    // Connected clients do not keep the holder alive either: when it exits, they lose it.
    socket.unref()
    socket.on("data", (data) => connection.receive(data))
    socket.on("error", () => socket.destroy())
    socket.on("close", () => void connection.onClose())
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.path, () => {
      server.off("error", reject)
      resolve()
    })
  })
  chmodSync(options.path, 0o600)
  // The server must not keep the holder's process alive on its own; its store scope decides.
  server.unref()

  return {
    path: options.path,
    connections: () => clients.size,
    listen: async (channel, onPayload) => {
      let set = inProcess.get(channel)
      if (!set) inProcess.set(channel, (set = new Set()))
      set.add(onPayload)
      if (!backendListening.has(channel)) {
        await db.exec(`LISTEN ${Wire.quoteIdent(channel)}`)
        backendListening.add(channel)
      }
      return {
        unlisten: async () => {
          set.delete(onPayload)
        },
      }
    },
    close: async () => {
      offNotification()
      const closing = new Promise<void>((resolve) => server.close(() => resolve()))
      const pending = [...clients].map((c) => {
        c.socket.destroy()
        return c.onClose()
      })
      await Promise.all(pending)
      await closing
      rmSync(options.path, { force: true })
    },
  }
}
