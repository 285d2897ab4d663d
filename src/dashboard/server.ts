/**
 * `serveDashboard`: the operators' dashboard, served by `node:http` from this process. It
 * answers the page (static HTML, CSS and ES modules, no build step), the JSON API
 * (`api.ts`) and the live stream (`live.ts`), after the checks of `auth.ts`. Read-only
 * unless `allowActions`; on 127.0.0.1 unless told otherwise, and then only with a token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { InvalidOptionError } from "../core/errors.js"
import { createMesh, type MeshClient, type StoreConfig } from "../client.js"
import { handleApi, type ApiContext } from "./api.js"
import { sendQueryProblem } from "./failures.js"
import { assetAt } from "./assets/index.js"
import { authenticate, isLoopback, newCsrfSecret, type AuthConfig } from "./auth.js"
import { securityHeaders, sendError, sendText } from "./http.js"
import { LiveHub } from "./live.js"
import { isQueryProblem, runsFilterOf, schedulesQueryOf } from "./query.js"

/** Options of `serveDashboard`: a client to read through, or a store to open one on. */
export type DashboardOptions = (
  | {
      /** The client to read and act through (it stays open when the dashboard closes). */
      readonly mesh: MeshClient
    }
  | {
      /** A store to open a client on (no workflows registered: controls work on the journal); closed with the dashboard. */
      readonly store: StoreConfig
    }
) & {
  /** The address to listen on. Default `127.0.0.1`; any non-loopback address needs a `token`. */
  readonly host?: string
  /** The port. Default 0: an ephemeral port (read it from `url`). */
  readonly port?: number
  /** When set (at least 16 characters), every request needs it: `Authorization: Bearer`, or `?token=` once (it sets a session cookie). */
  readonly token?: string
  /** Show and accept approve / reject / resume / cancel / signal / rerun of runs and pause / resume of schedules. Default false: the action routes do not exist. */
  readonly allowActions?: boolean
  /** How often live views poll the store, while someone watches. Default 2000 ms. */
  readonly pollMs?: number
}

/** A running dashboard. */
export interface Dashboard {
  /** Its address; with a token, the address carries `?token=` (opening it once sets the session cookie). */
  readonly url: string
  /** Ends live streams, stops listening, and closes the client if the dashboard opened it. */
  readonly close: () => Promise<void>
}

/** The least length of a dashboard token. */
export const MIN_TOKEN_LENGTH = 16

const invalid = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: String(value), reason })

/** The options' first problem, if any (checked before anything is opened). */
const problemOf = (options: DashboardOptions): InvalidOptionError | undefined => {
  const host = options.host ?? "127.0.0.1"
  if (typeof host !== "string" || host.length === 0) return invalid("host", host, "expected a host name or address")
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) return invalid("port", port, "expected an integer from 0 to 65535")
  if (options.token !== undefined && (typeof options.token !== "string" || options.token.length < MIN_TOKEN_LENGTH))
    return invalid("token", "[REDACTED]", `expected a string of at least ${MIN_TOKEN_LENGTH} characters`)
  if (!isLoopback(host) && options.token === undefined)
    return invalid("host", host, "a dashboard reachable from other machines needs a token (or listen on 127.0.0.1)")
  const pollMs = options.pollMs ?? 2000
  if (!Number.isInteger(pollMs) || pollMs < 50) return invalid("pollMs", pollMs, "expected an integer of at least 50")
  return undefined
}

/** Everything one request needs, fixed when the server starts. */
interface ServerContext {
  readonly api: ApiContext
  readonly auth: AuthConfig
  readonly live: LiveHub
}

/** The page's routes: the runs list, a run page, the schedules and the spec preview share one HTML shell. */
const isPagePath = (path: string): boolean => path === "/" || path === "/specs" || path === "/schedules" || /^\/runs\/[^/]+$/.test(path)

