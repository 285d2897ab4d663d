/**
 * The controls: `approve`, `reject`, `resume`, `cancel`, `rerun` and `signal`. They need no
 * workflow code: the engine checks them on the journal (the pending gate, the signal wait's
 * JSON Schema, irreversible steps). `--module` registers workflows when wanted (a `--from-step`
 * fork needs them). A refusal is the engine's tagged error: exit 3 (no such run) or 4.
 */
import { readFileSync } from "node:fs"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import { type Args, parseArgs } from "./args.js"
import { CliError, describeError, EXIT, type ExitCode } from "./errors.js"
import { loadWorkflows } from "./module.js"
import { print, printJson } from "./output.js"
import { openMesh, STORE_FLAGS, storeTarget } from "./store.js"

const COMMON = { ...STORE_FLAGS, actor: "string", key: "string", module: "string", json: "boolean" } as const

/** The workflows of `--module`, if given. */
const moduleWorkflows = async (args: Args): Promise<ReadonlyArray<AnyWorkflow>> => {
  const file = args.string("module")
  return file === undefined ? [] : loadWorkflows(args.command, file)
}

const key = (args: Args) => {
  const k = args.string("key")
  return k === undefined ? {} : { idempotencyKey: k }
}

/** What a control did, for people or (`--json`) as the API's outcome. */
const report = (args: Args, done: string, outcome: { readonly runId: string; readonly status: string; readonly duplicate: boolean }): ExitCode => {
  if (args.boolean("json")) printJson(outcome)
  else
    print(
      `${done} run ${outcome.runId}: now ${outcome.status}${outcome.duplicate ? " (a repeat of the control with this --key: nothing new was written)" : ""}`,
    )
  return EXIT.ok
}

/** `approve` / `reject <run id> --actor A [--note N] [--key K]`. */
export const decideCommand = async (verb: "approve" | "reject", words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs(verb, words, { ...COMMON, note: "string" })
  const runId = args.positional(0, "run id")
  args.atMostPositionals(1)
  const options = { actor: args.required("actor", "who"), ...(args.string("note") !== undefined ? { note: args.required("note") } : {}), ...key(args) }
  const workflows = await moduleWorkflows(args)
  const mesh = await openMesh(storeTarget(args), { workflows })
  try {
    const outcome = verb === "approve" ? await mesh.approve(runId, options) : await mesh.reject(runId, options)
    return report(args, verb === "approve" ? "approved" : "rejected", outcome)
  } finally {
    await mesh.close()
  }
}

/** `resume` / `cancel <run id> --actor A [--reason R] [--key K]`. */
export const reasonedCommand = async (verb: "resume" | "cancel", words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs(verb, words, { ...COMMON, reason: "string" })
  const runId = args.positional(0, "run id")
  args.atMostPositionals(1)
  const options = { actor: args.required("actor", "who"), ...(args.string("reason") !== undefined ? { reason: args.required("reason") } : {}), ...key(args) }
  const workflows = await moduleWorkflows(args)
  const mesh = await openMesh(storeTarget(args), { workflows })
  try {
    const outcome = verb === "resume" ? await mesh.resume(runId, options) : await mesh.cancel(runId, options)
    return report(args, verb === "resume" ? "resumed" : "cancelled", outcome)
  } finally {
    await mesh.close()
  }
}

/** `rerun <run id> --actor A [--allow-irreversible] [--from-step S] [--key K]`: prints the new run. */
export const rerunCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("rerun", words, { ...COMMON, "allow-irreversible": "boolean", "from-step": "string" })
  const runId = args.positional(0, "run id")
  args.atMostPositionals(1)
  const options = {
    actor: args.required("actor", "who"),
    ...(args.boolean("allow-irreversible") ? { allowIrreversible: true } : {}),
    ...(args.string("from-step") !== undefined ? { fromStep: args.required("from-step") } : {}),
    ...key(args),
  }
  const workflows = await moduleWorkflows(args)
  const mesh = await openMesh(storeTarget(args), { workflows })
  try {
    const outcome = await mesh.rerun(runId, options)
    if (args.boolean("json")) printJson(outcome)
    else
      print(`rerun of ${outcome.rerunOf}: new run ${outcome.runId} (${outcome.status})${outcome.duplicate ? " (a repeat with this --key: the same run)" : ""}`)
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}

/** The signal's payload: `--payload <json>`, `--payload-file <file>`, else `{}`. Bad JSON is a usage error. */
const signalPayload = (args: Args): unknown => {
  const inline = args.string("payload")
  const file = args.string("payload-file")
  if (inline !== undefined && file !== undefined) throw args.usage("give either --payload or --payload-file, not both")
  let text = inline
  if (file !== undefined) {
    try {
      text = readFileSync(file, "utf8")
    } catch (error) {
      throw new CliError({ message: `signal: cannot read --payload-file ${file}: ${describeError(error)}`, exitCode: EXIT.usage })
    }
  }
  if (text === undefined) return {}
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw args.usage(`the payload is not JSON: ${describeError(error)}`)
  }
}

/** `signal <run id> <name> [--payload JSON | --payload-file F] [--actor A] [--key K]`. */
export const signalCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("signal", words, { ...COMMON, payload: "string", "payload-file": "string" })
  const runId = args.positional(0, "run id")
  const name = args.positional(1, "signal name")
  args.atMostPositionals(2)
  const payload = signalPayload(args)
  const options = { ...(args.string("actor") !== undefined ? { actor: args.required("actor") } : {}), ...key(args) }
  const workflows = await moduleWorkflows(args)
  const mesh = await openMesh(storeTarget(args), { workflows })
  try {
    return report(args, `sent signal "${name}" to`, await mesh.signal(runId, name, payload, options))
  } finally {
    await mesh.close()
  }
}
