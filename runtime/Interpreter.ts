/**
 * The replay interpreter: a pure function of (definition, input, journal) to a decision.
 *
 * A `Replayer` owns one live generator of a run. It walks the generator forward, matching
 * every yielded command with the journal entry at the same sequence number (kind and name
 * must agree). Resolved entries feed their results back; pending entries block; commands
 * past the end of the journal become new entries. The sticky cache keeps Replayers alive
 * between steps, so a warm run is advanced by `resolve` + `advance` without replaying its
 * history; a cold run is rebuilt by `load` + `advance` and reaches the same state.
 */
import { Duration, Either, Schema } from "effect"
import type { Command, CommandData } from "../dsl/Command.js"
import { isCommand } from "../dsl/Command.js"
import { deadlineTimes } from "../dsl/Deadline.js"
import type { StepDef } from "../dsl/Step.js"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import { NonDeterminismError, StepFailedError, WorkflowFailedError } from "../src/core/errors.js"
import { deterministicUuid } from "../src/core/ids.js"
import { toJson, type Json } from "../src/core/json.js"
import type { Entry, EntryKind, ErrorInfo, InboxSignal, TaskKind } from "../src/core/model.js"
import { defaultRedactor, type Redactor } from "../src/core/redact.js"
import { errorInfo } from "./errorInfo.js"
import { decodeOutput } from "./payload.js"

/** Values the interpreter may need for new entries; the engine reads them from Effect's Clock and Random. */
export interface Env {
  readonly now: number
  readonly random: () => number
}

/** A task the engine must create for a new pending entry. */
export interface NewTask {
  readonly seq: number
  readonly kind: TaskKind
  readonly visibleAt: number
}

/** How the generator stands after an advance. */
export type Outcome =
  | { readonly _tag: "Blocked" }
  | { readonly _tag: "Completed"; readonly output: Json | undefined }
  | { readonly _tag: "Failed"; readonly error: ErrorInfo }
  | { readonly _tag: "NonDeterminism"; readonly error: NonDeterminismError }

/** Everything one advance decided: entries to append, tasks to create, siblings to cancel, logs to emit. */
export interface Decision {
  readonly entries: ReadonlyArray<Entry>
  readonly tasks: ReadonlyArray<NewTask>
  /** Pending siblings withdrawn by a fail-fast group, already marked `cancelled`. */
  readonly cancelled: ReadonlyArray<Entry>
  readonly logs: ReadonlyArray<{ readonly message: string; readonly level: string }>
  readonly outcome: Outcome
  /** Blocked on a manual gate (pause or approval): the run is `paused`. */
  readonly paused: boolean
  /** Inbox signals consumed by new signal entries. */
  readonly consumed: ReadonlyArray<{ readonly id: number; readonly seq: number }>
}

type Feed = { readonly ok: unknown } | { readonly err: unknown }

/** Commands whose journaled result is decoded by a schema before the generator sees it: feeding them needs the command. */
const decodesResult = (data: CommandData): boolean => data._tag === "Signal" || (data._tag === "Step" && data.step.options.output !== undefined)

type Out = {
  entries: Array<Entry>
  tasks: Array<NewTask>
  cancelled: Array<Entry>
  logs: Array<{ message: string; level: string }>
  consumed: Array<{ id: number; seq: number }>
}

/** A completed step that declared `compensate`. */
interface Undoable {
  readonly origin: number
  readonly step: StepDef<any, any>
  readonly input: Json | undefined
  readonly output: Json | undefined
  readonly resolvedAt: number
}

/** A compensation sequence: what is left to undo, the failure that caused it (none on demand), outcomes so far. */
interface Saga {
  readonly queue: Array<Undoable>
  readonly error: ErrorInfo | undefined
  readonly outcomes: Array<Json>
}

const isObject = (value: unknown): value is Record<string, Json> => typeof value === "object" && value !== null && !Array.isArray(value)

type Waiting =
  | { readonly _tag: "Single"; readonly seq: number }
  | { readonly _tag: "Group"; readonly seqs: ReadonlyArray<number>; readonly race: boolean }

