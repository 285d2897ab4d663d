/**
 * Live updates as Server-Sent Events (`GET /api/events?run=<id>`, `GET /api/events?schedules
 * &next=&workflow=`, or `GET /api/events?<runs filter>`). The server polls the store, never
 * the browsers: one poll per distinct topic (a run, one runs page with its filter, or the
 * schedules listing) every `pollMs`, and only while some client listens;
 * with none connected, no timer runs. A client is sent an event when what it last received
 * differs from what the store holds now (its first one on the first poll after it connects):
 * - `run`: `{ id, status, revision, updatedAt }` of the run watched;
 * - `runs`: the runs page itself (`{ runs, nextCursor? }`);
 * - `schedules`: the `listSchedules` answer (it changes on a pause, a resume, a fired window,
 *   and as the next fire times move on);
 * - `failure`: `{ _tag, message }` when the read failed (the run was purged, the store is down).
 * Comments (`: ping`) keep idle connections open.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { ListSchedulesOptions } from "../../runtime/schedules.js"
import type { MeshClient } from "../client.js"
import type { ListRunsFilter } from "../listRuns.js"

/** What a client watches: one run, one page of runs, or the schedules. */
export type Topic =
  | { readonly kind: "run"; readonly runId: string }
  | { readonly kind: "runs"; readonly filter: ListRunsFilter }
  | { readonly kind: "schedules"; readonly options: ListSchedulesOptions }

/** At most this many streams at once; more are answered 503. */
export const MAX_STREAMS = 64

interface Watched {
  readonly topic: Topic
  /** Each client, with the signature of what it was sent last. */
  readonly clients: Map<ServerResponse, string | undefined>
}

/** One read of a topic: its event name, its data, and a signature that changes when the data does. */
interface Reading {
  readonly event: "run" | "runs" | "schedules" | "failure"
  readonly data: unknown
  readonly signature: string
}

const failureOf = (error: unknown): Reading => {
  const tag = typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string" ? (error as { _tag: string })._tag : "Error"
  const message = error instanceof Error ? error.message : String(error)
  return { event: "failure", data: { _tag: tag, message }, signature: `failure:${tag}:${message}` }
}

/** The server-side poller and its subscribers. */
export class LiveHub {
  readonly #mesh: MeshClient
  readonly #pollMs: number
  readonly #topics = new Map<string, Watched>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #polling = false
  #closed = false
  /** Polls done so far (tests check that nothing polls without listeners). */
  polls = 0

  constructor(mesh: MeshClient, pollMs: number) {
    this.#mesh = mesh
    this.#pollMs = pollMs
  }

  /** Streams being served now. */
  get streams(): number {
    let n = 0
    for (const watched of this.#topics.values()) n += watched.clients.size
    return n
  }

  /** Answers an events request: opens the stream and registers the client until it disconnects. */
  subscribe(req: IncomingMessage, res: ServerResponse, topic: Topic): void {
    if (this.#closed || this.streams >= MAX_STREAMS) {
      res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8", "Retry-After": "5" })
      res.end("too many live streams")
      return
    }
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", Connection: "keep-alive", "X-Accel-Buffering": "no" })
    res.write(`retry: ${Math.max(1000, this.#pollMs)}\n\n`)
    const key = JSON.stringify(topic)
    const watched = this.#topics.get(key) ?? { topic, clients: new Map<ServerResponse, string | undefined>() }
    this.#topics.set(key, watched)
    watched.clients.set(res, undefined)
    req.on("close", () => {
      watched.clients.delete(res)
      if (watched.clients.size === 0) this.#topics.delete(key)
      if (this.#topics.size === 0) this.#stop()
    })
    this.#schedule(0)
  }

  /** Ends every stream and stops polling. */
  close(): void {
    this.#closed = true
    this.#stop()
    for (const watched of this.#topics.values()) for (const res of watched.clients.keys()) res.end()
    this.#topics.clear()
  }

  #stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(delay: number): void {
    if (this.#closed || this.#polling || this.#topics.size === 0) return
    if (this.#timer !== undefined && delay > 0) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#tick(), delay)
  }

  async #tick(): Promise<void> {
    this.#timer = undefined
    this.#polling = true
    try {
      for (const watched of [...this.#topics.values()]) {
        if (watched.clients.size === 0) continue
        const reading = await this.#read(watched.topic)
        if (this.#closed) return
        const frame = `event: ${reading.event}\ndata: ${JSON.stringify(reading.data)}\n\n`
        for (const [res, sent] of watched.clients) {
          if (sent === reading.signature) res.write(": ping\n\n")
          else {
            res.write(frame)
            watched.clients.set(res, reading.signature)
          }
        }
      }
    } finally {
      this.#polling = false
      this.polls++
    }
    this.#schedule(this.#pollMs)
  }

  async #read(topic: Topic): Promise<Reading> {
    try {
      if (topic.kind === "run") {
        const run = await this.#mesh.inspectRun(topic.runId)
        const data = { id: run.id, status: run.status, revision: run.revision, updatedAt: run.updatedAt }
        return { event: "run", data, signature: `${run.status}:${run.revision}:${run.updatedAt}` }
      }
      if (topic.kind === "schedules") {
        const schedules = await this.#mesh.listSchedules(topic.options)
        return { event: "schedules", data: schedules, signature: JSON.stringify(schedules) }
      }
      const page = await this.#mesh.listRuns(topic.filter)
      const signature = `${page.runs.map((r) => `${r.id}:${r.status}:${r.revision}:${r.updatedAt}`).join(",")}|${page.nextCursor ?? ""}`
      return { event: "runs", data: page, signature }
    } catch (error) {
      return failureOf(error)
    }
  }
}
