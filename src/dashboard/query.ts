/**
 * The query strings of the dashboard's JSON API. The runs filter: every `listRuns` filter has
 * a parameter: `status` (repeated or comma-separated), `workflow`, `trigger`, `parent`, `key`
 * (idempotency key), `attr` (repeated `key=value`), `deadline`, `createdFrom` / `createdTo` /
 * `updatedFrom` / `updatedTo` (epoch ms or ISO 8601), `cursor` and `limit`. The schedules
 * listing: `workflow` and `next`; a schedule's events: `limit`. The engine validates the
 * values; this module only maps names and shapes, and refuses parameters it does not know (a
 * typo must not silently widen a listing).
 */
import type { ListSchedulesOptions } from "../../runtime/schedules.js"
import type { RunStatus } from "../core/model.js"
import type { ListRunsFilter, TimeRange } from "../listRuns.js"

/** The query parameters of a runs listing. */
export const RUNS_PARAMS: ReadonlyArray<string> = [
  "status",
  "workflow",
  "trigger",
  "parent",
  "key",
  "attr",
  "deadline",
  "createdFrom",
  "createdTo",
  "updatedFrom",
  "updatedTo",
  "cursor",
  "limit",
]

/** A query parameter that cannot be read. */
export interface QueryProblem {
  readonly option: string
  readonly reason: string
}

/** An epoch-ms number or an ISO 8601 date, as epoch ms. */
const instant = (text: string): number | undefined => {
  if (/^\d+$/.test(text)) return Number(text)
  const parsed = Date.parse(text)
  return Number.isNaN(parsed) ? undefined : parsed
}

/** The first parameter not in `known` (nor `token`, which the auth check reads), as a problem. */
const unknownParameter = (params: URLSearchParams, known: ReadonlyArray<string>): QueryProblem | undefined => {
  for (const name of params.keys()) if (!known.includes(name) && name !== "token") return { option: name, reason: "unknown parameter" }
  return undefined
}

/** A parameter's value, absent when missing or empty. */
const single = (params: URLSearchParams, name: string): string | undefined => {
  const value = params.get(name)
  return value === null || value === "" ? undefined : value
}

/** A whole-number parameter (its range is the engine's to check). */
const integer = (params: URLSearchParams, name: string): number | undefined | QueryProblem => {
  const text = single(params, name)
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text)) return { option: name, reason: `expected an integer, got "${text.slice(0, 40)}"` }
  return Number(text)
}

/** The runs filter of a query string, or the first parameter that cannot be read. `extra` names parameters the caller reads itself. */
export const runsFilterOf = (params: URLSearchParams, extra: ReadonlyArray<string> = []): ListRunsFilter | QueryProblem => {
  const unknown = unknownParameter(params, [...RUNS_PARAMS, ...extra])
  if (unknown) return unknown
  const filter: { -readonly [K in keyof ListRunsFilter]: ListRunsFilter[K] } = {}
  const statuses = params
    .getAll("status")
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (statuses.length === 1) filter.status = statuses[0] as RunStatus
  else if (statuses.length > 1) filter.status = statuses as Array<RunStatus>
  const workflow = single(params, "workflow")
  if (workflow !== undefined) filter.workflow = workflow
  const trigger = single(params, "trigger")
  if (trigger !== undefined) filter.trigger = trigger
  const parent = single(params, "parent")
  if (parent !== undefined) filter.parentRunId = parent
  const key = single(params, "key")
  if (key !== undefined) filter.idempotencyKey = key
  const deadline = single(params, "deadline")
  if (deadline !== undefined) filter.deadline = deadline as NonNullable<ListRunsFilter["deadline"]>
  const cursor = single(params, "cursor")
  if (cursor !== undefined) filter.cursor = cursor
  const limit = integer(params, "limit")
  if (isQueryProblem(limit)) return limit
  if (limit !== undefined) filter.limit = limit
  const attributes: Record<string, string> = {}
  for (const pair of params.getAll("attr")) {
    if (pair.trim() === "") continue
    const eq = pair.indexOf("=")
    if (eq <= 0) return { option: "attr", reason: `expected key=value, got "${pair.slice(0, 40)}"` }
    attributes[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim()
  }
  if (Object.keys(attributes).length > 0) filter.attributes = attributes
  for (const range of ["created", "updated"] as const) {
    const bounds: { from?: number; to?: number } = {}
    for (const side of ["from", "to"] as const) {
      const name = `${range}${side === "from" ? "From" : "To"}`
      const text = single(params, name)
      if (text === undefined) continue
      const at = instant(text)
      if (at === undefined) return { option: name, reason: "expected epoch milliseconds or an ISO 8601 date" }
      bounds[side] = at
    }
    if (bounds.from !== undefined || bounds.to !== undefined) filter[range] = bounds as TimeRange
  }
  return filter
}

/** The `listSchedules` options of a query string (`workflow`, `next`). `extra` names parameters the caller reads itself. */
export const schedulesQueryOf = (params: URLSearchParams, extra: ReadonlyArray<string> = []): ListSchedulesOptions | QueryProblem => {
  const unknown = unknownParameter(params, ["workflow", "next", ...extra])
  if (unknown) return unknown
  const next = integer(params, "next")
  if (isQueryProblem(next)) return next
  const workflow = single(params, "workflow")
  return { ...(workflow !== undefined ? { workflow } : {}), ...(next !== undefined ? { next } : {}) }
}

/** The options of a schedule's events (`limit`). */
export const scheduleEventsQueryOf = (params: URLSearchParams): { readonly limit?: number } | QueryProblem => {
  const unknown = unknownParameter(params, ["limit"])
  if (unknown) return unknown
  const limit = integer(params, "limit")
  if (isQueryProblem(limit)) return limit
  return limit !== undefined ? { limit } : {}
}

/** True when a query could not be read. */
export const isQueryProblem = <A>(value: A | QueryProblem): value is QueryProblem =>
  typeof value === "object" && value !== null && "reason" in value && "option" in value
