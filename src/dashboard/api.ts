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
 * | `GET /api/schedules?workflow=&next=` | `listSchedules({ workflow, next })`: every cron trigger, its policies, paused state, last fired window and run, next fire times |
 * | `GET /api/schedules/:workflow/:trigger/events?limit=` | `scheduleEvents(workflow, trigger, { limit })`, newest first; 404 for a schedule `listSchedules` does not have |
 * | `POST /api/schedules/:workflow/:trigger/{pause,resume}` | `{ action, workflow, trigger, paused, changed }`; body `{ actor, reason? }` (or `note`); only with `allowActions` |
 *
 * Workflow and trigger names are path segments, percent-encoded (`encodeURIComponent`), so
 * names with `:`, `/` or spaces address exactly one schedule. Every POST that changes
 * something (the run and schedule controls) passes the same same-origin and CSRF checks.
 *
 * Engine failures keep their tag: `{ error: { _tag, message, ...fields } }` with 400
 * (InvalidOptionError), 404 (RunNotFoundError, InvalidTriggerError), 409
 * (InvalidTransitionError, ConflictError, InvalidWorkflowError) or 500.
 */
import { previewGraph } from "../read/preview.js"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { MeshClient } from "../client.js"
import { actionRefusal, type AuthConfig } from "./auth.js"
import { readJsonBody, sendError, sendJson } from "./http.js"
import { isQueryProblem, runsFilterOf, scheduleEventsQueryOf, schedulesQueryOf, type QueryProblem } from "./query.js"

/** The controls the dashboard offers (signal and rerun stay with the API and the CLI). */
export const DASHBOARD_ACTIONS = ["approve", "reject", "resume", "cancel"] as const

/** A control the dashboard can issue. */
export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number]

/** The controls of a cron schedule (backfill stays with the API and the CLI). */
export const SCHEDULE_ACTIONS = ["pause", "resume"] as const

/** A schedule control the dashboard can issue. */
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number]

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
  InvalidTriggerError: 404,
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

/** Answers a query string that could not be read: 400 InvalidOptionError naming the parameter (as the engine's does). */
export const sendQueryProblem = (res: ServerResponse, problem: QueryProblem): void =>
  sendJson(res, 400, { error: { _tag: "InvalidOptionError", option: problem.option, message: `invalid option ${problem.option}: ${problem.reason}` } })

/** A matched API route: the read or action to do, and the run or schedule it concerns. */
type Route =
  | { readonly _tag: "Config" }
  | { readonly _tag: "Runs" }
  | { readonly _tag: "Run"; readonly runId: string }
  | { readonly _tag: "Explain"; readonly runId: string }
  | { readonly _tag: "Graph"; readonly runId: string }
  | { readonly _tag: "Action"; readonly runId: string; readonly action: DashboardAction }
  | { readonly _tag: "SpecPreview" }
  | { readonly _tag: "Schedules" }
  | { readonly _tag: "ScheduleEvents"; readonly workflow: string; readonly trigger: string }
  | { readonly _tag: "ScheduleAction"; readonly workflow: string; readonly trigger: string; readonly action: ScheduleAction }
  | { readonly _tag: "MalformedName" }

/** The routes that take POST (every other takes GET). */
const POST_ROUTES: ReadonlyArray<Route["_tag"]> = ["Action", "SpecPreview", "ScheduleAction"]

/** A percent-decoded path segment, or undefined when its escapes are malformed. */
const decodeSegment = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** The route of a schedule's path, if it is one. Its action routes exist only when allowed. */
const scheduleRouteOf = (path: string, allowActions: boolean): Route | undefined => {
  if (path === "/api/schedules") return { _tag: "Schedules" }
  const match = /^\/api\/schedules\/([^/]+)\/([^/]+)\/([a-z]+)$/.exec(path)
  if (!match) return undefined
  const rest = match[3]!
  const isAction = allowActions && (SCHEDULE_ACTIONS as ReadonlyArray<string>).includes(rest)
  if (rest !== "events" && !isAction) return undefined
  const workflow = decodeSegment(match[1]!)
  const trigger = decodeSegment(match[2]!)
  if (workflow === undefined || trigger === undefined) return { _tag: "MalformedName" }
  return rest === "events" ? { _tag: "ScheduleEvents", workflow, trigger } : { _tag: "ScheduleAction", workflow, trigger, action: rest as ScheduleAction }
}

