/**
 * The cron scheduler: one fiber per cron trigger. It reads the schedule's durable state, plans
 * (schedulePlan.ts) and applies each decision as one compare-and-set of the state, committed
 * with the run of the window it starts (`advanceRun` with a `Schedule` request). Any number of
 * schedulers, in any processes, share one store: of those deciding about a window, one wins the
 * compare-and-set and the others re-read and move on, so each window is decided exactly once,
 * and a crash leaves the whole decision or none of it. Everything waits on Effect's Clock.
 */
import { Clock, Duration, Effect, Either, Schedule, type Scope } from "effect"
import type { CronTrigger, Trigger } from "../dsl/Trigger.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import { isTerminal } from "../src/core/model.js"
import type { ScheduleState } from "../src/core/schedule.js"
import type { TransitionResult } from "../src/store/Store.js"
import { advanceRun } from "./advance.js"
import type { EngineContext } from "./context.js"
import { prepareStart } from "./newRun.js"
import { catchUpFrom, planSchedule, type Plan } from "./schedulePlan.js"

export { nextWindow } from "./schedulePlan.js"

/** How often a buffered window (`overlap: "bufferOne"`) looks whether the open run is over. */
export const BUFFER_POLL_MS = 1000

/**
 * How long a scheduler that lost a decision to another one waits before it looks again: the
 * winner is deciding (and catching up), so racing it for every window wastes both; if the
 * winner stops, this one takes over a second later.
 */
const YIELD_TO_WINNER = Duration.seconds(1)

/** How long a scheduler waits after a store failure before it reads the schedule again. */
const RETRY_AFTER_FAILURE = Duration.seconds(5)

/** A workflow's cron trigger, by name. */
export interface CronEntry {
  readonly workflow: AnyWorkflow
  readonly name: string
  readonly trigger: CronTrigger
}

/** Every (workflow, trigger name, cron trigger) of a set of workflows. */
export const cronTriggers = (workflows: Iterable<AnyWorkflow>): Array<CronEntry> =>
  [...workflows].flatMap((workflow) => {
    const triggers: Readonly<Record<string, Trigger>> = workflow.triggers
    return Object.entries(triggers).flatMap(([name, trigger]) => (trigger._tag === "Cron" ? [{ workflow, name, trigger }] : []))
  })

/** The idempotency key of a window's run: the run id derives from (workflow, trigger, key). */
export const windowKey = (window: number): string => `cron:${window}`

/**
 * Applies a plan's decision: prepares the run of the window it starts (a window whose run
 * cannot start, e.g. defaults that fail the payload schema, is recorded as `failed`), then
 * writes the decision with the run in one compare-and-set on the state's revision.
 */
export const applyDecision = (
  ctx: EngineContext,
  entry: CronEntry,
  state: ScheduleState,
  plan: Extract<Plan, { _tag: "Decide" }>,
  now: number,
): Effect.Effect<TransitionResult, StoreError> =>
  Effect.gen(function* () {
    const { workflow, name } = entry
    const window = plan.start
    const prepared =
      window === undefined
        ? undefined
        : yield* Effect.either(
            prepareStart(ctx, workflow, {}, { trigger: name, idempotencyKey: windowKey(window), actor: "scheduler" }, { _tag: "Schedule", window }),
          )
    const base = { workflow: workflow.name, trigger: name, expectedRevision: state.revision, now }
    if (window === undefined || prepared === undefined) return yield* advanceRun(ctx, { _tag: "Schedule", transition: { ...base, ...plan } })
    if (Either.isLeft(prepared)) {
      const failed = { workflow: workflow.name, trigger: name, kind: "failed" as const, from: window, to: window, note: prepared.left.message, at: now }
      return yield* advanceRun(ctx, { _tag: "Schedule", transition: { ...base, next: plan.next, events: [...plan.events, failed] } })
    }
    const next = { ...plan.next, lastFired: window, lastRunId: prepared.right.newRun.run.id }
    return yield* advanceRun(ctx, { _tag: "Schedule", transition: { ...base, next, events: plan.events }, prepared: prepared.right })
  })

/** Whether the run the schedule started last is still open (a purged or unknown run is not). */
const previousOpen = (ctx: EngineContext, entry: CronEntry, state: ScheduleState): Effect.Effect<boolean, StoreError> =>
  entry.trigger.overlap === "allow" || state.lastRunId === undefined
    ? Effect.succeed(false)
    : Effect.map(ctx.store.getRun(state.lastRunId), (run) => run !== undefined && !isTerminal(run.status))

/** One trigger's scheduler: decide every due window, then sleep until the next one (never ends). */
const scheduleLoop = (ctx: EngineContext, entry: CronEntry): Effect.Effect<never, StoreError> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    let state = yield* ctx.store.ensureSchedule(entry.workflow.name, entry.name, startedAt)
    const catchFrom = catchUpFrom(entry.trigger, startedAt, state.decidedUntil)
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const open = yield* previousOpen(ctx, entry, state)
      const plan = planSchedule({ trigger: entry.trigger, state, now, catchFrom, previousOpen: open, pollMs: BUFFER_POLL_MS })
      if (plan._tag === "Wait") {
        yield* Effect.sleep(Math.max(0, plan.until - now))
        state = yield* ctx.store.ensureSchedule(entry.workflow.name, entry.name, now)
        continue
      }
      const result = yield* applyDecision(ctx, entry, state, plan, now)
      if (result._tag === "Moved") yield* Effect.sleep(YIELD_TO_WINNER)
      state = result._tag === "Applied" ? result.state : yield* ctx.store.ensureSchedule(entry.workflow.name, entry.name, now)
    }
  })

/** Runs the scheduler of every cron trigger in the current scope: it stops when the scope closes. */
export const startScheduler = (ctx: EngineContext): Effect.Effect<void, never, Scope.Scope> =>
  Effect.forEach(
    cronTriggers(ctx.workflows.values()),
    (entry) =>
      Effect.forkScoped(
        scheduleLoop(ctx, entry).pipe(
          // A store failure (database down) is logged; the scheduler starts over a little later, so
          // windows due while it could not decide count as missed (its catch-up policy applies).
          Effect.tapError((e) => Effect.logWarning(`scheduler: ${entry.workflow.name}/${entry.name} failed; retrying`, e)),
          Effect.retry(Schedule.spaced(RETRY_AFTER_FAILURE)),
          Effect.annotateLogs({ workflow: entry.workflow.name, trigger: entry.name }),
        ),
      ),
    { discard: true },
  )
