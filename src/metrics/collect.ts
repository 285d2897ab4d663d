/**
 * The metrics a scrape returns: what the store says now (queue depth, runs by status, worker
 * liveness; the same from every process of a deployment) and what this process's engine counted
 * since it started (claim latency, timer lateness, step attempts and durations, claims lost).
 */
import { Clock, Effect } from "effect"
import type { EngineMetrics } from "../../runtime/metrics.js"
import type { StoreError } from "../core/errors.js"
import type { StoreService } from "../store/Store.js"
import { render, type Family } from "./exposition.js"

/** Workers not seen for this long are left out of `squid_mesh_worker_last_seen_seconds`. */
export const WORKER_WINDOW_MS = 60 * 60 * 1000

/**
 * Reads the store (three grouped reads) and this engine's counters, and renders them in the
 * Prometheus text format. Times are the Effect Clock's.
 */
export const renderMetrics = (store: StoreService, metrics: EngineMetrics): Effect.Effect<string, StoreError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const [depths, runs, workers] = yield* Effect.all([store.queueDepths(now), store.runCounts(), store.workersSeen(now - WORKER_WINDOW_MS)])
    const families: Array<Family> = [
      {
        type: "gauge",
        name: "squid_mesh_queue_depth",
        help: "Tasks per queue: due (claimable now), scheduled (not visible yet) and claimed (held under a live lease).",
        samples: depths.flatMap((d) => [
          { labels: { queue: d.queue, state: "due" }, value: d.due },
          { labels: { queue: d.queue, state: "scheduled" }, value: d.scheduled },
          { labels: { queue: d.queue, state: "claimed" }, value: d.claimed },
        ]),
      },
      {
        type: "gauge",
        name: "squid_mesh_runs",
        help: "Runs by status.",
        samples: runs.map((r) => ({ labels: { status: r.status }, value: r.count })),
      },
      {
        type: "gauge",
        name: "squid_mesh_worker_last_seen_seconds",
        help: "Seconds since each worker last recorded that it serves its queue (workers record every few seconds; unseen for an hour: left out).",
        samples: workers.map((w) => ({ labels: { queue: w.queue, owner: w.owner }, value: Math.max(0, now - w.lastSeen) / 1000 })),
      },
      {
        type: "histogram",
        name: "squid_mesh_claim_latency_seconds",
        help: "Seconds from a task being due to a worker of this process claiming it from the queue.",
        samples: [...metrics.claimLatency].map(([queue, histogram]) => ({ labels: { queue }, histogram })),
      },
      {
        type: "histogram",
        name: "squid_mesh_timer_lateness_seconds",
        help: "Seconds from a timer's due time to it firing in this process (sleeps, backoff-free wake-ups, deadlines, signal timeouts).",
        samples: [...metrics.timerLateness].map(([queue, histogram]) => ({ labels: { queue }, histogram })),
      },
      {
        type: "histogram",
        name: "squid_mesh_step_duration_seconds",
        help: "Duration of step attempts run by this process, by how they ended.",
        samples: metrics.stepSeries().map((s) => ({ labels: { workflow: s.workflow, step: s.step, outcome: s.outcome }, histogram: s.duration })),
      },
      {
        type: "counter",
        name: "squid_mesh_step_attempts_total",
        help: "Step attempts run by this process, by outcome: completed, failed, retry_scheduled, lost (the claim was lost).",
        samples: metrics.stepSeries().map((s) => ({ labels: { workflow: s.workflow, step: s.step, outcome: s.outcome }, value: s.duration.count })),
      },
      {
        type: "counter",
        name: "squid_mesh_claims_lost_total",
        help: "Step attempts of this process interrupted because their claim's lease expired or was taken over.",
        samples: [...metrics.claimsLost].map(([queue, value]) => ({ labels: { queue }, value })),
      },
    ]
    return render(families)
  })
