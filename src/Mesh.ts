/**
 * The public Effect API: one `Mesh` service that starts runs, executes tasks, runs
 * workers and inspects runs. Provide it with `Mesh.layer({ workflows })` over a Store layer.
 */
import { Clock, Context, Duration, Effect, Layer, type Scope } from "effect"
import * as Engine from "../runtime/Engine.js"
import * as Worker from "../runtime/Worker.js"
import type { AnyWorkflow, OutputOf } from "../dsl/Workflow.js"
import { invalidDuration } from "./core/duration.js"
import { isTerminal } from "./core/model.js"
import type { Jsonify } from "./core/json.js"
import { AwaitTimeoutError, InvalidOptionError, InvalidWorkflowError, type InvalidSpecError, type RunNotFoundError, type StoreError } from "./core/errors.js"
import { inspectRun, type InspectOptions, type RunView } from "./inspect.js"
import { listRuns, type ListRunsFilter, type RunPage } from "./listRuns.js"
import { explainRun, type Explanation } from "./read/explain.js"
import { inspectRunGraph, type RunGraph } from "./read/graph.js"
import { readerOf, validatePolicy, type ViewAs, type VisibilityRules } from "./read/policy.js"
import {
  redactExplanation,
  redactGraph,
  redactPage,
  redactRun,
  type VisibleExplanation,
  type VisiblePage,
  type VisibleRunGraph,
  type VisibleRunView,
} from "./read/visibility.js"
import { Store, type PurgeRecord } from "./store/Store.js"
import { renderMetrics } from "./metrics/collect.js"

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
   * With `as: actor` (a mesh with a `visibility` policy), the run as that actor may see it.
   */
  inspectRun<W extends AnyWorkflow>(
    workflow: W,
    runId: string,
    options: InspectOptions & ViewAs,
  ): Effect.Effect<VisibleRunView<Jsonify<OutputOf<W>>>, ReadError>
  inspectRun(runId: string, options: InspectOptions & ViewAs): Effect.Effect<VisibleRunView, ReadError>
  inspectRun<W extends AnyWorkflow>(workflow: W, runId: string, options?: InspectOptions): Effect.Effect<TypedRunView<W>, ReadError>
  inspectRun(runId: string, options?: InspectOptions): Effect.Effect<RunView, ReadError>
  /**
   * Explains why a run is where it is: a reason code, a one-line summary, the controls that
   * would succeed now (by the rules the controls enforce) and the evidence, as plain JSON.
   * A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError. With `as:
   * actor`, the explanation as that actor may see it.
   */
  explainRun(runId: string, options: ViewAs): Effect.Effect<VisibleExplanation, InvalidOptionError | RunNotFoundError | StoreError>
  explainRun(runId: string): Effect.Effect<Explanation, InvalidOptionError | RunNotFoundError | StoreError>
  /**
   * A run as a graph a UI can draw: nodes (its commands), edges (sequence, fork and join,
   * compensation), the path taken, the current nodes and its child runs, as plain JSON.
   * A malformed id is an InvalidOptionError; an unknown one a RunNotFoundError. With `as:
   * actor`, the graph as that actor may see it.
   */
  inspectRunGraph(runId: string, options: ViewAs): Effect.Effect<VisibleRunGraph, InvalidOptionError | RunNotFoundError | StoreError>
  inspectRunGraph(runId: string): Effect.Effect<RunGraph, InvalidOptionError | RunNotFoundError | StoreError>
  /**
   * Lists runs, newest first, a page at a time (`limit`, default 100, at most 1,000); pass
   * `nextCursor` back as `cursor` for the next page. Filters: status (one or several),
   * workflow, trigger, created/updated time ranges, parent run, idempotency key, attributes;
   * with `deadline`, open runs whose most urgent deadline has that status (earliest due first).
   * With `as: actor`, each run as that actor may see it.
   */
  listRuns(filter: ListRunsFilter | undefined, options: ViewAs): Effect.Effect<VisiblePage<RunPage>, InvalidOptionError | StoreError>
  listRuns(filter?: ListRunsFilter): Effect.Effect<RunPage, InvalidOptionError | StoreError>
  /** The purge audit trail, newest batch first (default the last 100). */
  readonly listPurges: (options?: { readonly limit?: number }) => Effect.Effect<ReadonlyArray<PurgeRecord>, InvalidOptionError | StoreError>
  /**
   * Starts the cron scheduler in the current scope: each window of each cron trigger is decided
   * once (started, skipped or buffered by its overlap policy), however many schedulers run.
   */
  readonly scheduler: Effect.Effect<void, never, Scope.Scope>
  /** Starts a worker in the current scope; it drains when the scope closes. */
  readonly worker: (options?: Worker.WorkerOptions) => Effect.Effect<Worker.WorkerHandle, InvalidOptionError, Scope.Scope>
  /**
   * Polls until the run is terminal (for hosts and demos; workers must be running somewhere).
   * Fails with `AwaitTimeoutError` when `timeout` passes first. Given its workflow first, the
   * output is typed. With `as: actor`, the run as that actor may see it.
   */
  awaitRun<W extends AnyWorkflow>(
    workflow: W,
    runId: string,
    options: AwaitOptions & ViewAs,
  ): Effect.Effect<VisibleRunView<Jsonify<OutputOf<W>>>, ReadError | AwaitTimeoutError>
  awaitRun(runId: string, options: AwaitOptions & ViewAs): Effect.Effect<VisibleRunView, ReadError | AwaitTimeoutError>
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
export interface MeshConfig extends Engine.EngineConfig {
  /**
   * Who sees how much: maps an actor to `auditor`, `operator` or `external` (src/read/policy.ts).
   * Read methods given `{ as: actor }` apply it; without it they return everything, as before.
   */
  readonly visibility?: VisibilityRules
}

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
): Effect.Effect<
  { readonly mesh: MeshService; readonly hooks: Engine.EngineHooks },
  InvalidWorkflowError | InvalidOptionError | InvalidSpecError,
  Store | Scope.Scope
