/**
 * Runtime-authored workflow specs: the JSON form of a graph workflow (`Workflow.graph`), declared
 * with Effect Schema. A spec names actions by registry key (`"payments.charge"`) instead of
 * carrying code; the host's action registry (./Actions.ts) resolves them. Durations are strings
 * such as `"5 seconds"`. Everything else has the shapes of `Workflow.graph`.
 *
 * @example
 * {
 *   "version": 1,
 *   "name": "refund",
 *   "triggers": { "manual": { "type": "manual", "payload": { "type": "object", "required": ["orderId"], "properties": { "orderId": { "type": "string" } } } } },
 *   "steps": {
 *     "charge": { "action": "payments.refund", "params": { "currency": "EUR" }, "retry": { "maxAttempts": 3, "backoff": { "type": "fixed", "delay": "5 seconds" } }, "output": "refund" },
 *     "notify": { "log": "refunded" }
 *   },
 *   "transitions": [{ "from": "charge", "on": "ok", "to": "notify" }, { "from": "notify", "on": "ok", "to": "complete" }]
 * }
 */
import { type Duration, JSONSchema, Schema } from "effect"
import { parseDuration } from "../../src/core/duration.js"
import type { Json } from "../../src/core/json.js"
import type { JsonSchema } from "../../src/core/jsonSchema.js"

/** The largest spec accepted, as JSON text (256 KiB). */
export const MAX_SPEC_BYTES = 256 * 1024

/** The version of the spec format this package reads. */
export const SPEC_VERSION = 1

/** The prefix of the workflow name of a spec's runs: spec `refund` runs as workflow `spec:refund`. */
export const SPEC_PREFIX = "spec:"

const DURATION_PATTERN = "^\\d+(\\.\\d+)?\\s+(nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?)$"

/** An optional field: absent, never `undefined`. */
const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * A duration as JSON: `"5 seconds"`, `"2 days"`. Typed as the `Duration.DurationInput` it is
 * (the filter admits only strings Effect's `Duration.decode` reads).
 */
export const DurationString: Schema.Schema<Duration.DurationInput & string, string> = Schema.String.pipe(
  Schema.filter((s) => parseDuration(s).ok || 'expected a duration such as "5 seconds" or "2 days"', {
    identifier: "Duration",
    jsonSchema: { pattern: DURATION_PATTERN },
  }),
) as Schema.Schema<any, string>

const isJson = (value: unknown, depth = 0): value is Json =>
  depth < 64 &&
  (value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value)) ||
    (Array.isArray(value) ? value.every((v) => isJson(v, depth + 1)) : typeof value === "object" && Object.values(value).every((v) => isJson(v, depth + 1))))

/** Any JSON value (an action's params, a condition's `equals`). */
export const JsonValue = Schema.declare(isJson, {
  identifier: "JsonValue",
  description: "any JSON value",
  jsonSchema: { type: ["null", "boolean", "number", "string", "array", "object"] },
})

const NonEmpty = Schema.String.pipe(Schema.minLength(1))
/** A context key (`output`). */
const ContextKey = Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/))
/** An action's registry key. */
const ActionKey = Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/))
const Path = Schema.Array(NonEmpty).pipe(Schema.minItems(1))

/** A deadline: due `within` after the node is planned, with optional due-soon and escalation times. */
export const DeadlineSpec = Schema.Struct({
  within: DurationString,
  dueSoon: opt(DurationString),
  escalateAfter: opt(DurationString),
  escalation: opt(Schema.String),
})

