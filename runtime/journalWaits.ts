/**
 * What a run waits for, read from its journal alone: for controls sent from a process that has
 * not registered the run's workflow (a CLI, a dashboard, another service). The pending gate and
 * signal waits are journal entries, and a signal wait journals its payload schema as JSON
 * Schema, so such a process can validate a control before writing it; a worker that has the
 * code then advances the run (see the `Journaled` resolution in advance.ts).
 */
import { InvalidPayloadError } from "../src/core/errors.js"
import { validateJson, type JsonSchema } from "../src/core/jsonSchema.js"
import type { Json } from "../src/core/json.js"
import type { Entry, RunStatus } from "../src/core/model.js"
import type { GateControl } from "./controlRules.js"
import { GATE_OF } from "./controlRules.js"

const isGate = (e: Entry) => e.status === "pending" && (e.kind === "pause" || e.kind === "approval")

/**
 * The pending gate a gate control decides: the first pending one of its kind, else the first
 * pending gate of any kind (for the refusal), else none.
 */
export const journaledGate = (journal: ReadonlyArray<Entry>, control: GateControl): Entry | undefined =>
  journal.find((e) => isGate(e) && e.kind === GATE_OF[control]) ?? journal.find(isGate)

/** The first pending wait for the signal `name`, if the run has reached one. */
export const journaledSignalWait = (journal: ReadonlyArray<Entry>, name: string): Entry | undefined =>
  journal.find((e) => e.status === "pending" && e.kind === "signal" && e.name === name)

/** The run's status once `resolved` is decided: paused while another gate still waits, else running. */
export const statusAfter = (journal: ReadonlyArray<Entry>, resolved: Entry): RunStatus =>
  journal.some((e) => e.seq !== resolved.seq && isGate(e)) ? "paused" : "running"

/** The JSON Schema a signal wait journaled for its payload, if Effect could describe it. */
export const journaledSignalSchema = (wait: Entry): JsonSchema | undefined => {
  const input = wait.input
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined
  const schema = (input as { readonly [key: string]: Json }).schema
  return typeof schema === "object" && schema !== null && !Array.isArray(schema) ? (schema as JsonSchema) : undefined
}

/** An InvalidPayloadError when `payload` does not fit the journaled schema (`note` is added to each message). */
export const journaledPayloadError = (workflow: string, name: string, schema: JsonSchema, payload: Json, note: string): InvalidPayloadError | undefined => {
  const issues = validateJson(payload, schema)
  if (issues.length === 0) return undefined
  const field = (path: string) => path.replace(/^\$\.?/, "") || "(payload)"
  return new InvalidPayloadError({
    workflow,
    trigger: `signal:${name}`,
    missing: issues.filter((i) => i.message === "is missing").map((i) => field(i.path)),
    unknown: issues.filter((i) => i.message === "is not allowed").map((i) => field(i.path)),
    invalid: issues
      .filter((i) => i.message !== "is missing" && i.message !== "is not allowed")
      .map((i) => ({ field: field(i.path), message: `${i.message}${note}` })),
  })
}
