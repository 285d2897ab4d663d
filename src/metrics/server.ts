/**
 * A tiny metrics endpoint on node:http: `GET /metrics` returns the Prometheus text of a mesh
 * (anything else is a 404). It listens on 127.0.0.1 unless told otherwise: metrics name
 * workflows, steps, queues and workers, so exposing them is the host's decision.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { CONTENT_TYPE } from "./exposition.js"

/** Where the endpoint listens. */
export interface ServeMetricsOptions {
  /** TCP port; 0 picks a free one (see `MetricsServer.port`). Default 9464. */
  readonly port?: number
  /** Interface to bind. Default "127.0.0.1". */
  readonly host?: string
}

/** What the endpoint serves: a mesh client (or anything with the same `metrics()`). */
export interface MetricsSource {
  /** The Prometheus text, read fresh for each scrape. */
  readonly metrics: () => Promise<string>
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The bound port. */
  readonly port: number
  /** The scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string
  /** Stops listening (open scrapes finish first). */
  readonly close: () => Promise<void>
}

/**
 * Serves `source.metrics()` on `GET /metrics` (`text/plain; version=0.0.4`). A failed read is
 * a 500 with the error's message; other paths are 404s.
 */
export const serveMetrics = async (source: MetricsSource, options: ServeMetricsOptions = {}): Promise<MetricsServer> => {
  const host = options.host ?? "127.0.0.1"
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: GET /metrics\n")
      return
    }
    source.metrics().then(
      (text) => res.writeHead(200, { "content-type": CONTENT_TYPE }).end(text),
      (error: unknown) =>
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`metrics unavailable: ${String((error as Error)?.message ?? error)}\n`),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 9464, host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const shown = host.includes(":") ? `[${host}]` : host
  return {
    port,
    url: `http://${shown}:${port}/metrics`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  }
}
