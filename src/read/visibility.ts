/**
 * Visibility: the read models (a run with or without its history, an explanation, a graph, a
 * list of runs) as one actor may see them, by the scope a `VisibilityPolicy` gives that actor.
 *
 * Every object keeps an allow-list of fields per scope; whatever else it had is withheld:
 * the field is left out, and the object's `hidden` lists the names of the fields it lost (only
 * fields that were set: an absent output is not "hidden"). A field that is reduced rather than
 * left out (an error down to its code) carries its own `hidden`. Every redacted view says
 * which `scope` it was read with at its top. Nothing is redacted in place: the input view is
 * not changed. A field this module does not know (added to a read model later) is withheld
 * from operators and external actors until it is listed here.
 *
 * What each scope keeps:
 *
 * | object | external | operator adds | auditor adds |
 * |---|---|---|---|
 * | run | id, workflow, trigger, queue, status, revision, definitionHash, rerunOf, parentRunId, parentSeq, scheduledFor, createdAt, updatedAt, finishedAt, history, tasks, deadline, children, commands | error (reduced), attributes | input, output, idempotencyKey, error.message, error.details |
 * | error (run, entry, attempt) | (withheld) | code, retryable, step, seq | message, details |
 * | history entry | seq, kind, name, status, attemptCount, attempts, createdAt, resolvedAt, deadline, deadlineStatus | error (reduced) | input, output (step input/output, log lines, sleep times, gate decisions and notes, signal payloads, child inputs and results) |
 * | attempt | seq, attempt, status, startedAt, finishedAt, retryAt | owner, error (reduced) | |
 * | task | runId, seq, queue, kind, attempt, visibleAt | owner, claimId, leaseUntil | |
 * | audit event (command) | kind, seq, at | actor | note, metadata, idempotencyKey |
 * | child, deadline | all | | |
 * | explanation | runId, workflow, queue, status, reason, nextActions, evidence, summary (written from the redacted evidence) | | the original summary |
 * | evidence | now, createdAt, finishedAt, workflowRegistered, wait, alsoWaiting, worker, inbox (names, times), child, compensations, divergence (kinds, names), cancelledBy, irreversibleSteps, rerunRefused, dynamicWork (counts) | replayError, error (code, step, seq) | error.message |
 * | wait | reason, seq, kind, name, since, waitedMs, task, attempt, maxAttempts, dueAt, deadline, onDeadline, compensates, childRunId, childWorkflow, dynamic (key, action, node, state) | lastError (code) | lastError.message |
 * | task evidence | kind, state, attempt, visibleAt | owner, leaseUntil | |
 * | worker evidence | queue, seenRecently, lastSeenAt | owner | |
 * | compensation outcome | step, seq, status | error (a code) | |
 * | cancelledBy | at | actor | note |
 * | child evidence | runId, workflow, status, explanation (redacted the same way) | | |
 * | graph | runId, workflow, status, terminal, structure, nodes, edges, path, current, children, parent, dynamicWork | | |
 * | graph node | id, seq, kind, name, status, attempts, createdAt, startedAt, resolvedAt, durationMs, group, raceLoser, childRunId, dynamic | error (code) | error.message |
 * | dynamic node (graph node's `dynamic`) | key, node, mode, action, maxAttempts | | params, input, metadata |
 * | dynamic work (graph's `dynamicWork`) | key, mode, seq, origin, nodeIds, edgeIds, createdAt | | reason, metadata |
 *
 * Payloads are run inputs and outputs, step inputs and outputs, signal payloads, approval and
 * resume decisions and notes, audit metadata, idempotency keys (callers' business ids), error
 * messages and details (they often quote the data a step worked on), child inputs, and dynamic
 * work's node params, inputs and metadata, its metadata and its reason (free text, like a
 * note). Error codes are status-like and shown to operators. Dynamic work keeps its shape for
 * everyone: node ids, actions, statuses, and its edges.
 */
