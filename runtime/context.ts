/**
 * What the engine's operations share: the store, the workflow registry, the sticky cache,
 * test stubs, and helpers that read the Clock and rebuild a run's interpreter.
 */
import { Clock, Effect, Random } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { StoreError } from "../src/core/errors.js"
import type { ClaimedTask, Entry, InboxSignal, RunRecord } from "../src/core/model.js"
import type { Redactor } from "../src/core/redact.js"
import type { StoreService } from "../src/store/Store.js"
import { Replayer, type Env } from "./Interpreter.js"
import { decodeStored } from "./payload.js"
import type { Leases } from "./Leases.js"
import type { Limits } from "./limits.js"
import type { EngineMetrics } from "./metrics.js"
import type { Notifier } from "./Notifier.js"
import type { SpecCache } from "./specCache.js"
import type { StepBody } from "./StepRunner.js"
import type { StickyCache } from "./StickyCache.js"

/** Shared state of one engine instance. */
export interface EngineContext {
  readonly store: StoreService
  readonly workflows: ReadonlyMap<string, AnyWorkflow>
  /** The action registry, and the workflows of spec runs built from their stored specs (see specs.ts). */
  readonly specs: SpecCache
  readonly cache: StickyCache
  /** Step bodies replaced for tests, by step name. */
  readonly stubs: Map<string, StepBody>
  /** Wakes this process's idle workers. */
  readonly notifier: Notifier
  /** Renews this process's claims and interrupts attempts whose claim was lost. */
  readonly leases: Leases
  /** Workers of this process that keep short timers, by queue (see LOCAL_TIMER_HORIZON_MS). */
  readonly timerKeepers: Map<string, TimerKeeper>
  /** Size limits of payloads, results and signal bodies. */
  readonly limits: Limits
  /** This engine's compiled redaction rules: applied to everything written or printed from user text. */
  readonly redactor: Redactor
  /** In-process counters and histograms for the metrics endpoint (plain increments). */
  readonly metrics: EngineMetrics
}

/** A local worker that takes timers created by `start` and fires them when due. */
export interface TimerKeeper {
  readonly owner: string
  readonly leaseMs: number
  readonly keep: (task: ClaimedTask) => void
}

/** Small deterministic PRNG (mulberry32), seeded from Effect's Random once per advance. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The interpreter environment: the Clock's time and a seeded random source. */
export const makeEnv: Effect.Effect<Env> = Effect.zipWith(Clock.currentTimeMillis, Random.nextIntBetween(0, 2 ** 31 - 1), (now, seed) => ({
  now,
  random: mulberry32(seed),
}))

/** A run's interpreter loaded with its journal and inbox, not yet advanced (it throws if the stored input no longer decodes). */
export const replayerOf = (
  run: RunRecord,
  workflow: AnyWorkflow,
  journal: ReadonlyArray<Entry>,
  inbox: ReadonlyArray<InboxSignal>,
  redactor?: Redactor,
): Replayer => {
  const trigger = workflow.triggers[run.trigger] ?? Object.values(workflow.triggers)[0]
  const parent = run.parentRunId !== undefined ? { runId: run.parentRunId, seq: run.parentSeq ?? 0 } : undefined
  return new Replayer(run.id, workflow, decodeStored(trigger, run.input), parent, redactor).load(journal, inbox)
}

/** Rebuilds a run's interpreter from its stored journal (the cold path after a cache miss or restart). */
export const rebuild = (ctx: EngineContext, run: RunRecord, workflow: AnyWorkflow): Effect.Effect<Replayer, StoreError> =>
  Effect.map(Effect.all([ctx.store.getJournal(run.id), ctx.store.getInbox(run.id)]), ([journal, inbox]) =>
    replayerOf(run, workflow, journal, inbox, ctx.redactor),
  )
