/**
 * How runs look to people: the list table, a run's fields and history (and its dynamic work),
 * an explanation, a graph. Times are ISO UTC, durations human; payloads are shown as
 * (redacted, as stored) JSON, cut short in tables.
 */
import type { RunView } from "../inspect.js"
import type { ListedRun } from "../listRuns.js"
import type { Explanation } from "../read/explain.js"
import type { DynamicWorkOverlay, RunGraph } from "../read/graph.js"
import type { PurgeRecord } from "../store/Store.js"
import { compact, human, iso, print, printFields, printOutline, printTable } from "./output.js"

const attributes = (run: RunView): string =>
  Object.entries(run.attributes ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "-"

/** How long a run took, or has been going (from `now`). */
const took = (run: RunView, now: number): string => human((run.finishedAt ?? now) - run.createdAt)

/** Prints a page of runs as a table; with `deadline`, the most urgent deadline of each. */
export const printRunTable = (runs: ReadonlyArray<ListedRun>, now: number, deadline: boolean): void => {
  const headers = ["RUN ID", "WORKFLOW", "STATUS", "TRIGGER", "CREATED", "DURATION", ...(deadline ? ["DEADLINE"] : []), "ATTRIBUTES"]
  const rows = runs.map((r) => [
    r.id,
    r.workflow,
    r.status,
    r.trigger,
    iso(r.createdAt),
    took(r, now),
    ...(deadline ? [r.deadline ? `${r.deadline.status} ${r.deadline.kind} "${r.deadline.name}" due ${iso(r.deadline.dueAt)}` : "-"] : []),
    attributes(r),
  ])
  printTable(headers, rows, "(no runs)")
}

/** One node of a run's dynamic work, as `runs show` lists it. */
export interface DynamicNodeLine {
  /** Its id in the run's graph. */
  readonly id: string
  /** Its id in its work. */
  readonly node: string
  readonly action?: string
  readonly status: string
  readonly attempts: number
}

/** One dynamic work fact of a run as `runs show` gives it: the graph's overlay item with its nodes. */
export type DynamicWorkLine = DynamicWorkOverlay & { readonly nodes: ReadonlyArray<DynamicNodeLine> }

/** The dynamic work of a run's graph, each fact with its nodes (empty when it has none). */
export const dynamicWorkLines = (graph: RunGraph): ReadonlyArray<DynamicWorkLine> => {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]))
  return (graph.dynamicWork ?? []).map((w) => ({
    ...w,
    nodes: w.nodeIds.flatMap((id): Array<DynamicNodeLine> => {
      const n = byId.get(id)
      if (!n) return []
      return [
        {
          id,
          node: n.dynamic?.node ?? n.name,
          ...(n.dynamic?.action !== undefined ? { action: n.dynamic.action } : {}),
          status: n.status,
          attempts: n.attempts,
        },
      ]
    }),
  }))
}

/** Prints a run's dynamic work: one row per fact (key, mode, origin, its nodes with their status). */
const printDynamicWork = (work: ReadonlyArray<DynamicWorkLine>): void => {
  print()
  print("dynamic work:")
  printTable(
    ["KEY", "MODE", "ORIGIN", "ADDED", "NODES", "REASON"],
    work.map((w) => [
      w.key,
      w.mode,
      `${w.origin.step} (seq ${w.origin.seq}, attempt ${w.origin.attempt})`,
      iso(w.createdAt),
      w.nodes.map((n) => `${n.node}${n.action !== undefined ? `[${n.action}]` : ""}=${n.status}`).join(", ") || "-",
      compact(w.reason, 60),
    ]),
  )
}

/**
 * Prints one run: its fields, then (when read with history) its journal, tasks, children and
 * audit events, and its dynamic work when it has any.
 */