import type { Json } from "../core/json.js"
import type { ErrorInfo } from "../core/model.js"
import type { DeadlineView, EntryView, RunView } from "../inspect.js"
import type { ChildEvidence, ExplainEvidence, Explanation, WorkerEvidence } from "./explain.js"
import type { DynamicNodeInfo, DynamicWorkOverlay, GraphNode, RunGraph } from "./graph.js"
import type { Actor, VisibilityPolicy, VisibilityScope } from "./policy.js"
import { summarize } from "./summary.js"
import type { TaskEvidence, WaitEvidence } from "./waits.js"

/**
 * `T` as a scope may show it: the fields in `Kept` are always there (as in `T`), the others
 * may be withheld (optional), `Nested` gives the redacted types of nested objects, and
 * `hidden` lists what was withheld.
 */
export type Visible<T, Kept extends keyof T, Nested = {}> = Omit<Pick<T, Kept>, keyof Nested> &
  Partial<Omit<T, Kept | keyof Nested>> &
  Nested & {
    /** The fields withheld from this object (left out) by the reader's scope. */
    readonly hidden?: ReadonlyArray<Exclude<keyof T, Kept> & string>
  }

/** A stored error as a scope shows it: operators keep its code, step and seq; messages and details are auditors' only. */
export type VisibleError = Visible<ErrorInfo, "code" | "retryable" | "step" | "seq">

/** One attempt of a step as a scope shows it. */
export type VisibleAttempt = Visible<
  EntryView["attempts"][number],
  "seq" | "attempt" | "status" | "startedAt" | "finishedAt" | "retryAt",
  { readonly error?: VisibleError }
>

/** A live task as a scope shows it. */
export type VisibleTask = Visible<NonNullable<RunView["tasks"]>[number], "runId" | "seq" | "queue" | "kind" | "attempt" | "visibleAt">

/** An audit event as a scope shows it. */
export type VisibleCommand = Visible<NonNullable<RunView["commands"]>[number], "kind" | "seq" | "at">

/** A journal entry with its attempts as a scope shows it. */
export type VisibleEntryView = Visible<
  EntryView,
  "seq" | "kind" | "name" | "status" | "attemptCount" | "attempts" | "createdAt" | "resolvedAt" | "deadline" | "deadlineStatus" | "irreversible",
  { readonly attempts: ReadonlyArray<VisibleAttempt>; readonly error?: VisibleError }
>

/** Fields of a run every scope sees. */
type RunKept =
  | "id"
  | "workflow"
  | "trigger"
  | "queue"
  | "status"
  | "revision"
  | "definitionHash"
  | "rerunOf"
  | "parentRunId"
  | "parentSeq"
  | "scheduledFor"
  | "createdAt"
  | "updatedAt"
  | "finishedAt"
  | "deadline"
  | "children"
  | "history"
  | "tasks"
  | "commands"

/** A run (`inspectRun`, `listRuns`) as the scope it was read with shows it. */
export type VisibleRunView<Out = Json> = Visible<
  RunView<Out>,
  RunKept,
  {
    readonly error?: VisibleError
    readonly history?: ReadonlyArray<VisibleEntryView>
    readonly tasks?: ReadonlyArray<VisibleTask>
    readonly commands?: ReadonlyArray<VisibleCommand>
    readonly deadline?: DeadlineView
    /** The scope this view was read with. */
    readonly scope: VisibilityScope
  }
>

/** A wait as a scope shows it (explanations). */
export type VisibleWait = Visible<
  WaitEvidence,
  Exclude<keyof WaitEvidence, "lastError">,
  {
    readonly task?: Visible<TaskEvidence, "kind" | "state" | "attempt" | "visibleAt">
    readonly lastError?: Visible<NonNullable<WaitEvidence["lastError"]>, "code">
  }
>

