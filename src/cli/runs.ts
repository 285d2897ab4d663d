/**
 * `squid-mesh runs list | show | explain | graph`: reading runs. Read-only; no workflow code
 * is loaded. `--json` prints the API's value (RunPage, RunView, Explanation, RunGraph); a run
 * with dynamic work is shown with it (`runs show --json`: a `dynamicWork` field beside the
 * RunView's, each fact of the graph's overlay with its nodes).
 */
import type { DeadlineStatus } from "../../dsl/Deadline.js"
import type { RunStatus } from "../core/model.js"
import type { ListedRun, ListRunsFilter, TimeRange } from "../listRuns.js"
import { type Args, parseArgs } from "./args.js"
import { commandUsageError, EXIT, type ExitCode } from "./errors.js"
import { print, printJson } from "./output.js"
import { dynamicWorkLines, printExplanation, printGraph, printRun, printRunTable } from "./runViews.js"
import { openMesh, STORE_FLAGS, storeTarget } from "./store.js"

const LIST_FLAGS = {
  ...STORE_FLAGS,
  status: "list",
  workflow: "string",
  trigger: "string",
  "created-from": "string",
  "created-to": "string",
  "updated-from": "string",
  "updated-to": "string",
  parent: "string",
  "idempotency-key": "string",
  attr: "list",
  deadline: "string",
  limit: "string",
  cursor: "string",
  all: "boolean",
  json: "boolean",
} as const

const range = (args: Args, name: string): TimeRange | undefined => {
  const from = args.time(`${name}-from`)
  const to = args.time(`${name}-to`)
  return from === undefined && to === undefined ? undefined : { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }
}

/** The `listRuns` filter the flags describe (the API validates the values: a bad one is an InvalidOptionError, exit 2). */
const listFilter = (args: Args): ListRunsFilter => {
  const status = args.list("status")
  const created = range(args, "created")
  const updated = range(args, "updated")
  const attributes = args.pairs("attr")
  const optional = {
    workflow: args.string("workflow"),
    trigger: args.string("trigger"),
    parentRunId: args.string("parent"),
    idempotencyKey: args.string("idempotency-key"),
    deadline: args.string("deadline") as DeadlineStatus | undefined,
    cursor: args.string("cursor"),
    limit: args.integer("limit", 1, 1000),
  }
  return {
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    ...(status.length > 0 ? { status: status as Array<RunStatus> } : {}),
    ...(created ? { created } : {}),
    ...(updated ? { updated } : {}),
    ...(attributes ? { attributes } : {}),
  }
}

const list = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("runs list", words, LIST_FLAGS)
  args.atMostPositionals(0)
  const filter = listFilter(args)
  if (args.boolean("all") && filter.cursor !== undefined) throw args.usage("give either --all or --cursor, not both")
  const mesh = await openMesh(storeTarget(args))
  try {
    const runs: Array<ListedRun> = []
    let page = await mesh.listRuns(filter)
    runs.push(...page.runs)
    while (args.boolean("all") && page.nextCursor !== undefined) {
      page = await mesh.listRuns({ ...filter, cursor: page.nextCursor })
      runs.push(...page.runs)
    }
    const nextCursor = args.boolean("all") ? undefined : page.nextCursor
    if (args.boolean("json")) printJson({ runs, ...(nextCursor !== undefined ? { nextCursor } : {}) })
    else {
      printRunTable(runs, Date.now(), filter.deadline !== undefined)
      if (nextCursor !== undefined) print(`next: --cursor ${nextCursor}`)
    }
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}

const show = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("runs show", words, { ...STORE_FLAGS, history: "boolean", json: "boolean" })
  const runId = args.positional(0, "run id")
  args.atMostPositionals(1)
  const mesh = await openMesh(storeTarget(args))
  try {
    const run = await mesh.inspectRun(runId, { history: args.boolean("history") })
    // Its dynamic work is read from the graph's overlay (the RunView has only its journal entries).
    const dynamicWork = dynamicWorkLines(await mesh.inspectRunGraph(runId))
    if (args.boolean("json")) printJson(dynamicWork.length > 0 ? { ...run, dynamicWork } : run)
    else printRun(run, Date.now(), dynamicWork)
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}

const explain = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("runs explain", words, { ...STORE_FLAGS, json: "boolean" })
  const runId = args.positional(0, "run id")
  args.atMostPositionals(1)
  const mesh = await openMesh(storeTarget(args))
  try {
    const why = await mesh.explainRun(runId)
    if (args.boolean("json")) printJson(why)
    else printExplanation(why)
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}

const graph = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("runs graph", words, { ...STORE_FLAGS, json: "boolean" })
  const runId = args.positional(0, "run id")
  args.atMostPositionals(1)
  const mesh = await openMesh(storeTarget(args))
  try {
    const g = await mesh.inspectRunGraph(runId)
    if (args.boolean("json")) printJson(g)
    else printGraph(g)
    return EXIT.ok
  } finally {
    await mesh.close()
  }
}

/** Runs `squid-mesh runs <subcommand> ...` (`words` start after `runs`). */
export const runsCommand = (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const [sub, ...rest] = words
  switch (sub) {
    case "list":
      return list(rest)
    case "show":
      return show(rest)
    case "explain":
      return explain(rest)
    case "graph":
      return graph(rest)
    default:
      throw commandUsageError("runs", sub === undefined ? "give list, show, explain or graph" : `unknown subcommand "${sub}"`)
  }
}
