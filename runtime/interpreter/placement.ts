/**
 * The placement table: for each command that records one journal entry, its entry kind and
 * name (what replay matches), the codecs of what it journals, how a new one is placed (its
 * entry, its task: a step attempt, a timer, a child), and how its journaled result is fed
 * back to the workflow. The replayer is generic over it: a new command kind is its data in
 * dsl/Command.ts, its constructor in dsl/Workflow.ts, its entry kind in src/core/model.ts,
 * and one row here.
 */
import { Duration, Either, Schema } from "effect"
import type { CommandData, StepRef } from "../../dsl/Command.js"
import { deadlineTimes } from "../../dsl/Deadline.js"
import type { SignalResult } from "../../dsl/Workflow.js"
import { jsonSchemaOf } from "../../src/core/jsonSchema.js"
import { deterministicUuid } from "../../src/core/ids.js"
import { toJson } from "../../src/core/json.js"
import type { Entry, EntryKind, TaskKind } from "../../src/core/model.js"
import type { Redactor } from "../../src/core/redact.js"
import * as Codec from "./codecs.js"
import type { Inbox } from "./inbox.js"
import type { Env, Feed, LogLine } from "./model.js"

/** Commands that record exactly one journal entry (groups, `fail`, `compensate` and `patched` are handled by the replayer). */
export type Leaf = Exclude<CommandData, { readonly _tag: "All" | "Race" | "Fail" | "Compensate" | "Patched" }>

/** What placing a command may use besides the command itself. */
export interface PlaceContext {
  readonly seq: number
  readonly env: Env
  readonly runId: string
  readonly redactor: Redactor
  readonly inbox: Inbox
}

/** A new entry's fields beyond those every entry has (seq, kind, name, attempts, createdAt). */
export type Fields = Omit<Entry, "seq" | "kind" | "name" | "attempts" | "createdAt">

/** What placing a new command writes. */
export interface Placed {
  readonly fields: Fields
  /** The task that resolves the entry, when it is not resolved at once. */
  readonly task?: { readonly kind: TaskKind; readonly visibleAt: number }
  /** Log lines printed once the entry is committed. */
  readonly logs?: ReadonlyArray<LogLine>
  /** Inbox signals the entry consumed. */
  readonly consumed?: ReadonlyArray<number>
}

/** One row of the table: everything the replayer needs to know about one command kind (`O`: its journaled result). */
export interface Placement<D extends Leaf, O = unknown> {
  readonly kind: EntryKind
  /** The name replay matches, with the kind, at the entry's seq. */
  readonly name: (data: D) => string
  /** The shape of the entry's `input`, checked when replay matches the entry. */
  readonly input: Schema.Schema<any, any, never>
  /** The shape of a completed entry's `output` (it may depend on the command), decoded before the workflow receives it. */
  readonly output: (data: D) => Schema.Schema<O, any, never>
  /** Turns the decoded output into the workflow's input (a schema of the workflow's own); default: as is. */
  readonly feed?: (data: D, output: O) => Feed
  /** Records the command as a new entry. */
  readonly place: (data: D, ctx: PlaceContext) => Placed
  /** The step to undo when the entry completes (saga), if any. */
  readonly undo?: (data: D) => StepRef | undefined
  /** True when a rerun must not repeat the entry unasked. */
  readonly irreversible?: (data: D) => boolean
}

/** The data of the command tagged `T`. */
type Of<T extends Leaf["_tag"]> = Extract<Leaf, { readonly _tag: T }>

type Table = { readonly [T in Leaf["_tag"]]: Placement<Of<T>, any> }

const resolvedNow = (env: Env, output?: unknown): Fields => {
  const json = toJson(output)
  return { status: "completed", resolvedAt: env.now, ...(json === undefined ? {} : { output: json }) }
}

/** A user schema's decoding of a journaled value: a failure is thrown at the workflow's `yield*`. */
const decodeWith = (schema: Schema.Schema<any, any, never>, value: unknown): Feed =>
  Either.match(Schema.decodeUnknownEither(schema)(value), { onLeft: (err) => ({ err }), onRight: (ok) => ({ ok }) })

const signal: Placement<Of<"Signal">, SignalResult<unknown>> = {
  kind: "signal",
  name: (d) => d.name,
  input: Codec.SignalInput,
  output: () => Codec.SignalOutput,
  // The journal keeps a received payload encoded; the wait's schema decodes it.
  feed: (d, output) => {
    if (output._tag === "TimedOut") return { ok: output }
    const payload = decodeWith(d.schema, output.payload)
    return "ok" in payload ? { ok: { ...output, payload: payload.ok } } : payload
  },
  place: (d, { env, inbox }) => {
    // A signal sent before this wait is delivered now (oldest first); invalid ones are dropped.
    const taken = inbox.take(d.name, d.schema)
    const logs = Array.from({ length: taken.dropped }, () => ({
      message: `signal "${d.name}" dropped: its payload does not match the schema`,
      level: "warning",
    }))
    if (taken.received) {
      const { payload, receivedAt } = taken.received
      return { fields: resolvedNow(env, { _tag: "Received", payload, at: receivedAt }), logs, consumed: taken.ids }
    }
    const timeoutAt = d.timeout === undefined ? undefined : env.now + Math.max(0, Duration.toMillis(d.timeout))
    const schema = jsonSchemaOf(d.schema)
    const input = { ...(timeoutAt === undefined ? {} : { timeoutAt }), ...(schema ? { schema } : {}) }
    const fields: Fields = { status: "pending", ...(Object.keys(input).length > 0 ? { input } : {}) }
    return timeoutAt === undefined
      ? { fields, logs, consumed: taken.ids }
      : { fields, task: { kind: "timer", visibleAt: timeoutAt }, logs, consumed: taken.ids }
  },
}

