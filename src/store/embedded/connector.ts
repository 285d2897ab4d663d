/**
 * How a process that does not hold the data directory reaches it: a socket factory for
 * postgres.js that connects each new connection to whoever holds the directory now. When the
 * holder has gone (it exited, or was killed) and nobody else took over, this process takes the
 * lock itself, opens the database and serves it; its pool then connects to its own socket.
 * So a second app process outlives the first: its store keeps working, and a restarted first
 * process connects to it in turn.
 */
import { hostname } from "node:os"
import { connect, type Socket } from "node:net"
import { StoreLockedError } from "../../core/errors.js"
import { openHolding, type Holding, type HoldingOptions } from "./holding.js"
import { tryAcquire, type LockRecord } from "./lock.js"
import { socketPathFor } from "./socketPath.js"

/** Connects to a Unix socket; rejects when nothing accepts there. */
export const connectTo = (path: string): Promise<Socket> =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(path)
    const onError = (error: Error) => {
      socket.destroy()
      reject(error)
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resolve(socket)
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A connector and what it may have come to hold. */
export interface Connector {
  /** The postgres.js `socket` option: resolves to a connected socket. */
  readonly socket: () => Promise<Socket>
  /** The directory this process took over, if it did. */
  readonly holding: () => Holding | undefined
  /** Closes what it took over (after the pool has ended). */
  readonly close: () => Promise<void>
}

/** Options of `makeConnector`. */
export interface ConnectorOptions extends HoldingOptions {
  /** How long to wait for a live holder's socket to accept. */
  readonly connectTimeoutMs: number
  /** Called once when this process takes the directory over. */
  readonly onTakeover?: (holding: Holding, previous: LockRecord | undefined) => void
}

/** A socket factory for the data directory `dataDir` (absolute). */
export const makeConnector = (dataDir: string, options: ConnectorOptions): Connector => {
  let holding: Holding | undefined
  let takingOver: Promise<Holding> | undefined
  let last: LockRecord | undefined
  let closed = false

  const takeOver = (release: () => void, socket: ReturnType<typeof socketPathFor>): Promise<Holding> =>
    (takingOver ??= openHolding(dataDir, options, socket, release).then(
      (h) => {
        holding = h
        options.onTakeover?.(h, last)
        return h
      },
      (error: unknown) => {
        takingOver = undefined
        throw error
      },
    ))

  const socket = async (): Promise<Socket> => {
    if (closed) throw new Error("the embedded store was closed")
    if (takingOver) return connectTo((await takingOver).server!.path)
    const deadline = Date.now() + options.connectTimeoutMs
    for (;;) {
      const path = socketPathFor(dataDir)
      const outcome = tryAcquire(dataDir, { socket: path.path })
      if (outcome._tag === "Acquired") return connectTo((await takeOver(outcome.lock.release, path)).server!.path)
      path.cleanup()
      const record = outcome.record
      last = record
      if (record.socket === undefined || record.host !== hostname()) {
        throw new StoreLockedError({ dataDir, holderPid: record.pid, holderHost: record.host, ...(record.socket ? { socket: record.socket } : {}) })
      }
      try {
        return await connectTo(record.socket)
      } catch (error) {
        if (Date.now() > deadline) throw error
      }
      await sleep(100)
    }
  }

  return {
    socket,
    holding: () => holding,
    close: async () => {
      closed = true
      const h = takingOver ? await takingOver.catch(() => undefined) : undefined
      await h?.close()
    },
  }
}
