/**
 * The Promise facade for hosts that do not use Effect. It exposes the same operations as
 * the `Mesh` service; failures are thrown as the same tagged errors (check `error._tag`).
 *
 * @example
 * const mesh = await createMesh({ workflows: [Checkout] })          // PGlite in .squid-mesh/
 * const worker = await mesh.startWorker({ concurrency: 4 })
 * const { runId } = await mesh.start(Checkout, { orderId: "o-1" })
 * const run = await mesh.awaitRun(runId)
 * await worker.stop(); await mesh.close()
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import type { ActionRegistry } from "../dsl/spec/Actions.js"
import type { AnyWorkflow, ManualTriggerName, OutputOf } from "../dsl/Workflow.js"
import type { ReplayReport } from "../runtime/checkReplay.js"
import type { RerunOptions, RerunOutcome } from "../runtime/rerun.js"
import type { ControlOutcome, DecisionOptions, ReasonOptions, SignalOptions } from "../runtime/controls.js"
import type { ExecuteOptions, ExecuteResult } from "../runtime/execute.js"
import type { Limits } from "../runtime/limits.js"
import type { RedactionOptions } from "./core/redact.js"
import type { StartArgs, StartOptions, StartResult } from "../runtime/start.js"
import type { WorkerOptions, WorkerStats } from "../runtime/Worker.js"
import type { StoreError, StoreLockedError } from "./core/errors.js"
import type { Jsonify } from "./core/json.js"
import type { InspectOptions, RunView } from "./inspect.js"
import type { Explanation } from "./read/explain.js"
import type { RunGraph } from "./read/graph.js"
import type { ListRunsFilter, RunPage } from "./listRuns.js"
import type { PurgeOptions, PurgeResult } from "../runtime/purge.js"
import type { DynamicWorkOptions, DynamicWorkPreview, DynamicWorkResult } from "../runtime/dynamic/host.js"
import type { DynamicWorkProposal } from "./core/dynamicWork.js"
import type {
  BackfillOptions,
  BackfillResult,
  ListSchedulesOptions,
  ScheduleControlOptions,
  ScheduleControlOutcome,
  ScheduleView,
} from "../runtime/schedules.js"
import type { ScheduleEvent } from "./core/schedule.js"
import type { ViewAs, VisibilityRules } from "./read/policy.js"
import type { VisibleExplanation, VisiblePage, VisibleRunGraph, VisibleRunView } from "./read/visibility.js"
import { Mesh, layer as meshLayer, type AwaitOptions, type TypedRunView } from "./Mesh.js"
import { serveMetrics, type MetricsServer, type ServeMetricsOptions } from "./metrics/server.js"
import { invalidTelemetryOption, telemetryLayer, type TelemetryOptions } from "./telemetry/setup.js"
import * as MemoryStore from "./store/memory.js"
import * as PgliteStore from "./store/pglite.js"
import type { PurgeRecord, Store } from "./store/Store.js"

/**
 * Where runs are stored. Default: PGlite (embedded Postgres) in `.squid-mesh/` of the project
 * root (`PgliteStore.resolveDataDir`), locked to this process and served on a local socket;
 * a second process on the same directory goes through that socket.
 */
export type StoreConfig =
  | { readonly kind: "memory" }
  | ({ readonly kind: "pglite"; readonly dataDir?: string } & Pick<PgliteStore.PgliteStoreOptions, "serve" | "mustExist" | "migrate" | "progress">)
  | { readonly kind: "layer"; readonly layer: Layer.Layer<Store, StoreError | StoreLockedError> }

/** Options of `createMesh`: the workflows, the store, limits, redaction, and telemetry (`logger`, `logLevel`, `tracer`). */
export interface MeshClientOptions extends TelemetryOptions {
  readonly workflows: ReadonlyArray<AnyWorkflow>
  /** The action registry runtime-authored specs are resolved through (`startSpec`, and this process's workers). */
  readonly actions?: ActionRegistry
  /** Runtime-authored specs to activate as workflows `spec:<name>` (their cron triggers scheduled; see `EngineConfig.specs`). */
  readonly specs?: ReadonlyArray<unknown>
  readonly store?: StoreConfig
  readonly cacheSize?: number
  /** Size limits of start payloads, step results and signal bodies, in bytes. */
  readonly limits?: Partial<Limits>
  /** Extra secret patterns and key names for redaction (see `EngineConfig.redaction`). */
  readonly redaction?: RedactionOptions
  /** Who sees how much: read methods given `{ as: actor }` apply it (see `MeshConfig.visibility`). */
  readonly visibility?: VisibilityRules
}

