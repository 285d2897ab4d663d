/**
 * Loading the workflows of a user's module (`--module <file>`): its `workflows` array, or a
 * default export that is one. Only `worker`, `schedules`, `check-replay`, and `dashboard` or a control given
 * `--module` import user code; every other command works on the journal alone.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import { CliError, describeError, EXIT } from "./errors.js"

const isWorkflow = (value: unknown): value is AnyWorkflow => (value as { _tag?: unknown } | null)?._tag === "Workflow"

/** Imports `modulePath` (relative to the cwd) and returns the workflows it exports; exit 2 when it cannot. */
export const loadWorkflows = async (command: string, modulePath: string): Promise<Array<AnyWorkflow>> => {
  const file = resolve(process.cwd(), modulePath)
  if (!existsSync(file)) throw new CliError({ message: `${command}: module not found: ${file}`, exitCode: EXIT.usage })
  let loaded: { workflows?: unknown; default?: unknown }
  try {
    loaded = (await import(pathToFileURL(file).href)) as typeof loaded
  } catch (error) {
    throw new CliError({ message: `${command}: cannot load ${file}: ${describeError(error)}`, exitCode: EXIT.usage })
  }
  const workflows = Array.isArray(loaded.workflows) ? loaded.workflows : loaded.default
  if (!Array.isArray(workflows))
    throw new CliError({ message: `${command}: ${file} must export a \`workflows\` array (or a default array)`, exitCode: EXIT.usage })
  const stray = workflows.findIndex((w) => !isWorkflow(w))
  if (stray >= 0) throw new CliError({ message: `${command}: ${file}: workflows[${stray}] is not a workflow (made with Workflow.make)`, exitCode: EXIT.usage })
  return workflows
}