const TABLE: Table = {
  Step: {
    kind: "step",
    name: (d) => d.step.stepName,
    input: Codec.Opaque,
    output: () => Codec.Opaque,
    feed: (d, output) => (d.step.options.output === undefined ? { ok: output } : decodeWith(d.step.options.output, output)),
    place: (d, { env }) => {
      const input = toJson(d.input)
      const policy = d.step.options.deadline
      const fields: Fields = {
        status: "pending",
        ...(input === undefined ? {} : { input }),
        ...(policy ? { deadline: deadlineTimes(policy, env.now) } : {}),
        irreversible: d.step.options.irreversible === true,
      }
      return { fields, task: { kind: "step", visibleAt: env.now } }
    },
    undo: (d) => (d.step.options.compensate ? d.step : undefined),
    irreversible: (d) => d.step.options.irreversible === true,
  },
  Sleep: {
    kind: "sleep",
    name: (d) => d.name,
    input: Codec.SleepInput,
    output: () => Codec.Opaque,
    place: (d, { env }) => {
      const until = env.now + Math.max(0, Duration.toMillis(d.duration))
      return { fields: { status: "pending", input: { until } }, task: { kind: "timer", visibleAt: until } }
    },
  },
  Now: {
    kind: "now",
    name: (d) => d.name,
    input: Codec.Opaque,
    output: () => Codec.NumberOutput,
    place: (_, { env }) => ({ fields: resolvedNow(env, env.now) }),
  },
  Random: {
    kind: "random",
    name: (d) => d.name,
    input: Codec.Opaque,
    output: () => Codec.NumberOutput,
    place: (_, { env }) => ({ fields: resolvedNow(env, env.random()) }),
  },
  Uuid: {
    kind: "uuid",
    name: (d) => d.name,
    input: Codec.Opaque,
    output: () => Codec.UuidOutput,
    place: (_, { env }) => ({ fields: resolvedNow(env, uuidFrom(env.random)) }),
  },
  Log: {
    kind: "log",
    name: () => "log",
    input: Codec.LogInput,
    output: () => Codec.Opaque,
    place: (d, { env, redactor }) => {
      // Journaled and printed in the same redacted form.
      const message = redactor.scrub(String(d.message))
      return { fields: { ...resolvedNow(env), input: { message, level: d.level } }, logs: [{ message, level: d.level }] }
    },
  },
  Pause: { kind: "pause", name: (d) => d.name, input: Codec.Opaque, output: () => Codec.PauseOutput, place: () => ({ fields: { status: "pending" } }) },
  Approval: {
    kind: "approval",
    name: (d) => d.name,
    input: Codec.ApprovalInput,
    output: () => Codec.ApprovalOutput,
    place: (d, { env }) => {
      // The deadline is persisted when the gate opens; a timer task decides it then (unless "none").
      const deadline = d.deadline === undefined ? undefined : deadlineTimes(d.deadline, env.now)
      const fields: Fields = { status: "pending", input: { onDeadline: d.onDeadline }, ...(deadline ? { deadline } : {}) }
      return deadline && d.onDeadline !== "none" ? { fields, task: { kind: "timer", visibleAt: deadline.dueAt } } : { fields }
    },
  },
  Signal: signal,
  Child: {
    kind: "child",
    name: (d) => d.workflow.name,
    input: Codec.ChildSpec,
    output: (d) => (d.wait ? Codec.Opaque : Codec.ChildStarted),
    place: (d, { seq, env, runId }) => {
      // The child's id is a function of the parent and the key (or position): replays and
      // retries name the same child. The engine creates it once this entry is committed; the
      // parent's task creates it too (repairing a crash in between) and, when the parent
      // waits, picks up its result.
      const key = d.key ?? `#${seq}`
      const child = deterministicUuid(runId, "child", key)
      const input = { workflow: d.workflow.name, key, runId: child, wait: d.wait, input: toJson(d.input) ?? null }
      const fields: Fields = d.wait ? { status: "pending", input } : { ...resolvedNow(env, { runId: child }), input }
      return { fields, task: { kind: "child", visibleAt: env.now } }
    },
  },
  Compensation: {
    kind: "compensation",
    name: (d) => `compensate:${d.step.stepName}`,
    input: Codec.CompensationInput,
    output: () => Codec.Opaque,
    place: (d, { env }) => {
      const input = toJson(d.input)
      const output = toJson(d.output)
      const payload = { seq: d.origin, ...(input === undefined ? {} : { input }), ...(output === undefined ? {} : { output }) }
      return { fields: { status: "pending", input: payload }, task: { kind: "compensation", visibleAt: env.now } }
    },
  },
}

/** The row of a command. (Indexing by a union tag loses which row goes with which data; the table's type keeps them paired.) */
export const placementOf = (data: Leaf): Placement<Leaf, unknown> => TABLE[data._tag] as Placement<Leaf, unknown>

/** True for commands that record one journal entry (the only ones a group may hold). */
export const isLeaf = (data: CommandData): data is Leaf => data._tag in TABLE

/** A UUID v4 from the journaled random source (replay returns the recorded one). */
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
