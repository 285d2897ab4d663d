/**
 * The few pieces of the Postgres wire protocol (v3) the socket server needs: splitting a
 * client's byte stream into messages, reading the fields it acts on, and building the
 * messages it answers itself (startup, errors, notifications). Everything else passes through
 * to PGlite untouched. https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

/** Startup-phase request codes (the int32 after the length, in place of a protocol version). */
export const PROTOCOL_V3 = 196608
export const SSL_REQUEST = 80877103
export const GSSENC_REQUEST = 80877104
export const CANCEL_REQUEST = 80877102

/** True for a StartupMessage of protocol 3.x (3.0, or a newer minor version a client may ask for). */
export const isStartup = (code: number): boolean => code >> 16 === 3

/** One client message: `type` is its tag letter, or `""` for a startup-phase packet (no tag). */
export interface Frame {
  readonly type: string
  /** The whole message, tag and length included. */
  readonly bytes: Buffer
}

/**
 * Takes complete messages off the front of `buffer`. In the startup phase a message has no
 * tag byte (int32 length first). Returns the messages and the unconsumed rest.
 */
export const splitFrames = (buffer: Buffer, startup: boolean): { readonly frames: Array<Frame>; readonly rest: Buffer } => {
  const frames: Array<Frame> = []
  let offset = 0
  let inStartup = startup
  for (;;) {
    if (inStartup) {
      if (buffer.length - offset < 8) break
      const length = buffer.readInt32BE(offset)
      if (length < 8 || length > 10_000) throw new Error(`invalid startup packet length ${length}`)
      if (buffer.length - offset < length) break
      const bytes = buffer.subarray(offset, offset + length)
      frames.push({ type: "", bytes })
      offset += length
      // Only the real startup packet ends the startup phase; SSL/GSS requests are followed by another.
      if (isStartup(bytes.readInt32BE(4))) inStartup = false
      continue
    }
    if (buffer.length - offset < 5) break
    const length = buffer.readInt32BE(offset + 1)
    if (length < 4) throw new Error(`invalid message length ${length}`)
    if (buffer.length - offset < length + 1) break
    frames.push({ type: String.fromCharCode(buffer[offset]!), bytes: buffer.subarray(offset, offset + length + 1) })
    offset += length + 1
  }
  return { frames, rest: offset === 0 ? buffer : buffer.subarray(offset) }
}

/** Reads a NUL-terminated string at `offset`; returns it and the offset after the NUL. */
export const readCString = (bytes: Buffer, offset: number): { readonly value: string; readonly next: number } => {
  const end = bytes.indexOf(0, offset)
  const stop = end === -1 ? bytes.length : end
  return { value: bytes.toString("utf8", offset, stop), next: stop + 1 }
}

/** The text of a simple Query ('Q') message. */
export const queryText = (frame: Frame): string => readCString(frame.bytes, 5).value

/** A Parse ('P') message's statement name, query text and the rest (parameter types). */
export const parseMessage = (frame: Frame): { readonly name: string; readonly text: string; readonly tail: Buffer } => {
  const name = readCString(frame.bytes, 5)
  const text = readCString(frame.bytes, name.next)
  return { name: name.value, text: text.value, tail: frame.bytes.subarray(text.next) }
}

/** A Bind ('B') message's statement name (after the portal name). */
export const bindStatement = (frame: Frame): string => readCString(frame.bytes, readCString(frame.bytes, 5).next).value

/** A Close ('C') message: 'S' (statement) or 'P' (portal), and the name. */
export const closeTarget = (frame: Frame): { readonly kind: string; readonly name: string } => ({
  kind: String.fromCharCode(frame.bytes[5]!),
  name: readCString(frame.bytes, 6).value,
})

const message = (type: string, body: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head.write(type, 0, "latin1")
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const cstring = (s: string): Buffer => Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])])

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

/** Parse ('P') with a new query text, keeping name and parameter types. */
export const rewriteParse = (name: string, text: string, tail: Buffer): Buffer => message("P", Buffer.concat([cstring(name), cstring(text), tail]))

