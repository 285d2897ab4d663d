/**
 * Retention from the command line: `purge` deletes terminal runs that finished longer ago than
 * `--older-than`, then the schedule events and unreferenced stored specs older than that (only
 * with `--yes`; `--dry-run` counts what matches and deletes nothing), and `purges list` prints
 * the purge audit trail.
 */
import { Duration } from "effect"
import { parseDuration } from "../core/duration.js"
import { TERMINAL_STATUSES, type RunStatus } from "../core/model.js"
import { type Args, parseArgs } from "./args.js"
import { commandUsageError, EXIT, type ExitCode } from "./errors.js"
import { iso, print, printJson } from "./output.js"
import { printPurges } from "./runViews.js"
import { openMesh, STORE_FLAGS, storeTarget } from "./store.js"

/** The terminal statuses of `--status`, checked (default: all three). */
const statuses = (args: Args): Array<RunStatus> => {
  const given = args.list("status")
  const wrong = given.find((s) => !TERMINAL_STATUSES.includes(s as RunStatus))
  if (wrong !== undefined) throw args.usage(`--status = "${wrong}": expected ${TERMINAL_STATUSES.join(", ")}`)
  return given.length > 0 ? (given as Array<RunStatus>) : [...TERMINAL_STATUSES]
}

/** `purge --older-than D [--status S] [--workflow W] (--yes | --dry-run) [--json]`. */
export const purgeCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("purge", words, {
    ...STORE_FLAGS,
    "older-than": "string",
    status: "list",
    workflow: "string",
    yes: "boolean",
    "dry-run": "boolean",
    json: "boolean",
  })
  args.atMostPositionals(0)
  const olderThan = args.required("older-than", "duration")
  const parsed = parseDuration(olderThan)
  if (!parsed.ok) throw args.usage(`--older-than = "${olderThan}": ${parsed.reason}`)
  const status = statuses(args)
  const workflow = args.string("workflow")
  const dryRun = args.boolean("dry-run")
  if (dryRun && args.boolean("yes")) throw args.usage("give either --yes or --dry-run, not both")
  if (!dryRun && !args.boolean("yes")) throw args.usage("refusing to delete runs without --yes (or count them with --dry-run)")
  const mesh = await openMesh(storeTarget(args))
  try {
    const options = { olderThan: parsed.duration, status, ...(workflow !== undefined ? { workflow } : {}) }
    if (dryRun) {
      const finishedBefore = Date.now() - Duration.toMillis(parsed.duration)
      const counted = await mesh.purge({ ...options, dryRun: true })
      if (args.boolean("json"))
        printJson({ dryRun: true, matching: counted.purged, scheduleEvents: counted.scheduleEvents, specs: counted.specs, finishedBefore })
      else
        print(
          `dry run: ${counted.purged} run(s) match (${status.join(", ")}${workflow === undefined ? "" : `, workflow ${workflow}`}, finished before ${iso(finishedBefore)}), ` +
            `with ${counted.scheduleEvents} schedule event(s) and ${counted.specs} unreferenced spec(s) older than that; nothing was deleted`,
        )
      return EXIT.ok
    }
    const result = await mesh.purge(options)
    if (args.boolean("json")) printJson(result)
    else
      print(
        `purged ${result.purged} run(s), ${result.scheduleEvents} schedule event(s) and ${result.specs} unreferenced spec(s) in ${result.batches} batch(es)`,
      )
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}

/** `purges list [--limit N] [--json]`. */
export const purgesCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const [sub, ...rest] = words
  if (sub !== "list") throw commandUsageError("purges", sub === undefined ? "give list" : `unknown subcommand "${sub}"`)
  const args = parseArgs("purges list", rest, { ...STORE_FLAGS, limit: "string", json: "boolean" })
  args.atMostPositionals(0)
  const limit = args.integer("limit", 1, 1000)
  const mesh = await openMesh(storeTarget(args))
  try {
    const purges = await mesh.listPurges(limit === undefined ? {} : { limit })
    if (args.boolean("json")) printJson(purges)
    else printPurges(purges)
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}