/** An explanation's evidence as a scope shows it. */
export type VisibleEvidence = Visible<
  ExplainEvidence,
  | "now"
  | "createdAt"
  | "finishedAt"
  | "workflowRegistered"
  | "wait"
  | "alsoWaiting"
  | "worker"
  | "inbox"
  | "child"
  | "compensations"
  | "divergence"
  | "cancelledBy"
  | "irreversibleSteps"
  | "rerunRefused"
  | "dynamicWork",
  {
    readonly wait?: VisibleWait
    readonly alsoWaiting?: ReadonlyArray<VisibleWait>
    readonly worker?: Visible<WorkerEvidence, "queue" | "seenRecently" | "lastSeenAt">
    /** The child's explanation, redacted the same way (its `scope` is set below auditor). */
    readonly child?: Visible<
      ChildEvidence,
      "runId" | "workflow" | "status",
      { readonly explanation?: Omit<VisibleExplanation, "scope"> & { readonly scope?: VisibilityScope } }
    >
    readonly error?: Visible<NonNullable<ExplainEvidence["error"]>, "code" | "step" | "seq">
    readonly cancelledBy?: Visible<NonNullable<ExplainEvidence["cancelledBy"]>, "at">
  }
>

/** An explanation (`explainRun`) as the scope it was read with shows it; its summary is written from the evidence it keeps. */
export type VisibleExplanation = Visible<
  Explanation,
  "runId" | "workflow" | "queue" | "status" | "reason" | "summary" | "nextActions" | "evidence",
  { readonly evidence: VisibleEvidence; readonly scope: VisibilityScope }
>

/** A dynamic node's work and action as a scope shows it: its payloads are auditors' only. */
export type VisibleDynamicNode = Visible<DynamicNodeInfo, "key" | "node" | "mode" | "action" | "maxAttempts">

/** A graph node as a scope shows it. */
export type VisibleGraphNode = Visible<
  GraphNode,
  Exclude<keyof GraphNode, "error">,
  { readonly error?: Visible<NonNullable<GraphNode["error"]>, "code">; readonly dynamic?: VisibleDynamicNode }
>

/** A dynamic work fact of a graph as a scope shows it: its shape for everyone, its reason and metadata for auditors. */
export type VisibleDynamicWork = Visible<DynamicWorkOverlay, "key" | "mode" | "seq" | "origin" | "nodeIds" | "edgeIds" | "createdAt">

/** A run's graph (`inspectRunGraph`) as the scope it was read with shows it. */
export type VisibleRunGraph = Visible<
  RunGraph,
  Exclude<keyof RunGraph, "nodes">,
  { readonly nodes: ReadonlyArray<VisibleGraphNode>; readonly dynamicWork?: ReadonlyArray<VisibleDynamicWork>; readonly scope: VisibilityScope }
>

/** A page of runs (`{ runs, nextCursor? }` and any other fields, kept as they are) with its runs redacted. */
export type VisiblePage<P extends { readonly runs: ReadonlyArray<RunView> }> = Omit<P, "runs"> & { readonly runs: ReadonlyArray<VisibleRunView> }

/** The two scopes that withhold anything. */
type Restricted = Exclude<VisibilityScope, "auditor">

