/**
 * The in-memory Store backend: for unit tests and the simulated-clock test kit. Every
 * operation is synchronous inside one Effect, so each commit is atomic by construction.
 * It follows the same contract as the SQL backends (test/contract/).
 */
import { Effect, Layer } from "effect"
import { newClaim, sha256Hex } from "../core/ids.js"
import {
  isTerminal,
  RUN_STATUSES,
  type RunStatus,
  type AttemptRecord,
  type ClaimedTask,
  type CommandRecord,
  type Entry,
  type InboxSignal,
  type RunRecord,
  type TaskRecord,
} from "../core/model.js"
import type { ScheduleEvent, ScheduleState } from "../core/schedule.js"
import { isAfter, matchesRunFilter, newestFirst } from "./runFilter.js"
import {
  Store,
  type ClaimRef,
  type CreateRunResult,
  type NewRun,
  type Commit,
  type CommitResult,
  type NewTask,
  type PendingDeadline,
  type PurgeBatch,
  type PurgeBatchResult,
  type PurgeableQuery,
  type PurgeRecord,
  type PurgeScheduleEventsBatch,
  type PurgeSpecsBatch,
  type ScheduleTransition,
  type StoreService,
  type StoredSpec,
  type TransitionResult,
  type WorkerSeen,
} from "./Store.js"

interface MemTask extends NewTask {
  availableAt: number
  claimId?: string
  tokenHash?: string
  owner?: string
  leaseUntil?: number
}

const key = (runId: string, seq: number) => `${runId}#${seq}`

