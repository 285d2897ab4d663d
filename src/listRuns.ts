/**
 * Listing runs for operators: filters, validation and the page cursor. Runs come newest first
 * (createdAt desc, id desc); a page's `nextCursor`, passed back as `cursor`, continues exactly
 * after its last run, even while new runs are created. With `deadline`, the open runs whose
 * most urgent deadline has that status come earliest due first (dueAt asc, id asc), paged the
 * same way. A malformed filter is an InvalidOptionError naming the option, before any query.
 */
import { Clock, Effect } from "effect"
import { DEADLINE_RANK, type DeadlineStatus } from "../dsl/Deadline.js"
import { invalidAttributes } from "./core/attributes.js"
import { InvalidOptionError, showValue, type StoreError } from "./core/errors.js"
import { isUuid } from "./core/ids.js"
import { isTerminal, type RunStatus } from "./core/model.js"
import { mostUrgent, summary, type DeadlineView, type RunView } from "./inspect.js"
import { matchesRunFilter } from "./store/runFilter.js"
import type { PendingDeadline, RunFilter, StoreService } from "./store/Store.js"

/** A time range: `from` inclusive, `to` exclusive, each a Date or epoch milliseconds. */
export interface TimeRange {
  readonly from?: Date | number
  readonly to?: Date | number
}

/** Filter of `listRuns`. Every field given must match. */
export interface ListRunsFilter {
  /** One status, or any of several. */
  readonly status?: RunStatus | ReadonlyArray<RunStatus>
  readonly workflow?: string
  /** The trigger that started the run (e.g. `"manual"`, or a cron trigger's name). */
  readonly trigger?: string
  readonly created?: TimeRange
  /** When the run last changed. */
  readonly updated?: TimeRange
  /** Child runs of this run. */
  readonly parentRunId?: string
  /** The run started with this idempotency key. */
  readonly idempotencyKey?: string
  /** Every pair must be among the run's attributes (given at start). */
  readonly attributes?: Readonly<Record<string, string>>
  /** Open runs whose most urgent pending deadline has this status (earliest due first). */
  readonly deadline?: DeadlineStatus
  /** The `nextCursor` of the previous page (same filter). */
  readonly cursor?: string
  /** Runs per page, 1 to 1,000. Default 100. */
  readonly limit?: number
}

/** A run as listed: with `deadline` in the filter, its most urgent deadline too. */
export type ListedRun = RunView & { readonly deadline?: DeadlineView }

/** One page of `listRuns`. `nextCursor` is absent on the last page. */
export interface RunPage {
  readonly runs: ReadonlyArray<ListedRun>
  readonly nextCursor?: string
}

const RUN_STATUSES: ReadonlyArray<RunStatus> = ["running", "paused", "completed", "failed", "cancelled"]
const DEADLINE_STATUSES = Object.keys(DEADLINE_RANK)
const KNOWN = ["status", "workflow", "trigger", "created", "updated", "parentRunId", "idempotencyKey", "attributes", "deadline", "cursor", "limit"]
/** The most runs one `listRuns` call returns. */
export const MAX_LIST_LIMIT = 1000
const DEFAULT_LIMIT = 100
/** Pending deadlines read for a deadline listing (they are evaluated against the Clock in memory). */
const DEADLINE_SCAN = 100_000

/** A decoded cursor: where the previous page ended, in the order of its listing ("c": created, "d": deadline). */
type Cursor = { readonly kind: "c" | "d"; readonly at: number; readonly id: string }

const encodeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify([cursor.kind, cursor.at, cursor.id])).toString("base64url")

const decodeCursor = (text: string): Cursor | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"))
    if (!Array.isArray(parsed) || parsed.length !== 3) return undefined
    const [kind, at, id] = parsed as [unknown, unknown, unknown]
    if ((kind !== "c" && kind !== "d") || typeof at !== "number" || !Number.isFinite(at) || typeof id !== "string" || !isUuid(id)) return undefined
    return { kind, at, id }
  } catch {
    return undefined
  }
}