export const printRun = (run: RunView, now: number, dynamicWork: ReadonlyArray<DynamicWorkLine> = []): void => {
  printFields([
    ["run", run.id],
    ["workflow", run.workflow],
    ["trigger", run.trigger],
    ["queue", run.queue],
    ["status", run.status],
    ["created", iso(run.createdAt)],
    ["updated", iso(run.updatedAt)],
    ["finished", run.finishedAt === undefined ? undefined : iso(run.finishedAt)],
    [run.finishedAt === undefined ? "running for" : "took", took(run, now)],
    ["revision", String(run.revision)],
    ["idempotency key", run.idempotencyKey],
    ["rerun of", run.rerunOf],
    ["parent", run.parentRunId === undefined ? undefined : `${run.parentRunId} (seq ${run.parentSeq ?? "?"})`],
    ["attributes", run.attributes === undefined ? undefined : attributes(run)],
    ["deadline", run.deadline ? `${run.deadline.status}: ${run.deadline.kind} "${run.deadline.name}" due ${iso(run.deadline.dueAt)}` : undefined],
    ["input", compact(run.input, 500)],
    ["output", run.output === undefined ? undefined : compact(run.output, 500)],
    ["error", run.error === undefined ? undefined : `${run.error.code}: ${run.error.message}`],
  ])
  if (run.history !== undefined) {
    print()
    print("journal:")
    printTable(
      ["SEQ", "KIND", "NAME", "STATUS", "ATTEMPTS", "CREATED", "RESOLVED", "TOOK", "ERROR"],
      run.history.map((e) => [
        String(e.seq),
        e.kind,
        e.name,
        e.deadlineStatus ? `${e.status} (${e.deadlineStatus})` : e.status,
        String(e.attemptCount),
        iso(e.createdAt),
        iso(e.resolvedAt),
        e.resolvedAt === undefined ? "-" : human(e.resolvedAt - e.createdAt),
        e.error ? compact(`${e.error.code}: ${e.error.message}`, 80) : "-",
      ]),
    )
  }
  if (run.tasks !== undefined) {
    print()
    print("tasks:")
    printTable(
      ["SEQ", "KIND", "ATTEMPT", "QUEUE", "VISIBLE AT", "OWNER", "LEASE UNTIL"],
      run.tasks.map((t) => [String(t.seq), t.kind, String(t.attempt), t.queue, iso(t.visibleAt), t.owner ?? "-", iso(t.leaseUntil)]),
    )
  }
  if (run.children !== undefined && run.children.length > 0) {
    print()
    print("children:")
    printTable(
      ["RUN ID", "WORKFLOW", "STATUS", "SEQ"],
      run.children.map((c) => [c.id, c.workflow, c.status, c.parentSeq === undefined ? "-" : String(c.parentSeq)]),
    )
  }
  if (run.commands !== undefined) {
    print()
    print("audit events:")
    printTable(
      ["AT", "KIND", "ACTOR", "SEQ", "NOTE", "KEY"],
      run.commands.map((c) => [iso(c.at), c.kind, c.actor, c.seq === undefined ? "-" : String(c.seq), compact(c.note, 60), c.idempotencyKey ?? "-"]),
    )
  }
  if (dynamicWork.length > 0) printDynamicWork(dynamicWork)
}

/** Prints an explanation: reason, summary, the controls that would succeed now, and the evidence as an outline. */
export const printExplanation = (why: Explanation): void => {
  printFields([
    ["run", `${why.runId} (${why.workflow}, queue ${why.queue})`],
    ["status", why.status],
    ["reason", why.reason],
    ["summary", why.summary],
    [
      "next actions",
      why.nextActions.map((a) => `${a.action}${a.gate ? ` (gate "${a.gate}")` : ""}${a.signal ? ` (signal "${a.signal}")` : ""}`).join(", ") || "none",
    ],
  ])
  print("evidence:")
  printOutline(why.evidence, "  ")
}

/** Prints a run graph: its nodes, its edges, the path taken, the current nodes, child runs and dynamic work. */
export const printGraph = (graph: RunGraph): void => {
  print(`run ${graph.runId} (${graph.workflow}, ${graph.status}; structure: ${graph.structure})`)
  if (graph.parent) print(`parent: ${graph.parent.runId} (node ${graph.parent.node})`)
  print()
  print("nodes:")
  printTable(
    ["NODE", "KIND", "NAME", "STATUS", "ATTEMPTS", "STARTED", "TOOK", "GROUP / WORK", "CHILD RUN"],
    graph.nodes.map((n) => [
      n.id,
      n.kind,
      n.name,
      n.raceLoser ? `${n.status} (race lost)` : n.status,
      String(n.attempts),
      iso(n.startedAt ?? n.createdAt),
      human(n.durationMs),
      n.group ? `${n.group.type} ${n.group.id}` : n.dynamic ? `${n.dynamic.mode} ${n.dynamic.key}` : "-",
      n.childRunId ?? "-",
    ]),
  )
  print()
  print("edges:")
  printTable(
    ["FROM", "TO", "KIND", "TAKEN"],
    graph.edges.map((e) => [e.from, e.to, e.kind, e.taken ? "yes" : e.raceLoser ? "no (race lost)" : "no"]),
  )
  print()
  print(`path: ${graph.path.join(" -> ") || "-"}`)
  print(`current: ${graph.current.join(", ") || "-"}`)
  if (graph.children.length > 0) {
    print()
    print("children:")
    printTable(
      ["NODE", "RUN ID", "WORKFLOW", "STATUS", "WAITED"],
      graph.children.map((c) => [c.node, c.runId, c.workflow, c.status, c.wait ? "yes" : "no"]),
    )
  }
  const dynamic = dynamicWorkLines(graph)
  if (dynamic.length > 0) printDynamicWork(dynamic)
}

/** Prints the purge audit trail: per batch, the runs, schedule events and specs it deleted. */
export const printPurges = (purges: ReadonlyArray<PurgeRecord>): void =>
  printTable(
    ["AT", "RUNS", "EVENTS", "SPECS", "FIRST RUN", "LAST RUN", "WHAT"],
    purges.map((p) => [
      iso(p.at),
      String(p.purged),
      String(p.scheduleEvents),
      String(p.specs),
      p.firstRunId ?? "-",
      p.lastRunId ?? "-",
      compact(p.reason, 100),
    ]),
    "(no purges)",
  )
