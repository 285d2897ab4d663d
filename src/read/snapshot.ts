/**
 * What the read models (explain, graph) read about one run: the stored run, its journal,
 * attempts, tasks, audit events, inbox and children, the time of the read (Effect's Clock),
 * and, when its workflow is registered here, its replay against the current code: the same
 * interpreter the controls consult, so a read offers what a control would accept. The journal
 * is read whole, dynamic work included (./dynamic.ts tells the two apart).
 */
import { Clock, Effect } from "effect"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import { makeEnv, replayerOf } from "../../runtime/context.js"
import type { Outcome, Replayer } from "../../runtime/Interpreter.js"
import { InvalidOptionError, RunNotFoundError, showValue, type StoreError } from "../core/errors.js"
import { isUuid } from "../core/ids.js"
import type { AttemptRecord, CommandRecord, Entry, InboxSignal, RunRecord, TaskRecord } from "../core/model.js"
import type { StoreService } from "../store/Store.js"
import { workflowEntries } from "./dynamic.js"

/** A run's replay against the code registered here: the interpreter positioned where the journal ends, and how it stands. */
export type Replay =
  | { readonly _tag: "Replayed"; readonly replayer: Replayer; readonly outcome: Outcome }
  /** The workflow is not registered with this engine: controls that need its code are refused. */
  | { readonly _tag: "Unregistered" }
  /** The stored input or the journal could not be replayed (the message names the error, never the input). */
  | { readonly _tag: "Failed"; readonly message: string }

/** Everything a read model needs about one run, read at `now`. */
export interface RunSnapshot {
  readonly now: number
  readonly run: RunRecord
  readonly journal: ReadonlyArray<Entry>
  readonly attempts: ReadonlyArray<AttemptRecord>
  readonly tasks: ReadonlyArray<TaskRecord>
  readonly commands: ReadonlyArray<CommandRecord>
  readonly inbox: ReadonlyArray<InboxSignal>
  readonly children: ReadonlyArray<RunRecord>
  readonly replay: Replay
}

/** The run behind an id: an InvalidOptionError for a malformed id, a RunNotFoundError for an unknown one. */
export const findRun = (store: StoreService, runId: string): Effect.Effect<RunRecord, InvalidOptionError | RunNotFoundError | StoreError> =>
  Effect.gen(function* () {
    if (typeof runId !== "string" || !isUuid(runId))
      return yield* new InvalidOptionError({ option: "runId", value: showValue(runId), reason: "must be a UUID" })
    const run = yield* store.getRun(runId)
    if (!run) return yield* new RunNotFoundError({ runId })
    return run
  })

/**
 * Replays a run's journal against its registered workflow, as the controls do (nothing is
 * written). Only the workflow's own entries: dynamic work is outside its generator's sequence.
 */
const replay = (run: RunRecord, workflow: AnyWorkflow | undefined, journal: ReadonlyArray<Entry>, inbox: ReadonlyArray<InboxSignal>) =>
  Effect.gen(function* () {
    if (!workflow) return { _tag: "Unregistered" } satisfies Replay
    const env = yield* makeEnv
    try {
      const replayer = replayerOf(run, workflow, workflowEntries(journal), inbox)
      return { _tag: "Replayed", replayer, outcome: replayer.advance(env).outcome } satisfies Replay
    } catch (cause) {
      // The cause's text may quote the stored input: only its tag is shown.
      const tag = typeof cause === "object" && cause !== null && "_tag" in cause ? String(cause._tag) : cause instanceof Error ? cause.name : "error"
      return { _tag: "Failed", message: `the run cannot be replayed against the current code (${tag})` } satisfies Replay
    }
  })

/** Reads one run for a read model. */
export const readRun = (
  store: StoreService,
  workflows: ReadonlyMap<string, AnyWorkflow>,
  runId: string,
): Effect.Effect<RunSnapshot, InvalidOptionError | RunNotFoundError | StoreError> =>
  Effect.gen(function* () {
    const run = yield* findRun(store, runId)
    const [journal, attempts, tasks, commands, inbox, children] = yield* Effect.all([
      store.getJournal(runId),
      store.getAttempts(runId),
      store.getTasks(runId),
      store.getCommands(runId),
      store.getInbox(runId),
      store.getChildren(runId),
    ])
    const now = yield* Clock.currentTimeMillis
    return { now, run, journal, attempts, tasks, commands, inbox, children, replay: yield* replay(run, workflows.get(run.workflow), journal, inbox) }
  })