const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })

const toMs = (value: Date | number): number => (value instanceof Date ? value.getTime() : value)

/** The first malformed bound of a time range, if any. */
const invalidRange = (option: string, range: TimeRange | undefined): InvalidOptionError | undefined => {
  if (range === undefined) return undefined
  if (typeof range !== "object" || range === null) return bad(option, range, "expected { from?, to? }")
  const unknown = Object.keys(range).find((k) => k !== "from" && k !== "to")
  if (unknown !== undefined) return bad(`${option}.${unknown}`, (range as Record<string, unknown>)[unknown], "unknown bound (known: from, to)")
  for (const bound of ["from", "to"] as const) {
    const v = range[bound]
    if (v !== undefined && !((v instanceof Date && Number.isFinite(v.getTime())) || (typeof v === "number" && Number.isFinite(v)))) {
      return bad(`${option}.${bound}`, v, "expected a Date or epoch milliseconds")
    }
  }
  if (range.from !== undefined && range.to !== undefined && toMs(range.from) >= toMs(range.to)) {
    return bad(`${option}.to`, range.to, `must be after ${option}.from`)
  }
  return undefined
}

const nonEmpty = (option: string, value: unknown, what: string): InvalidOptionError | undefined =>
  value !== undefined && (typeof value !== "string" || value.length === 0 || value.length > 256) ? bad(option, value, `expected ${what}`) : undefined

/** The first malformed field of a filter, if any. */
const invalidFilter = (filter: ListRunsFilter): InvalidOptionError | undefined => {
  if (typeof filter !== "object" || filter === null) return bad("filter", filter, "expected an object")
  const unknown = Object.keys(filter).find((k) => !KNOWN.includes(k))
  if (unknown !== undefined) return bad(unknown, (filter as Record<string, unknown>)[unknown], `unknown filter (known: ${KNOWN.join(", ")})`)
  if (filter.status !== undefined) {
    const list: ReadonlyArray<unknown> = Array.isArray(filter.status) ? filter.status : [filter.status]
    if (list.length === 0) return bad("status", filter.status, "expected a status or a non-empty list of statuses")
    const wrong = list.find((s) => !RUN_STATUSES.includes(s as RunStatus))
    if (wrong !== undefined || (!Array.isArray(filter.status) && typeof filter.status !== "string"))
      return bad("status", wrong ?? filter.status, `expected one of ${RUN_STATUSES.join(", ")}`)
  }
  const invalid =
    nonEmpty("workflow", filter.workflow, "a workflow name") ??
    nonEmpty("trigger", filter.trigger, "a trigger name") ??
    nonEmpty("idempotencyKey", filter.idempotencyKey, "a non-empty string of at most 256 characters") ??
    invalidRange("created", filter.created) ??
    invalidRange("updated", filter.updated) ??
    (filter.attributes === undefined ? undefined : invalidAttributes(filter.attributes, "attributes"))
  if (invalid) return invalid
  if (filter.parentRunId !== undefined && (typeof filter.parentRunId !== "string" || !isUuid(filter.parentRunId)))
    return bad("parentRunId", filter.parentRunId, "must be a UUID")
  if (filter.deadline !== undefined && !DEADLINE_STATUSES.includes(filter.deadline))
    return bad("deadline", filter.deadline, `expected one of ${DEADLINE_STATUSES.join(", ")}`)
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_LIST_LIMIT))
    return bad("limit", filter.limit, `expected an integer from 1 to ${MAX_LIST_LIMIT}`)
  if (filter.cursor !== undefined) {
    const cursor = typeof filter.cursor === "string" ? decodeCursor(filter.cursor) : undefined
    if (!cursor) return bad("cursor", filter.cursor, "expected the nextCursor of a previous page")
    if ((cursor.kind === "d") !== (filter.deadline !== undefined))
      return bad("cursor", filter.cursor, "comes from a listing of another kind (with or without `deadline`)")
  }
  return undefined
}

