/**
 * When a control is refused: the pure predicates behind `resume`, `approve`, `reject`,
 * `signal`, `cancel` and `rerun`. The controls (controls.ts, rerun.ts) refuse with them, and
 * `explainRun` offers as next actions only the controls they let through, so the two never
 * disagree. Each returns why a control is refused, or `undefined` when it would proceed.
 */
import type { RerunRefusedError } from "../src/core/errors.js"
import { isTerminal, type Entry, type RunStatus } from "../src/core/model.js"
import type { Outcome } from "./interpreter/model.js"

/** The controls that decide a manual gate. */
export type GateControl = "resume" | "approve" | "reject"

/** The gate kind each gate control decides. */
export const GATE_OF: Readonly<Record<GateControl, "pause" | "approval">> = { resume: "pause", approve: "approval", reject: "approval" }

/** Why no control but a rerun applies to a run in this status: it is terminal. */
export const terminalRefusal = (status: RunStatus): string | undefined => (isTerminal(status) ? `the run is ${status}` : undefined)

/** Why a gate control does not fit the gate the run waits on (`gate`: its pending pause or approval, if any). */
export const gateRefusal = (control: GateControl, gate: Entry | undefined): string | undefined => {
  const wanted = GATE_OF[control]
  if (gate && gate.kind === wanted) return undefined
  return gate ? `the run waits on ${gate.kind} "${gate.name}", not ${wanted === "approval" ? "an" : "a"} ${wanted}` : "the run is not paused at a gate"
}

/** Why a rerun is refused: the reason code, a sentence, and the steps concerned. */
export interface RerunRefusal {
  readonly reason: RerunRefusedError["reason"]
  readonly detail: string
  readonly steps: ReadonlyArray<string>
}

/** A rerun needs a source that ended: a second live run with the same input is a duplicate. */
export const rerunStatusRefusal = (status: RunStatus): RerunRefusal | undefined =>
  isTerminal(status)
    ? undefined
    : { reason: "not_terminal", detail: `the source is still ${status}; rerun it once it completed, failed or was cancelled`, steps: [] }

/**
 * The completed steps of a journal that replay marked irreversible (by seq), and its completed
 * dynamic nodes: dynamic work is replay-unsafe unless marked otherwise.
 */
export const completedIrreversible = (journal: ReadonlyArray<Entry>, irreversible: ReadonlySet<number>): ReadonlyArray<Entry> =>
  journal.filter((e) => e.status === "completed" && ((e.kind === "step" && irreversible.has(e.seq)) || (e.kind === "dynamic" && e.irreversible !== false)))

/**
 * Why a rerun is refused once the source's journal was replayed against the current code:
 * the code no longer fits it, or it completed irreversible steps (unless `allowIrreversible`).
 */
export const rerunReplayRefusal = (
  outcome: Outcome,
  journal: ReadonlyArray<Entry>,
  irreversible: ReadonlySet<number>,
  allowIrreversible: boolean,
): RerunRefusal | undefined => {
  if (outcome._tag === "NonDeterminism") return { reason: "replay_failed", detail: outcome.error.message, steps: [] }
  const done = completedIrreversible(journal, irreversible)
  if (done.length === 0 || allowIrreversible) return undefined
  const steps = done.map((e) => e.name)
  return {
    reason: "irreversible_steps",
    detail: `the source completed irreversible step(s) ${steps.join(", ")}; pass allowIrreversible to rerun anyway`,
    steps,
  }
}
