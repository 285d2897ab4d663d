/**
 * Retention policies: a workflow declared with `retention: "30 days"` has its terminal runs
 * purged once they finished that long ago. Each worker applies the policies of the workflows
 * of its queue in its own fiber: at start, then every `RETENTION_EVERY`, in batches of
 * `PURGE_BATCH_SIZE` with a pause between them, so the workers' own commits keep the database.
 * Several workers on one queue may purge at once: a run is deleted once, and each batch that
 * deleted something is in the audit trail. A policy also takes the workflow's schedule events
 * older than the retention (keeping each schedule's newest, see `SCHEDULE_EVENTS_KEPT`);
 * stored specs are a spec workflow's, which has no policy, so only `purge` removes them.
 */
import { Clock, Duration, Effect } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { TERMINAL_STATUSES } from "../src/core/model.js"
import type { StoreService } from "../src/store/Store.js"
import { purgeAll } from "./purge.js"

/** How often a worker applies its queue's retention policies. */
export const RETENTION_EVERY: Duration.DurationInput = "1 hour"
/** Pause between two purge batches of a policy. */
export const RETENTION_PAUSE: Duration.DurationInput = "20 millis"

/** Applies once the retention policies of the workflows of `queue`; returns how many runs went. */
export const applyRetention = (store: StoreService, workflows: ReadonlyMap<string, AnyWorkflow>, queue: string) =>
  Effect.gen(function* () {
    let purged = 0
    for (const workflow of workflows.values()) {
      if (workflow.queue !== queue || workflow.retention === undefined) continue
      const keepMs = Duration.toMillis(workflow.retention)
      const finishedBefore = (yield* Clock.currentTimeMillis) - keepMs
      const result = yield* purgeAll(
        store,
        {
          finishedBefore,
          statuses: TERMINAL_STATUSES,
          workflow: workflow.name,
          reason: { kind: "retention", workflow: workflow.name, retention: Duration.format(workflow.retention), finishedBefore },
        },
        RETENTION_PAUSE,
      )
      purged += result.purged
    }
    return purged
  })

/** The worker's retention fiber: applies the policies now and every `RETENTION_EVERY`; a store error is logged and retried next time. */
export const retentionLoop = (store: StoreService, workflows: ReadonlyMap<string, AnyWorkflow>, queue: string): Effect.Effect<never> =>
  ![...workflows.values()].some((w) => w.queue === queue && w.retention !== undefined)
    ? Effect.never
    : Effect.forever(
        applyRetention(store, workflows, queue).pipe(
          Effect.catchAll((e) => Effect.logWarning("worker: retention purge failed; retrying at the next interval", e)),
          Effect.zipRight(Effect.sleep(RETENTION_EVERY)),
        ),
      )
