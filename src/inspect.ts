/**
 * Run inspection for operators and tests: status, input, result, and (with history) every
 * journal entry with its attempts, plus the live tasks.
 */
import { Effect } from "effect"
import { InvalidOptionError, RunNotFoundError, type StoreError } from "./core/errors.js"
import { isUuid } from "./core/ids.js"
import type { Json } from "./core/json.js"
import type { AttemptRecord, CommandRecord, Entry, ErrorInfo, RunRecord, RunStatus, TaskRecord } from "./core/model.js"
import type { RunFilter, StoreService } from "./store/Store.js"

/** One journal entry with its attempts. */
export interface EntryView extends Omit<Entry, "attempts"> {
  readonly attemptCount: number
  readonly attempts: ReadonlyArray<AttemptRecord>
}

/** A run as `inspectRun` shows it. */
export interface RunView {
  readonly id: string
  readonly workflow: string
  readonly trigger: string
  readonly queue: string
  readonly status: RunStatus
  readonly input: Json
  readonly output?: Json
  readonly error?: ErrorInfo
  readonly revision: number
  readonly idempotencyKey?: string
  readonly definitionHash: string
  readonly createdAt: number
  readonly updatedAt: number
  readonly finishedAt?: number
  /** With `history: true`: every journal entry, in order, with its attempts. */
  readonly history?: ReadonlyArray<EntryView>
  /** With `history: true`: tasks not yet done (pending, scheduled or claimed). */
  readonly tasks?: ReadonlyArray<TaskRecord>
  /** With `history: true`: manual commands (audit events), oldest first. */
  readonly commands?: ReadonlyArray<CommandRecord>
}

/** Options of `inspectRun`. */
export interface InspectOptions {
  readonly history?: boolean
}

const summary = (run: RunRecord): RunView => {
  const { requestHash: _requestHash, ...rest } = run
  return rest
}

/** Reads one run. A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError. */
export const inspectRun = (
  store: StoreService,
  runId: string,
  options: InspectOptions = {},
): Effect.Effect<RunView, InvalidOptionError | RunNotFoundError | StoreError> =>
  Effect.gen(function* () {
    if (typeof runId !== "string" || !isUuid(runId)) return yield* new InvalidOptionError({ option: "runId", reason: "must be a UUID" })
    const run = yield* store.getRun(runId)
    if (!run) return yield* new RunNotFoundError({ runId })
    if (!options.history) return summary(run)
    const [journal, attempts, tasks, commands] = yield* Effect.all([store.getJournal(runId), store.getAttempts(runId), store.getTasks(runId), store.getCommands(runId)])
    const bySeq = new Map<number, Array<AttemptRecord>>()
    for (const a of attempts) {
      const list = bySeq.get(a.seq) ?? []
      list.push(a)
      bySeq.set(a.seq, list)
    }
    const history = journal.map(({ attempts: count, ...entry }): EntryView => ({
      ...entry,
      attemptCount: count,
      attempts: (bySeq.get(entry.seq) ?? []).sort((a, b) => a.attempt - b.attempt),
    }))
    return { ...summary(run), history, tasks, commands }
  })

/** Lists runs, newest first. */
export const listRuns = (store: StoreService, filter: RunFilter = {}): Effect.Effect<ReadonlyArray<RunView>, StoreError> =>
  Effect.map(store.listRuns(filter), (runs) => runs.map(summary))
