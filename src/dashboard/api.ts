/**
 * The dashboard's JSON API, over the Promise client:
 *
 * | route | answers |
 * |---|---|
 * | `GET /api/config` | `{ allowActions, csrf?, pollMs }` (`csrf` only with actions allowed) |
 * | `GET /api/runs?status=&workflow=&attr=k=v&cursor=&limit=…` | one `listRuns` page `{ runs, nextCursor? }` |
 * | `GET /api/runs/:id` | `inspectRun(id, { history: true })` |
 * | `GET /api/runs/:id/explain` | `explainRun(id)` |
 * | `GET /api/runs/:id/graph` | `inspectRunGraph(id)` |
 * | `POST /api/runs/:id/{approve,reject,resume,cancel}` | the control's outcome; only with `allowActions` |
 * | `POST /api/specs/preview` | `previewGraph(spec)` of the JSON body (a spec, or `{ spec }`): nodes, edges and problems; writes nothing |
 *
 * Engine failures keep their tag: `{ error: { _tag, message, ...fields } }` with 400
 * (InvalidOptionError), 404 (RunNotFoundError), 409 (InvalidTransitionError, ConflictError)
 * or 500.
 */
import { previewGraph } from "../read/preview.js"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { MeshClient } from "../client.js"
import { actionRefusal, type AuthConfig } from "./auth.js"
import { readJsonBody, sendError, sendJson } from "./http.js"
import { isQueryProblem, runsFilterOf } from "./query.js"

/** The controls the dashboard offers (signal and rerun stay with the API and the CLI). */
export const DASHBOARD_ACTIONS = ["approve", "reject", "resume", "cancel"] as const

/** A control the dashboard can issue. */
export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number]

/** What the API needs: the client, whether actions exist, and the auth settings actions check. */
export interface ApiContext {
  readonly mesh: MeshClient
  readonly allowActions: boolean
  readonly auth: AuthConfig
  readonly pollMs: number
}

const STATUS_OF_TAG: Readonly<Record<string, number>> = {
  InvalidOptionError: 400,
  InvalidPayloadError: 400,
  RunNotFoundError: 404,
  InvalidTransitionError: 409,
  ConflictError: 409,
  InvalidWorkflowError: 409,
}

/** An engine failure as an HTTP answer: its tag, message and plain fields. */
export const sendFailure = (res: ServerResponse, error: unknown): void => {
  if (typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string") {
    const tagged = error as { readonly _tag: string; readonly message?: unknown }
    const fields: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(tagged))
      if (key !== "stack" && key !== "cause" && (typeof value !== "object" || value === null)) fields[key] = value
    const message = typeof tagged.message === "string" ? tagged.message : tagged._tag
    sendJson(res, STATUS_OF_TAG[tagged._tag] ?? 500, { error: { ...fields, _tag: tagged._tag, message } })
    return
  }
  sendError(res, 500, "InternalError", error instanceof Error ? error.message : String(error))
}

/** A matched API route: the read or action to do, and the run it concerns. */
type Route =
  | { readonly _tag: "Config" }
  | { readonly _tag: "Runs" }
  | { readonly _tag: "Run"; readonly runId: string }
  | { readonly _tag: "Explain"; readonly runId: string }
  | { readonly _tag: "Graph"; readonly runId: string }
  | { readonly _tag: "Action"; readonly runId: string; readonly action: DashboardAction }
  | { readonly _tag: "SpecPreview" }

/** The route of a path (whatever the method), if it is one. Action routes exist only when allowed. */
const routeOf = (path: string, allowActions: boolean): Route | undefined => {
  if (path === "/api/config") return { _tag: "Config" }
  if (path === "/api/runs") return { _tag: "Runs" }
  if (path === "/api/specs/preview") return { _tag: "SpecPreview" }
  const match = /^\/api\/runs\/([^/]+)(?:\/([a-z]+))?$/.exec(path)
  if (!match) return undefined
  let runId = match[1]!
  try {
    runId = decodeURIComponent(runId)
  } catch {
    // A malformed escape stays as it is; the engine refuses it as a malformed run id.
  }
  const rest = match[2]
  if (rest === undefined) return { _tag: "Run", runId }
  if (rest === "explain") return { _tag: "Explain", runId }
  if (rest === "graph") return { _tag: "Graph", runId }
  if (allowActions && (DASHBOARD_ACTIONS as ReadonlyArray<string>).includes(rest)) return { _tag: "Action", runId, action: rest as DashboardAction }
  return undefined
}