/** The store filter of a validated public filter (no cursor, no limit). */
const storeFilter = (filter: ListRunsFilter): RunFilter => {
  const status = filter.status
  return {
    ...(status !== undefined ? { statuses: typeof status === "string" ? [status] : [...status] } : {}),
    ...(filter.workflow !== undefined ? { workflow: filter.workflow } : {}),
    ...(filter.trigger !== undefined ? { trigger: filter.trigger } : {}),
    ...(filter.created?.from !== undefined ? { createdFrom: toMs(filter.created.from) } : {}),
    ...(filter.created?.to !== undefined ? { createdTo: toMs(filter.created.to) } : {}),
    ...(filter.updated?.from !== undefined ? { updatedFrom: toMs(filter.updated.from) } : {}),
    ...(filter.updated?.to !== undefined ? { updatedTo: toMs(filter.updated.to) } : {}),
    ...(filter.parentRunId !== undefined ? { parentRunId: filter.parentRunId } : {}),
    ...(filter.idempotencyKey !== undefined ? { idempotencyKey: filter.idempotencyKey } : {}),
    ...(filter.attributes !== undefined && Object.keys(filter.attributes).length > 0 ? { attributes: { ...filter.attributes } } : {}),
  }
}

/**
 * Lists runs, newest first, one page at a time; pass `nextCursor` back as `cursor` for the
 * next page. With `deadline`, open runs whose most urgent deadline has that status, earliest
 * due first.
 */
export const listRuns = (store: StoreService, filter: ListRunsFilter = {}): Effect.Effect<RunPage, InvalidOptionError | StoreError> =>
  Effect.gen(function* () {
    const invalid = invalidFilter(filter)
    if (invalid) return yield* invalid
    const limit = filter.limit ?? DEFAULT_LIMIT
    const cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor)
    if (filter.deadline !== undefined) return yield* listByDeadline(store, filter.deadline, storeFilter(filter), limit, cursor)
    const after = cursor ? { createdAt: cursor.at, id: cursor.id } : undefined
    // One more than the page: whether it is there says if a next page exists.
    const rows = yield* store.listRuns({ ...storeFilter(filter), ...(after ? { after } : {}), limit: limit + 1 })
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return { runs: page.map(summary), ...(rows.length > limit && last ? { nextCursor: encodeCursor({ kind: "c", at: last.createdAt, id: last.id }) } : {}) }
  })

/** The deadline listing: open runs by their most urgent pending deadline, (dueAt, id) ascending, after `cursor`. */
const listByDeadline = (
  store: StoreService,
  status: DeadlineStatus,
  filter: RunFilter,
  limit: number,
  cursor: Cursor | undefined,
): Effect.Effect<RunPage, StoreError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const byRun = new Map<string, Array<PendingDeadline>>()
    for (const d of yield* store.pendingDeadlines(DEADLINE_SCAN)) byRun.set(d.runId, [...(byRun.get(d.runId) ?? []), d])
    const candidates: Array<{ readonly runId: string; readonly urgent: DeadlineView }> = []
    for (const [runId, pending] of byRun) {
      const urgent = mostUrgent(pending, now)
      if (!urgent || urgent.status !== status) continue
      if (cursor && (urgent.dueAt < cursor.at || (urgent.dueAt === cursor.at && runId <= cursor.id))) continue
      candidates.push({ runId, urgent })
    }
    candidates.sort((a, b) => a.urgent.dueAt - b.urgent.dueAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
    const out: Array<ListedRun & { readonly deadline: DeadlineView }> = []
    let more = false
    for (const { runId, urgent } of candidates) {
      const run = yield* store.getRun(runId)
      if (!run || isTerminal(run.status) || !matchesRunFilter(run, filter)) continue
      if (out.length === limit) {
        more = true
        break
      }
      out.push({ ...summary(run), deadline: urgent })
    }
    const last = out[out.length - 1]
    return { runs: out, ...(more && last ? { nextCursor: encodeCursor({ kind: "d", at: last.deadline.dueAt, id: last.id }) } : {}) }
  })
