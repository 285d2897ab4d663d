/**
 * The interpreter as a table: each row is (workflow code, journal so far, resolution) →
 * the decision of the next advance (new entries, tasks, cancelled siblings, logs, consumed
 * inbox signals, outcome). No database, no engine: a `Replayer` replays the journal, takes
 * the resolution (warm path), and advances once. Every row is also replayed cold (the journal
 * with the resolution already in it) and must decide the same: replay is deterministic.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Command, Step, Trigger, Workflow, type WorkflowGenerator } from "../../dsl/index.js"
import { Replayer, type Decision, type Env, type NewTask } from "../../runtime/Interpreter.js"
import { deterministicUuid } from "../../src/core/ids.js"
import type { Json } from "../../src/core/json.js"
import type { Entry, EntryKind, InboxSignal } from "../../src/core/model.js"

/** One row: the run so far, what happened, and what the interpreter must decide. */
interface Row {
  readonly title: string
  readonly workflow: () => WorkflowGenerator<unknown>
  readonly journal?: ReadonlyArray<Entry>
  readonly inbox?: ReadonlyArray<InboxSignal>
  /** The resolution applied to the replayed run (a pending entry, now resolved); none for a start. */
  readonly resolution?: Entry
  readonly expect: {
    readonly entries?: ReadonlyArray<Partial<Entry>>
    readonly tasks?: ReadonlyArray<NewTask>
    readonly cancelled?: ReadonlyArray<Partial<Entry>>
    readonly logs?: Decision["logs"]
    readonly consumed?: Decision["consumed"]
    readonly paused?: boolean
    readonly outcome: Record<string, unknown>
  }
  /** Further checks on the replayer after the decision. */
  readonly also?: (replayer: Replayer) => void
}

const NOW = 1_000_000
const DAY = 86_400_000

