/**
 * The workflow of the crash-safety suite: `a → b (transactional) → all([c, d]) → e`.
 *
 * Every step records its side effect with a plain INSERT into `side_effects` through the
 * worker's own postgres.js pool (not the journal's transaction), so those rows are
 * at-least-once. Step `b` also inserts one row into `ledger` through the journal's own
 * transaction (`PostgresStore.transactionOf(ctx)`): that row must commit exactly once per run.
 *
 * The step bodies call `hooks` at two kill points (on entry, and right after the side
 * effect). The worker process (workerProcess.ts) installs the hooks; the test process only
 * imports the definition to start runs and never executes a step.
 */
import { Schema } from "effect"
import type postgres from "postgres"
import { PostgresStore, Step, Trigger, Workflow, type StepContext } from "../../src/index.js"

/** The kill points inside a step body. */
export type StepKillPoint = "pre-step" | "post-effect"

/** What a worker process plugs into the step bodies. */
export interface CrashHooks {
  /** The worker's own pool for side-effect rows (never the journal's transaction). */
  readonly sideEffects: postgres.Sql
  /** May SIGKILL the process (it records the kill first). */
  readonly killPoint: (point: StepKillPoint, ctx: StepContext) => void
  /** Extra latency per step body, to stretch the load (ms, drawn uniformly in [0, max]). */
  readonly stepDelayMs: number
}

let hooks: CrashHooks | undefined

/** Installs the hooks (worker processes only). */
export const installHooks = (h: CrashHooks): void => {
  hooks = h
}

const current = (): CrashHooks => {
  if (!hooks) throw new Error("crashWorkflows: step executed without hooks (only worker processes run steps)")
  return hooks
}

/** The expected output of every step, a pure function of the run's `n`. */
export const expected = {
  a: (n: number) => ({ a: n * 2 }),
  b: (n: number) => ({ b: `ledger-${n}` }),
  c: (n: number) => n + 1,
  d: (n: number) => `d-${n}`,
  e: (n: number) => ({ e: n * 2 + (n + 1) }), // computed from a's and c's journaled outputs
  run: (n: number) => ({ n, a: n * 2, b: `ledger-${n}`, c: n + 1, d: `d-${n}`, e: n * 2 + (n + 1) }),
} as const

export const STEP_NAMES = ["a", "b", "c", "d", "e"] as const

/** Retries cover transient store and connection errors (e.g. a Postgres restart). */
const retry = {
  maxAttempts: 30,
  backoff: { type: "exponential", min: "100 millis", max: "1 second" },
  // A second ledger row for a run is exactly the bug this suite looks for: fail at once.
  nonRetryable: (error: unknown) => (error as { code?: unknown } | null)?.code === "23505",
} as const

const pause = async (h: CrashHooks) => {
  if (h.stepDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * h.stepDelayMs))
}

const recordSideEffect = async (h: CrashHooks, ctx: StepContext) => {
  await h.sideEffects`INSERT INTO side_effects (run_id, step, attempt, pid) VALUES (${ctx.runId}, ${ctx.step}, ${ctx.attempt}, ${process.pid})`
}

/** A plain (non-transactional) step: kill point, side effect, kill point, result. */
const plainStep = <I, O>(name: string, output: (input: I) => O) =>
  Step.make(name, {
    retry,
    run: async (input: I, ctx: StepContext): Promise<O> => {
      const h = current()
      h.killPoint("pre-step", ctx)
      await pause(h)
      await recordSideEffect(h, ctx)
      h.killPoint("post-effect", ctx)
      return output(input)
    },
  })

export const A = plainStep("a", (input: { n: number }) => expected.a(input.n))

/** The transactional step: its ledger row commits with its recorded result, or not at all. */
export const B = Step.make("b", {
  retry,
  transaction: true,
  run: async (input: { n: number }, ctx: StepContext) => {
    const h = current()
    h.killPoint("pre-step", ctx)
    const tx = PostgresStore.transactionOf(ctx)
    await pause(h)
    await recordSideEffect(h, ctx)
    await tx`INSERT INTO ledger (run_id, n, attempt, pid) VALUES (${ctx.runId}, ${input.n}, ${ctx.attempt}, ${process.pid})`
    h.killPoint("post-effect", ctx)
    return expected.b(input.n)
  },
})

export const C = plainStep("c", (input: { n: number }) => expected.c(input.n))
export const D = plainStep("d", (input: { n: number }) => expected.d(input.n))
export const E = plainStep("e", (input: { n: number; a: number; c: number }) => ({ e: input.a + input.c }))

export const CrashFlow = Workflow.make({
  name: "crash-flow",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
  *run(input) {
    const a = yield* A(input)
    const b = yield* B(input)
    const [c, d] = yield* Workflow.all([C(input), D(input)])
    const e = yield* E({ n: input.n, a: a.a, c })
    return { n: input.n, a: a.a, b: b.b, c, d, e: e.e }
  },
})

/** The tables the steps write, created by the test before the workers start. */
export const SIDE_TABLES_DDL = `
  CREATE TABLE IF NOT EXISTS side_effects (
    id      bigserial PRIMARY KEY,
    run_id  uuid    NOT NULL,
    step    text    NOT NULL,
    attempt integer NOT NULL,
    pid     integer NOT NULL,
    at      timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  CREATE TABLE IF NOT EXISTS ledger (
    run_id  uuid    PRIMARY KEY,
    n       integer NOT NULL,
    attempt integer NOT NULL,
    pid     integer NOT NULL,
    at      timestamptz NOT NULL DEFAULT clock_timestamp()
  );`
