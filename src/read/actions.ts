/**
 * The next actions `explainRun` offers: exactly the controls that would be accepted now. Each
 * is decided by the predicate its control refuses with (runtime/controlRules.ts), over the
 * same replayed interpreter the control consults, so an offered action is never refused for
 * the run's state (it can still lose a race with another control or the run's own progress).
 */
import { completedIrreversible, gateRefusal, rerunReplayRefusal, rerunStatusRefusal, terminalRefusal, type RerunRefusal } from "../../runtime/controlRules.js"
import type { RunSnapshot } from "./snapshot.js"

/** A control an operator can issue: `resume`, `approve`, `reject`, `signal`, `cancel`, `rerun`. */
export type ActionName = "resume" | "approve" | "reject" | "signal" | "cancel" | "rerun"

/** A control that would succeed now; `gate` names the pause or approval it decides, `signal` the signal awaited. */
export interface NextAction {
  readonly action: ActionName
  readonly gate?: string
  readonly signal?: string
}

/** The next actions of a run, and why a rerun is not among them (when the run ended but cannot be rerun as is). */
export interface Actions {
  readonly actions: ReadonlyArray<NextAction>
  readonly rerunRefused?: RerunRefusal
  /** Names of completed steps marked `irreversible` (a rerun needs `allowIrreversible`). */
  readonly irreversibleSteps: ReadonlyArray<string>
}

/**
 * The controls that would succeed on this run now. Gate controls, `signal` and `rerun` need
 * the workflow's code (they are refused when it is not registered); `cancel` needs only an
 * open run.
 */
export const nextActions = (snapshot: RunSnapshot): Actions => {
  const { run, replay, journal } = snapshot
  const actions: Array<NextAction> = []
  const open = terminalRefusal(run.status) === undefined
  if (open && replay._tag === "Replayed") {
    const gate = replay.replayer.pendingGate()
    if (gate && gateRefusal("resume", gate) === undefined) actions.push({ action: "resume", gate: gate.name })
    if (gate && gateRefusal("approve", gate) === undefined) actions.push({ action: "approve", gate: gate.name })
    if (gate && gateRefusal("reject", gate) === undefined) actions.push({ action: "reject", gate: gate.name })
    const awaited = journal.filter((e) => e.kind === "signal" && e.status === "pending" && replay.replayer.pendingSignal(e.name) !== undefined)
    for (const e of awaited) actions.push({ action: "signal", signal: e.name })
  }
  if (open) actions.push({ action: "cancel" })
  if (open || replay._tag !== "Replayed") return { actions, irreversibleSteps: [] }
  const irreversibleSteps = completedIrreversible(journal, replay.replayer.irreversible).map((e) => e.name)
  const refused = rerunStatusRefusal(run.status) ?? rerunReplayRefusal(replay.outcome, journal, replay.replayer.irreversible, false)
  if (refused) return { actions, rerunRefused: refused, irreversibleSteps }
  actions.push({ action: "rerun" })
  return { actions, irreversibleSteps }
}