const KIND: Record<Exclude<CommandData["_tag"], "All" | "Race" | "Fail" | "Compensate">, EntryKind> = {
  Step: "step",
  Sleep: "sleep",
  Now: "now",
  Random: "random",
  Uuid: "uuid",
  Log: "log",
  Pause: "pause",
  Approval: "approval",
  Patched: "patch",
  Signal: "signal",
  Compensation: "compensation",
  Child: "child",
}

const commandName = (data: CommandData): string => {
  switch (data._tag) {
    case "Step":
      return data.step.stepName
    case "Log":
      return "log"
    case "All":
      return "all"
    case "Race":
      return "race"
    case "Fail":
      return "fail"
    case "Patched":
      return data.id
    case "Compensate":
      return "compensate"
    case "Compensation":
      return `compensate:${data.step.stepName}`
    case "Child":
      return data.workflow.name
    default:
      return data.name
  }
}

const uuidFrom = (random: () => number): string => {
  let hex = ""
  for (let i = 0; i < 16; i++) {
    let byte = Math.floor(random() * 256) & 0xff
    if (i === 6) byte = (byte & 0x0f) | 0x40
    if (i === 8) byte = (byte & 0x3f) | 0x80
    hex += byte.toString(16).padStart(2, "0")
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The live interpreter state of one run. */
export class Replayer {
  private readonly generator: Generator<Command<unknown>, unknown, unknown>
  private nextSeq = 1
  private started = false
  private finished = false
  private waiting: Waiting | undefined
  /** Entries not yet consumed by the generator (loaded history, or pending entries it created). */
  private readonly journal = new Map<number, Entry>()
  /** The command behind each pending entry: the engine needs the step definition to run it. */
  private readonly pending = new Map<number, CommandData>()

  constructor(
    readonly runId: string,
    readonly workflow: AnyWorkflow,
    input: unknown,
    /** For a child run: the parent to wake when this run ends. */
    readonly parent?: { readonly runId: string; readonly seq: number },
    /** Scrubs log lines, failure reasons and details and error messages before they are journaled. */
    readonly redactor: Redactor = defaultRedactor,
  ) {
    this.generator = workflow.run(input)
  }

  /** Seqs of steps marked `irreversible` (a rerun must not repeat them unasked). */
  readonly irreversible = new Set<number>()
  /** Steps with a `compensate`, by seq, until their entry is consumed. */
  private readonly compensable = new Map<number, StepDef<any, any>>()
  /** Completed steps that can still be undone (newest last). */
  private readonly undoable: Array<Undoable> = []
  /** The compensation sequence in progress, if any. */
  private saga: Saga | undefined
  private sagaWaiting: number | undefined

  /** Signals sent before the run waited for them, oldest first. */
  private readonly inbox: Array<InboxSignal> = []

  /** Adds journal entries (history loaded from the store) and the unconsumed inbox. */
  load(entries: Iterable<Entry>, inbox: Iterable<InboxSignal> = []): this {
    for (const entry of entries) this.journal.set(entry.seq, entry)
    this.inbox.push(...inbox)
    return this
  }

  /** Adds a signal to the inbox (sent while the run does not wait for it). */
  deliver(signal: InboxSignal): void {
    this.inbox.push(signal)
  }

  /** The signal wait for `name` the generator is blocked on, if any. */
  pendingSignal(name: string): { readonly entry: Entry; readonly schema: Schema.Schema<any, any, never> } | undefined {
    if (!this.waiting || this.waiting._tag !== "Single") return undefined
    const entry = this.journal.get(this.waiting.seq)
    const data = this.pending.get(this.waiting.seq)
    return entry && entry.status === "pending" && entry.kind === "signal" && entry.name === name && data?._tag === "Signal" ? { entry, schema: data.schema } : undefined
  }

  /** Records the resolution of a pending entry (warm path: the result the worker just produced). */
  resolve(entry: Entry): void {
    this.journal.set(entry.seq, entry)
  }

  /** The command behind a pending entry, if the generator has reached it. */
  commandAt(seq: number): CommandData | undefined {
    return this.pending.get(seq)
  }

  /** The journal entry at `seq`, while the generator has not consumed it. */
  entryAt(seq: number): Entry | undefined {
    return this.journal.get(seq)
  }

  /** The manual gate (pause or approval) the generator waits on, if any. */
  pendingGate(): Entry | undefined {
    if (!this.waiting || this.waiting._tag !== "Single") return undefined
    const entry = this.journal.get(this.waiting.seq)
    return entry && entry.status === "pending" && (entry.kind === "pause" || entry.kind === "approval") ? entry : undefined
  }

  /** Drives the generator as far as the journal allows and returns what changed. */
  advance(env: Env): Decision {
    const out = {
      entries: [] as Array<Entry>,
      tasks: [] as Array<NewTask>,
      cancelled: [] as Array<Entry>,
      logs: [] as Array<{ message: string; level: string }>,
      consumed: [] as Array<{ id: number; seq: number }>,
    }
    const done = (outcome: Outcome): Decision => ({ ...out, outcome, paused: outcome._tag === "Blocked" && this.pendingGate() !== undefined })
    if (this.finished) return done({ _tag: "Blocked" })

    let feed: Feed
    if (!this.started) {
      this.started = true
      feed = { ok: undefined }
    } else if (this.saga) {
      const next = this.runSaga(env, out)
      if (next === "blocked") return done({ _tag: "Blocked" })
      if ("outcome" in next) return done(next.outcome)
      feed = next.feed
    } else if (this.waiting) {
      const resolved = this.settle(this.waiting, env, out)
      if (resolved === undefined) return done({ _tag: "Blocked" })
      this.waiting = undefined
      feed = resolved
    } else {
      return done({ _tag: "Blocked" })
    }

    for (;;) {
      let step: IteratorResult<Command<unknown>, unknown>
      try {
        step = "err" in feed ? this.generator.throw(feed.err) : this.generator.next(feed.ok)
      } catch (cause) {
        const next = this.fail(errorInfo(cause, this.redactor), env, out)
        if (next === "blocked") return done({ _tag: "Blocked" })
        return done(next.outcome)
      }
      if (step.done) {
        this.finished = true
        const leftover = this.firstUnconsumed()
        if (leftover) return done({ _tag: "NonDeterminism", error: this.diverged(leftover.seq, leftover, null) })
        return done({ _tag: "Completed", output: toJson(step.value) })
      }
      const command = step.value
      if (!isCommand(command)) {
        feed = { err: new TypeError(`workflow yielded a non-command value (${typeof command}); use yield* with Workflow/Step commands`) }
        continue
      }
      const data = command.data
      if (data._tag === "Fail") {
        const next = this.fail(errorInfo(new WorkflowFailedError({ reason: data.reason, details: data.details }), this.redactor), env, out)
        if (next === "blocked") return done({ _tag: "Blocked" })
        return done(next.outcome)
      }
      if (data._tag === "Compensate") {
        if (this.undoable.length === 0) {
          feed = { ok: undefined }
          continue
        }
        this.saga = this.beginSaga(undefined)
        const next = this.runSaga(env, out)
        if (next === "blocked") return done({ _tag: "Blocked" })
        if ("outcome" in next) return done(next.outcome)
        feed = next.feed
        continue
      }
      if (data._tag === "Patched") {
        feed = { ok: this.patched(data.id, env, out) }
        continue
      }
      const group = data._tag === "All" || data._tag === "Race"
      const children = group ? data.commands.map((c) => c.data) : [data]
      const seqs: Array<number> = []
      for (const child of children) {
        const placed = this.place(child, env, out)
        if (placed instanceof NonDeterminismError) {
          this.finished = true
          return done({ _tag: "NonDeterminism", error: placed })
        }
        seqs.push(placed)
      }
      const waiting: Waiting = group ? { _tag: "Group", seqs, race: data._tag === "Race" } : { _tag: "Single", seq: seqs[0]! }
      const resolved = this.settle(waiting, env, out)
      if (resolved === undefined) {
        this.waiting = waiting
        return done({ _tag: "Blocked" })
      }
      feed = resolved
    }
  }

  /** An uncaught failure: compensate what can be undone first, then fail with the original error. */
  private fail(error: ErrorInfo, env: Env, out: Out): "blocked" | { readonly outcome: Outcome } {
    if (this.undoable.length === 0) {
      this.finished = true
      return { outcome: { _tag: "Failed", error } }
    }
    this.saga = this.beginSaga(error)
    const next = this.runSaga(env, out)
    if (next === "blocked") return "blocked"
    if ("outcome" in next) return next
    return { outcome: { _tag: "Failed", error } }
  }

  /** Compensations run newest completion first (ties: higher seq first); each step is undone once. */
  private beginSaga(error: ErrorInfo | undefined): Saga {
    const queue = [...this.undoable].sort((a, b) => b.resolvedAt - a.resolvedAt || b.origin - a.origin)
    this.undoable.length = 0
    return { queue, error, outcomes: [] }
  }

  /**
   * Places the saga's compensation entries one at a time (journaled like any command, so a
   * replay rebuilds the same sequence). Returns "blocked" while one is pending; at the end,
   * fails the run with the original error, or resumes the workflow (on-demand compensate).
   */
  private runSaga(env: Env, out: Out): "blocked" | { readonly outcome: Outcome } | { readonly feed: Feed } {
    const saga = this.saga!
    for (;;) {
      if (this.sagaWaiting !== undefined) {
        const entry = this.journal.get(this.sagaWaiting)!
        if (entry.status === "pending") return "blocked"
        saga.outcomes.push({ step: entry.name.replace(/^compensate:/, ""), seq: entry.seq, status: entry.status, ...(entry.error ? { error: entry.error.code } : {}) })
        this.consume(this.sagaWaiting)
        this.sagaWaiting = undefined
      }
      const item = saga.queue.shift()
      if (!item) {
        this.saga = undefined
        if (saga.error === undefined) return { feed: { ok: undefined } }
        this.finished = true
        const details = { ...(isObject(saga.error.details) ? saga.error.details : {}), compensations: saga.outcomes } as Json
        return { outcome: { _tag: "Failed", error: { ...saga.error, details } } }
      }
      const seq = this.nextSeq++
      const name = `compensate:${item.step.stepName}`
      const existing = this.journal.get(seq)
      if (existing) {
        if (existing.kind !== "compensation" || existing.name !== name) {
          this.finished = true
          return { outcome: { _tag: "NonDeterminism", error: this.diverged(seq, existing, { kind: "compensation", name }) } }
        }
      } else {
        const entry: Entry = {
          seq, kind: "compensation", name, status: "pending", attempts: 0, createdAt: env.now,
          input: { seq: item.origin, ...(item.input === undefined ? {} : { input: item.input }), ...(item.output === undefined ? {} : { output: item.output }) },
        }
        out.entries.push(entry)
        out.tasks.push({ seq, kind: "step", visibleAt: env.now })
        this.journal.set(seq, entry)
      }
      this.pending.set(seq, { _tag: "Compensation", step: item.step, origin: item.origin, input: item.input, output: item.output })
      this.sagaWaiting = seq
    }
  }

  /**
   * `Workflow.patched(id)`: true when the journal has this patch's marker here, or when the
   * run is past its recorded journal (new code: the marker is recorded); false when the
   * journal holds an older command here (the run predates the patch; no seq is used).
   */
  private patched(id: string, env: Env, out: { entries: Array<Entry> }): boolean {
    const seq = this.nextSeq
    const existing = this.journal.get(seq)
    if (existing) {
      if (existing.kind !== "patch" || existing.name !== id) return false
      this.nextSeq++
      this.consume(seq)
      return true
    }
    this.nextSeq++
    out.entries.push({ seq, kind: "patch", name: id, status: "completed", output: true, attempts: 0, createdAt: env.now, resolvedAt: env.now })
    return true
  }

  /** Matches a command with the journal at the next seq, or records it as a new entry. */
  private place(
    data: CommandData,
    env: Env,
    out: { entries: Array<Entry>; tasks: Array<NewTask>; logs: Array<{ message: string; level: string }>; consumed: Array<{ id: number; seq: number }> },
  ): number | NonDeterminismError {
    const seq = this.nextSeq++
    const kind = KIND[data._tag as keyof typeof KIND]
    const name = commandName(data)
    const existing = this.journal.get(seq)
    if (data._tag === "Step" && data.step.options.compensate) this.compensable.set(seq, data.step)
    if (data._tag === "Step" && data.step.options.irreversible) this.irreversible.add(seq)
    if (existing) {
      if (existing.kind !== kind || existing.name !== name) return this.diverged(seq, existing, { kind, name })
      if (existing.status === "pending" || decodesResult(data)) this.pending.set(seq, data)
      return seq
    }
    const base = { seq, kind, name, attempts: 0, createdAt: env.now }
    let entry: Entry
    switch (data._tag) {
      case "Step": {
        const input = toJson(data.input)
        const policy = data.step.options.deadline
        entry = { ...base, status: "pending", ...(input === undefined ? {} : { input }), ...(policy ? { deadline: deadlineTimes(policy, env.now) } : {}) }
        out.tasks.push({ seq, kind: "step", visibleAt: env.now })
        break
      }
      case "Sleep": {
        const until = env.now + Math.max(0, Duration.toMillis(data.duration))
        entry = { ...base, status: "pending", input: { until } }
        out.tasks.push({ seq, kind: "timer", visibleAt: until })
        break
      }
      case "Now":
        entry = { ...base, status: "completed", output: env.now, resolvedAt: env.now }
        break
      case "Random":
        entry = { ...base, status: "completed", output: env.random(), resolvedAt: env.now }
        break
      case "Uuid":
        entry = { ...base, status: "completed", output: uuidFrom(env.random), resolvedAt: env.now }
        break
      case "Log": {
        // Journaled and printed in the same redacted form.
        const message = this.redactor.scrub(String(data.message))
        entry = { ...base, status: "completed", input: { message, level: data.level }, resolvedAt: env.now }
        out.logs.push({ message, level: data.level })
        break
      }
      case "Pause":
        entry = { ...base, status: "pending" }
        break
      case "Signal": {
        // A signal sent before this wait is delivered now (oldest first); invalid ones are dropped.
        let received: InboxSignal | undefined
        for (let i = 0; i < this.inbox.length; i++) {
          const candidate = this.inbox[i]!
          if (candidate.name !== data.name) continue
          this.inbox.splice(i--, 1)
          out.consumed.push({ id: candidate.id, seq })
          if (Either.isRight(Schema.decodeUnknownEither(data.schema)(candidate.payload))) {
            received = candidate
            break
          }
          out.logs.push({ message: `signal "${data.name}" dropped: its payload does not match the schema`, level: "warning" })
        }
        if (received) {
          entry = { ...base, status: "completed", output: { _tag: "Received", payload: received.payload, at: received.receivedAt }, resolvedAt: env.now }
          break
        }
        const timeoutAt = data.timeout === undefined ? undefined : env.now + Math.max(0, Duration.toMillis(data.timeout))
        entry = { ...base, status: "pending", ...(timeoutAt === undefined ? {} : { input: { timeoutAt } }) }
        if (timeoutAt !== undefined) out.tasks.push({ seq, kind: "timer", visibleAt: timeoutAt })
        break
      }
      case "Child": {
        // The child's id is a function of the parent and the key (or position): replays and
        // retries name the same child. The engine creates it once this entry is committed; the
        // parent's task creates it too (repairing a crash in between) and, when the parent
        // waits, picks up its result.
        const key = data.key ?? `#${seq}`
        const runId = deterministicUuid(this.runId, "child", key)
        const input = toJson(data.input) ?? null
        const spec = { workflow: data.workflow.name, key, runId, wait: data.wait, input }
        entry = data.wait
          ? { ...base, status: "pending", input: spec }
          : { ...base, status: "completed", input: spec, output: { runId }, resolvedAt: env.now }
        out.tasks.push({ seq, kind: "child", visibleAt: env.now })
        break
      }
      case "Approval": {
        // The deadline is persisted when the gate opens; a timer task decides it then (unless "none").
        const deadline = data.deadline === undefined ? undefined : deadlineTimes(data.deadline, env.now)
        entry = { ...base, status: "pending", input: { onDeadline: data.onDeadline }, ...(deadline ? { deadline } : {}) }
        if (deadline && data.onDeadline !== "none") out.tasks.push({ seq, kind: "timer", visibleAt: deadline.dueAt })
        break
      }
      default:
        throw new Error(`unreachable command ${data._tag}`)
    }
    out.entries.push(entry)
    this.journal.set(seq, entry)
    if (entry.status === "pending" || decodesResult(data)) this.pending.set(seq, data)
    return seq
  }

  /** The generator's next input if what it waits on is resolved; undefined while pending. */
  private settle(waiting: Waiting, env: Env, out: { cancelled: Array<Entry> }): Feed | undefined {
    if (waiting._tag === "Single") {
      const entry = this.journal.get(waiting.seq)!
      if (entry.status === "pending") return undefined
      const data = this.pending.get(waiting.seq)
      this.consume(waiting.seq)
      return this.feedOf(entry, data)
    }
    const entries = waiting.seqs.map((seq) => this.journal.get(seq)!)
    if (waiting.race) {
      // The first to settle wins; on replay the losers are already recorded as cancelled.
      const winner = entries.find((e) => e.status === "completed" || e.status === "failed") ?? (entries.every((e) => e.status === "cancelled") ? entries[0] : undefined)
      if (!winner) return undefined
      for (const e of entries) if (e.status === "pending") out.cancelled.push({ ...e, status: "cancelled", resolvedAt: env.now })
      const data = this.pending.get(winner.seq)
      for (const seq of waiting.seqs) this.consume(seq)
      return this.feedOf(winner, data)
    }
    const failed = entries.find((e) => e.status === "failed") ?? entries.find((e) => e.status === "cancelled")
    if (failed) {
      // Fail fast: siblings still pending are withdrawn in the same commit.
      for (const e of entries) if (e.status === "pending") out.cancelled.push({ ...e, status: "cancelled", resolvedAt: env.now })
      for (const seq of waiting.seqs) this.consume(seq)
      return this.feedOf(failed)
    }
    if (entries.some((e) => e.status === "pending")) return undefined
    const feeds = entries.map((e) => this.feedOf(e, this.pending.get(e.seq)))
    for (const seq of waiting.seqs) this.consume(seq)
    const broken = feeds.find((f) => "err" in f)
    return broken ?? { ok: feeds.map((f) => ("ok" in f ? f.ok : undefined)) }
  }

  private feedOf(entry: Entry, data?: CommandData): Feed {
    switch (entry.status) {
      case "completed": {
        // A received signal's payload is decoded by the wait's schema (the journal keeps it encoded).
        const output = entry.output as { _tag?: string; payload?: unknown } | undefined
        if (data?._tag === "Signal" && output?._tag === "Received") {
          try {
            return { ok: { ...output, payload: Schema.decodeUnknownSync(data.schema)(output.payload) } }
          } catch (cause) {
            return { err: cause }
          }
        }
        if (data?._tag === "Step" && data.step.options.output !== undefined) {
          try {
            return { ok: decodeOutput(data.step, entry.output) }
          } catch (cause) {
            return { err: cause }
          }
        }
        return { ok: entry.output }
      }
      default:
        return {
          err: new StepFailedError({
            step: entry.name,
            seq: entry.seq,
            attempts: entry.attempts,
            error: entry.error ?? { code: entry.status, message: `${entry.kind} "${entry.name}" was ${entry.status}` },
          }),
        }
    }
  }

  private consume(seq: number): void {
    const step = this.compensable.get(seq)
    if (step) {
      const entry = this.journal.get(seq)
      if (entry?.status === "completed") this.undoable.push({ origin: seq, step, input: entry.input, output: entry.output, resolvedAt: entry.resolvedAt ?? entry.createdAt })
      this.compensable.delete(seq)
    }
    this.journal.delete(seq)
    this.pending.delete(seq)
  }

  private firstUnconsumed(): Entry | undefined {
    let first: Entry | undefined
    for (const entry of this.journal.values()) if (entry.seq >= this.nextSeq && (!first || entry.seq < first.seq)) first = entry
    return first
  }

  private diverged(seq: number, expected: Entry, actual: { kind: string; name: string } | null): NonDeterminismError {
    return new NonDeterminismError({ runId: this.runId, seq, expected: { kind: expected.kind, name: expected.name }, actual })
  }
}
