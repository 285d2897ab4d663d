/**
 * `squid-mesh schedules list --module <file>`: the cron triggers of the module's workflows and
 * their next fire times, computed with cron-parser in each trigger's time zone (as the
 * scheduler computes them). Opens no store.
 */
import { cronTriggers, nextWindow } from "../../runtime/Scheduler.js"
import { parseArgs } from "./args.js"
import { commandUsageError, EXIT, type ExitCode } from "./errors.js"
import { loadWorkflows } from "./module.js"
import { human, iso, printJson, printTable } from "./output.js"

/** One cron trigger and its next fire times (epoch ms). */
export interface Schedule {
  readonly workflow: string
  readonly trigger: string
  readonly expression: string
  readonly timeZone: string
  readonly next: ReadonlyArray<number>
}

/** `schedules list --module <file> [--next N] [--json]`. */
export const schedulesCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const [sub, ...rest] = words
  if (sub !== "list") throw commandUsageError("schedules", sub === undefined ? "give list" : `unknown subcommand "${sub}"`)
  const args = parseArgs("schedules list", rest, { module: "string", next: "string", json: "boolean" })
  args.atMostPositionals(0)
  const modulePath = args.required("module", "file")
  const count = args.integer("next", 1, 100) ?? 1
  const workflows = await loadWorkflows("schedules list", modulePath)
  const now = Date.now()
  const schedules: Array<Schedule> = cronTriggers(workflows).map(({ workflow, name, trigger }) => {
    const next: Array<number> = []
    for (let after = now; next.length < count; after = next[next.length - 1]!) next.push(nextWindow(trigger, after))
    return { workflow: workflow.name, trigger: name, expression: trigger.expression, timeZone: trigger.timeZone, next }
  })
  if (args.boolean("json")) printJson(schedules)
  else {
    printTable(
      ["WORKFLOW", "TRIGGER", "CRON", "TIME ZONE", "NEXT (UTC)", "IN"],
      schedules.flatMap((s) =>
        s.next.map((at, i) =>
          i === 0 ? [s.workflow, s.trigger, s.expression, s.timeZone, iso(at), human(at - now)] : ["", "", "", "", iso(at), human(at - now)],
        ),
      ),
      "(no cron triggers)",
    )
  }
  return EXIT.ok
}