> =>
  Effect.gen(function* () {
    const store = yield* Store
    const policy = config.visibility === undefined ? undefined : validatePolicy(config.visibility)
    if (policy instanceof InvalidOptionError) return yield* policy
    const { service: engine, port, hooks, metrics } = yield* Engine.make(config)
    const service: MeshService = {
      ...engine,
      store,
      // The overloads tie the result's type to `as`; each body returns the view redacted exactly when `as` is given.
      inspectRun: ((...args: ReadArgs<InspectOptions & Partial<ViewAs>>) => {
        const { workflow, runId, options } = readArgs(args)
        return Effect.flatMap(readerOf(policy, options), (reader) =>
          Effect.flatMap(inspectRun(store, runId, options), (view) =>
            Effect.map(checkWorkflow(workflow, view), (v) => (reader ? redactRun(v, reader.actor, reader.policy) : v)),
          ),
        )
      }) as MeshService["inspectRun"],
      listRuns: ((filter?: ListRunsFilter, options?: Partial<ViewAs>) =>
        Effect.flatMap(readerOf(policy, options), (reader) =>
          Effect.map(listRuns(store, filter), (page) => (reader ? redactPage(page, reader.actor, reader.policy) : page)),
        )) as MeshService["listRuns"],
      explainRun: ((runId: string, options?: Partial<ViewAs>) =>
        Effect.flatMap(readerOf(policy, options), (reader) =>
          Effect.map(
            Effect.flatMap(port.workflowsFor(runId), (workflows) => explainRun(store, workflows, runId)),
            (v) => (reader ? redactExplanation(v, reader.actor, reader.policy) : v),
          ),
        )) as MeshService["explainRun"],
      inspectRunGraph: ((runId: string, options?: Partial<ViewAs>) =>
        Effect.flatMap(readerOf(policy, options), (reader) =>
          Effect.map(
            Effect.flatMap(port.workflowsFor(runId), (workflows) => inspectRunGraph(store, workflows, runId)),
            (v) => (reader ? redactGraph(v, reader.actor, reader.policy) : v),
          ),
        )) as MeshService["inspectRunGraph"],
      listPurges: (options = {}) => {
        const limit = options.limit ?? 100
        return Number.isInteger(limit) && limit >= 1 && limit <= 1000
          ? store.listPurges(limit)
          : Effect.fail(new InvalidOptionError({ option: "limit", value: String(limit), reason: "expected an integer from 1 to 1000" }))
      },
      worker: (options) => Worker.start(port, options),
      metrics: renderMetrics(store, metrics),
      scheduler: port.scheduler,
      awaitRun: ((...args: ReadArgs<AwaitOptions & Partial<ViewAs>>) => {
        const { workflow, runId, options } = readArgs(args)
        // The actor is checked before waiting: an unknown one fails at once, not after the run ends.
        return Effect.flatMap(readerOf(policy, options), (reader) =>
          Effect.flatMap(awaitTerminal(store, runId, options), (view) =>
            Effect.map(checkWorkflow(workflow, view), (v) => (reader ? redactRun(v, reader.actor, reader.policy) : v)),
          ),
        )
      }) as MeshService["awaitRun"],
    }
    return { mesh: service, hooks }
  })

/** Builds the Mesh service over the Store in context. */
export const make = (config: MeshConfig): Effect.Effect<MeshService, InvalidWorkflowError | InvalidOptionError | InvalidSpecError, Store | Scope.Scope> =>
  Effect.map(makeWithHooks(config), ({ mesh }) => mesh)

/** A layer providing Mesh, given a Store layer. */
export const layer = (config: MeshConfig): Layer.Layer<Mesh, InvalidWorkflowError | InvalidOptionError | InvalidSpecError, Store> =>
  Layer.scoped(Mesh, make(config))
