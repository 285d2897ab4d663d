/**
 * `squid-mesh worker --module <file>`: a worker process for the module's workflows. It serves
 * every queue of those workflows (or `--queue`), optionally runs the cron scheduler, and runs
 * until SIGINT or SIGTERM; then it drains (stops claiming, waits for the steps in flight) and
 * exits 0. A second signal exits at once (130). Everything it says goes to stderr.
 */
import type { WorkerClient } from "../client.js"
import { parseArgs } from "./args.js"
import { EXIT, type ExitCode } from "./errors.js"
import { loadWorkflows } from "./module.js"
import { note } from "./output.js"
import { openMesh, STORE_FLAGS, storeTarget } from "./store.js"

/** Resolves with the first SIGINT or SIGTERM; a second one exits the process at once. */
export const firstSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
      const force = (again: NodeJS.Signals) => {
        note(`worker: ${again} again: exiting without draining`)
        process.exit(130)
      }
      process.once("SIGINT", force)
      process.once("SIGTERM", force)
      resolve(signal)
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  })

/** Runs `worker --module <file> [--concurrency N] [--queue Q] [--scheduler]` until a signal. */
export const workerCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("worker", words, {
    ...STORE_FLAGS,
    module: "string",
    concurrency: "string",
    queue: "string",
    scheduler: "boolean",
  })
  args.atMostPositionals(0)
  const modulePath = args.required("module", "file")
  const concurrency = args.integer("concurrency", 1, 10_000)
  const target = storeTarget(args)
  const workflows = await loadWorkflows("worker", modulePath)
  if (workflows.length === 0) throw args.usage(`${modulePath} exports no workflows`)
  const queue = args.string("queue")
  const queues = queue !== undefined ? [queue] : [...new Set(workflows.map((w) => w.queue))]
  const stopped = firstSignal()
  const mesh = await openMesh(target, { workflows, create: true })
  const workers: Array<WorkerClient> = []
  try {
    for (const q of queues) workers.push(await mesh.startWorker({ queue: q, ...(concurrency !== undefined ? { concurrency } : {}) }))
    const scheduler = args.boolean("scheduler") ? await mesh.startScheduler() : undefined
    note(
      `worker: started on queue${queues.length > 1 ? "s" : ""} ${queues.join(", ")} (concurrency ${concurrency ?? 10}${scheduler ? ", with the cron scheduler" : ""}); ` +
        `workflows: ${workflows.map((w) => w.name).join(", ")}; stop with SIGINT or SIGTERM`,
    )
    const signal = await stopped
    note(`worker: ${signal}: draining`)
    await scheduler?.stop()
    for (const w of workers) await w.stop()
    const totals = workers
      .map((w) => w.stats())
      .reduce((a, s) => ({ executed: a.executed + s.executed, retries: a.retries + s.retries, errors: a.errors + s.errors }), {
        executed: 0,
        retries: 0,
        errors: 0,
      })
    note(`worker: stopped (tasks executed: ${totals.executed}, retries: ${totals.retries}, errors: ${totals.errors})`)
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}
