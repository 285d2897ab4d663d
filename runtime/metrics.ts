/**
 * What the engine counts in process for the metrics endpoint: claim latency and timer lateness
 * per queue, step attempts by workflow, step and outcome (with their durations), and claims
 * lost. Updated with plain increments on the hot path (no Effect, no fiber refs); read by the
 * exposition (src/metrics/) when scraped. Counters start at zero with the engine.
 */
import { Histogram } from "./histogram.js"

/** How a step attempt ended, as the worker settled it. */
export type StepOutcome = "completed" | "failed" | "retry_scheduled" | "lost"

/** One label set of the step metrics. */
export interface StepSeries {
  readonly workflow: string
  readonly step: string
  readonly outcome: StepOutcome
  /** The attempt's duration (its start to its end, without the commit that records it). */
  readonly duration: Histogram
}

/** The engine's in-process counters and histograms. */
export class EngineMetrics {
  /** Seconds from a task being due to a worker claiming it from the queue, by queue. */
  readonly claimLatency = new Map<string, Histogram>()
  /** Seconds from a timer's due time to it firing, by queue. */
  readonly timerLateness = new Map<string, Histogram>()
  /** Step attempts, by workflow, then step, then outcome (nested maps: no key string built per step). */
  readonly steps = new Map<string, Map<string, Map<StepOutcome, StepSeries>>>()
  /** Step attempts interrupted because their claim was lost (lease expired or taken over), by queue. */
  readonly claimsLost = new Map<string, number>()

  /** A task of `queue` claimed from the queue `latencyMs` after it was due. */
  claimed(queue: string, latencyMs: number): void {
    histogramOf(this.claimLatency, queue).observe(Math.max(0, latencyMs) / 1000)
  }

  /** A timer of `queue` fired `latenessMs` after its due time. */
  timerFired(queue: string, latenessMs: number): void {
    histogramOf(this.timerLateness, queue).observe(Math.max(0, latenessMs) / 1000)
  }

  /** A step attempt ended with `outcome` after `durationMs`. */
  stepSettled(workflow: string, step: string, outcome: StepOutcome, durationMs: number): void {
    let bySteps = this.steps.get(workflow)
    if (!bySteps) this.steps.set(workflow, (bySteps = new Map()))
    let byOutcome = bySteps.get(step)
    if (!byOutcome) bySteps.set(step, (byOutcome = new Map()))
    let series = byOutcome.get(outcome)
    if (!series) byOutcome.set(outcome, (series = { workflow, step, outcome, duration: new Histogram() }))
    series.duration.observe(Math.max(0, durationMs) / 1000)
  }

  /** Every step series, by workflow, step and outcome as first seen. */
  stepSeries(): Array<StepSeries> {
    return [...this.steps.values()].flatMap((bySteps) => [...bySteps.values()].flatMap((byOutcome) => [...byOutcome.values()]))
  }

  /** A step attempt of `queue` lost its claim. */
  claimLost(queue: string): void {
    this.claimsLost.set(queue, (this.claimsLost.get(queue) ?? 0) + 1)
  }
}

const histogramOf = (map: Map<string, Histogram>, key: string): Histogram => {
  let h = map.get(key)
  if (!h) {
    h = new Histogram()
    map.set(key, h)
  }
  return h
}