const rows: ReadonlyArray<Row> = [
  // ---- steps
  {
    title: "a start records the first step as pending with a step task, and blocks",
    workflow: function* () {
      return yield* A(7)
    },
    expect: {
      entries: [{ seq: 1, kind: "step", name: "a", status: "pending", input: 7, attempts: 0, createdAt: NOW }],
      tasks: [{ seq: 1, kind: "step", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "a completed step feeds its result to the workflow, which places the next command",
    workflow: function* () {
      const a = yield* A(1)
      return yield* B(a)
    },
    journal: [pending(1, "step", "a", { input: 1 })],
    resolution: completed(1, "step", "a", 41, { input: 1 }),
    expect: {
      entries: [{ seq: 2, kind: "step", name: "b", status: "pending", input: 41 }],
      tasks: [{ seq: 2, kind: "step", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "an uncaught step failure fails the run with the step's error",
    workflow: function* () {
      return yield* A(1)
    },
    journal: [pending(1, "step", "a")],
    resolution: failed(1, "step", "a", "boom"),
    expect: { outcome: { _tag: "Failed", error: { code: "boom", step: "a", seq: 1 } } },
  },
  {
    title: "a caught step failure is the workflow's to handle: it places its fallback",
    workflow: function* () {
      try {
        return yield* A(1)
      } catch {
        return yield* B(0)
      }
    },
    journal: [pending(1, "step", "a")],
    resolution: failed(1, "step", "a", "boom"),
    expect: {
      entries: [{ seq: 2, kind: "step", name: "b", status: "pending" }],
      tasks: [{ seq: 2, kind: "step", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "a step's output schema decodes its journaled result before the workflow sees it",
    workflow: function* () {
      const due = yield* Due()
      return due instanceof Date ? due.getUTCFullYear() : "not a Date"
    },
    journal: [pending(1, "step", "due")],
    resolution: completed(1, "step", "due", "2030-01-02T00:00:00.000Z"),
    expect: { outcome: { _tag: "Completed", output: 2030 } },
  },
  {
    title: "a step with a deadline persists its due time when it is planned; an irreversible one is noted",
    workflow: function* () {
      return yield* Sla()
    },
    expect: {
      entries: [{ seq: 1, kind: "step", name: "sla", status: "pending", deadline: { dueAt: NOW + 3_600_000 } }],
      tasks: [{ seq: 1, kind: "step", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
    also: (r) => expect([...r.irreversible]).toEqual([1]),
  },
  // ---- journaled values, logs, timers
  {
    title: "now, random and uuid are recorded at once, and a log line is journaled and printed once",
    workflow: function* () {
      const t = yield* Workflow.now()
      const r = yield* Workflow.random()
      const id = yield* Workflow.uuid()
      yield* Workflow.log("hello")
      return { t, r: typeof r, id: id.length }
    },
    expect: {
      entries: [
        { seq: 1, kind: "now", name: "now", status: "completed", output: NOW },
        { seq: 2, kind: "random", name: "random", status: "completed" },
        { seq: 3, kind: "uuid", name: "uuid", status: "completed" },
        { seq: 4, kind: "log", name: "log", status: "completed", input: { message: "hello", level: "info" } },
      ],
      logs: [{ message: "hello", level: "info" }],
      outcome: { _tag: "Completed", output: { t: NOW, r: "number", id: 36 } },
    },
  },
  {
    title: "replay returns the recorded now/random/uuid, not new ones, and prints no log again",
    workflow: function* () {
      const t = yield* Workflow.now()
      const r = yield* Workflow.random()
      const id = yield* Workflow.uuid()
      yield* Workflow.log("hello")
      yield* Workflow.sleep("nap", "1 day")
      return { t, r, id }
    },
    journal: [
      completed(1, "now", "now", 5),
      completed(2, "random", "random", 0.25),
      completed(3, "uuid", "uuid", "u-1"),
      completed(4, "log", "log", undefined, { input: { message: "hello", level: "info" } }),
      pending(5, "sleep", "nap", { input: { until: 5 + DAY } }),
    ],
    resolution: completed(5, "sleep", "nap", undefined, { input: { until: 5 + DAY } }),
    expect: { outcome: { _tag: "Completed", output: { t: 5, r: 0.25, id: "u-1" } } },
  },
  {
    title: "a sleep records its due time and a timer task at that time",
    workflow: function* () {
      yield* Workflow.sleep("cool-off", "10 minutes")
    },
    expect: {
      entries: [{ seq: 1, kind: "sleep", name: "cool-off", status: "pending", input: { until: NOW + 600_000 } }],
      tasks: [{ seq: 1, kind: "timer", visibleAt: NOW + 600_000 }],
      outcome: { _tag: "Blocked" },
    },
  },
  // ---- gates
  {
    title: "a pause blocks the run as paused, with no task",
    workflow: function* () {
      return yield* Workflow.pause("hold")
    },
    expect: { entries: [{ seq: 1, kind: "pause", name: "hold", status: "pending" }], paused: true, outcome: { _tag: "Blocked" } },
  },
  {
    title: "a resumed pause feeds the actor and reason",
    workflow: function* () {
      return yield* Workflow.pause("hold")
    },
    journal: [pending(1, "pause", "hold")],
    resolution: completed(1, "pause", "hold", { actor: "ops", reason: "checked", at: 5 }),
    expect: { outcome: { _tag: "Completed", output: { actor: "ops", reason: "checked", at: 5 } } },
  },
  {
    title: "an approval with a deadline persists it and sets a timer at the due time",
    workflow: function* () {
      return yield* Workflow.approval("review", { deadline: "2 days" })
    },
    expect: {
      entries: [{ seq: 1, kind: "approval", name: "review", status: "pending", input: { onDeadline: "reject" }, deadline: { dueAt: NOW + 2 * DAY } }],
      tasks: [{ seq: 1, kind: "timer", visibleAt: NOW + 2 * DAY }],
      paused: true,
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "an approval whose deadline only reports (onDeadline none) sets no timer",
    workflow: function* () {
      return yield* Workflow.approval("review", { deadline: "2 days", onDeadline: "none" })
    },
    expect: { entries: [{ seq: 1, kind: "approval", status: "pending", deadline: { dueAt: NOW + 2 * DAY } }], paused: true, outcome: { _tag: "Blocked" } },
  },
  {
    title: "an approval decided by its deadline feeds the automatic rejection",
    workflow: function* () {
      const vote = yield* Workflow.approval("review", { deadline: "2 days" })
      return vote.approved ? "ship" : `rejected by ${vote.actor}`
    },
    journal: [pending(1, "approval", "review", { input: { onDeadline: "reject" } })],
    resolution: completed(
      1,
      "approval",
      "review",
      { approved: false, actor: "system:deadline", note: "deadline passed", at: 9, automatic: true },
      { input: { onDeadline: "reject" } },
    ),
    expect: { outcome: { _tag: "Completed", output: "rejected by system:deadline" } },
  },
  {
    title: "an approval failed by its deadline (onDeadline fail) fails the run",
    workflow: function* () {
      return yield* Workflow.approval("review", { deadline: "2 days", onDeadline: "fail" })
    },
    journal: [pending(1, "approval", "review", { input: { onDeadline: "fail" } })],
    resolution: failed(1, "approval", "review", "approval_deadline_passed", { input: { onDeadline: "fail" } }),
    expect: { outcome: { _tag: "Failed", error: { code: "approval_deadline_passed", seq: 1 } } },
  },
  // ---- signals
  {
    title: "a signal wait with a timeout records it and sets a timer",
    workflow: function* () {
      return yield* Workflow.signal("paid", { schema: Paid, timeout: "1 hour" })
    },
    expect: {
      entries: [{ seq: 1, kind: "signal", name: "paid", status: "pending", input: { timeoutAt: NOW + 3_600_000 } }],
      tasks: [{ seq: 1, kind: "timer", visibleAt: NOW + 3_600_000 }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "a signal sent before the wait is delivered from the inbox at once, decoded by the wait's schema",
    workflow: function* () {
      const s = yield* Workflow.signal("paid", { schema: Paid })
      return s._tag === "Received" ? { cents: s.payload.cents, on: s.payload.on instanceof Date } : "timed out"
    },
    inbox: [{ id: 7, name: "paid", payload: { cents: 5, on: "2030-01-01T00:00:00.000Z" }, receivedAt: 500 }],
    expect: {
      entries: [
        {
          seq: 1,
          kind: "signal",
          name: "paid",
          status: "completed",
          output: { _tag: "Received", payload: { cents: 5, on: "2030-01-01T00:00:00.000Z" }, at: 500 },
        },
      ],
      consumed: [{ id: 7, seq: 1 }],
      outcome: { _tag: "Completed", output: { cents: 5, on: true } },
    },
  },
  {
    title: "an early signal that does not decode is dropped with a warning; the next one is delivered",
    workflow: function* () {
      const s = yield* Workflow.signal("paid", { schema: Paid })
      return s._tag === "Received" ? s.payload.cents : -1
    },
    inbox: [
      { id: 1, name: "paid", payload: { cents: "lots" }, receivedAt: 10 },
      { id: 2, name: "other", payload: null, receivedAt: 11 },
      { id: 3, name: "paid", payload: { cents: 3, on: "2030-01-01T00:00:00.000Z" }, receivedAt: 12 },
    ],
    expect: {
      entries: [{ seq: 1, kind: "signal", status: "completed" }],
      logs: [{ message: 'signal "paid" dropped: its payload does not match the schema', level: "warning" }],
      consumed: [
        { id: 1, seq: 1 },
        { id: 3, seq: 1 },
      ],
      outcome: { _tag: "Completed", output: 3 },
    },
  },
  {
    title: "a signal wait that times out feeds TimedOut",
    workflow: function* () {
      return (yield* Workflow.signal("paid", { schema: Paid, timeout: "1 hour" }))._tag
    },
    journal: [pending(1, "signal", "paid", { input: { timeoutAt: 99 } })],
    resolution: completed(1, "signal", "paid", { _tag: "TimedOut", at: 99 }, { input: { timeoutAt: 99 } }),
    expect: { outcome: { _tag: "Completed", output: "TimedOut" } },
  },
  // ---- patches
  {
    title: "patched is true past the recorded journal and records its marker",
    workflow: function* () {
      return (yield* Workflow.patched("v2")) ? yield* B(2) : yield* A(1)
    },
    expect: {
      entries: [
        { seq: 1, kind: "patch", name: "v2", status: "completed", output: true },
        { seq: 2, kind: "step", name: "b", status: "pending" },
      ],
      tasks: [{ seq: 2, kind: "step", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "patched is false for a run whose journal predates the patch, and uses no seq",
    workflow: function* () {
      return (yield* Workflow.patched("v2")) ? yield* B(2) : yield* A(1)
    },
    journal: [pending(1, "step", "a", { input: 1 })],
    resolution: completed(1, "step", "a", "old path", { input: 1 }),
    expect: { outcome: { _tag: "Completed", output: "old path" } },
  },
  {
    title: "patched is true again when the journal holds its marker",
    workflow: function* () {
      return (yield* Workflow.patched("v2")) ? yield* B(2) : yield* A(1)
    },
    journal: [completed(1, "patch", "v2", true), pending(2, "step", "b", { input: 2 })],
    resolution: completed(2, "step", "b", "new path", { input: 2 }),
    expect: { outcome: { _tag: "Completed", output: "new path" } },
  },
  // ---- children
  {
    title: "a child command records its spec with a deterministic run id and a child task",
    workflow: function* () {
      return yield* Workflow.child(Label, {}, { key: "label" })
    },
    expect: {
      entries: [
        {
          seq: 1,
          kind: "child",
          name: "label",
          status: "pending",
          input: { workflow: "label", key: "label", runId: deterministicUuid("run-1", "child", "label"), wait: true, input: {} },
        },
      ],
      tasks: [{ seq: 1, kind: "child", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "a settled child feeds its output to the parent",
    workflow: function* () {
      return yield* Workflow.child(Label, {})
    },
    journal: [pending(1, "child", "label", { input: childSpec("#1", true) })],
    resolution: completed(1, "child", "label", "L-1", { input: childSpec("#1", true) }),
    expect: { outcome: { _tag: "Completed", output: "L-1" } },
  },
  {
    title: "startChild is resolved at once with the child's run id and does not wait",
    workflow: function* () {
      const started = yield* Workflow.startChild(Label, {})
      return started.runId
    },
    expect: {
      entries: [{ seq: 1, kind: "child", status: "completed", input: childSpec("#1", false), output: { runId: deterministicUuid("run-1", "child", "#1") } }],
      tasks: [{ seq: 1, kind: "child", visibleAt: NOW }],
      outcome: { _tag: "Completed", output: deterministicUuid("run-1", "child", "#1") },
    },
  },
  // ---- groups
  {
    title: "all places every member at once and blocks until each is resolved",
    workflow: function* () {
      return yield* Workflow.all([A(1), B(2)])
    },
    expect: {
      entries: [
        { seq: 1, name: "a", status: "pending" },
        { seq: 2, name: "b", status: "pending" },
      ],
      tasks: [
        { seq: 1, kind: "step", visibleAt: NOW },
        { seq: 2, kind: "step", visibleAt: NOW },
      ],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "all joins the results in order once the last member completes",
    workflow: function* () {
      return yield* Workflow.all([A(1), B(2)])
    },
    journal: [completed(2, "step", "b", "B", { input: 2 }), pending(1, "step", "a", { input: 1 })],
    resolution: completed(1, "step", "a", "A", { input: 1 }),
    expect: { outcome: { _tag: "Completed", output: ["A", "B"] } },
  },
  {
    title: "all fails fast: a failed member cancels the siblings still pending and is thrown",
    workflow: function* () {
      return yield* Workflow.all([A(1), B(2), Workflow.sleep("wait", "1 hour")])
    },
    journal: [pending(1, "step", "a", { input: 1 }), pending(2, "step", "b", { input: 2 }), pending(3, "sleep", "wait", { input: { until: 7 } })],
    resolution: failed(2, "step", "b", "down", { input: 2 }),
    expect: {
      cancelled: [
        { seq: 1, name: "a", status: "cancelled", resolvedAt: NOW },
        { seq: 3, name: "wait", status: "cancelled", resolvedAt: NOW },
      ],
      outcome: { _tag: "Failed", error: { code: "down", step: "b" } },
    },
  },
  {
    title: "race: the first member to settle wins and the others are cancelled (a sleep as a timeout)",
    workflow: function* () {
      const winner = yield* Workflow.race([A(1), Workflow.sleep("timeout", "1 hour")])
      return winner === undefined ? "timed out" : winner
    },
    journal: [pending(1, "step", "a", { input: 1 }), pending(2, "sleep", "timeout", { input: { until: 7 } })],
    resolution: completed(2, "sleep", "timeout", undefined, { input: { until: 7 } }),
    expect: { cancelled: [{ seq: 1, name: "a", status: "cancelled" }], outcome: { _tag: "Completed", output: "timed out" } },
  },
  {
    title: "a group may hold only commands with an entry of their own: anything else is thrown at the yield*",
    workflow: function* () {
      return yield* new Command<unknown>({ _tag: "All", commands: [A(1), Workflow.patched("x")] })
    },
    expect: { outcome: { _tag: "Failed", error: { message: "Workflow.all: a Patched command cannot run in a group" } } },
  },
  // ---- saga
  {
    title: "an uncaught failure starts the saga: the newest completed step is compensated first",
    workflow: function* () {
      yield* Reserve()
      yield* Charge()
      return yield* A(1)
    },
    journal: [
      completed(1, "step", "reserve", { r: 1 }, { resolvedAt: 10 }),
      completed(2, "step", "charge", { id: "ch" }, { resolvedAt: 20 }),
      pending(3, "step", "a", { input: 1 }),
    ],
    resolution: failed(3, "step", "a", "boom", { input: 1 }),
    expect: {
      entries: [{ seq: 4, kind: "compensation", name: "compensate:charge", status: "pending", input: { seq: 2, output: { id: "ch" } } }],
      tasks: [{ seq: 4, kind: "compensation", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "the saga ends by failing the run with the original error and each compensation's outcome",
    workflow: function* () {
      yield* Reserve()
      yield* Charge()
      return yield* A(1)
    },
    journal: [
      completed(1, "step", "reserve", { r: 1 }, { resolvedAt: 10 }),
      completed(2, "step", "charge", { id: "ch" }, { resolvedAt: 20 }),
      failed(3, "step", "a", "boom", { input: 1 }),
      completed(4, "compensation", "compensate:charge", undefined, { input: { seq: 2, output: { id: "ch" } } }),
      pending(5, "compensation", "compensate:reserve", { input: { seq: 1, output: { r: 1 } } }),
    ],
    resolution: failed(5, "compensation", "compensate:reserve", "refund_failed", { input: { seq: 1, output: { r: 1 } } }),
    expect: {
      outcome: {
        _tag: "Failed",
        error: {
          code: "boom",
          step: "a",
          details: {
            compensations: [
              { step: "charge", seq: 4, status: "completed" },
              { step: "reserve", seq: 5, status: "failed", error: "refund_failed" },
            ],
          },
        },
      },
    },
  },
  {
    title: "compensate on demand undoes the completed steps, then the workflow continues",
    workflow: function* () {
      yield* Charge()
      yield* Workflow.compensate()
      return yield* B(2)
    },
    journal: [completed(1, "step", "charge", { id: "ch" }), pending(2, "compensation", "compensate:charge", { input: { seq: 1, output: { id: "ch" } } })],
    resolution: completed(2, "compensation", "compensate:charge", undefined, { input: { seq: 1, output: { id: "ch" } } }),
    expect: {
      entries: [{ seq: 3, kind: "step", name: "b", status: "pending" }],
      tasks: [{ seq: 3, kind: "step", visibleAt: NOW }],
      outcome: { _tag: "Blocked" },
    },
  },
  {
    title: "Workflow.fail fails the run with workflow_failed (nothing to compensate)",
    workflow: function* () {
      return yield* Workflow.fail("rejected by policy", { rule: 7 })
    },
    expect: { outcome: { _tag: "Failed", error: { code: "workflow_failed", message: "rejected by policy" } } },
  },
  {
    title: "a journaled step result its output schema no longer decodes is thrown at the yield* (the workflow's schema, not the journal's shape)",
    workflow: function* () {
      try {
        return yield* Due()
      } catch (e) {
        return (e as { _tag?: string })._tag ?? "untagged"
      }
    },
    journal: [pending(1, "step", "due")],
    resolution: completed(1, "step", "due", "not a date"),
    expect: { outcome: { _tag: "Completed", output: "ParseError" } },
  },
  // ---- non-determinism
  {
    title: "a different command at a recorded seq is non-determinism naming the seq and both sides",
    workflow: function* () {
      yield* A(1)
      return yield* C()
    },
    journal: [completed(1, "step", "a", 1, { input: 1 }), pending(2, "step", "b", { input: 1 })],
    expect: {
      outcome: {
        _tag: "NonDeterminism",
        error: { _tag: "NonDeterminismError", runId: "run-1", seq: 2, expected: { kind: "step", name: "b" }, actual: { kind: "step", name: "c" } },
      },
    },
  },
  {
    title: "a different kind under the same name is non-determinism too",
    workflow: function* () {
      yield* Workflow.sleep("a", "1 hour")
    },
    journal: [pending(1, "step", "a", { input: 1 })],
    expect: { outcome: { _tag: "NonDeterminism", error: { seq: 1, expected: { kind: "step", name: "a" }, actual: { kind: "sleep", name: "a" } } } },
  },
  {
    title: "code that returns before the journal ends is non-determinism with nothing yielded",
    workflow: function* () {
      return yield* A(1)
    },
    journal: [completed(1, "step", "a", 1, { input: 1 }), pending(2, "step", "b")],
    expect: { outcome: { _tag: "NonDeterminism", error: { seq: 2, expected: { kind: "step", name: "b" }, actual: null } } },
  },
  // ---- corrupt journal payloads
  ...corruptRows(),
]

/** A journal payload that does not have the shape the engine writes fails the run with corrupt_journal. */
function corruptRows(): ReadonlyArray<Row> {
  const corrupt = (seq: number, kind: EntryKind, name: string, field: "input" | "output") => ({
    _tag: "Failed",
    error: { code: "corrupt_journal", seq, message: expect.stringContaining(`seq ${seq}: the ${field} of ${kind} "${name}"`), details: { kind, name, field } },
  })
  return [
    {
      title: "an approval decision of the wrong shape is corrupt_journal, never a truthy guess",
      workflow: function* () {
        return (yield* Workflow.approval("review")).approved ? "ship" : "stop"
      },
      journal: [completed(1, "approval", "review", { approved: "yes", actor: "ann", at: 1 }, { input: { onDeadline: "reject" } })],
      expect: { outcome: corrupt(1, "approval", "review", "output") },
    },
    {
      title: "a gate decided with a malformed result (warm: the engine's resolution) is corrupt_journal",
      workflow: function* () {
        return (yield* Workflow.approval("review")).approved
      },
      journal: [pending(1, "approval", "review", { input: { onDeadline: "reject" } })],
      resolution: completed(1, "approval", "review", { approved: true }, { input: { onDeadline: "reject" } }),
      expect: { outcome: corrupt(1, "approval", "review", "output") },
    },
    {
      title: "a resumed pause without its result is corrupt_journal, not a TypeError in the workflow",
      workflow: function* () {
        return (yield* Workflow.pause("hold")).actor
      },
      journal: [completed(1, "pause", "hold", undefined)],
      expect: { outcome: corrupt(1, "pause", "hold", "output") },
    },
    {
      title: "a child entry whose spec does not decode is corrupt_journal when replay meets it",
      workflow: function* () {
        return yield* Workflow.child(Label, {})
      },
      journal: [pending(1, "child", "label", { input: { workflow: "label", runId: 42 } })],
      expect: { outcome: corrupt(1, "child", "label", "input") },
    },
    {
      title: "a started child's result without its run id is corrupt_journal",
      workflow: function* () {
        return (yield* Workflow.startChild(Label, {})).runId
      },
      journal: [completed(1, "child", "label", { id: "x" }, { input: childSpec("#1", false) })],
      expect: { outcome: corrupt(1, "child", "label", "output") },
    },
    {
      title: "a journaled time that is not a number is corrupt_journal",
      workflow: function* () {
        return yield* Workflow.now()
      },
      journal: [completed(1, "now", "now", "yesterday")],
      expect: { outcome: corrupt(1, "now", "now", "output") },
    },
    {
      title: "a signal result that is neither Received nor TimedOut is corrupt_journal",
      workflow: function* () {
        return yield* Workflow.signal("paid", { schema: Paid })
      },
      journal: [completed(1, "signal", "paid", { _tag: "Lost" })],
      expect: { outcome: corrupt(1, "signal", "paid", "output") },
    },
    {
      title: "a patch marker that is not true is corrupt_journal",
      workflow: function* () {
        return yield* Workflow.patched("v2")
      },
      journal: [completed(1, "patch", "v2", "maybe")],
      expect: { outcome: corrupt(1, "patch", "v2", "output") },
    },
    {
      title: "a compensation entry without the seq it undoes is corrupt_journal, and no further compensation is placed",
      workflow: function* () {
        yield* Charge()
        return yield* A(1)
      },
      journal: [
        completed(1, "step", "charge", { id: "ch" }),
        failed(2, "step", "a", "boom", { input: 1 }),
        pending(3, "compensation", "compensate:charge", { input: { output: { id: "ch" } } }),
      ],
      expect: { outcome: corrupt(3, "compensation", "compensate:charge", "input") },
    },
    {
      title: "a sleep entry without its due time is corrupt_journal",
      workflow: function* () {
        yield* Workflow.sleep("nap", "1 hour")
      },
      journal: [pending(1, "sleep", "nap", { input: { until: "soon" } })],
      expect: { outcome: corrupt(1, "sleep", "nap", "input") },
    },
  ]
}

describe("interpreter decisions", () => {
  for (const row of rows) {
    it(row.title, () => {
      const warm = make(row).load(row.journal ?? [], row.inbox ?? [])
      let decision = warm.advance(env(NOW))
      if (row.resolution) {
        // The journal so far replays to where it blocks, writing nothing new.
        expect(decision).toMatchObject({ entries: [], tasks: [], outcome: { _tag: "Blocked" } })
        warm.resolve(row.resolution)
        decision = warm.advance(env(NOW))
      }
      expect(decision.entries).toMatchObject(row.expect.entries ?? [])
      expect(decision.tasks).toEqual(row.expect.tasks ?? [])
      expect(decision.cancelled).toMatchObject(row.expect.cancelled ?? [])
      expect(decision.logs).toEqual(row.expect.logs ?? [])
      expect(decision.consumed).toEqual(row.expect.consumed ?? [])
      expect(decision.paused).toBe(row.expect.paused ?? false)
      expect(decision.outcome).toMatchObject(row.expect.outcome)
      row.also?.(warm)

      // Cold: the same journal with the resolution already recorded decides the same.
      const journal = (row.journal ?? []).map((e) => (e.seq === row.resolution?.seq ? row.resolution : e))
      const cold = make(row)
        .load(journal, row.inbox ?? [])
        .advance(env(NOW))
      expect(cold).toEqual(decision)
    })
  }

  it("the table covers every command kind", () => {
    const kinds = new Set(rows.flatMap((r) => [...(r.expect.entries ?? []), ...(r.journal ?? [])].map((e) => e.kind)))
    const all: ReadonlyArray<EntryKind> = ["step", "sleep", "now", "random", "uuid", "log", "pause", "approval", "patch", "signal", "compensation", "child"]
    expect(all.filter((k) => !kinds.has(k))).toEqual([])
  })
})

// ---- helpers and fixture workflows

function make(row: Row): Replayer {
  return new Replayer("run-1", Workflow.make({ name: "table", triggers: Manual, run: row.workflow }), {})
}

function env(now: number): Env {
  let s = 42
  return { now, random: () => (s = (s * 16807) % 2147483647) / 2147483647 }
}

function pending(seq: number, kind: EntryKind, name: string, extra: Partial<Entry> = {}): Entry {
  return { seq, kind, name, status: "pending", attempts: 0, createdAt: 1, ...extra }
}

function completed(seq: number, kind: EntryKind, name: string, output: Json | undefined, extra: Partial<Entry> = {}): Entry {
  return { seq, kind, name, status: "completed", attempts: 1, createdAt: 1, resolvedAt: 2, ...(output === undefined ? {} : { output }), ...extra }
}

function failed(seq: number, kind: EntryKind, name: string, code: string, extra: Partial<Entry> = {}): Entry {
  return { seq, kind, name, status: "failed", attempts: 1, createdAt: 1, resolvedAt: 2, error: { code, message: `${name} failed` }, ...extra }
}

function childSpec(key: string, wait: boolean): Json {
  return { workflow: "label", key, runId: deterministicUuid("run-1", "child", key), wait, input: {} }
}

const Manual = { manual: Trigger.manual({ payload: Schema.Struct({}) }) }
const A = Step.make("a", { run: (n: number) => n })
const B = Step.make("b", { run: (n: unknown) => String(n) })
const C = Step.make("c", { run: () => "c" })
const Due = Step.make("due", { run: () => new Date(0), output: Schema.Date })
const Sla = Step.make("sla", { run: () => "ok", deadline: { within: "1 hour" }, irreversible: true })
const Reserve = Step.make("reserve", { run: () => ({ r: 1 }), compensate: () => undefined })
const Charge = Step.make("charge", { run: () => ({ id: "ch" }), compensate: () => undefined })
const Paid = Schema.Struct({ cents: Schema.Number, on: Schema.Date })
const Label = Workflow.make({
  name: "label",
  triggers: Manual,
  *run() {
    return "L"
  },
})
