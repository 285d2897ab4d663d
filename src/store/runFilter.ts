/**
 * The meaning of a `RunFilter`, in code: the memory backend lists with it, and the deadline
 * listing (src/listRuns.ts) filters the runs it reads with it. The SQL backends express the
 * same rules in SQL (statements/listRuns.ts); the contract suite keeps them equal.
 */
import type { RunRecord } from "../core/model.js"
import type { RunFilter, RunKey } from "./Store.js"

const inRange = (value: number, from: number | undefined, to: number | undefined): boolean =>
  (from === undefined || value >= from) && (to === undefined || value < to)

/** True when the run matches every field of the filter (`after` and `limit` aside). */
export const matchesRunFilter = (run: RunRecord, filter: RunFilter): boolean =>
  (filter.statuses === undefined || filter.statuses.length === 0 || filter.statuses.includes(run.status)) &&
  (filter.workflow === undefined || run.workflow === filter.workflow) &&
  (filter.trigger === undefined || run.trigger === filter.trigger) &&
  inRange(run.createdAt, filter.createdFrom, filter.createdTo) &&
  inRange(run.updatedAt, filter.updatedFrom, filter.updatedTo) &&
  (filter.parentRunId === undefined || run.parentRunId === filter.parentRunId) &&
  (filter.idempotencyKey === undefined || run.idempotencyKey === filter.idempotencyKey) &&
  Object.entries(filter.attributes ?? {}).every(([key, value]) => run.attributes?.[key] === value)

/** Listing order: newest first, then the greater id first. Negative when `a` comes before `b`. */
export const newestFirst = (a: RunKey, b: RunKey): number => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** True when `run` comes after `key` in listing order (the next page starts there). */
export const isAfter = (run: RunKey, key: RunKey | undefined): boolean => key === undefined || newestFirst(key, run) < 0
