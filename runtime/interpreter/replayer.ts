/**
 * The replay interpreter: a pure function of (definition, input, journal) to a decision.
 *
 * A `Replayer` owns one live generator of a run. It walks the generator forward, matching
 * every yielded command with the journal entry at the same sequence number (kind and name
 * must agree). Resolved entries feed their decoded results back; pending entries block;
 * commands past the end of the journal become new entries (see the placement table). The
 * sticky cache keeps Replayers alive between steps, so a warm run is advanced by `resolve` +
 * `advance` without replaying its history; a cold run is rebuilt by `load` + `advance` and
 * reaches the same state.
 */
import { Either, type Schema } from "effect"
import type { Command, CommandData } from "../../dsl/Command.js"
import { isCommand } from "../../dsl/Command.js"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import { NonDeterminismError, StepFailedError, WorkflowFailedError } from "../../src/core/errors.js"
import { toJson } from "../../src/core/json.js"
import { isDynamicSeq } from "../../src/core/dynamicWork.js"
import type { Entry, ErrorInfo, InboxSignal } from "../../src/core/model.js"
import { defaultRedactor, type Redactor } from "../../src/core/redact.js"
import { errorInfo } from "../errorInfo.js"
import { PatchOutput, corruptInfo, decodeEntry, type CorruptJournalError } from "./codecs.js"
import { settle, seqsOf, type Waiting } from "./groups.js"
import { Inbox, matchPatch } from "./inbox.js"
import { emptyDraft, type Decision, type Draft, type Env, type Feed, type Outcome, type Stop } from "./model.js"
import { isLeaf, placementOf, type Leaf } from "./placement.js"
import { Saga, type SagaStep } from "./saga.js"

/** The live interpreter state of one run. */
export class Replayer {
  private readonly generator: Generator<Command<unknown>, unknown, unknown>
  private nextSeq = 1
  private started = false
  private finished = false
  private waiting: Waiting | undefined
  /** Entries not yet consumed by the generator (loaded history, or pending entries it created). */
  private readonly journal = new Map<number, Entry>()
  /**
   * Dynamic work's entries (seqs from DYNAMIC_SEQ_BASE): kept apart, since the generator never
   * yields them; the engine runs their nodes and holds the run's completion while one is pending.
   */
  private readonly dynamic = new Map<number, Entry>()
  /** The command behind each placed entry until it is consumed: the engine needs a pending step's definition to run it. */
  private readonly placed = new Map<number, Leaf>()
  private readonly saga = new Saga()
  private readonly inbox = new Inbox()
  /** Seqs of steps marked `irreversible` (a rerun must not repeat them unasked). */
  readonly irreversible = new Set<number>()
  /** The groups (`Workflow.all`, `Workflow.race`) placed so far, by their members' seqs (graph inspection reads them). */
  readonly groups: Array<{ readonly seqs: ReadonlyArray<number>; readonly race: boolean }> = []

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

  /** Adds journal entries (history loaded from the store) and the unconsumed inbox. */
  load(entries: Iterable<Entry>, inbox: Iterable<InboxSignal> = []): this {
    for (const entry of entries) this.resolve(entry)
    this.inbox.add(inbox)
    return this
  }

  /** Adds a signal to the inbox (sent while the run does not wait for it). */
  deliver(signal: InboxSignal): void {
    this.inbox.add([signal])
  }

  /** The signal wait for `name` the generator is blocked on, if any. */
  pendingSignal(name: string): { readonly entry: Entry; readonly schema: Schema.Schema<any, any, never> } | undefined {
    const entry = this.waitingEntry()
    const data = entry && this.placed.get(entry.seq)
    return entry && entry.status === "pending" && entry.kind === "signal" && entry.name === name && data?._tag === "Signal"
      ? { entry, schema: data.schema }
      : undefined
  }

  /** Records the resolution of a pending entry (warm path: the result the worker just produced). */
  resolve(entry: Entry): void {
    if (isDynamicSeq(entry.seq)) this.dynamic.set(entry.seq, entry)
    else this.journal.set(entry.seq, entry)
  }

  /** True once the run has dynamic work (facts or nodes). */
  hasDynamicWork(): boolean {
    return this.dynamic.size > 0
  }

  /** The run's dynamic work entries (facts and scheduled nodes), in seq order. */
  dynamicJournal(): ReadonlyArray<Entry> {
    return [...this.dynamic.values()].sort((a, b) => a.seq - b.seq)
  }

  /** The command behind a pending entry, if the generator has reached it. */
  commandAt(seq: number): CommandData | undefined {
    return this.placed.get(seq)
  }

  /** The journal entry at `seq`, while the generator has not consumed it. */
  entryAt(seq: number): Entry | undefined {
    return isDynamicSeq(seq) ? this.dynamic.get(seq) : this.journal.get(seq)
  }

  /** The manual gate (pause or approval) the generator waits on, if any. */
  pendingGate(): Entry | undefined {
    const entry = this.waitingEntry()
    return entry && entry.status === "pending" && (entry.kind === "pause" || entry.kind === "approval") ? entry : undefined
  }

