/**
 * Squid Mesh for TypeScript: an embedded durable workflow runtime.
 *
 * - Author workflows with `Workflow`, `Step` and `Trigger` (generator functions).
 * - Effect hosts: provide `Mesh.layer({ workflows })` over a Store layer
 *   (`PgliteStore.layer`, `MemoryStore.layer`) and use the `Mesh` service.
 * - Promise hosts: `createMesh({ workflows })`.
 */
export { Workflow, Step, Trigger, Command, isCommand, Actions, WorkflowSpec, specJsonSchema, validateSpec, diffSpecs, MAX_SPEC_BYTES } from "../dsl/index.js"
export type {
  CommandResult,
  WorkflowGenerator,
  LogLevel,
  RetryPolicy,
  ExponentialBackoff,
  FixedBackoff,
  StepContext,
  StepDynamicWorkHandle,
  StagedDynamicWork,
  StepDef,
  StepOptions,
  WorkflowDef,
  AnyWorkflow,
  InputOf,
  OutputOf,
  ManualTriggerName,
  StartPayload,
  ManualTrigger,
  PayloadOf,
  DefaultValue,
  ClockDefault,
  ActionDef,
  ActionRegistry,
  SpecProblem,
  SpecValidation,
  ValidateSpecOptions,
  SpecDiff,
} from "../dsl/index.js"
export { previewGraph } from "./read/preview.js"
export type { SpecPreview } from "./read/preview.js"
export { StepError } from "../dsl/Step.js"
export * as Mesh from "./Mesh.js"
export type { MeshService, MeshConfig } from "./Mesh.js"
export { Store } from "./store/Store.js"
export type { StoreService, RunFilter, PurgeRecord, WorkerSeen } from "./store/Store.js"
export * as MemoryStore from "./store/memory.js"
export * as PgliteStore from "./store/pglite.js"
export * as PostgresStore from "./store/postgres.js"
export { createMesh } from "./client.js"
export type { MeshClient, MeshClientOptions, StoreConfig, WorkerClient } from "./client.js"
export { serveMetrics } from "./metrics/server.js"
export type { MetricsServer, MetricsSource, ServeMetricsOptions } from "./metrics/server.js"
export { fromHostLogger } from "./telemetry/hostLogger.js"
export type { HostLogger } from "./telemetry/hostLogger.js"
export type { MinimumLogLevel, TelemetryOptions } from "./telemetry/setup.js"
export type { QueueDepth, RunCount } from "./store/Store.js"
export { serveDashboard } from "./dashboard/server.js"
export type { Dashboard, DashboardOptions } from "./dashboard/server.js"
export type { RunView, EntryView, InspectOptions, DeadlineView } from "./inspect.js"
export type { Explanation, ExplainEvidence, WorkerEvidence, ChildEvidence, DivergenceEvidence } from "./read/explain.js"
export type { ExplainReason, WaitEvidence, TaskEvidence, TaskState } from "./read/waits.js"
export type { NextAction, ActionName } from "./read/actions.js"
export type { RunGraph, GraphNode, GraphEdge, GraphNodeStatus, GraphEdgeKind, ChildLink, DynamicNodeInfo, DynamicWorkOverlay } from "./read/graph.js"
export type { DynamicWorkCounts } from "./read/dynamic.js"
export type { DynamicWaitEvidence } from "./read/waits.js"
export type { ListRunsFilter, ListedRun, RunPage, TimeRange } from "./listRuns.js"
export type { PurgeOptions, PurgeResult } from "../runtime/purge.js"
export type { DynamicWorkOptions, DynamicWorkPreview, DynamicWorkResult, DynamicWorkError } from "../runtime/dynamic/host.js"
export type { ProposalProblem } from "../runtime/dynamic/proposal.js"
export { DYNAMIC_LIMITS, DYNAMIC_SEQ_BASE } from "./core/dynamicWork.js"
export type {
  DynamicWorkProposal,
  StepDynamicWork,
  DynamicNode,
  DynamicEdge,
  DynamicOrigin,
  DynamicWorkMode,
  DynamicWorkFact,
  DynamicNodeInput,
} from "./core/dynamicWork.js"
export { visibilityPolicy, VISIBILITY_SCOPES } from "./read/policy.js"
export type { Actor, VisibilityScope, VisibilityRules, VisibilityPolicy, ViewAs } from "./read/policy.js"
export { redact, redactRun, redactHistory, redactRuns, redactPage, redactExplanation, redactGraph } from "./read/visibility.js"
export type {
  Visible,
  VisibleRunView,
  VisibleEntryView,
  VisibleAttempt,
  VisibleTask,
  VisibleCommand,
  VisibleError,
  VisibleExplanation,
  VisibleEvidence,
  VisibleWait,
  VisibleRunGraph,
  VisibleGraphNode,
  VisiblePage,
  VisibleDynamicNode,
  VisibleDynamicWork,
} from "./read/visibility.js"
export type { StartArgs, StartOptions, StartResult, StartSpecError } from "../runtime/start.js"
export type {
  BackfillOptions,
  BackfillResult,
  ListSchedulesOptions,
  ScheduleControlOptions,
  ScheduleControlOutcome,
  ScheduleView,
} from "../runtime/schedules.js"
export type { CatchUpPolicy, CatchUpView, OverlapPolicy } from "../dsl/cronPolicy.js"
export type { ScheduleEvent, ScheduleEventKind } from "./core/schedule.js"
export type { ControlOptions, ControlOutcome, DecisionOptions, ReasonOptions, SignalOptions } from "../runtime/controls.js"
export type { ApprovalDecision, Resumed, SignalResult } from "../dsl/Workflow.js"
export type { Divergence, ReplayReport } from "../runtime/checkReplay.js"
export type { RerunOptions, RerunOutcome } from "../runtime/rerun.js"
export type { ExecuteOptions, ExecuteResult } from "../runtime/execute.js"
export type { WorkerOptions, WorkerHandle, WorkerStats } from "../runtime/Worker.js"
export * from "./core/errors.js"
export type { RedactionOptions, Redactor } from "./core/redact.js"
export type { Limits } from "../runtime/limits.js"
export type { Jsonify } from "./core/json.js"
export type { AwaitOptions, TypedRunView, ReadError } from "./Mesh.js"
export type { Json } from "./core/json.js"
export type { RunStatus, Entry, EntryKind, EntryStatus, ErrorInfo, AttemptRecord, TaskRecord, CommandRecord } from "./core/model.js"
