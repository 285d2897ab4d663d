/**
 * A small HTTP client for the dashboard tests (node:http, so tests can set any header,
 * Host and Origin included), and a Server-Sent Events reader.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http"

/** An answer: status, headers, body text and its JSON (when it is JSON). */
export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  readonly json: any
}

/** Sends one request to `base` + `path`. */
export const request = (
  base: string,
  path: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: unknown } = {},
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, base)
    const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body)
    const req = httpRequest(
      url,
      {
        method: options.method ?? "GET",
        headers: { ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
      },
    )
    req.on("error", reject)
    req.end(body)
  })

/** One received event. */
export interface StreamEvent {
  readonly event: string
  readonly data: any
}

/** An open event stream: wait for the next event matching a predicate; close it. */
export interface EventStream {
  readonly status: number
  readonly next: (match: (e: StreamEvent) => boolean) => Promise<StreamEvent>
  readonly close: () => void
}

/** Opens `GET path` as an event stream. */
export const openStream = (base: string, path: string, headers: Record<string, string> = {}): Promise<EventStream> =>
  new Promise((resolve, reject) => {
    const events: Array<StreamEvent> = []
    const waiters: Array<{ match: (e: StreamEvent) => boolean; resolve: (e: StreamEvent) => void }> = []
    let buffer = ""
    const deliver = () => {
      for (const w of [...waiters]) {
        const index = events.findIndex(w.match)
        if (index !== -1) {
          const [e] = events.splice(index, 1)
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(e!)
        }
      }
    }
    const req = httpRequest(new URL(path, base), { headers: { Accept: "text/event-stream", ...headers } }, (res) => {
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffer += chunk
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const lines = frame.split("\n")
          const event = lines.find((l) => l.startsWith("event: "))?.slice(7)
          const data = lines.find((l) => l.startsWith("data: "))?.slice(6)
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) })
        }
        deliver()
      })
      resolve({
        status: res.statusCode ?? 0,
        next: (match) =>
          new Promise((done) => {
            waiters.push({ match, resolve: done })
            deliver()
          }),
        close: () => req.destroy(),
      })
    })
    req.on("error", (e) => (req.destroyed ? undefined : reject(e)))
    req.end()
  })
