/**
 * The public Effect API: one `Mesh` service that starts runs, executes tasks, runs
 * workers and inspects runs. Provide it with `Mesh.layer({ workflows })` over a Store layer.
 */
import { Clock, Context, Duration, Effect, Layer, type Scope } from "effect"
import * as Engine from "../runtime/Engine.js"
import * as Worker from "../runtime/Worker.js"
import { startScheduler } from "../runtime/Scheduler.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { isTerminal } from "./core/model.js"
import type { InvalidOptionError, InvalidWorkflowError, RunNotFoundError, StoreError } from "./core/errors.js"
import { inspectRun, listRuns, type InspectOptions, type RunView } from "./inspect.js"
import type { DeadlineStatus } from "../dsl/Deadline.js"
import { Store, type RunFilter } from "./store/Store.js"

/** Everything the engine offers, as Effects. */
export interface MeshService extends Engine.EngineService {
  /** Reads a run; `{ history: true }` adds every journal entry with its attempts. */
  readonly inspectRun: (runId: string, options?: InspectOptions) => Effect.Effect<RunView, InvalidOptionError | RunNotFoundError | StoreError>
  /** Lists runs, newest first; with `deadline`, open runs whose most urgent deadline has that status (earliest due first). */
  readonly listRuns: (filter?: RunFilter & { readonly deadline?: DeadlineStatus }) => Effect.Effect<ReadonlyArray<RunView>, StoreError>
  /** Starts the cron scheduler in the current scope: each window of each cron trigger starts one run. */
  readonly scheduler: Effect.Effect<void, never, Scope.Scope>
  /** Starts a worker in the current scope; it drains when the scope closes. */
  readonly worker: (options?: Worker.WorkerOptions) => Effect.Effect<Worker.WorkerHandle, never, Scope.Scope>
  /** Polls until the run is terminal (for hosts and demos; workers must be running somewhere). */
  readonly awaitRun: (
    runId: string,
    options?: { readonly pollInterval?: Duration.DurationInput; readonly timeout?: Duration.DurationInput },
  ) => Effect.Effect<RunView, InvalidOptionError | RunNotFoundError | StoreError>
  readonly store: Store["Type"]
}

/** The Mesh service tag. */
export class Mesh extends Context.Tag("squid-mesh/Mesh")<Mesh, MeshService>() {}

/** Options of `Mesh.layer`. */
export type MeshConfig = Engine.EngineConfig

/** Builds the Mesh service over the Store in context. */
export const make = (config: MeshConfig): Effect.Effect<MeshService, InvalidWorkflowError, Store | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* Store
    const engine = yield* Engine.make(config)
    const service: MeshService = {
      ...engine,
      store,
      inspectRun: (runId, options) => inspectRun(store, runId, options),
      listRuns: (filter) => listRuns(store, filter),
      worker: (options) => Worker.start(engine, options),
      scheduler: startScheduler(engine),
      awaitRun: (runId, options = {}) =>
        Effect.gen(function* () {
          const pollMs = Duration.toMillis(options.pollInterval ?? "50 millis")
          const deadline = options.timeout === undefined ? Number.POSITIVE_INFINITY : (yield* Clock.currentTimeMillis) + Duration.toMillis(options.timeout)
          for (;;) {
            const view = yield* inspectRun(store, runId)
            if (isTerminal(view.status) || (yield* Clock.currentTimeMillis) >= deadline) return view
            yield* Effect.sleep(pollMs)
          }
        }),
    }
    return service
  })

/** A layer providing Mesh, given a Store layer. */
export const layer = (config: MeshConfig): Layer.Layer<Mesh, InvalidWorkflowError, Store> => Layer.scoped(Mesh, make(config))
