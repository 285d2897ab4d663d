/**
 * A run with dynamic work, written straight to a store in the journal format of
 * src/core/dynamicWork.ts (the read models are tested apart from the runtime that writes it).
 *
 * Step "work" (seq 1) completed at 1 s, then proposed:
 * - "fanout", scheduled: "notify-a" (failed attempt 1 with smtp_down, attempt 2 due at 60 s),
 *   "notify-b" (completed at 3 s), "audit" (due since 1 s); edges work→notify-a, work→notify-b,
 *   notify-a→audit; with params, inputs, metadata and a reason carrying sentinels;
 * - "plan", recorded: "later", edge work→later.
 * `statuses` overrides a scheduled node's status (its task is then left out unless pending).
 */
import { Effect } from "effect"
import { DYNAMIC_SEQ_BASE, dynamicNodeFailure, type DynamicNodeInput, type DynamicWorkFact } from "../../src/core/dynamicWork.js"
import type { Json } from "../../src/core/json.js"
import type { AttemptRecord, Entry, EntryStatus, ErrorInfo, RunStatus } from "../../src/core/model.js"
import type { NewTask, StoreService } from "../../src/store/Store.js"
import { storedRun } from "./fixtures.js"

export const SEQ = {
  fanout: DYNAMIC_SEQ_BASE,
  notifyA: DYNAMIC_SEQ_BASE + 1,
  notifyB: DYNAMIC_SEQ_BASE + 2,
  audit: DYNAMIC_SEQ_BASE + 3,
  plan: DYNAMIC_SEQ_BASE + 4,
} as const

/** Payload sentinels: none may reach a view below auditor. */
export const SENTINELS = ["PARAM-SENTINEL", "INPUT-SENTINEL", "NODE-META-SENTINEL", "FACT-META-SENTINEL", "REASON-SENTINEL"]

const fanout: DynamicWorkFact = {
  mode: "scheduled",
  origin: { step: "work", seq: 1, attempt: 1 },
  nodes: [
    {
      id: "notify-a",
      action: "notify",
      params: { channel: "PARAM-SENTINEL" },
      input: { to: "INPUT-SENTINEL" },
      retry: { maxAttempts: 3 },
      metadata: { note: "NODE-META-SENTINEL" },
    },
    { id: "notify-b", action: "notify", input: {} },
    { id: "audit", action: "audit" },
  ],
  edges: [
    { id: "work->notify-a", from: "work", to: "notify-a" },
    { id: "work->notify-b", from: "work", to: "notify-b" },
    { id: "notify-a->audit", from: "notify-a", to: "audit" },
  ],
  metadata: { ticket: "FACT-META-SENTINEL" },
  reason: "REASON-SENTINEL",
  seqs: { "notify-a": SEQ.notifyA, "notify-b": SEQ.notifyB, audit: SEQ.audit },
}

const plan: DynamicWorkFact = {
  mode: "recorded",
  origin: { step: "work", seq: 1, attempt: 1 },
  nodes: [{ id: "later", action: "notify" }],
  edges: [{ id: "work->later", from: "work", to: "later" }],
}

const nodeInput = (action: string, extra: Partial<DynamicNodeInput> = {}): Json => ({ key: "fanout", action, ...extra }) as unknown as Json

/** A scheduled node's entry, pending or resolved. */
const node = (seq: number, name: string, input: Json, status: EntryStatus, attempts: number, error?: ErrorInfo): Entry => ({
  seq,
  kind: "dynamic",
  name,
  status,
  input,
  attempts,
  createdAt: 1_000,
  irreversible: true,
  ...(status !== "pending" ? { resolvedAt: 3_000 } : {}),
  ...(status === "completed" ? { output: { sent: true } } : {}),
  ...(error ? { error } : {}),
})

const SMTP: ErrorInfo = { code: "smtp_down", message: "smtp refused for INPUT-SENTINEL" }

