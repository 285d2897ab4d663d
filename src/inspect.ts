/**
 * Run inspection for operators and tests: status, input, result, and (with history) every
 * journal entry with its attempts, plus the live tasks.
 */
import { Clock, Effect } from "effect"
import { DEADLINE_RANK, deadlineStatus, type DeadlineStatus } from "../dsl/Deadline.js"
import { InvalidOptionError, RunNotFoundError, showValue, type StoreError } from "./core/errors.js"
import { isUuid } from "./core/ids.js"
import type { Json } from "./core/json.js"
import { isTerminal, type AttemptRecord, type CommandRecord, type Entry, type RunRecord, type RunStatus, type TaskRecord } from "./core/model.js"
import type { StoreService } from "./store/Store.js"

/** One journal entry with its attempts (and, while pending, where its deadline stands). */
export interface EntryView extends Omit<Entry, "attempts"> {
  readonly attemptCount: number
  readonly attempts: ReadonlyArray<AttemptRecord>
  readonly deadlineStatus?: DeadlineStatus
}

/** The most urgent deadline of a run's pending steps and gates, evaluated now. */
export interface DeadlineView {
  readonly status: DeadlineStatus
  readonly seq: number
  readonly kind: string
  readonly name: string
  readonly dueAt: number
  readonly remainingMs: number
  readonly escalation?: string
}

/**
 * A run as `inspectRun` shows it: the stored run (without its request hash), plus history on
 * demand. `Out` is the type of its output (JSON unless read through its workflow).
 */
export interface RunView<Out = Json> extends Omit<RunRecord, "requestHash" | "output"> {
  /** The workflow's result, once completed. */
  readonly output?: Out
  /** With `history: true`: every journal entry, in order, with its attempts. */
  readonly history?: ReadonlyArray<EntryView>
  /** With `history: true`: tasks not yet done (pending, scheduled or claimed). */
  readonly tasks?: ReadonlyArray<TaskRecord>
  /** With `history: true`: the most urgent deadline of its pending steps and gates, if any. */
  readonly deadline?: DeadlineView
  /** With `history: true`: child runs started by this run (parents show in `parentRunId`). */
  readonly children?: ReadonlyArray<{ readonly id: string; readonly workflow: string; readonly status: RunStatus; readonly parentSeq?: number }>
  /** With `history: true`: the controls done to the run (audit events), oldest first. */
  readonly commands?: ReadonlyArray<CommandRecord>
}

/** Options of `inspectRun`. */
export interface InspectOptions {
  readonly history?: boolean
}

/** A stored run as a view: without its request hash. */
export const summary = (run: RunRecord): RunView => {
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
    if (typeof runId !== "string" || !isUuid(runId))
      return yield* new InvalidOptionError({ option: "runId", value: showValue(runId), reason: "must be a UUID" })
    const run = yield* store.getRun(runId)
    if (!run) return yield* new RunNotFoundError({ runId })
    if (!options.history) return summary(run)
    const [journal, attempts, tasks, commands, childRuns] = yield* Effect.all([
      store.getJournal(runId),
      store.getAttempts(runId),
      store.getTasks(runId),
      store.getCommands(runId),
      store.getChildren(runId),
    ])
    const children = childRuns.map((c) => ({
      id: c.id,
      workflow: c.workflow,
      status: c.status,
      ...(c.parentSeq !== undefined ? { parentSeq: c.parentSeq } : {}),
    }))
    const bySeq = new Map<number, Array<AttemptRecord>>()
    for (const a of attempts) {
      const list = bySeq.get(a.seq) ?? []
      list.push(a)
      bySeq.set(a.seq, list)
    }
    const now = yield* Clock.currentTimeMillis
    const history = journal.map(
      ({ attempts: count, ...entry }): EntryView => ({
        ...entry,
        attemptCount: count,
        attempts: (bySeq.get(entry.seq) ?? []).sort((a, b) => a.attempt - b.attempt),
        ...(entry.status === "pending" && entry.deadline ? { deadlineStatus: deadlineStatus(entry.deadline, now) } : {}),
      }),
    )
    const deadline = isTerminal(run.status)
      ? undefined
      : mostUrgent(
          journal.filter((e) => e.status === "pending" && e.deadline).map((e) => ({ ...e, deadline: e.deadline! })),
          now,
        )
    return { ...summary(run), history, tasks, commands, children, ...(deadline ? { deadline } : {}) }
  })

/** The most urgent of some pending deadlines at `now`. */
export const mostUrgent = (
  pending: ReadonlyArray<{ readonly seq: number; readonly kind: string; readonly name: string; readonly deadline: NonNullable<Entry["deadline"]> }>,
  now: number,
): DeadlineView | undefined => {
  let best: DeadlineView | undefined
  for (const e of pending) {
    const view: DeadlineView = {
      status: deadlineStatus(e.deadline, now),
      seq: e.seq,
      kind: e.kind,
      name: e.name,
      dueAt: e.deadline.dueAt,
      remainingMs: e.deadline.dueAt - now,
      ...(e.deadline.escalation !== undefined ? { escalation: e.deadline.escalation } : {}),
    }
    if (!best || DEADLINE_RANK[view.status] < DEADLINE_RANK[best.status] || (view.status === best.status && view.dueAt < best.dueAt)) best = view
  }
  return best
}