/** What each restricted scope keeps of each object (see the table above). */
const KEEP = {
  run: {
    external: [
      "id",
      "workflow",
      "trigger",
      "queue",
      "status",
      "revision",
      "definitionHash",
      "rerunOf",
      "parentRunId",
      "parentSeq",
      "scheduledFor",
      "createdAt",
      "updatedAt",
      "finishedAt",
      "history",
      "tasks",
      "deadline",
      "children",
      "commands",
    ],
    // Attributes are the identifiers operators search by (a tenant, a region): not shown outside.
    operator: ["error", "attributes"],
  },
  error: { external: [], operator: ["code", "retryable", "step", "seq"] },
  entry: {
    external: ["seq", "kind", "name", "status", "attemptCount", "attempts", "createdAt", "resolvedAt", "deadline", "deadlineStatus", "irreversible"],
    operator: ["error"],
  },
  attempt: { external: ["seq", "attempt", "status", "startedAt", "finishedAt", "retryAt"], operator: ["owner", "error"] },
  task: { external: ["runId", "seq", "queue", "kind", "attempt", "visibleAt"], operator: ["owner", "claimId", "leaseUntil"] },
  command: { external: ["kind", "seq", "at"], operator: ["actor"] },
  child: { external: ["id", "workflow", "status", "parentSeq"], operator: [] },
  deadline: { external: ["status", "seq", "kind", "name", "dueAt", "remainingMs", "escalation"], operator: [] },
  explanation: { external: ["runId", "workflow", "queue", "status", "reason", "summary", "nextActions", "evidence"], operator: [] },
  evidence: {
    external: [
      "now",
      "createdAt",
      "finishedAt",
      "workflowRegistered",
      "wait",
      "alsoWaiting",
      "worker",
      "inbox",
      "child",
      "compensations",
      "divergence",
      "cancelledBy",
      "irreversibleSteps",
      "rerunRefused",
      "dynamicWork",
    ],
    operator: ["replayError", "error"],
  },
  wait: {
    external: [
      "reason",
      "seq",
      "kind",
      "name",
      "since",
      "waitedMs",
      "task",
      "attempt",
      "maxAttempts",
      "dueAt",
      "deadline",
      "onDeadline",
      "compensates",
      "childRunId",
      "childWorkflow",
      "dynamic",
    ],
    operator: ["lastError"],
  },
  taskEvidence: { external: ["kind", "state", "attempt", "visibleAt"], operator: ["owner", "leaseUntil"] },
  worker: { external: ["queue", "seenRecently", "lastSeenAt"], operator: ["owner"] },
  compensation: { external: ["step", "seq", "status"], operator: ["error"] },
  cancelledBy: { external: ["at"], operator: ["actor"] },
  childEvidence: { external: ["runId", "workflow", "status", "explanation"], operator: [] },
  inbox: { external: ["name", "receivedAt"], operator: [] },
  divergence: { external: ["seq", "expected", "actual", "recorded"], operator: [] },
  ref: { external: ["kind", "name"], operator: [] },
  rerunRefused: { external: ["reason", "detail"], operator: [] },
  graph: {
    external: ["runId", "workflow", "status", "terminal", "structure", "nodes", "edges", "path", "current", "children", "parent", "dynamicWork"],
    operator: [],
  },
  node: {
    external: [
      "id",
      "seq",
      "kind",
      "name",
      "status",
      "attempts",
      "createdAt",
      "startedAt",
      "resolvedAt",
      "durationMs",
      "group",
      "raceLoser",
      "childRunId",
      "dynamic",
    ],
    operator: ["error"],
  },
  dynamicNode: { external: ["key", "node", "mode", "action", "maxAttempts"], operator: [] },
  dynamicWork: { external: ["key", "mode", "seq", "origin", "nodeIds", "edgeIds", "createdAt"], operator: [] },
} as const satisfies Record<string, { readonly external: ReadonlyArray<string>; readonly operator: ReadonlyArray<string> }>

type Kind = keyof typeof KEEP

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The fields of `value` a scope keeps (those of its kind's allow-list that are set), with
 * `redactField` applied to each, and `hidden` listing the set fields it left out.
 */
const keep = (kind: Kind, value: object, scope: Restricted, redactField: (key: string, field: unknown) => unknown = (_k, f) => f): Record<string, unknown> => {
  const allowed: ReadonlyArray<string> = scope === "operator" ? [...KEEP[kind].external, ...KEEP[kind].operator] : KEEP[kind].external
  const out: Record<string, unknown> = {}
  const hidden: Array<string> = []
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined || key === "hidden" || key === "scope") continue
    if (allowed.includes(key)) out[key] = redactField(key, field)
    else hidden.push(key)
  }
  return hidden.length > 0 ? { ...out, hidden } : out
}

/** Each object of a list, kept by its kind's allow-list. */
const keepAll = (kind: Kind, list: unknown, scope: Restricted): ReadonlyArray<unknown> =>
  Array.isArray(list) ? list.map((item) => (isObject(item) ? keep(kind, item, scope) : item)) : []

