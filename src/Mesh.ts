/**
 * The public Effect API: one `Mesh` service that starts runs, executes tasks, runs
 * workers and inspects runs. Provide it with `Mesh.layer({ workflows })` over a Store layer.
 */
import { Clock, Context, Duration, Effect, Layer, type Scope } from "effect"
import * as Engine from "../runtime/Engine.js"
import * as Worker from "../runtime/Worker.js"
import { startScheduler } from "../runtime/Scheduler.js"
import type { AnyWorkflow, OutputOf } from "../dsl/Workflow.js"
import { invalidDuration } from "./core/duration.js"
import { isTerminal } from "./core/model.js"
import type { Jsonify } from "./core/json.js"
import { AwaitTimeoutError, type InvalidOptionError, InvalidWorkflowError, type RunNotFoundError, type StoreError } from "./core/errors.js"
import { inspectRun, listRuns, type InspectOptions, type RunView } from "./inspect.js"
import { explainRun, type Explanation } from "./read/explain.js"
import { inspectRunGraph, type RunGraph } from "./read/graph.js"
import { renderMetrics } from "./metrics/collect.js"
import type { DeadlineStatus } from "../dsl/Deadline.js"
import { Store, type RunFilter } from "./store/Store.js"

/** Options of `awaitRun`. */
export interface AwaitOptions {
  /** How often the run is read. Default 50 ms. */
  readonly pollInterval?: Duration.DurationInput
  /** Give up with `AwaitTimeoutError` once this long has passed. Default: wait for ever. */
  readonly timeout?: Duration.DurationInput
}

/** A run as its workflow's typed view: `output` is the workflow's result after the journal's JSON round trip. */
export type TypedRunView<W> = RunView<Jsonify<OutputOf<W>>>

/** Errors of reading one run. */
export type ReadError = InvalidOptionError | InvalidWorkflowError | RunNotFoundError | StoreError

/** Everything the engine offers, as Effects. */
export interface MeshService extends Engine.EngineService {
  /**
   * Reads a run; `{ history: true }` adds every journal entry with its attempts. Given its
   * workflow first, the output is typed (a run of another workflow is an InvalidWorkflowError).
   */
  inspectRun<W extends AnyWorkflow>(workflow: W, runId: string, options?: InspectOptions): Effect.Effect<TypedRunView<W>, ReadError>
  inspectRun(runId: string, options?: InspectOptions): Effect.Effect<RunView, ReadError>
  /**
   * Explains why a run is where it is: a reason code, a one-line summary, the controls that
   * would succeed now (by the rules the controls enforce) and the evidence, as plain JSON.
   * A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError.
   */
  readonly explainRun: (runId: string) => Effect.Effect<Explanation, InvalidOptionError | RunNotFoundError | StoreError>
  /**
   * A run as a graph a UI can draw: nodes (its commands), edges (sequence, fork and join,
   * compensation), the path taken, the current nodes and its child runs, as plain JSON.
   * A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError.
   */
  readonly inspectRunGraph: (runId: string) => Effect.Effect<RunGraph, InvalidOptionError | RunNotFoundError | StoreError>
  /** Lists runs, newest first; with `deadline`, open runs whose most urgent deadline has that status (earliest due first). */
  readonly listRuns: (filter?: RunFilter & { readonly deadline?: DeadlineStatus }) => Effect.Effect<ReadonlyArray<RunView>, InvalidOptionError | StoreError>
  /** Starts the cron scheduler in the current scope: each window of each cron trigger starts one run. */
  readonly scheduler: Effect.Effect<void, never, Scope.Scope>
  /** Starts a worker in the current scope; it drains when the scope closes. */
  readonly worker: (options?: Worker.WorkerOptions) => Effect.Effect<Worker.WorkerHandle, InvalidOptionError, Scope.Scope>
  /**
   * Polls until the run is terminal (for hosts and demos; workers must be running somewhere).
   * Fails with `AwaitTimeoutError` when `timeout` passes first. Given its workflow first, the
   * output is typed.
   */
  awaitRun<W extends AnyWorkflow>(workflow: W, runId: string, options?: AwaitOptions): Effect.Effect<TypedRunView<W>, ReadError | AwaitTimeoutError>
  awaitRun(runId: string, options?: AwaitOptions): Effect.Effect<RunView, ReadError | AwaitTimeoutError>
  /**
   * The Prometheus text (format 0.0.4) of this mesh: queue depth, runs by status and worker
   * liveness from the store, and this process's claim latency, timer lateness, step attempts and
   * durations, and claims lost. Serve it with `serveMetrics` or from the host's own endpoint.
   */
  readonly metrics: Effect.Effect<string, StoreError>
  readonly store: Store["Type"]
}

