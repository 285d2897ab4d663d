/**
 * Listing runs at volume: one keyset-paged statement per filter. Runs come newest first by
 * (created_at DESC, id DESC); a page continues with `(created_at, id) < (cursor)`, so it is a
 * bounded backward range scan of a btree ending in (created_at, id) (migration 0008), however
 * deep the page. The planner picks the index of the most selective filter; the others are
 * checked on the rows it reads. Attribute filters go through `run_attributes` (first pair,
 * ordered by its own created_at copy), further pairs through `runs.attributes @>`. Several
 * statuses become one ordered, limited branch per status, merged.
 */
import type { RunRecord } from "../../../core/model.js"
import type { RunFilter } from "../../Store.js"
import { RUN_COLUMNS, toRun, ts, type RunRow } from "../rows.js"
import type { SqlClient } from "../SqlClient.js"

/** The SQL text and parameters of one listing. */
export interface ListStatement {
  readonly text: string
  readonly params: ReadonlyArray<unknown>
}

/** Builds the listing statement of a (validated) filter. */
export const listRunsStatement = (filter: RunFilter): ListStatement => {
  const params: Array<unknown> = []
  const param = (value: unknown, cast: string) => {
    params.push(value)
    return `$${params.length}::${cast}`
  }
  const time = (value: number) => ts(param(value, "float8"))
  const pairs = Object.entries(filter.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const [first, ...rest] = pairs
  // The order columns: the attribute row's copy of (created_at, run_id) when a pair leads.
  const [orderAt, orderId] = first ? ["a.created_at", "a.run_id"] : ["r.created_at", "r.id"]
  const from = first ? "squid_mesh.run_attributes a JOIN squid_mesh.runs r ON r.id = a.run_id" : "squid_mesh.runs r"
  const where: Array<string> = []
  if (first) where.push(`a.key = ${param(first[0], "text")}`, `a.value = ${param(first[1], "text")}`)
  if (rest.length > 0) where.push(`r.attributes @> ${param(JSON.stringify(Object.fromEntries(rest)), "text")}::jsonb`)
  if (filter.workflow !== undefined) where.push(`r.workflow = ${param(filter.workflow, "text")}`)
  if (filter.trigger !== undefined) where.push(`r.trigger = ${param(filter.trigger, "text")}`)
  if (filter.parentRunId !== undefined) where.push(`r.parent_run_id = ${param(filter.parentRunId, "uuid")}`)
  if (filter.idempotencyKey !== undefined) where.push(`r.idempotency_key = ${param(filter.idempotencyKey, "text")}`)
  if (filter.createdFrom !== undefined) where.push(`${orderAt} >= ${time(filter.createdFrom)}`)
  // created_at <= updated_at, so an updated bound is a created bound too (it narrows the scan).
  const createdTo = Math.min(filter.createdTo ?? Infinity, filter.updatedTo ?? Infinity)
  if (createdTo !== Infinity) where.push(`${orderAt} < ${time(createdTo)}`)
  if (filter.updatedFrom !== undefined) where.push(`r.updated_at >= ${time(filter.updatedFrom)}`)
  if (filter.updatedTo !== undefined) where.push(`r.updated_at < ${time(filter.updatedTo)}`)
  if (filter.after !== undefined) where.push(`(${orderAt}, ${orderId}) < (${time(filter.after.createdAt)}, ${param(filter.after.id, "uuid")})`)
  const limit = param(Math.max(0, Math.floor(filter.limit ?? 100)), "int")
  const branch = (status: string | undefined) => {
    const conditions = status === undefined ? where : [...where, `r.status = ${param(status, "text")}`]
    return `SELECT r.* FROM ${from} ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""}
      ORDER BY ${orderAt} DESC, ${orderId} DESC LIMIT ${limit}`
  }
  const statuses = [...new Set(filter.statuses ?? [])]
  const inner = statuses.length <= 1 ? branch(statuses[0]) : statuses.map((s) => `(${branch(s)})`).join(" UNION ALL ")
  return { text: `SELECT ${RUN_COLUMNS} FROM (${inner}) r ORDER BY r.created_at DESC, r.id DESC LIMIT ${limit}`, params }
}

/** Runs matching the filter, newest first (created_at desc, id desc), at most `limit`. */
export const listRuns = async (client: SqlClient, filter: RunFilter): Promise<Array<RunRecord>> => {
  const { text, params } = listRunsStatement(filter)
  return (await client.query<RunRow>(text, params)).map(toRun)
}