/** Orders strings by code unit (the SQL backends order by the database collation; names that differ in ASCII letters sort alike). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Builds a fresh in-memory store. Share one instance between engines to simulate a restart. */
export const make = (): StoreService => {
  const runs = new Map<string, RunRecord>()
  /** Journals by run, entries by seq (a run's seqs are sparse: dynamic work starts at DYNAMIC_SEQ_BASE). */
  const journals = new Map<string, Map<number, Entry>>()
  const attempts = new Map<string, Array<AttemptRecord>>()
  const tasks = new Map<string, MemTask>()
  const commands = new Map<string, Array<CommandRecord>>()
  const inbox = new Map<string, Array<InboxSignal & { consumedSeq?: number }>>()
  const purges: Array<PurgeRecord> = []
  /** Stored specs by fingerprint. */
  const specs = new Map<string, StoredSpec>()
  /** When each spec was stored (its first run's creation), for retention. */
  const specStored = new Map<string, number>()
  let signalIds = 0
  /** Worker liveness: last seen, by queue then owner. */
  const workers = new Map<string, Map<string, number>>()
  /** Schedules by `workflow\u0000trigger`, and their audit trail (oldest first). */
  const schedules = new Map<string, ScheduleState>()
  const scheduleEvents: Array<ScheduleEvent> = []
  const scheduleKey = (workflow: string, trigger: string) => `${workflow}\u0000${trigger}`

  const taskView = (t: MemTask): TaskRecord => ({
    runId: t.runId,
    seq: t.seq,
    queue: t.queue,
    kind: t.kind,
    attempt: t.attempt,
    visibleAt: t.visibleAt,
    ...(t.owner !== undefined ? { owner: t.owner, claimId: t.claimId!, leaseUntil: t.leaseUntil! } : {}),
  })

  const putTask = ({ claim, ...t }: NewTask) =>
    tasks.set(
      key(t.runId, t.seq),
      claim
        ? { ...t, availableAt: claim.leaseUntil, claimId: claim.claimId, tokenHash: claim.tokenHash, owner: claim.owner, leaseUntil: claim.leaseUntil }
        : { ...t, availableAt: t.visibleAt },
    )

  const currentClaim = (claim: ClaimRef): MemTask | undefined => {
    const task = tasks.get(key(claim.runId, claim.seq))
    return task && task.claimId === claim.claimId && task.tokenHash === sha256Hex(claim.token) ? task : undefined
  }

  const commit = (c: Commit): CommitResult => {
    const run = runs.get(c.runId)
    if (!run) return { _tag: "Rejected", reason: "run_not_found" }
    if (isTerminal(run.status)) return { _tag: "Rejected", reason: "terminal_run" }
    if (c.fence) {
      const task = currentClaim(c.fence)
      if (!task) return { _tag: "Rejected", reason: "stale_claim" }
      if (task.leaseUntil! <= c.now) return { _tag: "Rejected", reason: "expired_claim" }
    }
    if (c.expectedRevision !== undefined && run.revision !== c.expectedRevision) return { _tag: "Rejected", reason: "revision_conflict" }

    if (c.fence && c.task) {
      const k = key(c.fence.runId, c.fence.seq)
      if (c.task._tag === "Done") tasks.delete(k)
      else {
        const t = tasks.get(k)!
        tasks.set(k, {
          runId: t.runId,
          seq: t.seq,
          queue: t.queue,
          kind: t.kind,
          attempt: c.task.attempt,
          visibleAt: c.task.visibleAt,
          availableAt: c.task.visibleAt,
        })
      }
    }
    const journal = journals.get(c.runId)!
    for (const entry of c.resolve) journal.set(entry.seq, entry)
    for (const entry of c.append) journal.set(entry.seq, entry)
    attempts.get(c.runId)!.push(...c.attempts)
    if (c.deliver) {
      const list = inbox.get(c.runId) ?? []
      list.push({ id: ++signalIds, ...c.deliver })
      inbox.set(c.runId, list)
    }
    for (const { id, seq } of c.consume ?? []) {
      const signal = inbox.get(c.runId)?.find((x) => x.id === id)
      if (signal) signal.consumedSeq = seq
    }
    if (c.command) {
      const list = commands.get(c.runId) ?? []
      if (c.command.idempotencyKey === undefined || !list.some((k) => k.idempotencyKey === c.command!.idempotencyKey)) list.push(c.command)
      commands.set(c.runId, list)
    }
    for (const seq of c.withdraw) tasks.delete(key(c.runId, seq))
    for (const t of c.tasks) putTask(t)

    if (c.wakeParent && c.run && isTerminal(c.run.status)) {
      const parent = runs.get(c.wakeParent.runId)
      if (parent && !isTerminal(parent.status)) {
        runs.set(parent.id, { ...parent, revision: parent.revision + 1 })
        const waiting = tasks.get(key(parent.id, c.wakeParent.seq))
        if (waiting && waiting.claimId === undefined) Object.assign(waiting, { visibleAt: c.now, availableAt: c.now })
      }
    }
    const revision = c.expectedRevision !== undefined ? run.revision + 1 : run.revision
    const next: RunRecord = { ...run, revision, updatedAt: c.now }
    if (c.run) {
      const { output: _o, error: _e, ...rest } = next
      const terminal = isTerminal(c.run.status)
      runs.set(c.runId, {
        ...rest,
        status: c.run.status,
        ...(c.run.output !== undefined ? { output: c.run.output } : {}),
        ...(c.run.error !== undefined ? { error: c.run.error } : {}),
        ...(terminal ? { finishedAt: c.now } : {}),
      })
      // A terminal run has no work left: withdraw whatever tasks remain.
      if (terminal) for (const [k, t] of tasks) if (t.runId === c.runId) tasks.delete(k)
    } else runs.set(c.runId, next)
    return { _tag: "Committed", revision }
  }

  /** The runs of the tree under `root` (itself first), parents before children. */
  const treeOf = (root: string): Array<RunRecord> => {
    const out: Array<RunRecord> = []
    const queue = [root]
    while (queue.length > 0) {
      const id = queue.shift()!
      const run = runs.get(id)
      if (!run) continue
      out.push(run)
      for (const r of runs.values()) if (r.parentRunId === id) queue.push(r.id)
    }
    return out
  }

  const forget = (runId: string) => {
    runs.delete(runId)
    journals.delete(runId)
    attempts.delete(runId)
    commands.delete(runId)
    inbox.delete(runId)
    for (const [k, t] of tasks) if (t.runId === runId) tasks.delete(k)
  }

  /** Adds a `purges` row for a batch that deleted something. */
  const audit = (batch: { readonly now: number; readonly reason: PurgeRecord["reason"] }, counts: Omit<PurgeRecord, "id" | "at" | "reason">) =>
    purges.push({ id: purges.length + 1, at: batch.now, reason: batch.reason, ...counts })

  const purgeRuns = (batch: PurgeBatch): PurgeBatchResult => {
    const key = (r: RunRecord) => ({ finishedAt: r.finishedAt!, id: r.id })
    const later = (a: { finishedAt: number; id: string }, b: { finishedAt: number; id: string }) =>
      a.finishedAt - b.finishedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    const candidates = [...runs.values()]
      .filter(
        (r) =>
          r.finishedAt !== undefined &&
          isTerminal(r.status) &&
          r.finishedAt < batch.finishedBefore &&
          batch.statuses.includes(r.status) &&
          (batch.workflow === undefined || r.workflow === batch.workflow) &&
          (r.parentRunId === undefined || !runs.has(r.parentRunId)) &&
          (batch.after === undefined || later(key(r), batch.after) > 0),
      )
      .sort((a, b) => later(key(a), key(b)))
      .slice(0, batch.limit)
    let purged = 0
    const roots: Array<string> = []
    for (const root of candidates) {
      const tree = treeOf(root.id)
      if (tree.some((r) => !isTerminal(r.status))) continue
      for (const r of tree) forget(r.id)
      purged += tree.length
      roots.push(root.id)
    }
    if (purged > 0) audit(batch, { purged, scheduleEvents: 0, specs: 0, firstRunId: roots[0]!, lastRunId: roots[roots.length - 1]! })
    const last = candidates[candidates.length - 1]
    return { purged, ...(candidates.length === batch.limit && last ? { next: key(last) } : {}) }
  }

  /** The schedule events a purge may delete: old enough, of the workflow, not among the `keep` newest of their schedule. */
  const purgeableEvents = (q: PurgeableQuery): Array<ScheduleEvent> => {
    const newer = new Map<string, number>()
    const out: Array<ScheduleEvent> = []
    for (let i = scheduleEvents.length - 1; i >= 0; i--) {
      const e = scheduleEvents[i]!
      const k = scheduleKey(e.workflow, e.trigger)
      const rank = newer.get(k) ?? 0
      newer.set(k, rank + 1)
      if (rank >= q.keep && e.at < q.before && (q.workflow === undefined || e.workflow === q.workflow)) out.push(e)
    }
    return out.reverse()
  }

  /** The stored specs a purge may delete: stored before `createdBefore`, of that name, referenced by no run of a spec workflow. */
  const purgeableSpecs = (createdBefore: number, name: string | undefined): Array<string> => {
    const referenced = new Set<string>()
    for (const r of runs.values()) if (r.workflow.startsWith("spec:")) referenced.add(r.definitionHash)
    return [...specs.values()]
      .filter((s) => (name === undefined || s.name === name) && specStored.get(s.fingerprint)! < createdBefore && !referenced.has(s.fingerprint))
      .map((s) => s.fingerprint)
      .sort(compare)
  }

  /** The spec name a workflow filter selects: none for a workflow that is not a spec's. */
  const specName = (workflow: string | undefined): string | undefined | null =>
    workflow === undefined ? undefined : workflow.startsWith("spec:") ? workflow.slice(5) : null

  // Deleted events leave the array, so each batch starts from the oldest left: no cursor needed.
  const purgeScheduleEvents = (batch: PurgeScheduleEventsBatch) => {
    const gone = new Set(purgeableEvents(batch).slice(0, batch.limit))
    for (let i = scheduleEvents.length - 1; i >= 0; i--) if (gone.has(scheduleEvents[i]!)) scheduleEvents.splice(i, 1)
    if (gone.size > 0) audit(batch, { purged: 0, scheduleEvents: gone.size, specs: 0 })
    return { deleted: gone.size, ...(gone.size === batch.limit ? { next: 0 } : {}) }
  }

  const purgeSpecs = (batch: PurgeSpecsBatch) => {
    const candidates = purgeableSpecs(batch.createdBefore, batch.name)
      .filter((f) => batch.after === undefined || compare(f, batch.after) > 0)
      .slice(0, batch.limit)
    for (const f of candidates) {
      specs.delete(f)
      specStored.delete(f)
    }
    if (candidates.length > 0) audit(batch, { purged: 0, scheduleEvents: 0, specs: candidates.length })
    const last = candidates[candidates.length - 1]
    return { deleted: candidates.length, ...(candidates.length === batch.limit && last ? { next: last } : {}) }
  }

  const countPurgeable = (q: PurgeableQuery) => {
    const name = specName(q.workflow)
    return { scheduleEvents: purgeableEvents(q).length, specs: name === null ? 0 : purgeableSpecs(q.before, name).length }
  }

  const createRun = ({ run, entries, tasks: newTasks, command, spec }: NewRun): CreateRunResult => {
    const existing = runs.get(run.id)
    if (existing) return { _tag: "Existing", run: existing }
    runs.set(run.id, run)
    if (spec && !specs.has(spec.fingerprint)) {
      specs.set(spec.fingerprint, spec)
      specStored.set(spec.fingerprint, run.createdAt)
    }
    if (command) commands.set(run.id, [command])
    journals.set(run.id, new Map(entries.map((e) => [e.seq, e])))
    attempts.set(run.id, [])
    for (const t of newTasks) putTask(t)
    return { _tag: "Created", run }
  }

  const transitionSchedule = (t: ScheduleTransition): TransitionResult => {
    const k = scheduleKey(t.workflow, t.trigger)
    const current = schedules.get(k)
    if (!current || current.revision !== t.expectedRevision) return { _tag: "Moved", state: current }
    const state: ScheduleState = { workflow: t.workflow, trigger: t.trigger, ...t.next, revision: current.revision + 1, updatedAt: t.now }
    schedules.set(k, state)
    scheduleEvents.push(...t.events)
    const created = t.run ? createRun(t.run)._tag === "Created" : false
    return { _tag: "Applied", state, created }
  }

  return {
    backend: "memory",
    createRun: (newRun) => Effect.sync(() => createRun(newRun)),
    listScheduleStates: () => Effect.sync(() => [...schedules.values()].sort((a, b) => compare(a.workflow, b.workflow) || compare(a.trigger, b.trigger))),
    ensureSchedule: (workflow, trigger, now) =>
      Effect.sync(() => {
        const k = scheduleKey(workflow, trigger)
        const existing = schedules.get(k)
        if (existing) return existing
        const state: ScheduleState = { workflow, trigger, revision: 0, decidedUntil: now, paused: false, updatedAt: now }
        schedules.set(k, state)
        return state
      }),
    transitionSchedule: (t) => Effect.sync(() => transitionSchedule(t)),
    appendScheduleEvents: (events) => Effect.sync(() => void scheduleEvents.push(...events)),
    listScheduleEvents: (workflow, trigger, limit) =>
      Effect.sync(() =>
        scheduleEvents
          .filter((e) => e.workflow === workflow && e.trigger === trigger)
          .reverse()
          .slice(0, limit),
      ),
    getRun: (runId) => Effect.sync(() => runs.get(runId)),
    getSpec: (fingerprint) => Effect.sync(() => specs.get(fingerprint)),
    getEntry: (runId, seq) => Effect.sync(() => journals.get(runId)?.get(seq)),
    getJournal: (runId) => Effect.sync(() => [...(journals.get(runId)?.values() ?? [])].sort((a, b) => a.seq - b.seq)),
    getChildren: (runId) =>
      Effect.sync(() => [...runs.values()].filter((r) => r.parentRunId === runId).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))),
    pendingDeadlines: (limit) =>
      Effect.sync(() => {
        const out: Array<PendingDeadline> = []
        for (const [runId, journal] of journals) {
          for (const e of journal.values())
            if (e && e.status === "pending" && e.deadline) out.push({ runId, seq: e.seq, kind: e.kind, name: e.name, deadline: e.deadline })
        }
        return out.slice(0, limit)
      }),
    getInbox: (runId) => Effect.sync(() => (inbox.get(runId) ?? []).filter((x) => x.consumedSeq === undefined).map(({ consumedSeq: _c, ...signal }) => signal)),
    getCommands: (runId) => Effect.sync(() => [...(commands.get(runId) ?? [])]),
    getAttempts: (runId) => Effect.sync(() => [...(attempts.get(runId) ?? [])].sort((a, b) => a.seq - b.seq || a.attempt - b.attempt)),
    getTasks: (runId) =>
      Effect.sync(() =>
        [...tasks.values()]
          .filter((t) => t.runId === runId)
          .sort((a, b) => a.seq - b.seq)
          .map(taskView),
      ),
    listRuns: (filter) =>
      Effect.sync(() =>
        [...runs.values()]
          .filter((r) => matchesRunFilter(r, filter) && isAfter(r, filter.after))
          .sort(newestFirst)
          .slice(0, filter.limit ?? 100),
      ),
    purgeRuns: (batch) => Effect.sync(() => purgeRuns(batch)),
    purgeScheduleEvents: (batch) => Effect.sync(() => purgeScheduleEvents(batch)),
    purgeSpecs: (batch) => Effect.sync(() => purgeSpecs(batch)),
    countPurgeable: (query) => Effect.sync(() => countPurgeable(query)),
    listPurges: (limit) => Effect.sync(() => purges.slice(-limit).reverse()),
    claim: ({ queue, owner, now, leaseUntil, limit }) =>
      Effect.sync(() => {
        // Top-k by (availableAt, runId, seq) in one pass: claims stay cheap with many tasks.
        const before = (a: MemTask, b: MemTask) => a.availableAt - b.availableAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : a.seq - b.seq)
        const due: Array<MemTask> = []
        if (limit <= 0) return []
        for (const t of tasks.values()) {
          if (t.queue !== queue || t.availableAt > now) continue
          if (due.length === limit && before(t, due[limit - 1]!) >= 0) continue
          let i = due.length === limit ? limit - 1 : due.length
          due[i] = t
          while (i > 0 && before(due[i]!, due[i - 1]!) < 0) {
            ;[due[i], due[i - 1]] = [due[i - 1]!, due[i]!]
            i--
          }
        }
        return due.map((t): ClaimedTask => {
          const { claimId, token, tokenHash } = newClaim()
          Object.assign(t, { claimId, tokenHash, owner, leaseUntil, availableAt: leaseUntil })
          const run = runs.get(t.runId)!
          return {
            runId: t.runId,
            seq: t.seq,
            queue: t.queue,
            kind: t.kind,
            attempt: t.attempt,
            visibleAt: t.visibleAt,
            workflow: run.workflow,
            owner,
            claimId,
            token,
            leaseUntil,
            revision: run.revision,
          }
        })
      }),
    commit: (c) => Effect.sync(() => commit(c)),
    heartbeat: (claim, now, leaseUntil) =>
      Effect.sync(() => {
        const task = currentClaim(claim)
        if (!task || task.leaseUntil! <= now) return false
        task.leaseUntil = leaseUntil
        task.availableAt = leaseUntil
        return true
      }),
    release: (claim, visibleAt) =>
      Effect.sync(() => {
        const task = currentClaim(claim)
        if (!task) return false
        tasks.set(key(task.runId, task.seq), {
          runId: task.runId,
          seq: task.seq,
          queue: task.queue,
          kind: task.kind,
          attempt: task.attempt,
          visibleAt,
          availableAt: visibleAt,
        })
        return true
      }),
    nextDueAt: (queue) =>
      Effect.sync(() => {
        let min: number | undefined
        for (const t of tasks.values()) if (t.queue === queue && (min === undefined || t.availableAt < min)) min = t.availableAt
        return min
      }),
    recordWorker: (queue, owner, at) =>
      Effect.sync(() => {
        const seen = workers.get(queue) ?? new Map<string, number>()
        seen.set(owner, Math.max(at, seen.get(owner) ?? at))
        workers.set(queue, seen)
      }),
    lastWorkerSeen: (queue) =>
      Effect.sync(() => {
        let last: WorkerSeen | undefined
        for (const [owner, lastSeen] of workers.get(queue) ?? []) {
          if (!last || lastSeen > last.lastSeen || (lastSeen === last.lastSeen && owner < last.owner)) last = { queue, owner, lastSeen }
        }
        return last
      }),
    workersSeen: (since) =>
      Effect.sync(() =>
        [...workers]
          .flatMap(([queue, seen]) => [...seen].filter(([, lastSeen]) => lastSeen >= since).map(([owner, lastSeen]) => ({ queue, owner, lastSeen })))
          .sort((a, b) => compare(a.queue, b.queue) || compare(a.owner, b.owner)),
      ),
    queueDepths: (now) =>
      Effect.sync(() => {
        const depths = new Map<string, { queue: string; due: number; scheduled: number; claimed: number }>()
        for (const t of tasks.values()) {
          let depth = depths.get(t.queue)
          if (!depth) depths.set(t.queue, (depth = { queue: t.queue, due: 0, scheduled: 0, claimed: 0 }))
          if (t.availableAt <= now) depth.due++
          else if (t.claimId === undefined) depth.scheduled++
          else depth.claimed++
        }
        return [...depths.values()].sort((a, b) => compare(a.queue, b.queue))
      }),
    runCounts: () =>
      Effect.sync(() => {
        const counts = new Map<RunStatus, number>(RUN_STATUSES.map((s) => [s, 0]))
        for (const run of runs.values()) counts.set(run.status, counts.get(run.status)! + 1)
        return RUN_STATUSES.map((status) => ({ status, count: counts.get(status)! }))
      }),
  }
}

/** A layer with a fresh in-memory store. */
export const layer: Layer.Layer<Store> = Layer.sync(Store, make)