/** Durable retries of an action node: attempts (the first included) and backoff. */
export const RetrySpec = Schema.Struct({
  maxAttempts: opt(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  backoff: opt(
    Schema.Union(
      Schema.Struct({ type: Schema.Literal("exponential"), min: DurationString, max: DurationString }),
      Schema.Struct({ type: Schema.Literal("fixed"), delay: DurationString }),
    ),
  ),
})

/** Where a node's input comes from: context keys, or named paths into the context. */
const InputSpec = Schema.Union(Schema.NonEmptyArray(NonEmpty), Schema.Record({ key: Schema.String, value: Path }))

/** What every node may declare. */
const common = {
  output: opt(ContextKey),
  after: opt(Schema.NonEmptyArray(Schema.String)),
}

/** A step that runs a registered action with JSON params. */
export const ActionNodeSpec = Schema.Struct({
  action: ActionKey,
  params: opt(JsonValue),
  input: opt(InputSpec),
  retry: opt(RetrySpec),
  timeout: opt(DurationString),
  deadline: opt(Schema.Union(DurationString, DeadlineSpec)),
  irreversible: opt(Schema.Boolean),
  ...common,
})

/** An approval gate: approved continues on `ok`, rejected on `error`. */
export const ApprovalNodeSpec = Schema.Struct({
  approval: Schema.Union(
    Schema.Literal(true),
    Schema.Struct({
      deadline: opt(Schema.Union(DurationString, DeadlineSpec)),
      onDeadline: opt(Schema.Literal("reject", "fail", "none")),
    }),
  ),
  ...common,
})

/** A pause, continued by `resume`. */
export const PauseNodeSpec = Schema.Struct({ pause: Schema.Literal(true), ...common })

/** A durable sleep. */
export const SleepNodeSpec = Schema.Struct({ sleep: DurationString, ...common })

/** A journaled log line. */
export const LogNodeSpec = Schema.Struct({ log: NonEmpty, level: opt(Schema.Literal("debug", "info", "warning", "error")), ...common })

/** One node of a spec, by the one key that says its kind. */
export const NodeSpec = Schema.Union(ActionNodeSpec, ApprovalNodeSpec, PauseNodeSpec, SleepNodeSpec, LogNodeSpec)

/** The key each kind of node is recognised by, and its schema (validation decodes a node with the schema of its kind). */
export const NODE_KINDS = [
  ["action", ActionNodeSpec],
  ["approval", ApprovalNodeSpec],
  ["pause", PauseNodeSpec],
  ["sleep", SleepNodeSpec],
  ["log", LogNodeSpec],
] as const

/** A transition's condition on a path of the context. */
const ConditionSpec = Schema.Union(
  Schema.Struct({ path: Path, equals: JsonValue }),
  Schema.Struct({ path: Path, greaterThan: Schema.Number }),
  Schema.Struct({ path: Path, lessThan: Schema.Number }),
)

/** Where a node's outcome leads (`to: "complete"` ends the run). */
export const TransitionSpec = Schema.Struct({
  from: Schema.String,
  on: Schema.Literal("ok", "error"),
  to: Schema.String,
  when: opt(ConditionSpec),
  recovery: opt(Schema.Literal("undo")),
})

/** A JSON Schema document (the payload of a trigger). */
const JsonSchemaDocument = Schema.Record({ key: Schema.String, value: JsonValue }).annotations({ identifier: "JsonSchemaDocument" })

/** A manual trigger; `payload` is the JSON Schema its payload must satisfy (default: any object). */
export const ManualTriggerSpec = Schema.Struct({ type: Schema.Literal("manual"), payload: opt(JsonSchemaDocument) })

/** A cron trigger: an expression in an IANA time zone. */
export const CronTriggerSpec = Schema.Struct({
  type: Schema.Literal("cron"),
  expression: NonEmpty,
  timeZone: NonEmpty,
  payload: opt(JsonSchemaDocument),
})

/** A trigger of a spec. */
export const TriggerSpec = Schema.Union(ManualTriggerSpec, CronTriggerSpec)

const TriggerName = Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/))

/** The fields of a spec besides its steps and transitions. */
const head = {
  version: Schema.Literal(SPEC_VERSION),
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_.-]{0,119}$/)),
  description: opt(Schema.String),
  queue: opt(Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/))),
  triggers: Schema.Record({ key: TriggerName, value: TriggerSpec }),
}

/** A runtime-authored workflow spec (version 1). */
export const WorkflowSpec = Schema.Struct({
  ...head,
  steps: Schema.Record({ key: Schema.String, value: NodeSpec }),
  transitions: opt(Schema.Array(TransitionSpec)),
}).annotations({ identifier: "WorkflowSpec", title: "Squid Mesh workflow spec", description: "A graph workflow as JSON: steps run registered actions." })

/** A decoded spec. */
export type WorkflowSpec = Schema.Schema.Type<typeof WorkflowSpec>
/** One decoded node. */
export type NodeSpec = Schema.Schema.Type<typeof NodeSpec>
/** One decoded action node. */
export type ActionNodeSpec = Schema.Schema.Type<typeof ActionNodeSpec>
/** One decoded transition. */
export type TransitionSpec = Schema.Schema.Type<typeof TransitionSpec>

/** The spec with its steps and transitions left undecoded: validation decodes each one on its own, for precise paths. */
export const SpecOutline = Schema.Struct({
  ...head,
  steps: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  transitions: opt(Schema.Array(Schema.Unknown)),
})

let published: JsonSchema | undefined

/**
 * The JSON Schema (draft-07) of the spec format, derived from its Effect Schema, for editors:
 * point a JSON editor's `$schema` at it for completion and inline errors. The registry's
 * checks (known actions, their params) and the graph's (reachability, cycles) are
 * `validateSpec`'s, not the schema's.
 */
export const specJsonSchema = (): JsonSchema => {
  published ??= JSON.parse(JSON.stringify(JSONSchema.make(WorkflowSpec))) as JsonSchema
  return JSON.parse(JSON.stringify(published)) as JsonSchema
}
