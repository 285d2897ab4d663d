/**
 * The cron scheduler: one fiber per cron trigger sleeps (on Effect's Clock) until the next
 * window of its expression in its time zone, then starts a run for that window. The run's
 * idempotency key is (trigger, window), so any number of schedulers, in any processes, start
 * each window once. Windows missed while no scheduler ran are not caught up.
 */
import { CronExpressionParser } from "cron-parser"
import { Clock, Effect, type Scope } from "effect"
import type { CronTrigger } from "../dsl/Trigger.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { WorkerPort } from "./Engine.js"

/** The first window of a cron trigger strictly after `after` (epoch ms). */
export const nextWindow = (trigger: CronTrigger, after: number): number =>
  CronExpressionParser.parse(trigger.expression, { currentDate: after, tz: trigger.timeZone }).next().getTime()

/** Every (workflow, trigger name, cron trigger) of a set of workflows. */
export const cronTriggers = (workflows: Iterable<AnyWorkflow>) =>
  [...workflows].flatMap((workflow) =>
    Object.entries(workflow.triggers)
      .filter(([, t]) => (t as { _tag: string })._tag === "Cron")
      .map(([name, t]) => ({ workflow, name, trigger: t as CronTrigger })),
  )

/** Runs the scheduler in the current scope: it stops when the scope closes. */
export const startScheduler = (engine: WorkerPort): Effect.Effect<void, never, Scope.Scope> =>
  Effect.forEach(
    cronTriggers(engine.workflows.values()),
    ({ workflow, name, trigger }) =>
      Effect.forkScoped(
        Effect.gen(function* () {
          let after = yield* Clock.currentTimeMillis
          for (;;) {
            const window = nextWindow(trigger, after)
            const now = yield* Clock.currentTimeMillis
            if (window > now) yield* Effect.sleep(window - now)
            yield* engine.startScheduled(workflow, name, window).pipe(
              Effect.tapError((e) => Effect.logWarning(`scheduler: ${workflow.name}/${name} window ${window} not started`, e)),
              Effect.ignore,
            )
            after = window
          }
        }).pipe(Effect.annotateLogs({ workflow: workflow.name, trigger: name })),
      ),
    { discard: true },
  )
