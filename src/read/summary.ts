/**
 * The one-line summary of an explanation, written from its evidence alone. Whatever the
 * evidence leaves out, the summary leaves out: a view redacted for an operator or an external
 * actor (src/read/visibility.ts) gets a summary written from its redacted evidence, so a
 * summary never says more than the evidence beside it. Summaries never print payloads.
 */
import { isTerminal, type RunStatus } from "../core/model.js"
import type { ExplainReason, TaskState } from "./waits.js"

/** A duration for a summary: its two largest units (`2d 3h`, `4m 10s`, `250ms`). */
export const showDuration = (ms: number): string => {
  const abs = Math.max(0, Math.round(ms))
  if (abs < 1000) return `${abs}ms`
  const units: ReadonlyArray<readonly [string, number]> = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ]
  const parts: Array<string> = []
  let rest = abs
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`)
    if (parts.length === 2) break
  }
  return parts.filter((p) => !/^0/.test(p)).join(" ")
}

/** What a summary reads of one wait: the fields a redacted view may withhold are optional. */
export interface WaitFacts {
  readonly reason: ExplainReason
  readonly seq: number
  readonly kind: string
  readonly name: string
  readonly since: number
  readonly waitedMs: number
  readonly task?: { readonly state: TaskState; readonly attempt: number; readonly visibleAt: number; readonly owner?: string; readonly leaseUntil?: number }
  readonly attempt?: number
  readonly maxAttempts?: number
  readonly lastError?: { readonly code: string }
  readonly dueAt?: number
  readonly deadline?: { readonly dueAt: number; readonly status: string }
  readonly compensates?: { readonly seq: number; readonly step: string }
  readonly childRunId?: string
  readonly childWorkflow?: string
  readonly dynamic?: { readonly key: string; readonly state: ExplainReason | "waiting_for_nodes"; readonly waitsFor?: ReadonlyArray<string> }
}

/** What a summary reads of an explanation's evidence (an `ExplainEvidence`, redacted or not). */
export interface SummaryFacts {
  readonly now: number
  readonly createdAt: number
  readonly finishedAt?: number
  readonly wait?: WaitFacts
  readonly alsoWaiting?: ReadonlyArray<unknown>
  readonly worker?: { readonly queue: string; readonly lastSeenAt?: number; readonly owner?: string }
  readonly inbox?: ReadonlyArray<unknown>
  readonly child?: { readonly status: string; readonly explanation?: { readonly reason: string; readonly summary: string } }
  readonly error?: { readonly code: string; readonly step?: string }
  readonly compensations?: ReadonlyArray<unknown>
  readonly divergence?: { readonly seq: number; readonly expected: unknown; readonly actual: unknown }
  readonly cancelledBy?: { readonly actor?: string; readonly note?: string }
  readonly dynamicWork?: { readonly pending: number }
  /** Fields a redacted view withheld (a withheld error is not "unknown"). */
  readonly hidden?: ReadonlyArray<string>
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

const label = (w: Pick<WaitFacts, "kind" | "name" | "dynamic">) => (w.dynamic ? `dynamic node "${w.name}" of work "${w.dynamic.key}"` : `${w.kind} "${w.name}"`)

const showRef = (ref: unknown): string => {
  const r = record(ref)
  return typeof r.kind === "string" ? `${r.kind} "${String(r.name)}"` : "nothing"
}

/** The summary of an open run's primary wait. */
const waitSummary = (w: WaitFacts, facts: SummaryFacts): string => {
  const { now } = facts
  const task = w.task
  const queue = facts.worker?.queue ?? ""
  const owner = (who: string | undefined) => (who === undefined ? "a worker" : `worker "${who}"`)
  switch (w.reason) {
    case "waiting_for_worker": {
      const worker = facts.worker
      const seen =
        worker?.lastSeenAt === undefined ? "no worker has been seen on it" : `${owner(worker.owner)} was last seen ${showDuration(now - worker.lastSeenAt)} ago`
      const due = task && task.visibleAt > now ? ` (claimable in ${showDuration(task.visibleAt - now)})` : ""
      return `${label(w)} has waited ${showDuration(now - (task?.visibleAt ?? w.since))} for a worker on queue "${queue}"${due}; ${seen}`
    }
    case "running": {
      const lease = task?.leaseUntil !== undefined || task?.owner !== undefined ? ` (lease expires in ${showDuration((task?.leaseUntil ?? now) - now)})` : ""
      return `${label(w)} attempt ${w.attempt ?? task?.attempt ?? 1} is running on ${owner(task?.owner)}${lease}`
    }
    case "waiting_for_retry": {
      const of = w.maxAttempts !== undefined ? ` of ${w.maxAttempts}` : ""
      const last = w.lastError ? ` (last error: ${w.lastError.code})` : ""
      return `${label(w)} waits to retry: attempt ${w.attempt}${of} in ${showDuration((w.dueAt ?? now) - now)}${last}`
    }
    case "waiting_for_timer":
      return `${label(w)} is due in ${showDuration((w.dueAt ?? now) - now)}`
    case "paused":
      return `paused at "${w.name}" for ${showDuration(w.waitedMs)}; resume continues it`
    case "waiting_for_approval": {
      const deadline = w.deadline
        ? `deadline ${w.deadline.dueAt > now ? `in ${showDuration(w.deadline.dueAt - now)}` : `passed ${showDuration(now - w.deadline.dueAt)} ago`} (${w.deadline.status})`
        : "no deadline"
      return `waiting ${showDuration(w.waitedMs)} for approval "${w.name}"; ${deadline}`
    }
    case "waiting_for_signal": {
      const timeout = w.dueAt !== undefined ? `times out in ${showDuration(w.dueAt - now)}` : "no timeout"
      return `waiting ${showDuration(w.waitedMs)} for signal "${w.name}"; ${timeout}; ${facts.inbox?.length ?? 0} signal(s) in the inbox`
    }
    case "waiting_for_child": {
      const child = facts.child
      const state = child?.explanation ? `${child.explanation.reason}: ${child.explanation.summary}` : (child?.status ?? "not started")
      return `waiting for child run ${w.childRunId} (${w.childWorkflow}): ${state}`
    }
    case "compensating": {
      const of = w.maxAttempts !== undefined ? ` of ${w.maxAttempts}` : ""
      return `compensating step "${w.compensates?.step ?? w.name}" (seq ${w.compensates?.seq ?? w.seq}), attempt ${w.attempt ?? 1}${of}, ${task?.state ?? "without a task"}`
    }
    case "lease_expired": {
      const since = task?.leaseUntil !== undefined ? ` expired ${showDuration(now - task.leaseUntil)} ago` : " expired"
      const whose = task?.owner !== undefined ? `the lease of worker "${task.owner}"` : "a worker's lease"
      return `${whose} on ${label(w)}${since}; a worker of queue "${queue}" will reclaim it`
    }
    case "waiting_for_dynamic_work": {
      // The node's own standing is told as a step's would be (running, retrying...).
      const pending = facts.dynamicWork !== undefined ? ` (${facts.dynamicWork.pending} node(s) pending)` : ""
      const state = w.dynamic?.state
      const where =
        state === "waiting_for_nodes"
          ? `${label(w)} waits for node(s) ${(w.dynamic?.waitsFor ?? []).join(", ")} of its work`
          : state !== undefined && state !== "stalled" && state !== "waiting_for_dynamic_work"
            ? waitSummary({ ...w, reason: state }, facts)
            : `${label(w)} is pending but has no task the engine can act on; inspect the run's journal`
      return `waiting for dynamic work${pending}: ${where}`
    }
    default:
      return `${label(w)} is pending but has no task the engine can act on; inspect the run's journal`
  }
}