/** Options of `seedDynamicRun`. */
export interface DynamicRunOptions {
  readonly id: string
  readonly workflow: string
  readonly queue: string
  readonly status?: RunStatus
  /** Scheduled nodes' statuses, by node id (default: notify-a and audit pending, notify-b completed). */
  readonly statuses?: Partial<Record<"notify-a" | "notify-b" | "audit", EntryStatus>>
  /** Extra workflow entries after seq 1 (with their tasks). */
  readonly more?: { readonly entries: ReadonlyArray<Entry>; readonly tasks: ReadonlyArray<NewTask> }
}

/** The journal, tasks and attempts of the run `options` describe, and its error when a node failed for good. */
export const dynamicRun = (options: DynamicRunOptions) => {
  const status = { "notify-a": "pending", "notify-b": "completed", audit: "pending", ...options.statuses } as const
  const inputA = nodeInput("notify", { params: { channel: "PARAM-SENTINEL" }, input: { to: "INPUT-SENTINEL" }, retry: { maxAttempts: 3 } })
  const entries: Array<Entry> = [
    { seq: 1, kind: "step", name: "work", status: "completed", output: "done", attempts: 1, createdAt: 0, resolvedAt: 1_000, irreversible: false },
    ...(options.more?.entries ?? []),
    {
      seq: SEQ.fanout,
      kind: "dynamic_work",
      name: "fanout",
      status: "completed",
      input: fanout as unknown as Json,
      attempts: 0,
      createdAt: 1_000,
      resolvedAt: 1_000,
    },
    node(SEQ.notifyA, "notify-a", inputA, status["notify-a"], status["notify-a"] === "failed" ? 3 : 1, status["notify-a"] === "failed" ? SMTP : undefined),
    node(SEQ.notifyB, "notify-b", nodeInput("notify", { input: {} }), status["notify-b"], 1),
    node(SEQ.audit, "audit", nodeInput("audit"), status.audit, 0),
    {
      seq: SEQ.plan,
      kind: "dynamic_work",
      name: "plan",
      status: "completed",
      input: plan as unknown as Json,
      attempts: 0,
      createdAt: 2_000,
      resolvedAt: 2_000,
    },
  ]
  const task = (seq: number, attempt: number, visibleAt: number): NewTask => ({
    runId: options.id,
    seq,
    queue: options.queue,
    kind: "dynamic",
    attempt,
    visibleAt,
  })
  const tasks: Array<NewTask> = [
    ...(options.more?.tasks ?? []),
    ...(status["notify-a"] === "pending" ? [task(SEQ.notifyA, 2, 60_000)] : []),
    ...(status.audit === "pending" ? [task(SEQ.audit, 1, 1_000)] : []),
  ]
  const attempts: Array<AttemptRecord> = [
    { seq: 1, attempt: 1, status: "completed", owner: "w-1", startedAt: 0, finishedAt: 1_000 },
    { seq: SEQ.notifyA, attempt: 1, status: "failed", error: SMTP, owner: "w-1", startedAt: 1_000, finishedAt: 2_000, retryAt: 60_000 },
    ...(status["notify-b"] === "completed"
      ? [{ seq: SEQ.notifyB, attempt: 1, status: "completed" as const, owner: "w-1", startedAt: 1_500, finishedAt: 3_000 }]
      : []),
  ]
  const failed = entries.find((e) => e.kind === "dynamic" && e.status === "failed")
  const error = failed ? dynamicNodeFailure(failed, failed.input as unknown as DynamicNodeInput) : undefined
  return { entries, tasks, attempts, error }
}

/** Writes the run to `store`: the run (running) with its journal and tasks, then its attempts and, if not running, its status. */
export const seedDynamicRun = (store: StoreService, options: DynamicRunOptions) =>
  Effect.gen(function* () {
    const { entries, tasks, attempts, error } = dynamicRun(options)
    const status = options.status ?? "running"
    yield* store.createRun({ run: storedRun(options.id, options.workflow, options.queue), entries, tasks })
    const ended = status !== "running" ? { run: { status, ...(error ? { error } : {}) } } : {}
    const written = yield* store.commit({ runId: options.id, now: 3_000, resolve: [], append: [], attempts, tasks: [], withdraw: [], ...ended })
    if (written._tag !== "Committed") return yield* Effect.die(new Error(`attempts not written: ${written.reason}`))
  })
