/**
 * Purging old runs (retention): terminal runs that finished before a cut-off are deleted in
 * small batches, one transaction each, so a purge of a million runs never holds long locks
 * or one huge transaction beside the workers' commits. A run goes with its tree of child
 * runs, and only once every run of that tree is terminal; a child run is purged with its
 * parent, not on its own. Then, with the same cut-off, what runs leave behind: cron schedule
 * events (keeping the `SCHEDULE_EVENTS_KEPT` newest of each schedule whatever their age) and
 * stored specs that no stored run references any more. Every batch that deletes something
 * leaves an audit row (`purges`: when, why, how many runs, events and specs).
 */
import { Clock, Duration, Effect } from "effect"
import { invalidDuration } from "../src/core/duration.js"
import { InvalidOptionError, showValue, type StoreError } from "../src/core/errors.js"
import type { Json } from "../src/core/json.js"
import { TERMINAL_STATUSES, type RunStatus } from "../src/core/model.js"
import type { PurgeKey, PurgeRowsResult, RunKey, StoreService } from "../src/store/Store.js"

/** Candidate runs per batch (each deleted with its children, in one transaction); also schedule events and specs per batch. */
export const PURGE_BATCH_SIZE = 500

/**
 * Newest events of each cron schedule a purge always keeps, however old: a schedule's audit
 * trail then still says why it is paused or what it last skipped after a quiet year.
 */
export const SCHEDULE_EVENTS_KEPT = 20

/** Options of `purge`. */
export interface PurgeOptions {
  /** Purge runs that finished at least this long ago (`"30 days"`). */
  readonly olderThan: Duration.DurationInput
  /**
   * Only runs that ended with this status (or one of these). Default: every terminal status.
   * Schedule events and specs have no status: they are purged whatever this filter.
   */
  readonly status?: RunStatus | ReadonlyArray<RunStatus>
  /**
   * Only runs of this workflow (registered or not: old workflows can be purged too), the
   * events of its schedules and, for a spec workflow (`spec:<name>`), its specs.
   */
  readonly workflow?: string
  /**
   * Count, delete nothing: `purged` is the runs that finished before the cut-off (child runs
   * counted on their own), `specs` the specs unreferenced now (not those the purged runs would free).
   */
  readonly dryRun?: boolean
}

/** What a purge did (or, with `dryRun`, would do). */
export interface PurgeResult {
  /** Runs deleted, child runs included. */
  readonly purged: number
  /** Batches (transactions) it took (0 for a dry run). */
  readonly batches: number
  /** Cron schedule events deleted. */
  readonly scheduleEvents: number
  /** Stored specs deleted (unreferenced, stored before the cut-off). */
  readonly specs: number
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
  if (typeof options !== "object" || options === null) return bad("options", options, "expected { olderThan, status?, workflow?, dryRun? }")
  const known = ["olderThan", "status", "workflow", "dryRun"]
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
  if (options.dryRun !== undefined && typeof options.dryRun !== "boolean") return bad("dryRun", options.dryRun, "expected a boolean")
  return undefined
}

/** The spec name a workflow filter selects: every spec without a filter, none for a code workflow. */
const specName = (workflow: string | undefined): string | undefined | null =>
  workflow === undefined ? undefined : workflow.startsWith("spec:") ? workflow.slice("spec:".length) : null

/**
 * Runs batches of `batch` from the start until none is left, pausing `pause` between two.
 * Returns the rows deleted, the batches, and whether a batch found the table busy.
 */
const batched = <K>(
  batch: (after: K | undefined, now: number) => Effect.Effect<PurgeRowsResult<K>, StoreError>,
  pause: Duration.DurationInput,
): Effect.Effect<{ deleted: number; batches: number; busy: boolean }, StoreError> =>
  Effect.gen(function* () {
    let deleted = 0
    let batches = 0
    let after: K | undefined
    for (;;) {
      const result = yield* batch(after, yield* Clock.currentTimeMillis)
      batches++
      deleted += result.deleted
      if (result.next === undefined) return { deleted, batches, busy: result.busy === true }
      after = result.next
      if (Duration.toMillis(Duration.decode(pause)) > 0) yield* Effect.sleep(pause)
    }
  })