/**
 * The one-line summary of an explanation with this reason, status and evidence. Every value
 * it prints comes from the evidence: names, codes, times, actors and notes it carries.
 */
export const summarize = (reason: ExplainReason, status: RunStatus, facts: SummaryFacts): string => {
  const took = showDuration((facts.finishedAt ?? facts.now) - facts.createdAt)
  const d = facts.divergence
  if (reason === "non_determinism" && d) {
    const diff = `journal has ${showRef(d.expected)}, code yielded ${showRef(d.actual)}`
    return !isTerminal(status)
      ? `the code no longer matches the journal at seq ${d.seq}: ${diff}; the run stops at its next step`
      : `failed: the code no longer matches the journal at seq ${d.seq}: ${diff}`
  }
  if (status === "completed") return `completed in ${took}`
  if (status === "cancelled") {
    const by = facts.cancelledBy
    const who = by?.actor !== undefined ? ` by "${by.actor}"${by.note !== undefined ? ` (${by.note})` : ""}` : ""
    return `cancelled${who} after ${took}`
  }
  if (status === "failed") {
    const compensations = facts.compensations ?? []
    const undone =
      compensations.length > 0
        ? `; ${compensations.length} compensation(s) ran (${compensations.filter((c) => record(c).status === "completed").length} completed)`
        : ""
    const at = facts.error?.code === "dynamic_work_failed" ? "dynamic node" : "step"
    const where = facts.error?.step ? ` at ${at} "${facts.error.step}"` : ""
    const what = facts.error ? `: ${facts.error.code}` : facts.hidden?.includes("error") ? "" : ": unknown error"
    return `failed${where}${what}${undone}`
  }
  if (!facts.wait) return "the run is open but nothing in its journal is pending; inspect the run's journal"
  const more = facts.alsoWaiting && facts.alsoWaiting.length > 0 ? ` (and ${facts.alsoWaiting.length} more wait(s))` : ""
  return `${waitSummary(facts.wait, facts)}${more}`
}
