/**
 * The next actions `explainRun` offers: exactly the controls that would be accepted now. Each
 * is decided by the predicate its control refuses with (runtime/controlRules.ts), over the
 * same replayed interpreter the control consults, so an offered action is never refused for
 * the run's state (it can still lose a race with another control or the run's own progress).
 */
import { completedIrreversible, gateRefusal, rerunReplayRefusal, rerunStatusRefusal, terminalRefusal, type RerunRefusal } from "../../runtime/controlRules.js"
import { journaledGate, journaledSignalSchema, journaledSignalWait } from "../../runtime/journalWaits.js"
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
 * The controls that would succeed on this run now. With the workflow registered they are
 * decided on its replay, as the controls decide; without it, on the journal alone, as the
 * controls then do (runtime/journalWaits.ts): a gate control at a pending gate, `signal` at a
 * wait whose schema was journaled, `rerun` when the journal tells which steps are irreversible.
 * `cancel` needs only an open run.
 */
export const nextActions = (snapshot: RunSnapshot): Actions => {
  const { run, replay, journal } = snapshot
  if (replay._tag === "Unregistered") return journalActions(snapshot)
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

/** The next actions decided on the journal alone (the workflow is not registered here). */
const journalActions = ({ run, journal }: RunSnapshot): Actions => {
  const actions: Array<NextAction> = []
  if (terminalRefusal(run.status) === undefined) {
    for (const control of ["resume", "approve", "reject"] as const) {
      const gate = journaledGate(journal, control)
      if (gate && gateRefusal(control, gate) === undefined) actions.push({ action: control, gate: gate.name })
    }
    const names = new Set(journal.filter((e) => e.kind === "signal" && e.status === "pending").map((e) => e.name))
    for (const name of names) {
      const wait = journaledSignalWait(journal, name)
      if (wait && journaledSignalSchema(wait)) actions.push({ action: "signal", signal: name })
    }
    actions.push({ action: "cancel" })
    return { actions, irreversibleSteps: [] }
  }
  const completed = journal.filter((e) => e.kind === "step" && e.status === "completed")
  const irreversible = new Set(completed.filter((e) => e.irreversible === true).map((e) => e.seq))
  const irreversibleSteps = completedIrreversible(journal, irreversible).map((e) => e.name)
  if (completed.some((e) => e.irreversible === undefined)) {
    const detail = "the journal predates irreversible flags: rerun it from a process that registered the workflow"
    return { actions, rerunRefused: { reason: "replay_failed", detail, steps: [] }, irreversibleSteps }
  }
  const refused = rerunStatusRefusal(run.status) ?? rerunReplayRefusal({ _tag: "Blocked" }, journal, irreversible, false)
  if (refused) return { actions, rerunRefused: refused, irreversibleSteps }
  actions.push({ action: "rerun" })
  return { actions, irreversibleSteps }
}