/** A stored error reduced to what the scope keeps. */
const errorOf = (error: unknown, scope: Restricted): unknown => (isObject(error) ? keep("error", error, scope) : error)

const entryOf = (entry: EntryView, scope: Restricted) =>
  keep("entry", entry, scope, (key, field) =>
    key === "attempts"
      ? (field as EntryView["attempts"]).map((a) => keep("attempt", a, scope, (k, f) => (k === "error" ? errorOf(f, scope) : f)))
      : key === "error"
        ? errorOf(field, scope)
        : field,
  )

const runOf = (view: RunView, scope: Restricted): Record<string, unknown> =>
  keep("run", view, scope, (key, field) => {
    switch (key) {
      case "error":
        return errorOf(field, scope)
      case "history":
        return (field as ReadonlyArray<EntryView>).map((e) => entryOf(e, scope))
      case "tasks":
        return keepAll("task", field, scope)
      case "commands":
        return keepAll("command", field, scope)
      case "children":
        return keepAll("child", field, scope)
      case "deadline":
        return isObject(field) ? keep("deadline", field, scope) : field
      default:
        return field
    }
  })

/**
 * A run (from `inspectRun`, with or without history, or one of `listRuns`) as `actor` may see
 * it under `policy`. Auditors get every field; operators and external actors get the fields
 * of their scope (see the table at the top of this module), with `hidden` naming the rest.
 */
export const redactRun = <Out>(view: RunView<Out>, actor: Actor, policy: VisibilityPolicy): VisibleRunView<Out> => {
  const scope = policy.scopeOf(actor)
  if (scope === "auditor") return { ...view, scope }
  return { ...runOf(view as RunView, scope), scope } as unknown as VisibleRunView<Out>
}

/** A run's history (`inspectRun(id, { history: true }).history`) as `actor` may see it. */
export const redactHistory = (history: ReadonlyArray<EntryView>, actor: Actor, policy: VisibilityPolicy): ReadonlyArray<VisibleEntryView> => {
  const scope = policy.scopeOf(actor)
  if (scope === "auditor") return history
  return history.map((e) => entryOf(e, scope) as unknown as VisibleEntryView)
}

/** A list of runs (`listRuns`) as `actor` may see it. */
export const redactRuns = (runs: ReadonlyArray<RunView>, actor: Actor, policy: VisibilityPolicy): ReadonlyArray<VisibleRunView> =>
  runs.map((run) => redactRun(run, actor, policy))

/** A page of runs (`{ runs, nextCursor?, ... }`): its runs redacted for `actor`, its other fields kept. */
export const redactPage = <P extends { readonly runs: ReadonlyArray<RunView> }>(page: P, actor: Actor, policy: VisibilityPolicy): VisiblePage<P> => ({
  ...page,
  runs: redactRuns(page.runs, actor, policy),
})

const evidenceOf = (evidence: ExplainEvidence, scope: Restricted): Record<string, unknown> => {
  const wait = (w: unknown) =>
    isObject(w)
      ? keep("wait", w, scope, (key, field) =>
          key === "task" && isObject(field) ? keep("taskEvidence", field, scope) : key === "lastError" ? errorOf(field, scope) : field,
        )
      : w
  return keep("evidence", evidence, scope, (key, field) => {
    switch (key) {
      case "wait":
        return wait(field)
      case "alsoWaiting":
        return (field as ReadonlyArray<unknown>).map(wait)
      case "worker":
        return isObject(field) ? keep("worker", field, scope) : field
      case "inbox":
        return keepAll("inbox", field, scope)
      case "compensations":
        return keepAll("compensation", field, scope)
      case "cancelledBy":
        return isObject(field) ? keep("cancelledBy", field, scope) : field
      case "error":
        return isObject(field) ? keep("error", field, scope) : field
      case "divergence":
        return isObject(field)
          ? keep("divergence", field, scope, (k, f) => ((k === "expected" || k === "actual") && isObject(f) ? keep("ref", f, scope) : f))
          : field
      case "rerunRefused":
        return isObject(field) ? keep("rerunRefused", field, scope) : field
      case "child":
        return isObject(field)
          ? keep("childEvidence", field, scope, (k, f) => (k === "explanation" && isObject(f) ? explanationOf(f as unknown as Explanation, scope) : f))
          : field
      default:
        return field
    }
  })
}

