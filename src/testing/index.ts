/**
 * The test kit: a Mesh on the in-memory store, driven by Effect's TestClock. Drain due
 * work, jump the clock to the next due task, and stub step bodies for one test. A workflow
 * that sleeps for 30 days runs to completion in milliseconds.
 *
 * @example
 * it.effect("charges and ships", () =>
 *   Effect.gen(function* () {
 *     const { runId } = yield* TestMesh.start(Checkout, { orderId: "o-1" })
 *     const run = yield* TestMesh.runUntilDone(runId)
 *     expect(run.status).toBe("completed")
 *   }).pipe(Effect.provide(TestMesh.layer({ workflows: [Checkout] }))))
 */
import { Clock, Context, Duration, Effect, Layer, TestClock } from "effect"
import type { StepDef } from "../../dsl/Step.js"
import type { AnyWorkflow, ManualTriggerName } from "../../dsl/Workflow.js"
import type { ExecuteResult } from "../../runtime/execute.js"
import type { StepBody } from "../../runtime/StepRunner.js"
import type { StartArgs, StartOptions, StartResult } from "../../runtime/start.js"
import type { EngineHooks } from "../../runtime/Engine.js"
import type { InvalidOptionError, InvalidSpecError, InvalidWorkflowError, StoreError } from "../core/errors.js"
import type { StartError } from "../../runtime/start.js"
import { isTerminal } from "../core/model.js"
import type { RunView } from "../inspect.js"
import { Mesh, makeWithHooks, type MeshConfig, type ReadError } from "../Mesh.js"
import * as MemoryStore from "../store/memory.js"
import { Store, type StoreService } from "../store/Store.js"

/** Options of `TestMesh.layer`. */
export interface TestMeshConfig extends MeshConfig {
  /** Share a store between layers to simulate a process restart. Default: a fresh memory store. */
  readonly store?: StoreService
}

/** The engine's test hooks (step stubs, the sticky cache), beside the Mesh of a test layer. */
export class MeshHooks extends Context.Tag("squid-mesh/testing/MeshHooks")<MeshHooks, EngineHooks>() {}

/**
 * A Mesh with its test hooks over the Store in context: use it to test on PGlite or Postgres
 * (`TestMesh.meshLayer(config).pipe(Layer.provide(PostgresStore.layer(...)))`).
 */
export const meshLayer = (config: MeshConfig): Layer.Layer<Mesh | MeshHooks, InvalidWorkflowError | InvalidOptionError | InvalidSpecError, Store> =>
  Layer.scopedContext(Effect.map(makeWithHooks(config), ({ mesh, hooks }) => Context.make(Mesh, mesh).pipe(Context.add(MeshHooks, hooks))))

/** A Mesh (and its Store) on the in-memory store. Use inside `it.effect` so time is the TestClock. */
export const layer = (config: TestMeshConfig): Layer.Layer<Mesh | MeshHooks | Store> => {
  const store = Layer.succeed(Store, config.store ?? MemoryStore.make())
  return Layer.provideMerge(meshLayer(config).pipe(Layer.orDie), store)
}

/** A fresh in-memory store, to share between two `TestMesh.layer`s. */
export const memoryStore = (): StoreService => MemoryStore.make()

/** Starts a run (same as `Mesh.start`): given a workflow definition, the payload is type-checked. */
export function start<W extends AnyWorkflow, K extends ManualTriggerName<W> = ManualTriggerName<W>>(
  workflow: W,
  ...args: StartArgs<W, K>
): Effect.Effect<StartResult, StartError, Mesh>
/** Starts a run of a workflow by name (untyped payload). */
export function start(workflow: string, payload?: unknown, options?: StartOptions): Effect.Effect<StartResult, StartError, Mesh>
export function start(workflow: AnyWorkflow | string, payload?: unknown, options?: StartOptions): Effect.Effect<StartResult, StartError, Mesh> {
  return Effect.flatMap(Mesh, (mesh) => (typeof workflow === "string" ? mesh.start(workflow, payload, options) : mesh.start(workflow, payload, options)))
}

/** Options of `drain`. */
export interface DrainOptions {
  readonly queue?: string
  /** Safety bound on tasks executed. Default 100,000. */
  readonly maxTasks?: number
  readonly ownerId?: string
  readonly leaseFor?: Duration.DurationInput
}

/** Executes every task due now (and those they make due now) until the queue is idle. */
export const drain = (options: DrainOptions = {}): Effect.Effect<ReadonlyArray<ExecuteResult>, StoreError | InvalidOptionError, Mesh> =>
  Effect.gen(function* () {
    const mesh = yield* Mesh
    const results: Array<ExecuteResult> = []
    const max = options.maxTasks ?? 100_000
    while (results.length < max) {
      const r = yield* mesh.executeNext({
        queue: options.queue ?? "default",
        ownerId: options.ownerId ?? "test-worker",
        ...(options.leaseFor ? { leaseFor: options.leaseFor } : {}),
      })
      if (r._tag === "Idle") break
      results.push(r)
    }
    return results
  })

/** Moves the TestClock forward by `duration`, then drains. */
export const advance = (duration: Duration.DurationInput, options: DrainOptions = {}) => Effect.zipRight(TestClock.adjust(duration), drain(options))

/** Options of `runUntilDone`. */
export interface RunUntilOptions extends DrainOptions {
  /** Give up (returning the run as it is) once the clock has moved this far. Default 3,650 days. */
  readonly maxTime?: Duration.DurationInput
}

/**
 * Drains, then jumps the TestClock to the next due task, until the run is terminal or no
 * task is left (the run waits for something external). Returns the run with its history.
 */
export const runUntilDone = (runId: string, options: RunUntilOptions = {}): Effect.Effect<RunView, ReadError, Mesh> =>
  Effect.gen(function* () {
    const mesh = yield* Mesh
    const queue = options.queue ?? "default"
    const limit = (yield* Clock.currentTimeMillis) + Duration.toMillis(options.maxTime ?? "3650 days")
    for (;;) {
      yield* drain(options)
      const run = yield* mesh.inspectRun(runId, { history: true })
      if (isTerminal(run.status)) return run
      const next = yield* mesh.store.nextDueAt(queue)
      const now = yield* Clock.currentTimeMillis
      if (next === undefined || next > limit) return run
      if (next > now) yield* TestClock.setTime(next)
    }
  })

/** Replaces a step's body for the current test (by definition or name). */
export const stubStep = <I, O>(step: StepDef<I, O> | string, body: (input: I) => unknown): Effect.Effect<void, never, MeshHooks> =>
  Effect.flatMap(MeshHooks, (hooks) => hooks.stubStep(typeof step === "string" ? step : step.stepName, body as StepBody))

/** Drops the sticky cache, so the next task replays its run from the store. */
export const dropCache: Effect.Effect<void, never, MeshHooks> = Effect.flatMap(MeshHooks, (hooks) => hooks.dropCache)

/** The sticky cache's hit and miss counters (warm runs hit; a replay from the store misses). */
export const cacheStats: Effect.Effect<{ readonly hits: number; readonly misses: number; readonly size: number }, never, MeshHooks> = Effect.flatMap(
  MeshHooks,
  (hooks) => hooks.cacheStats,
)