/** The Mesh service tag. */
export class Mesh extends Context.Tag("squid-mesh/Mesh")<Mesh, MeshService>() {}

/** Options of `Mesh.layer`. */
export type MeshConfig = Engine.EngineConfig

/** The two call shapes of `inspectRun` and `awaitRun`: `(runId, options)` or `(workflow, runId, options)`. */
type ReadArgs<O> = readonly [workflowOrRunId: AnyWorkflow | string, runIdOrOptions?: string | O, options?: O]

/** Splits the call shapes; the workflow, when given, must be the run's. */
const readArgs = <O>(args: ReadArgs<O>): { readonly workflow: AnyWorkflow | undefined; readonly runId: string; readonly options: O | undefined } =>
  typeof args[0] === "string"
    ? { workflow: undefined, runId: args[0], options: args[1] as O | undefined }
    : { workflow: args[0], runId: args[1] as string, options: args[2] }

const checkWorkflow = (workflow: AnyWorkflow | undefined, view: RunView): Effect.Effect<RunView, InvalidWorkflowError> =>
  workflow === undefined || workflow?.name === view.workflow
    ? Effect.succeed(view)
    : Effect.fail(new InvalidWorkflowError({ workflow: String(workflow?.name), reason: `run ${view.id} is a run of "${view.workflow}"` }))

/** Polls a run until it is terminal, or fails with AwaitTimeoutError. */
const awaitTerminal = (store: Store["Type"], runId: string, options: AwaitOptions = {}): Effect.Effect<RunView, ReadError | AwaitTimeoutError> =>
  Effect.gen(function* () {
    const invalid = invalidDuration("pollInterval", options.pollInterval) ?? invalidDuration("timeout", options.timeout, { positive: false })
    if (invalid) return yield* invalid
    const pollMs = Duration.toMillis(options.pollInterval ?? "50 millis")
    const timeoutMs = options.timeout === undefined ? Number.POSITIVE_INFINITY : Duration.toMillis(options.timeout)
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    for (;;) {
      const view = yield* inspectRun(store, runId)
      if (isTerminal(view.status)) return view
      if ((yield* Clock.currentTimeMillis) >= deadline) return yield* new AwaitTimeoutError({ runId, status: view.status, timeoutMs })
      yield* Effect.sleep(pollMs)
    }
  })

/**
 * Builds the Mesh service over the Store in context, with the engine's test hooks beside it
 * (the test kit provides them; hosts use `make`).
 */
export const makeWithHooks = (
  config: MeshConfig,
): Effect.Effect<{ readonly mesh: MeshService; readonly hooks: Engine.EngineHooks }, InvalidWorkflowError | InvalidOptionError, Store | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* Store
    const { service: engine, port, hooks, metrics } = yield* Engine.make(config)
    const service: MeshService = {
      ...engine,
      store,
      inspectRun: (...args: ReadArgs<InspectOptions>) => {
        const { workflow, runId, options } = readArgs(args)
        return Effect.flatMap(inspectRun(store, runId, options), (view) => checkWorkflow(workflow, view))
      },
      listRuns: (filter) => listRuns(store, filter),
      explainRun: (runId) => explainRun(store, port.workflows, runId),
      inspectRunGraph: (runId) => inspectRunGraph(store, port.workflows, runId),
      worker: (options) => Worker.start(port, options),
      metrics: renderMetrics(store, metrics),
      scheduler: startScheduler(port),
      awaitRun: (...args: ReadArgs<AwaitOptions>) => {
        const { workflow, runId, options } = readArgs(args)
        return Effect.flatMap(awaitTerminal(store, runId, options), (view) => checkWorkflow(workflow, view))
      },
    }
    return { mesh: service, hooks }
  })

/** Builds the Mesh service over the Store in context. */
export const make = (config: MeshConfig): Effect.Effect<MeshService, InvalidWorkflowError | InvalidOptionError, Store | Scope.Scope> =>
  Effect.map(makeWithHooks(config), ({ mesh }) => mesh)

/** A layer providing Mesh, given a Store layer. */
export const layer = (config: MeshConfig): Layer.Layer<Mesh, InvalidWorkflowError | InvalidOptionError, Store> => Layer.scoped(Mesh, make(config))