const optionalText = (body: Record<string, unknown>, name: string): string | undefined => {
  const value = body[name]
  return typeof value === "string" && value.trim() !== "" ? value : undefined
}

/** Does one control from a JSON body `{ actor, note?, reason?, idempotencyKey? }`, recording `via: "dashboard"` in the audit event's metadata. */
const act = async (req: IncomingMessage, res: ServerResponse, ctx: ApiContext, viaBearer: boolean, runId: string, action: DashboardAction): Promise<void> => {
  const refusal = actionRefusal(req, viaBearer, ctx.auth)
  if (refusal !== undefined) {
    req.resume()
    return sendError(res, 403, "Forbidden", refusal)
  }
  const read = await readJsonBody(req)
  if (!("body" in read)) return sendError(res, read.status, "BadRequest", read.message)
  const { body } = read
  if (typeof body.actor !== "string") return sendError(res, 400, "InvalidOptionError", "invalid option actor: expected a string (who does this)")
  const note = optionalText(body, "note") ?? optionalText(body, "reason")
  const idempotencyKey = optionalText(body, "idempotencyKey")
  const base = { actor: body.actor, metadata: { via: "dashboard" }, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) }
  try {
    const outcome =
      action === "approve"
        ? await ctx.mesh.approve(runId, { ...base, ...(note !== undefined ? { note } : {}) })
        : action === "reject"
          ? await ctx.mesh.reject(runId, { ...base, ...(note !== undefined ? { note } : {}) })
          : action === "resume"
            ? await ctx.mesh.resume(runId, { ...base, ...(note !== undefined ? { reason: note } : {}) })
            : await ctx.mesh.cancel(runId, { ...base, ...(note !== undefined ? { reason: note } : {}) })
    sendJson(res, 200, { action, ...outcome })
  } catch (error) {
    sendFailure(res, error)
  }
}

/**
 * Answers a request under `/api/` (other than the live stream). An unknown path is a 404; a
 * known one with the wrong method a 405 with `Allow`. With actions not allowed, action paths
 * do not exist (404).
 */
export const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext, viaBearer: boolean): Promise<void> => {
  const route = routeOf(url.pathname, ctx.allowActions)
  if (!route) return sendError(res, 404, "NotFound", `no route ${url.pathname}`)
  const method = route._tag === "Action" || route._tag === "SpecPreview" ? "POST" : "GET"
  if (req.method !== method && !(method === "GET" && req.method === "HEAD")) {
    req.resume()
    return sendError(res, 405, "MethodNotAllowed", `${url.pathname} takes ${method}`, { Allow: method === "GET" ? "GET, HEAD" : "POST" })
  }
  try {
    switch (route._tag) {
      case "Config":
        return sendJson(res, 200, { allowActions: ctx.allowActions, pollMs: ctx.pollMs, ...(ctx.allowActions ? { csrf: ctx.auth.csrf } : {}) })
      case "Runs": {
        const filter = runsFilterOf(url.searchParams)
        if (isQueryProblem(filter)) return sendError(res, 400, "InvalidOptionError", `invalid option ${filter.option}: ${filter.reason}`)
        return sendJson(res, 200, await ctx.mesh.listRuns(filter))
      }
      case "Run":
        return sendJson(res, 200, await ctx.mesh.inspectRun(route.runId, { history: true }))
      case "Explain":
        return sendJson(res, 200, await ctx.mesh.explainRun(route.runId))
      case "Graph":
        return sendJson(res, 200, await ctx.mesh.inspectRunGraph(route.runId))
      case "Action":
        return await act(req, res, ctx, viaBearer, route.runId, route.action)
      case "SpecPreview": {
        // Writes nothing, so no CSRF secret: a JSON body cannot come from a cross-site form.
        const read = await readJsonBody(req)
        if (!("body" in read)) return sendError(res, read.status, "BadRequest", read.message)
        const { body } = read
        return sendJson(res, 200, previewGraph("spec" in body && Object.keys(body).length === 1 ? body.spec : body))
      }
    }
  } catch (error) {
    sendFailure(res, error)
  }
}
