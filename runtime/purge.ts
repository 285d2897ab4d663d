/**
 * Purging old runs (retention): terminal runs that finished before a cut-off are deleted in
 * small batches, one transaction each, so a purge of a million runs never holds long locks
 * or one huge transaction beside the workers' commits. A run goes with its tree of child
 * runs, and only once every run of that tree is terminal; a child run is purged with its
 * parent, not on its own. Every batch that deletes something leaves an audit row
 * (`purges`: when, why, how many, first and last run).
 */
import { Clock, Duration, Effect } from "effect"
import { invalidDuration } from "../src/core/duration.js"
import { InvalidOptionError, showValue, type StoreError } from "../src/core/errors.js"
import type { Json } from "../src/core/json.js"
import { TERMINAL_STATUSES, type RunStatus } from "../src/core/model.js"
import type { PurgeKey, StoreService } from "../src/store/Store.js"

/** Candidate runs per batch (each deleted with its children, in one transaction). */
export const PURGE_BATCH_SIZE = 500

/** Options of `purge`. */
export interface PurgeOptions {
  /** Purge runs that finished at least this long ago (`"30 days"`). */
  readonly olderThan: Duration.DurationInput
  /** Only runs that ended with this status (or one of these). Default: every terminal status. */
  readonly status?: RunStatus | ReadonlyArray<RunStatus>
  /** Only runs of this workflow (registered or not: old workflows can be purged too). */
  readonly workflow?: string
}

/** What a purge did. */
export interface PurgeResult {
  /** Runs deleted, child runs included. */
  readonly purged: number
  /** Batches (transactions) it took. */
  readonly batches: number
}

/** What to purge, resolved: the cut-off time, statuses and workflow, and the reason kept in the audit trail. */
export interface PurgeSpec {
  readonly finishedBefore: number
  readonly statuses: ReadonlyArray<RunStatus>
  readonly workflow?: string
  readonly reason: Json
}

/** The first malformed option of `purge`, if any. */
const invalidPurgeOption = (options: PurgeOptions): InvalidOptionError | undefined => {
  const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })
  if (typeof options !== "object" || options === null) return bad("options", options, "expected { olderThan, status?, workflow? }")
  const known = ["olderThan", "status", "workflow"]
  const unknown = Object.keys(options).find((k) => !known.includes(k))
  if (unknown !== undefined) return bad(unknown, (options as unknown as Record<string, unknown>)[unknown], `unknown option (known: ${known.join(", ")})`)
  if (options.olderThan === undefined) return bad("olderThan", undefined, 'required: how long ago the runs finished, e.g. "30 days"')
  const duration = invalidDuration("olderThan", options.olderThan, { positive: false })
  if (duration) return duration
  if (options.status !== undefined) {
    const list: ReadonlyArray<unknown> = Array.isArray(options.status) ? options.status : [options.status]
    const wrong = list.find((s) => !TERMINAL_STATUSES.includes(s as RunStatus))
    if (list.length === 0 || wrong !== undefined) {
      return bad("status", wrong ?? options.status, `expected a terminal status (${TERMINAL_STATUSES.join(", ")}) or a non-empty list of them`)
    }
  }
  if (options.workflow !== undefined && (typeof options.workflow !== "string" || options.workflow.length === 0))
    return bad("workflow", options.workflow, "expected a workflow name")
  return undefined
}

/**
 * Deletes every run the spec selects, batch after batch, pausing `pause` between batches (to
 * leave the database to the workers). Returns the totals.
 */
export const purgeAll = (store: StoreService, spec: PurgeSpec, pause: Duration.DurationInput = 0): Effect.Effect<PurgeResult, StoreError> =>
  Effect.gen(function* () {
    let purged = 0
    let batches = 0
    let after: PurgeKey | undefined
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const result = yield* store.purgeRuns({ ...spec, ...(after ? { after } : {}), limit: PURGE_BATCH_SIZE, now })
      batches++
      purged += result.purged
      if (!result.next) return { purged, batches }
      after = result.next
      if (Duration.toMillis(Duration.decode(pause)) > 0) yield* Effect.sleep(pause)
    }
  })

/** Validates and purges old terminal runs in batches; nothing is deleted when an option is malformed. */
export const purge = (store: StoreService, options: PurgeOptions): Effect.Effect<PurgeResult, InvalidOptionError | StoreError> =>
  Effect.gen(function* () {
    const invalid = invalidPurgeOption(options)
    if (invalid) return yield* invalid
    const now = yield* Clock.currentTimeMillis
    const statuses = options.status === undefined ? TERMINAL_STATUSES : typeof options.status === "string" ? [options.status] : [...options.status]
    const olderThanMs = Duration.toMillis(Duration.decode(options.olderThan))
    const reason: Json = {
      kind: "purge",
      olderThanMs,
      finishedBefore: now - olderThanMs,
      statuses: [...statuses],
      ...(options.workflow !== undefined ? { workflow: options.workflow } : {}),
    }
    return yield* purgeAll(store, {
      finishedBefore: now - olderThanMs,
      statuses,
      ...(options.workflow !== undefined ? { workflow: options.workflow } : {}),
      reason,
    })
  }).pipe(Effect.withSpan("squid-mesh.purge", { captureStackTrace: false }))