  /** Drives the generator as far as the journal allows and returns what changed. */
  advance(env: Env): Decision {
    const draft = emptyDraft()
    const done = (outcome: Outcome): Decision => ({ ...draft, outcome, paused: outcome._tag === "Blocked" && this.pendingGate() !== undefined })
    if (this.finished) return done({ _tag: "Blocked" })
    let feed: Feed
    if (!this.started) {
      this.started = true
      feed = { ok: undefined }
    } else if (this.saga.running) {
      const next = this.sagaStep(env, draft)
      if (next === "blocked") return done({ _tag: "Blocked" })
      if ("stop" in next) return done(next.stop)
      feed = next.feed
    } else if (this.waiting) {
      const resolved = this.settle(this.waiting, env, draft)
      if (resolved === undefined) return done({ _tag: "Blocked" })
      feed = resolved
    } else {
      return done({ _tag: "Blocked" })
    }
    const end = this.drive(feed, env, draft)
    return done(end === "blocked" ? { _tag: "Blocked" } : end.stop)
  }

  /** Runs the generator from `feed` until it blocks or the run ends. */
  private drive(initial: Feed, env: Env, draft: Draft): "blocked" | Stop {
    let feed = initial
    for (;;) {
      if ("corrupt" in feed) return this.corrupt(feed.corrupt)
      let step: IteratorResult<Command<unknown>, unknown>
      try {
        step = "err" in feed ? this.generator.throw(feed.err) : this.generator.next(feed.ok)
      } catch (cause) {
        return this.fail(errorInfo(cause, this.redactor), env, draft)
      }
      if (step.done) {
        const leftover = this.firstUnconsumed()
        if (leftover) return this.stop({ _tag: "NonDeterminism", error: this.diverged(leftover.seq, leftover, null) })
        return this.stop({ _tag: "Completed", output: toJson(step.value) })
      }
      const command = step.value
      if (!isCommand(command)) {
        feed = { err: new TypeError(`workflow yielded a non-command value (${typeof command}); use yield* with Workflow/Step commands`) }
        continue
      }
      const data = command.data
      switch (data._tag) {
        case "Fail":
          return this.fail(
            errorInfo(new WorkflowFailedError({ reason: data.reason, details: data.details, ...(data.code ? { code: data.code } : {}) }), this.redactor),
            env,
            draft,
          )
        case "Compensate": {
          if (!this.saga.canUndo) {
            feed = { ok: undefined }
            continue
          }
          this.saga.begin(undefined)
          const next = this.sagaStep(env, draft)
          if (next === "blocked" || "stop" in next) return next
          feed = next.feed
          continue
        }
        case "Patched": {
          const patched = this.patched(data.id, env, draft)
          if (typeof patched !== "boolean") return patched
          feed = { ok: patched }
          continue
        }
      }
      const group = data._tag === "All" || data._tag === "Race"
      const members = group ? data.commands.map((c) => c.data) : [data]
      // Checked before anything is placed: a half-placed group would leave entries no replay consumes.
      if (!members.every(isLeaf)) {
        const nested = members.find((member) => !isLeaf(member))!
        const reason = group
          ? `Workflow.${data._tag.toLowerCase()}: a ${nested._tag} command cannot run in a group`
          : `workflow yielded an unknown command (${nested._tag})`
        feed = { err: new TypeError(reason) }
        continue
      }
      const seqs: Array<number> = []
      for (const member of members) {
        const placed = this.place(member, env, draft)
        if (typeof placed !== "number") return placed
        seqs.push(placed)
      }
      const waiting: Waiting = group ? { _tag: "Group", seqs, race: data._tag === "Race" } : { _tag: "Single", seq: seqs[0]! }
      if (waiting._tag === "Group") this.groups.push(waiting)
      const resolved = this.settle(waiting, env, draft)
      if (resolved === undefined) {
        this.waiting = waiting
        return "blocked"
      }
      feed = resolved
    }
  }

  /** Matches a command with the journal at the next seq, or records it as a new entry. */
  private place(data: Leaf, env: Env, draft: Draft): number | Stop {
    const seq = this.nextSeq++
    const row = placementOf(data)
    const name = row.name(data)
    const undo = row.undo?.(data)
    if (undo) this.saga.track(seq, undo)
    if (row.irreversible?.(data)) this.irreversible.add(seq)
    const existing = this.journal.get(seq)
    if (existing) {
      if (existing.kind !== row.kind || existing.name !== name)
        return this.stop({ _tag: "NonDeterminism", error: this.diverged(seq, existing, { kind: row.kind, name }) })
      const input = decodeEntry(row.input, this.runId, existing, "input")
      if (Either.isLeft(input)) return this.corrupt(input.left)
      this.placed.set(seq, data)
      return seq
    }
    const placed = row.place(data, { seq, env, runId: this.runId, redactor: this.redactor, inbox: this.inbox })
    const entry: Entry = { seq, kind: row.kind, name, attempts: 0, createdAt: env.now, ...placed.fields }
    draft.entries.push(entry)
    if (placed.task) draft.tasks.push({ seq, ...placed.task })
    if (placed.logs) draft.logs.push(...placed.logs)
    if (placed.consumed) draft.consumed.push(...placed.consumed.map((id) => ({ id, seq })))
    this.journal.set(seq, entry)
    this.placed.set(seq, data)
    return seq
  }

