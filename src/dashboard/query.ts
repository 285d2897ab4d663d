/**
 * The runs filter of the dashboard's JSON API, read from a query string. Every `listRuns`
 * filter has a parameter: `status` (repeated or comma-separated), `workflow`, `trigger`,
 * `parent`, `key` (idempotency key), `attr` (repeated `key=value`), `deadline`,
 * `createdFrom` / `createdTo` / `updatedFrom` / `updatedTo` (epoch ms or ISO 8601), `cursor`
 * and `limit`. The engine validates the values; this module only maps names and shapes, and
 * refuses parameters it does not know (a typo must not silently widen a listing).
 */
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

/** The runs filter of a query string, or the first parameter that cannot be read. `extra` names parameters the caller reads itself. */
export const runsFilterOf = (params: URLSearchParams, extra: ReadonlyArray<string> = []): ListRunsFilter | QueryProblem => {
  for (const name of params.keys())
    if (!RUNS_PARAMS.includes(name) && !extra.includes(name) && name !== "token") return { option: name, reason: "unknown parameter" }
  const filter: { -readonly [K in keyof ListRunsFilter]: ListRunsFilter[K] } = {}
  const statuses = params
    .getAll("status")
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (statuses.length === 1) filter.status = statuses[0] as RunStatus
  else if (statuses.length > 1) filter.status = statuses as Array<RunStatus>
  const single = (name: string): string | undefined => {
    const value = params.get(name)
    return value === null || value === "" ? undefined : value
  }
  const workflow = single("workflow")
  if (workflow !== undefined) filter.workflow = workflow
  const trigger = single("trigger")
  if (trigger !== undefined) filter.trigger = trigger
  const parent = single("parent")
  if (parent !== undefined) filter.parentRunId = parent
  const key = single("key")
  if (key !== undefined) filter.idempotencyKey = key
  const deadline = single("deadline")
  if (deadline !== undefined) filter.deadline = deadline as NonNullable<ListRunsFilter["deadline"]>
  const cursor = single("cursor")
  if (cursor !== undefined) filter.cursor = cursor
  const limit = single("limit")
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit)) return { option: "limit", reason: `expected an integer, got "${limit.slice(0, 40)}"` }
    filter.limit = Number(limit)
  }
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
      const text = single(name)
      if (text === undefined) continue
      const at = instant(text)
      if (at === undefined) return { option: name, reason: "expected epoch milliseconds or an ISO 8601 date" }
      bounds[side] = at
    }
    if (bounds.from !== undefined || bounds.to !== undefined) filter[range] = bounds as TimeRange
  }
  return filter
}

/** True when `runsFilterOf` could not read the query. */
export const isQueryProblem = (value: ListRunsFilter | QueryProblem): value is QueryProblem => "reason" in value && "option" in value