const explanationOf = (explanation: Explanation, scope: Restricted): Record<string, unknown> => {
  const evidence = evidenceOf(explanation.evidence, scope) as unknown as VisibleEvidence
  const kept = keep("explanation", explanation, scope, (key, field) => (key === "evidence" ? evidence : field))
  return { ...kept, summary: summarize(explanation.reason, explanation.status, evidence), scope }
}

/**
 * An explanation (`explainRun`) as `actor` may see it under `policy`: its evidence kept by
 * scope (a child's explanation too) and, below auditor, its summary written anew from the
 * evidence it keeps, so the summary never says more than the evidence.
 */
export const redactExplanation = (explanation: Explanation, actor: Actor, policy: VisibilityPolicy): VisibleExplanation => {
  const scope = policy.scopeOf(actor)
  if (scope === "auditor") return { ...explanation, scope }
  return explanationOf(explanation, scope) as unknown as VisibleExplanation
}

/** A graph node kept by scope: its error reduced, a dynamic node's payloads withheld. */
const graphNodeOf = (node: GraphNode, scope: Restricted) =>
  keep("node", node, scope, (k, f) => (k === "error" ? errorOf(f, scope) : k === "dynamic" && isObject(f) ? keep("dynamicNode", f, scope) : f))

/**
 * A run's graph (`inspectRunGraph`) as `actor` may see it under `policy`: node errors kept by
 * scope; dynamic work keeps its shape (node ids, actions, statuses, edges) without its payloads.
 */
export const redactGraph = (graph: RunGraph, actor: Actor, policy: VisibilityPolicy): VisibleRunGraph => {
  const scope = policy.scopeOf(actor)
  if (scope === "auditor") return { ...graph, scope }
  const kept = keep("graph", graph, scope, (key, field) =>
    key === "nodes" ? graph.nodes.map((n) => graphNodeOf(n, scope)) : key === "dynamicWork" ? keepAll("dynamicWork", field, scope) : field,
  )
  return { ...kept, scope } as unknown as VisibleRunGraph
}

/**
 * Any read model as `actor` may see it under `policy`: a run (with or without history), an
 * explanation, a graph, a list of runs, or a page `{ runs, nextCursor? }`.
 */
export function redact<Out>(view: RunView<Out>, actor: Actor, policy: VisibilityPolicy): VisibleRunView<Out>
export function redact(view: Explanation, actor: Actor, policy: VisibilityPolicy): VisibleExplanation
export function redact(view: RunGraph, actor: Actor, policy: VisibilityPolicy): VisibleRunGraph
export function redact(view: ReadonlyArray<RunView>, actor: Actor, policy: VisibilityPolicy): ReadonlyArray<VisibleRunView>
export function redact<P extends { readonly runs: ReadonlyArray<RunView> }>(view: P, actor: Actor, policy: VisibilityPolicy): VisiblePage<P>
export function redact(
  view: RunView | Explanation | RunGraph | ReadonlyArray<RunView> | { readonly runs: ReadonlyArray<RunView> },
  actor: Actor,
  policy: VisibilityPolicy,
): VisibleRunView | VisibleExplanation | VisibleRunGraph | ReadonlyArray<VisibleRunView> | VisiblePage<{ readonly runs: ReadonlyArray<RunView> }> {
  if (Array.isArray(view)) return redactRuns(view, actor, policy)
  if ("runs" in view) return redactPage(view, actor, policy)
  if ("evidence" in view) return redactExplanation(view, actor, policy)
  if ("nodes" in view) return redactGraph(view, actor, policy)
  return redactRun(view as RunView, actor, policy)
}