/** A running worker, from `startWorker`. */
export interface WorkerClient {
  readonly stats: () => Readonly<WorkerStats>
  /** Stops claiming, waits for in-flight tasks (up to the shutdown timeout), then resolves. */
  readonly stop: () => Promise<void>
}

/** The Promise API. Failures are thrown as the same tagged errors as in the Effect API. */
export interface MeshClient {
  /**
   * Validates and starts a run; nothing is written when validation fails. Given a workflow
   * definition, the payload is type-checked against the chosen manual trigger's schema.
   */
  start<W extends AnyWorkflow, K extends ManualTriggerName<W> = ManualTriggerName<W>>(workflow: W, ...args: StartArgs<W, K>): Promise<StartResult>
  /** Starts a run of a workflow by name (untyped payload). */
  start(workflow: string, payload?: unknown, options?: StartOptions): Promise<StartResult>
  /**
   * Starts a run of a runtime-authored spec, resolved through the mesh's action registry
   * (`InvalidSpecError` with every problem and its JSON path, nothing written, when refused).
   */
  readonly startSpec: (spec: unknown, trigger?: string, payload?: unknown, options?: StartOptions) => Promise<StartResult>
  readonly executeNext: (options?: ExecuteOptions) => Promise<ExecuteResult>
  /** Reads a run; given its workflow first, the output is typed. With `as: actor`, the run as that actor may see it. */
  inspectRun<W extends AnyWorkflow>(workflow: W, runId: string, options: InspectOptions & ViewAs): Promise<VisibleRunView<Jsonify<OutputOf<W>>>>
  inspectRun(runId: string, options: InspectOptions & ViewAs): Promise<VisibleRunView>
  inspectRun<W extends AnyWorkflow>(workflow: W, runId: string, options?: InspectOptions): Promise<TypedRunView<W>>
  inspectRun(runId: string, options?: InspectOptions): Promise<RunView>
  /** Lists runs, newest first, a page at a time; pass `nextCursor` back as `cursor` for the next page. With `as: actor`, each run as that actor may see it. */
  listRuns(filter: ListRunsFilter | undefined, options: ViewAs): Promise<VisiblePage<RunPage>>
  listRuns(filter?: ListRunsFilter): Promise<RunPage>
  /** Why a run is where it is: reason code, summary, the controls that would succeed now, evidence. With `as: actor`, as that actor may see it. */
  explainRun(runId: string, options: ViewAs): Promise<VisibleExplanation>
  explainRun(runId: string): Promise<Explanation>
  /** A run as a graph: nodes, edges, the path taken, the current nodes, child runs. With `as: actor`, as that actor may see it. */
  inspectRunGraph(runId: string, options: ViewAs): Promise<VisibleRunGraph>
  inspectRunGraph(runId: string): Promise<RunGraph>
  /** Deletes terminal runs that finished more than `olderThan` ago, in batches; resolves with how many went. */
  readonly purge: (options: PurgeOptions) => Promise<PurgeResult>
  /** The purge audit trail, newest batch first. */
  readonly listPurges: (options?: { readonly limit?: number }) => Promise<ReadonlyArray<PurgeRecord>>
  /** Waits until the run is terminal; `AwaitTimeoutError` after `timeout`. Given its workflow first, the output is typed. */
  awaitRun<W extends AnyWorkflow>(workflow: W, runId: string, options: AwaitOptions & ViewAs): Promise<VisibleRunView<Jsonify<OutputOf<W>>>>
  awaitRun(runId: string, options: AwaitOptions & ViewAs): Promise<VisibleRunView>
  awaitRun<W extends AnyWorkflow>(workflow: W, runId: string, options?: AwaitOptions): Promise<TypedRunView<W>>
  awaitRun(runId: string, options?: AwaitOptions): Promise<RunView>
  readonly resume: (runId: string, options: ReasonOptions) => Promise<ControlOutcome>
  readonly approve: (runId: string, options: DecisionOptions) => Promise<ControlOutcome>
  readonly reject: (runId: string, options: DecisionOptions) => Promise<ControlOutcome>
  readonly cancel: (runId: string, options: ReasonOptions) => Promise<ControlOutcome>
  readonly signal: (runId: string, name: string, payload: unknown, options?: SignalOptions) => Promise<ControlOutcome>
  readonly rerun: (runId: string, options: RerunOptions) => Promise<RerunOutcome>
  readonly checkReplay: (options?: { readonly limit?: number }) => Promise<ReplayReport>
  /** Checks dynamic work for a run and reports what recording or scheduling it would add; writes nothing. */
  readonly previewDynamicWork: (runId: string, proposal: DynamicWorkProposal) => Promise<DynamicWorkPreview>
  /** Records dynamic work on an active run as an inspection fact (idempotent by key). */
  readonly recordDynamicWork: (runId: string, proposal: DynamicWorkProposal, options?: DynamicWorkOptions) => Promise<DynamicWorkResult>
  /** Schedules dynamic work on an active run: its nodes run registered actions; the run completes once they are done. */
  readonly scheduleDynamicWork: (runId: string, proposal: DynamicWorkProposal, options?: DynamicWorkOptions) => Promise<DynamicWorkResult>
  readonly startWorker: (options?: WorkerOptions) => Promise<WorkerClient>
  /** Every cron trigger: expression, time zone, policies, paused state, last fired window and next fire times. */
  readonly listSchedules: (options?: ListSchedulesOptions) => Promise<ReadonlyArray<ScheduleView>>
  /** Pauses a cron schedule; recorded with the actor. */
  readonly pauseSchedule: (workflow: string, trigger: string, options: ScheduleControlOptions) => Promise<ScheduleControlOutcome>
  /** Resumes a paused cron schedule from its next window; recorded with the actor. */
  readonly resumeSchedule: (workflow: string, trigger: string, options: ScheduleControlOptions) => Promise<ScheduleControlOutcome>
  /** Starts one run per window of `[from, to)`, idempotent per window; refuses more than `limit` windows. */
  readonly backfill: (workflow: string, trigger: string, options: BackfillOptions) => Promise<BackfillResult>
  /** A cron schedule's audit trail, newest first. */
  readonly scheduleEvents: (workflow: string, trigger: string, options?: { readonly limit?: number }) => Promise<ReadonlyArray<ScheduleEvent>>
  /** Starts the cron scheduler; resolves to a stop function. */
  readonly startScheduler: () => Promise<{ readonly stop: () => Promise<void> }>
  /**
   * The Prometheus text (format 0.0.4): queue depth, runs by status and worker liveness from the
   * store; claim latency, timer lateness, step attempts and durations, claims lost in this process.
   */
  readonly metrics: () => Promise<string>
  /** Serves `metrics()` on `GET /metrics` (default 127.0.0.1:9464) until `close()` of the server or of the mesh. */
  readonly serveMetrics: (options?: ServeMetricsOptions) => Promise<MetricsServer>
  /** Stops workers and metrics servers started here, closes the store, and shuts down a tracer layer. */
  readonly close: () => Promise<void>
}

