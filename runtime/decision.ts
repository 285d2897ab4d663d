/**
 * Turning an interpreter Decision into store writes: tasks for new pending entries, the run
 * status and result, and log lines emitted once (after the commit that records them).
 */
import { Effect } from "effect"
import type { ErrorInfo, RunRecord, RunStatus } from "../src/core/model.js"
import type { Json } from "../src/core/json.js"
import type { NewTask } from "../src/store/Store.js"
import type { Decision } from "./Interpreter.js"
import { oversized } from "./limits.js"

/** The store tasks for a decision's new pending entries, on the run's queue. */
export const newTasksOf = (run: Pick<RunRecord, "id" | "queue">, decision: Decision): ReadonlyArray<NewTask> =>
  decision.tasks.map((t) => ({ runId: run.id, seq: t.seq, queue: run.queue, kind: t.kind, attempt: 1, visibleAt: t.visibleAt }))

/** The run's status, and its output or error once it ended. */
export interface RunChange {
  readonly status: RunStatus
  readonly output?: Json
  readonly error?: ErrorInfo
}

/**
 * The run change a decision implies. A workflow result over `outputLimitBytes` fails the run
 * with `output_too_large` instead of storing it (compensations do not run: the workflow body
 * completed).
 */
export const runChangeOf = (decision: Decision, outputLimitBytes: number): RunChange => {
  const outcome = decision.outcome
  switch (outcome._tag) {
    case "Blocked":
      return { status: decision.paused ? "paused" : "running" }
    case "Completed": {
      const tooLarge = outcome.output === undefined ? undefined : oversized("output", outcome.output, outputLimitBytes)
      if (tooLarge)
        return {
          status: "failed",
          error: { code: "output_too_large", message: `the workflow's result is ${tooLarge.bytes} bytes; the limit is ${tooLarge.limit} bytes` },
        }
      return { status: "completed", ...(outcome.output !== undefined ? { output: outcome.output } : {}) }
    }
    case "Failed":
      return { status: "failed", error: outcome.error }
    case "NonDeterminism": {
      const e = outcome.error
      return {
        status: "failed",
        error: { code: "non_determinism", message: e.message, seq: e.seq, details: { expected: e.expected as Json, actual: e.actual as Json } },
      }
    }
  }
}

/** Emits the workflow's `Workflow.log` lines through Effect's logger, annotated with the run. */
export const emitLogs = (runId: string, decision: Decision): Effect.Effect<void> =>
  decision.logs.length === 0
    ? Effect.void
    : Effect.forEach(decision.logs, (line) => {
        const log =
          line.level === "debug" ? Effect.logDebug : line.level === "warning" ? Effect.logWarning : line.level === "error" ? Effect.logError : Effect.logInfo
        return log(line.message)
      }).pipe(Effect.annotateLogs({ runId }), Effect.asVoid)