/** The route of a path (whatever the method), if it is one. Action routes exist only when allowed. */
const routeOf = (path: string, allowActions: boolean): Route | undefined => {
  if (path === "/api/config") return { _tag: "Config" }
  if (path === "/api/runs") return { _tag: "Runs" }
  if (path === "/api/specs/preview") return { _tag: "SpecPreview" }
  if (path === "/api/schedules" || path.startsWith("/api/schedules/")) return scheduleRouteOf(path, allowActions)
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

/** What an action's body asks: who does it, their note (`note` or `reason`), and its idempotency key. */
interface ControlRequest {
  readonly actor: string
  readonly note: string | undefined
  readonly idempotencyKey: string | undefined
}

/**
 * Checks that an action comes from the dashboard's page (or a bearer-authenticated script),
 * then reads its JSON body `{ actor, note?, reason?, idempotencyKey? }`. On a refusal it
 * answers the request itself and returns undefined.
 */
const readControl = async (req: IncomingMessage, res: ServerResponse, ctx: ApiContext, viaBearer: boolean): Promise<ControlRequest | undefined> => {
  const refusal = actionRefusal(req, viaBearer, ctx.auth)
  if (refusal !== undefined) {
    req.resume()
    return void sendError(res, 403, "Forbidden", refusal)
  }
  const read = await readJsonBody(req)
  if (!("body" in read)) return void sendError(res, read.status, "BadRequest", read.message)
  const { body } = read
  if (typeof body.actor !== "string") return void sendError(res, 400, "InvalidOptionError", "invalid option actor: expected a string (who does this)")
  return { actor: body.actor, note: optionalText(body, "note") ?? optionalText(body, "reason"), idempotencyKey: optionalText(body, "idempotencyKey") }
}

/** Does one control of a run, recording `via: "dashboard"` in the audit event's metadata. */
const act = async (req: IncomingMessage, res: ServerResponse, ctx: ApiContext, viaBearer: boolean, runId: string, action: DashboardAction): Promise<void> => {
  const control = await readControl(req, res, ctx, viaBearer)
  if (control === undefined) return
  const { note, idempotencyKey } = control
  const base = { actor: control.actor, metadata: { via: "dashboard" }, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) }
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

/** Pauses or resumes a cron schedule; the engine records the actor and note in its audit trail. */
const actOnSchedule = async (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ApiContext,
  viaBearer: boolean,
  route: Extract<Route, { readonly _tag: "ScheduleAction" }>,
): Promise<void> => {
  const control = await readControl(req, res, ctx, viaBearer)
  if (control === undefined) return
  const options = { actor: control.actor, ...(control.note !== undefined ? { note: control.note } : {}) }
  const change = route.action === "pause" ? ctx.mesh.pauseSchedule : ctx.mesh.resumeSchedule
  sendJson(res, 200, { action: route.action, ...(await change(route.workflow, route.trigger, options)) })
}

/** A schedule's audit trail; 404 when neither the engine nor the store has the schedule (a typo would otherwise read as "no events"). */
const scheduleEventsOf = async (res: ServerResponse, url: URL, ctx: ApiContext, workflow: string, trigger: string): Promise<void> => {
  const options = scheduleEventsQueryOf(url.searchParams)
  if (isQueryProblem(options)) return sendQueryProblem(res, options)
  const known = await ctx.mesh.listSchedules({ workflow, next: 0 })
  if (!known.some((s) => s.trigger === trigger)) return sendError(res, 404, "NotFound", `no schedule "${trigger}" of workflow "${workflow}"`)
  return sendJson(res, 200, await ctx.mesh.scheduleEvents(workflow, trigger, options))
}

/**
 * Answers a request under `/api/` (other than the live stream). An unknown path is a 404; a
 * known one with the wrong method a 405 with `Allow`. With actions not allowed, action paths
 * do not exist (404).
 */
export const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext, viaBearer: boolean): Promise<void> => {
  const route = routeOf(url.pathname, ctx.allowActions)
  if (!route) return sendError(res, 404, "NotFound", `no route ${url.pathname}`)
  if (route._tag === "MalformedName") {
    req.resume()
    return sendError(res, 400, "InvalidOptionError", "invalid option schedule: the workflow or trigger name has a malformed percent-escape")
  }
  const method = POST_ROUTES.includes(route._tag) ? "POST" : "GET"
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
        if (isQueryProblem(filter)) return sendQueryProblem(res, filter)
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
      case "Schedules": {
        const options = schedulesQueryOf(url.searchParams)
        if (isQueryProblem(options)) return sendQueryProblem(res, options)
        return sendJson(res, 200, await ctx.mesh.listSchedules(options))
      }
      case "ScheduleEvents":
        return await scheduleEventsOf(res, url, ctx, route.workflow, route.trigger)
      case "ScheduleAction":
        return await actOnSchedule(req, res, ctx, viaBearer, route)
    }
  } catch (error) {
    sendFailure(res, error)
  }
}