/**
 * Deletes every run the spec selects, batch after batch, then the schedule events and the
 * unreferenced specs older than the cut-off (runs first, so the specs of the runs just purged
 * go in the same call), pausing `pause` between batches (to leave the database to the
 * workers). Returns the totals.
 */
export const purgeAll = (store: StoreService, spec: PurgeSpec, pause: Duration.DurationInput = 0): Effect.Effect<PurgeResult, StoreError> =>
  Effect.gen(function* () {
    const base = { limit: PURGE_BATCH_SIZE, reason: spec.reason }
    const runs = yield* batched<PurgeKey>(
      (after, now) =>
        store
          .purgeRuns({ ...base, ...spec, ...(after ? { after } : {}), now })
          .pipe(Effect.map((r) => ({ deleted: r.purged, ...(r.next ? { next: r.next } : {}) }))),
      pause,
    )
    const workflow = spec.workflow !== undefined ? { workflow: spec.workflow } : {}
    const events = yield* batched<number>(
      (after, now) =>
        store.purgeScheduleEvents({
          ...base,
          ...workflow,
          before: spec.finishedBefore,
          keep: SCHEDULE_EVENTS_KEPT,
          ...(after !== undefined ? { after } : {}),
          now,
        }),
      pause,
    )
    const name = specName(spec.workflow)
    const specs =
      name === null
        ? { deleted: 0, batches: 0, busy: false }
        : yield* batched<string>(
            (after, now) =>
              store.purgeSpecs({
                ...base,
                createdBefore: spec.finishedBefore,
                ...(name !== undefined ? { name } : {}),
                ...(after !== undefined ? { after } : {}),
                now,
              }),
            pause,
          )
    if (specs.busy) yield* Effect.logWarning("purge: stored specs left for the next purge: starting runs held their table longer than the purge waits")
    return { purged: runs.deleted, batches: runs.batches + events.batches + specs.batches, scheduleEvents: events.deleted, specs: specs.deleted }
  })

/** Counts what `purgeAll` would delete now (see `PurgeOptions.dryRun`), reading runs page by page. */
const countAll = (store: StoreService, spec: PurgeSpec): Effect.Effect<PurgeResult, StoreError> =>
  Effect.gen(function* () {
    let purged = 0
    let after: RunKey | undefined
    for (;;) {
      // Created before the cut-off is a safe index bound for finished before it.
      const page = yield* store.listRuns({
        statuses: spec.statuses,
        createdTo: spec.finishedBefore,
        limit: 1000,
        ...(spec.workflow !== undefined ? { workflow: spec.workflow } : {}),
        ...(after ? { after } : {}),
      })
      purged += page.filter((r) => r.finishedAt !== undefined && r.finishedAt < spec.finishedBefore).length
      const last = page[page.length - 1]
      if (page.length < 1000 || !last) break
      after = { createdAt: last.createdAt, id: last.id }
    }
    const counts = yield* store.countPurgeable({
      before: spec.finishedBefore,
      keep: SCHEDULE_EVENTS_KEPT,
      ...(spec.workflow !== undefined ? { workflow: spec.workflow } : {}),
    })
    return { purged, batches: 0, ...counts }
  })

/**
 * Validates and purges old terminal runs, then old schedule events and unreferenced specs, in
 * batches (or counts them, with `dryRun`); nothing is deleted when an option is malformed.
 */
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
    const spec: PurgeSpec = {
      finishedBefore: now - olderThanMs,
      statuses,
      ...(options.workflow !== undefined ? { workflow: options.workflow } : {}),
      reason,
    }
    return yield* options.dryRun === true ? countAll(store, spec) : purgeAll(store, spec)
  }).pipe(Effect.withSpan("squid-mesh.purge", { captureStackTrace: false }))