const handle = async (req: IncomingMessage, res: ServerResponse, ctx: ServerContext): Promise<void> => {
  securityHeaders(res)
  const url = new URL(req.url ?? "/", "http://dashboard.invalid")
  const decision = authenticate(req, url, ctx.auth)
  if (decision._tag === "Refused") {
    req.resume()
    return sendError(
      res,
      decision.status,
      decision.status === 401 ? "Unauthorized" : "Forbidden",
      decision.reason,
      decision.status === 401 ? { "WWW-Authenticate": "Bearer" } : {},
    )
  }
  if (decision._tag === "SetSession") {
    res.writeHead(303, { Location: decision.location, "Set-Cookie": decision.cookie, "Cache-Control": "no-store" })
    return void res.end()
  }
  const path = url.pathname
  if (path === "/api/events") {
    if (req.method !== "GET") return sendError(res, 405, "MethodNotAllowed", "/api/events takes GET", { Allow: "GET" })
    const runId = url.searchParams.get("run")
    if (runId !== null) return ctx.live.subscribe(req, res, { kind: "run", runId })
    if (url.searchParams.has("schedules")) {
      const options = schedulesQueryOf(url.searchParams, ["schedules"])
      if (isQueryProblem(options)) return sendQueryProblem(res, options)
      return ctx.live.subscribe(req, res, { kind: "schedules", options })
    }
    const filter = runsFilterOf(url.searchParams)
    if (isQueryProblem(filter)) return sendQueryProblem(res, filter)
    return ctx.live.subscribe(req, res, { kind: "runs", filter })
  }
  if (path.startsWith("/api/")) return handleApi(req, res, url, ctx.api, decision.viaBearer)
  const asset = isPagePath(path) ? assetAt("/") : assetAt(path)
  if (!asset) return sendError(res, 404, "NotFound", `no page ${path}`)
  if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, 405, "MethodNotAllowed", `${path} takes GET`, { Allow: "GET, HEAD" })
  sendText(res, 200, asset.contentType, req.method === "HEAD" ? "" : asset.body)
}

/**
 * Serves the operators' dashboard: the runs list (status, workflow and attribute filters,
 * paging), each run's explanation, graph, timeline, attempts, children and audit trail, the
 * cron schedules (policies, paused state, last fired run, next fire times, audit trail), kept
 * live by Server-Sent Events, plus its JSON API (`/api/...`). Read-only by default; with
 * `allowActions`, approve / reject / resume / cancel / signal / rerun of runs and pause / resume
 * of schedules (each asks for the actor; a signal for its JSON payload too).
 * Bad options are an InvalidOptionError before anything listens.
 *
 * @example
 * const dashboard = await serveDashboard({ mesh, port: 4600 })
 * console.log(`dashboard on ${dashboard.url}`)
 * await dashboard.close()
 */
export const serveDashboard = async (options: DashboardOptions): Promise<Dashboard> => {
  const problem = problemOf(options)
  if (problem) throw problem
  const host = options.host ?? "127.0.0.1"
  const pollMs = options.pollMs ?? 2000
  const owned = !("mesh" in options)
  const mesh = "mesh" in options ? options.mesh : await createMesh({ workflows: [], store: options.store })
  const auth: AuthConfig = { token: options.token, loopback: isLoopback(host), csrf: newCsrfSecret() }
  const live = new LiveHub(mesh, pollMs)
  const ctx: ServerContext = { api: { mesh, allowActions: options.allowActions === true, auth, pollMs }, auth, live }
  const server = createServer((req, res) => {
    handle(req, res, ctx).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, "InternalError", error instanceof Error ? error.message : String(error))
      else res.end()
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject)
        resolve()
      })
    })
  } catch (error) {
    if (owned) await mesh.close()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host
  const url = `http://${shown}:${port}/${options.token !== undefined ? `?token=${encodeURIComponent(options.token)}` : ""}`
  let closing: Promise<void> | undefined
  return {
    url,
    close: () =>
      (closing ??= (async () => {
        live.close()
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        if (owned) await mesh.close()
      })()),
  }
}