const storeLayer = (config: StoreConfig | undefined): Layer.Layer<Store, StoreError | StoreLockedError> => {
  if (!config || config.kind === "pglite") {
    const { kind: _kind, ...options } = config ?? { kind: "pglite" }
    return PgliteStore.layer({ ...options, dataDir: options.dataDir ?? PgliteStore.resolveDataDir(), announce: true })
  }
  if (config.kind === "memory") return MemoryStore.layer
  return config.layer
}

/** Creates a Promise client. The store opens now; `close()` releases it. */
export const createMesh = async (options: MeshClientOptions): Promise<MeshClient> => {
  const invalid = invalidTelemetryOption(options)
  if (invalid) throw invalid
  const layer = meshLayer({
    workflows: options.workflows,
    ...(options.actions !== undefined ? { actions: options.actions } : {}),
    ...(options.specs !== undefined ? { specs: options.specs } : {}),
    ...(options.cacheSize !== undefined ? { cacheSize: options.cacheSize } : {}),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
    ...(options.redaction !== undefined ? { redaction: options.redaction } : {}),
    ...(options.visibility !== undefined ? { visibility: options.visibility } : {}),
  }).pipe(Layer.provide(storeLayer(options.store)), Layer.provideMerge(telemetryLayer(options)))
  const runtime = ManagedRuntime.make(layer)
  const run = async <A, E>(f: (mesh: Mesh["Type"]) => Effect.Effect<A, E, never>): Promise<A> => {
    const exit = await runtime.runPromiseExit(Effect.flatMap(Mesh, f))
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  }
  await run(() => Effect.void)
  const workers = new Set<Scope.CloseableScope>()
  const servers = new Set<MetricsServer>()
  const client: MeshClient = {
    start: (workflow: AnyWorkflow | string, payload?: unknown, startOptions?: StartOptions) =>
      run((m) => (typeof workflow === "string" ? m.start(workflow, payload, startOptions) : m.start(workflow, payload, startOptions))),
    startSpec: (spec, trigger, payload, o) => run((m) => m.startSpec(spec, trigger, payload, o)),
    executeNext: (o) => run((m) => m.executeNext(o)),
    // Each read passes `as` on when given, so the Mesh overload that redacts is the one called.
    inspectRun: ((first: AnyWorkflow | string, second?: string | InspectOptions, third?: InspectOptions) =>
      run((m) =>
        typeof first === "string"
          ? m.inspectRun(first, second as InspectOptions & ViewAs)
          : m.inspectRun(first, second as string, third as InspectOptions & ViewAs),
      )) as MeshClient["inspectRun"],
    listRuns: ((filter?: ListRunsFilter, o?: ViewAs) => (o ? run((m) => m.listRuns(filter, o)) : run((m) => m.listRuns(filter)))) as MeshClient["listRuns"],
    explainRun: ((runId: string, o?: ViewAs) => (o ? run((m) => m.explainRun(runId, o)) : run((m) => m.explainRun(runId)))) as MeshClient["explainRun"],
    inspectRunGraph: ((runId: string, o?: ViewAs) =>
      o ? run((m) => m.inspectRunGraph(runId, o)) : run((m) => m.inspectRunGraph(runId))) as MeshClient["inspectRunGraph"],
    purge: (o) => run((m) => m.purge(o)),
    previewDynamicWork: (runId, proposal) => run((m) => m.previewDynamicWork(runId, proposal)),
    recordDynamicWork: (runId, proposal, o) => run((m) => m.recordDynamicWork(runId, proposal, o)),
    scheduleDynamicWork: (runId, proposal, o) => run((m) => m.scheduleDynamicWork(runId, proposal, o)),
    listPurges: (o) => run((m) => m.listPurges(o)),
    awaitRun: ((first: AnyWorkflow | string, second?: string | AwaitOptions, third?: AwaitOptions) =>
      run((m) =>
        typeof first === "string" ? m.awaitRun(first, second as AwaitOptions & ViewAs) : m.awaitRun(first, second as string, third as AwaitOptions & ViewAs),
      )) as MeshClient["awaitRun"],
    resume: (runId, o) => run((m) => m.resume(runId, o)),
    approve: (runId, o) => run((m) => m.approve(runId, o)),
    reject: (runId, o) => run((m) => m.reject(runId, o)),
    cancel: (runId, o) => run((m) => m.cancel(runId, o)),
    signal: (runId, name, payload, o) => run((m) => m.signal(runId, name, payload, o)),
    rerun: (runId, o) => run((m) => m.rerun(runId, o)),
    checkReplay: (o) => run((m) => m.checkReplay(o)),
    listSchedules: (o) => run((m) => m.listSchedules(o)),
    pauseSchedule: (workflow, trigger, o) => run((m) => m.pauseSchedule(workflow, trigger, o)),
    resumeSchedule: (workflow, trigger, o) => run((m) => m.resumeSchedule(workflow, trigger, o)),
    backfill: (workflow, trigger, o) => run((m) => m.backfill(workflow, trigger, o)),
    scheduleEvents: (workflow, trigger, o) => run((m) => m.scheduleEvents(workflow, trigger, o)),
    startWorker: async (workerOptions) => {
      const scope = await runtime.runPromise(Scope.make())
      workers.add(scope)
      const handle = await run((m) => Scope.extend(m.worker(workerOptions), scope))
      let stats: Readonly<WorkerStats> = { executed: 0, retries: 0, fenced: 0, idlePolls: 0, errors: 0 }
      const refresh = () => runtime.runSync(handle.stats)
      return {
        stats: () => (stats = refresh()),
        stop: async () => {
          if (!workers.delete(scope)) return
          stats = refresh()
          await runtime.runPromise(Scope.close(scope, Exit.void))
        },
      }
    },
    startScheduler: async () => {
      const scope = await runtime.runPromise(Scope.make())
      workers.add(scope)
      await run((m) => Scope.extend(m.scheduler, scope))
      return {
        stop: async () => {
          if (workers.delete(scope)) await runtime.runPromise(Scope.close(scope, Exit.void))
        },
      }
    },
    metrics: () => run((m) => m.metrics),
    serveMetrics: async (serveOptions) => {
      const server = await serveMetrics(client, serveOptions)
      servers.add(server)
      return {
        ...server,
        close: async () => {
          if (servers.delete(server)) await server.close()
        },
      }
    },
    close: async () => {
      for (const server of servers) await server.close()
      servers.clear()
      for (const scope of workers) await runtime.runPromise(Scope.close(scope, Exit.void))
      workers.clear()
      await runtime.dispose()
    },
  }
  return client
}
