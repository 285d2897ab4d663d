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
 * | `POST /api/runs/:id/{approve,reject,resume,cancel}` | `{ action, runId, status, duplicate }`; body `{ actor, note? }` (`reason` for resume and cancel); only with `allowActions` |
 * | `POST /api/runs/:id/signal` | `mesh.signal(id, name, payload)`: `{ action, signal, runId, status, duplicate }`; body `{ actor, name, payload?, idempotencyKey? }`; only with `allowActions` |
 * | `POST /api/runs/:id/rerun` | `mesh.rerun(id)`: `{ action, runId (the new run), rerunOf, status, duplicate }`; body `{ actor, note?, allowIrreversible?, fromStep?, idempotencyKey? }`; only with `allowActions` |
 * | `POST /api/specs/preview` | `previewGraph(spec)` of the JSON body (a spec, or `{ spec }`): nodes, edges and problems; writes nothing |
 * | `GET /api/schedules?workflow=&next=` | `listSchedules({ workflow, next })`: every cron trigger, its policies, paused state, last fired window and run, next fire times |
 * | `GET /api/schedules/:workflow/:trigger/events?limit=` | `scheduleEvents(workflow, trigger, { limit })`, newest first; 404 for a schedule `listSchedules` does not have |
 * | `POST /api/schedules/:workflow/:trigger/{pause,resume}` | `{ action, workflow, trigger, paused, changed }`; body `{ actor, reason? }` (or `note`); only with `allowActions` |
 *
 * Workflow and trigger names are path segments, percent-encoded (`encodeURIComponent`), so
 * names with `:`, `/` or spaces address exactly one schedule. Every POST that changes
 * something (the run and schedule controls, `controls.ts`) passes the same same-origin and
 * CSRF checks.
 *
 * Engine failures keep their tag and fields (`failures.ts`): `{ error: { _tag, message,
 * ...fields } }` with 400 (InvalidOptionError; InvalidPayloadError with `missing`, `unknown`,
 * `invalid`), 404 (RunNotFoundError, InvalidTriggerError), 409 (InvalidTransitionError,
 * ConflictError, InvalidWorkflowError, RerunRefusedError with `reason` and `steps`), 413
 * (PayloadTooLargeError) or 500.
 */
import { previewGraph } from "../read/preview.js"
import type { IncomingMessage, ServerResponse } from "node:http"
import { RUN_ACTIONS, SCHEDULE_ACTIONS, runControl, scheduleControl, type ControlContext, type RunAction, type ScheduleAction } from "./controls.js"
import { sendFailure, sendQueryProblem } from "./failures.js"
import { readJsonBody, sendError, sendJson } from "./http.js"
import { isQueryProblem, runsFilterOf, scheduleEventsQueryOf, schedulesQueryOf } from "./query.js"

/** What the API needs: the client and auth settings of the controls, whether they exist, and the live poll interval. */
export interface ApiContext extends ControlContext {
  readonly allowActions: boolean
  readonly pollMs: number
}

/** A matched API route: the read or action to do, and the run or schedule it concerns. */
type Route =
  | { readonly _tag: "Config" }
  | { readonly _tag: "Runs" }
  | { readonly _tag: "Run"; readonly runId: string }
  | { readonly _tag: "Explain"; readonly runId: string }
  | { readonly _tag: "Graph"; readonly runId: string }
  | { readonly _tag: "Action"; readonly runId: string; readonly action: RunAction }
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
  if (allowActions && (RUN_ACTIONS as ReadonlyArray<string>).includes(rest)) return { _tag: "Action", runId, action: rest as RunAction }
  return undefined
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
        return await runControl(req, res, ctx, viaBearer, route.runId, route.action)
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
        return await scheduleControl(req, res, ctx, viaBearer, route)
    }
  } catch (error) {
    sendFailure(res, error)
  }
}
