/**
 * `squid-mesh dashboard`: serves the operators' dashboard (src/dashboard/) over the selected
 * store until SIGINT or SIGTERM. Bound to 127.0.0.1 and read-only unless told otherwise; the
 * URL it prints carries the access token when one is set (`--token`, or `--token-env VAR` to
 * keep it out of the process list).
 */
import { serveDashboard } from "../dashboard/server.js"
import { parseArgs } from "./args.js"
import { EXIT, type ExitCode } from "./errors.js"
import { note } from "./output.js"
import { openMesh, STORE_FLAGS, storeTarget } from "./store.js"
import { firstSignal } from "./worker.js"
import { loadWorkflows } from "./module.js"

/**
 * Runs `dashboard [--module F] [--host H] [--port N] [--token T | --token-env VAR] [--allow-actions]`
 * until a signal. With `--module`, the module's workflows are registered: schedules show their next
 * fire times and can be paused, and graphs are drawn as declared.
 */
export const dashboardCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("dashboard", words, {
    ...STORE_FLAGS,
    host: "string",
    port: "string",
    token: "string",
    "token-env": "string",
    "allow-actions": "boolean",
    module: "string",
  })
  args.atMostPositionals(0)
  const port = args.integer("port", 0, 65_535)
  const variable = args.string("token-env")
  if (variable !== undefined && args.string("token") !== undefined) throw args.usage("give either --token or --token-env, not both")
  const token = variable !== undefined ? process.env[variable] : args.string("token")
  if (variable !== undefined && !token) throw args.usage(`--token-env = "${variable}": that environment variable is empty`)
  const target = storeTarget(args)
  const modulePath = args.string("module")
  const workflows = modulePath === undefined ? [] : await loadWorkflows("dashboard", modulePath)
  const stopped = firstSignal()
  const mesh = await openMesh(target, { workflows })
  try {
    const dashboard = await serveDashboard({
      mesh,
      ...(args.string("host") !== undefined ? { host: args.string("host")! } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(token !== undefined ? { token } : {}),
      allowActions: args.boolean("allow-actions"),
    })
    // The URL on stdout (scripts read it); everything else on stderr.
    console.log(dashboard.url)
    note(`dashboard: serving ${args.boolean("allow-actions") ? "with actions" : "read-only"}; stop with SIGINT or SIGTERM`)
    const signal = await stopped
    note(`dashboard: ${signal}: stopping`)
    await dashboard.close()
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}
