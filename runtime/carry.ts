/**
 * What a claimed task's results decide, before anything is committed: the interpreter resolves
 * them in order and advances; and a fired timer that wakes exactly one step is carried into
 * that step's commit instead of being committed on its own (see `fire`).
 */
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { ClaimedTask, Entry } from "../src/core/model.js"
import type { ClaimRef } from "../src/store/Store.js"
import type { Acquired } from "./acquire.js"
import type { Decision, Env } from "./Interpreter.js"

/**
 * A fired timer whose resolution is not committed yet: it is carried into the commit of the
 * step it woke (`decision`: what firing it decided, that step's pending entry and task).
 */
export interface Carried {
  readonly fired: Entry
  readonly decision: Decision
}

/**
 * The task a commit hands to the committing worker: claimed inline, or a fired timer's step,
 * run at once under the timer's claim (`claim`) with the timer's resolution `carried`.
 */
export interface NextTask {
  readonly task: ClaimedTask
  readonly claim: ClaimRef
  readonly carried?: Carried
}

/** The claim a task's commit is fenced by, and whether this worker runs the run's next task. */
export interface TaskFence {
  readonly task: ClaimedTask
  readonly claim: ClaimRef
  readonly leaseMs: number
  /** Claim the run's next due task for this worker in the same commit. */
  readonly chain: boolean
  /** The fired timer this task's commit also records (the claim is the timer's). */
  readonly carried?: Carried
}

/**
 * Fires a timer in memory. When it wakes exactly one step, due now and run outside a
 * transaction, with nothing else to record, that step runs at once under the timer's claim and
 * one commit records both (`Carried`): a wake-up costs no commit of its own. A crash before that
 * commit leaves the timer claimed; it fires again when its lease runs out. Otherwise what firing
 * decided is committed as usual (`decision`; none when replay had decided something first).
 */
export const fire = (
  fence: TaskFence,
  acquired: Acquired,
  workflow: AnyWorkflow,
  entry: Entry,
  env: Env,
):
  | { readonly _tag: "Carried"; readonly runStatus: "running"; readonly next: NextTask }
  | { readonly _tag: "Decided"; readonly decision: Decision | undefined } => {
  const { replayer, pre } = acquired
  if (pre && (pre.outcome._tag !== "Blocked" || pre.entries.length > 0)) return { _tag: "Decided", decision: undefined }
  replayer.resolve(entry)
  const decision = replayer.advance(env)
  const task = decision.tasks.length === 1 ? decision.tasks[0]! : undefined
  const command = task ? replayer.commandAt(task.seq) : undefined
  const carriable =
    fence.chain &&
    task !== undefined &&
    task.kind === "step" &&
    task.visibleAt <= env.now &&
    command?._tag === "Step" &&
    command.step.options.transaction !== true &&
    decision.outcome._tag === "Blocked" &&
    decision.entries.length === 1 &&
    decision.cancelled.length === 0 &&
    decision.consumed.length === 0 &&
    decision.logs.length === 0
  if (!carriable) return { _tag: "Decided", decision }
  // The step's interpreter is the one just cached (no claim-time revision to check it against).
  const { revision: _claimed, ...timer } = fence.task
  const step: ClaimedTask = { ...timer, seq: task.seq, queue: workflow.queue, kind: "step", attempt: 1, visibleAt: task.visibleAt }
  return { _tag: "Carried", runStatus: "running", next: { task: step, claim: fence.claim, carried: { fired: entry, decision } } }
}

/**
 * What the interpreter decides for `results`, resolved in order (advancing after each), on top
 * of what replaying the stored journal decided (or of `prior`, what this interpreter already
 * decided in memory). Undefined when one of them is no longer pending.
 */
export const decide = (acquired: Acquired, results: ReadonlyArray<Entry>, env: Env, prior?: Decision): Decision | undefined => {
  const { replayer, pre } = acquired
  if (pre && pre.outcome._tag !== "Blocked") return pre
  let decision = prior ?? (pre && pre.entries.length > 0 ? pre : undefined)
  for (const entry of results.length === 0 ? [undefined] : results) {
    if (entry) {
      if (replayer.entryAt(entry.seq)?.status !== "pending") return undefined
      replayer.resolve(entry)
    }
    const next = replayer.advance(env)
    decision = decision ? merge(decision, next) : next
  }
  return decision
}

/** Two decisions in a row as one (the later one's outcome). */
const merge = (a: Decision, b: Decision): Decision => ({
  ...b,
  entries: [...a.entries, ...b.entries],
  tasks: [...a.tasks, ...b.tasks],
  cancelled: [...a.cancelled, ...b.cancelled],
  logs: [...a.logs, ...b.logs],
  consumed: [...a.consumed, ...b.consumed],
})