  /** The generator's next input if its wait is over (its entries consumed); undefined while pending. */
  private settle(waiting: Waiting, env: Env, draft: Draft): Feed | undefined {
    const settled = settle(
      waiting,
      (seq) => this.journal.get(seq)!,
      (entry) => this.feedOf(entry),
      env.now,
    )
    if (!settled) return undefined
    draft.cancelled.push(...settled.cancelled)
    for (const seq of seqsOf(waiting)) this.consume(seq)
    this.waiting = undefined
    return settled.feed
  }

  /** A resolved entry as the generator receives it: its decoded result, or its failure thrown at the `yield*`. */
  private feedOf(entry: Entry): Feed {
    if (entry.status !== "completed") {
      const error = entry.error ?? { code: entry.status, message: `${entry.kind} "${entry.name}" was ${entry.status}` }
      return { err: new StepFailedError({ step: entry.name, seq: entry.seq, attempts: entry.attempts, error }) }
    }
    const data = this.placed.get(entry.seq)
    // Waits only hold seqs this replayer placed, and they stay in `placed` until consumed.
    if (!data) throw new Error(`unreachable: no command placed at seq ${entry.seq}`)
    const row = placementOf(data)
    const output = decodeEntry(row.output(data), this.runId, entry, "output")
    if (Either.isLeft(output)) return { corrupt: output.left }
    return row.feed ? row.feed(data, output.right) : { ok: output.right }
  }

  /**
   * `Workflow.patched(id)`: true when the journal has this patch's marker here, or when the
   * run is past its recorded journal (new code: the marker is recorded); false when the
   * journal holds an older command here (the run predates the patch; no seq is used).
   */
  private patched(id: string, env: Env, draft: Draft): boolean | Stop {
    const seq = this.nextSeq
    const match = matchPatch(id, seq, this.journal.get(seq), env)
    if (match._tag === "Predates") return false
    this.nextSeq++
    if (match._tag === "New") {
      draft.entries.push(match.entry)
      return true
    }
    const marker = decodeEntry(PatchOutput, this.runId, match.entry, "output")
    if (Either.isLeft(marker)) return this.corrupt(marker.left)
    this.consume(seq)
    return true
  }

  /** An uncaught failure: compensate what can be undone first, then fail with the original error. */
  private fail(error: ErrorInfo, env: Env, draft: Draft): "blocked" | Stop {
    if (!this.saga.canUndo) return this.stop({ _tag: "Failed", error })
    this.saga.begin(error)
    const next = this.sagaStep(env, draft)
    if (next === "blocked" || "stop" in next) return next
    return this.stop({ _tag: "Failed", error })
  }

  /** Advances the compensation sequence; the run stops if it ends or the journal diverges. */
  private sagaStep(env: Env, draft: Draft): SagaStep {
    const next = this.saga.run({ place: (data) => this.place(data, env, draft), entryAt: (seq) => this.journal.get(seq), consume: (seq) => this.consume(seq) })
    return next !== "blocked" && "stop" in next ? this.stop(next.stop) : next
  }

  /** The generator has taken the entry at `seq`: forget it (a completed compensable step becomes undoable). */
  private consume(seq: number): void {
    this.saga.consumed(seq, this.journal.get(seq))
    this.journal.delete(seq)
    this.placed.delete(seq)
  }

  /** The entry of a single (non-group) wait. */
  private waitingEntry(): Entry | undefined {
    return this.waiting?._tag === "Single" ? this.journal.get(this.waiting.seq) : undefined
  }

  /** The lowest recorded entry the code has not reached (the code ended before its journal did). */
  private firstUnconsumed(): Entry | undefined {
    let first: Entry | undefined
    for (const entry of this.journal.values()) if (entry.seq >= this.nextSeq && (!first || entry.seq < first.seq)) first = entry
    return first
  }

  /** The run ends here: nothing after this advance drives the generator again. */
  private stop(outcome: Outcome): Stop {
    this.finished = true
    return { stop: outcome }
  }

  /** A payload that does not decode ends the run without compensating: the journal cannot be trusted. */
  private corrupt(error: CorruptJournalError): Stop {
    return this.stop({ _tag: "Failed", error: corruptInfo(error) })
  }

  /** What replay found at `seq` against what the code yielded there. */
  private diverged(seq: number, expected: Entry, actual: { kind: string; name: string } | null): NonDeterminismError {
    return new NonDeterminismError({ runId: this.runId, seq, expected: { kind: expected.kind, name: expected.name }, actual })
  }
}