/** A simple Query ('Q') message. */
export const query = (text: string): Buffer => message("Q", cstring(text))

/** Sync ('S'). */
export const sync = (): Buffer => message("S", Buffer.alloc(0))

/** AuthenticationOk ('R', 0). */
export const authenticationOk = (): Buffer => message("R", int32(0))

/** ParameterStatus ('S'). */
export const parameterStatus = (name: string, value: string): Buffer => message("S", Buffer.concat([cstring(name), cstring(value)]))

/** BackendKeyData ('K'). */
export const backendKeyData = (pid: number, secret: number): Buffer => message("K", Buffer.concat([int32(pid), int32(secret)]))

/** NegotiateProtocolVersion ('v'): the newest minor version served (0), no unrecognized options. */
export const negotiateProtocolVersion = (): Buffer => message("v", Buffer.concat([int32(PROTOCOL_V3), int32(0)]))

/** ReadyForQuery ('Z') with a status: 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
export const readyForQuery = (status: "I" | "T" | "E"): Buffer => message("Z", Buffer.from(status, "latin1"))

/** ErrorResponse ('E') with severity FATAL or ERROR, an SQLSTATE code and a message. */
export const errorResponse = (severity: "ERROR" | "FATAL", code: string, text: string): Buffer =>
  message(
    "E",
    Buffer.concat([
      Buffer.from("S"),
      cstring(severity),
      Buffer.from("V"),
      cstring(severity),
      Buffer.from("C"),
      cstring(code),
      Buffer.from("M"),
      cstring(text),
      Buffer.from([0]),
    ]),
  )

/** NotificationResponse ('A'). */
export const notificationResponse = (pid: number, channel: string, payload: string): Buffer =>
  message("A", Buffer.concat([int32(pid), cstring(channel), cstring(payload)]))

/** One backend message of a response, found by `scanResponse`. */
export interface Notification {
  readonly channel: string
  readonly payload: string
}

/**
 * Walks a backend response: returns it without its NotificationResponse messages (they are
 * routed separately), the notifications, and the status of its last ReadyForQuery (undefined
 * when the response has none, e.g. after Parse/Describe/Flush without Sync).
 */
export const scanResponse = (data: Uint8Array): { readonly out: Buffer; readonly notifications: Array<Notification>; readonly status: string | undefined } => {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const notifications: Array<Notification> = []
  const kept: Array<Buffer> = []
  let status: string | undefined
  let offset = 0
  let keptFrom = 0
  while (buffer.length - offset >= 5) {
    const type = buffer[offset]!
    const end = offset + 1 + buffer.readInt32BE(offset + 1)
    if (end > buffer.length) break
    if (type === 0x5a /* Z */) status = String.fromCharCode(buffer[offset + 5]!)
    else if (type === 0x41 /* A */) {
      const channel = readCString(buffer, offset + 9)
      const payload = readCString(buffer, channel.next)
      notifications.push({ channel: channel.value, payload: payload.value })
      kept.push(buffer.subarray(keptFrom, offset))
      keptFrom = end
    }
    offset = end
  }
  if (notifications.length === 0) return { out: buffer, notifications, status }
  kept.push(buffer.subarray(keptFrom))
  return { out: Buffer.concat(kept), notifications, status }
}

/**
 * A LISTEN or UNLISTEN statement: its channel (`*` for UNLISTEN *), or undefined for any
 * other statement. Channels are identifiers: quoted keep case, unquoted are lower-cased.
 */
export const listenStatement = (text: string): { readonly kind: "listen" | "unlisten"; readonly channel: string } | undefined => {
  const match = /^\s*(listen|unlisten)\s+("(?:[^"]|"")+"|\*|[A-Za-z_][A-Za-z0-9_$]*)\s*;?\s*$/i.exec(text)
  if (!match) return undefined
  const raw = match[2]!
  const channel = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase()
  return { kind: match[1]!.toLowerCase() as "listen" | "unlisten", channel }
}

/** Quotes an identifier for SQL. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`
