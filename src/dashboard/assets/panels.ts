/**
 * `/assets/panels.js`: the record panels of a run page, from `inspectRun(id, { history })`:
 * the timeline (each journal entry with its times and duration), attempts and errors (with
 * the live tasks), children, the audit trail, and the run's input, output and error; and,
 * from its graph, the dynamic work added to it.
 */
export const PANELS_JS = String.raw`
import { h, badge, fmtTime, fmtDuration, runHref, json, kv } from "./dom.js"

function table(className, headings, body) {
  return h("table", { class: className }, h("thead", null, h("tr", null, headings.map((t) => h("th", null, t)))), h("tbody", null, body))
}

function offset(run, at) {
  return typeof at === "number" ? "+" + fmtDuration(at - run.createdAt) : ""
}

/** Every journal entry: when it was planned, started and resolved, how long it took. */
export function timelinePanel(run) {
  const history = run.history || []
  const body = []
  for (const e of history) {
    const started = e.attempts.length > 0 ? e.attempts[0].startedAt : undefined
    body.push(
      h(
        "tr",
        { class: "entry", "data-seq": e.seq, "data-status": e.status },
        h("td", { class: "mono" }, String(e.seq)),
        h("td", null, e.kind),
        h("td", { class: "entry-name" }, e.name),
        h("td", null, badge(e.status), e.deadlineStatus ? " deadline " + e.deadlineStatus : ""),
        h("td", { title: fmtTime(e.createdAt) }, offset(run, e.createdAt)),
        h("td", { title: fmtTime(started) }, offset(run, started)),
        h("td", { title: fmtTime(e.resolvedAt) }, offset(run, e.resolvedAt)),
        h("td", null, typeof e.resolvedAt === "number" ? fmtDuration(e.resolvedAt - e.createdAt) : "…"),
        h("td", null, String(e.attemptCount)),
      ),
    )
    if (e.error) body.push(h("tr", { class: "err" }, h("td"), h("td", { colspan: "8" }, e.error.code + ": " + e.error.message)))
  }
  return h(
    "section",
    { class: "panel", id: "timeline" },
    h("h2", null, "Timeline"),
    h("p", { class: "muted" }, "Times are from the run's start (" + fmtTime(run.createdAt) + "); hover for the clock time."),
    history.length === 0 ? h("p", { class: "muted" }, "No journal entries yet.") : table("timeline", ["#", "Kind", "Name", "Status", "Planned", "Started", "Resolved", "Took", "Attempts"], body),
  )
}

/** Every attempt of every step, with its error, and the tasks still to do. */
export function attemptsPanel(run) {
  const rows = []
  for (const e of run.history || []) {
    for (const a of e.attempts) {
      rows.push(
        h(
          "tr",
          { class: "attempt", "data-seq": e.seq, "data-status": a.status },
          h("td", null, e.seq + " · " + e.name),
          h("td", null, String(a.attempt)),
          h("td", null, badge(a.status)),
          h("td", { class: "mono" }, a.owner),
          h("td", null, fmtTime(a.startedAt)),
          h("td", null, fmtDuration(a.finishedAt - a.startedAt)),
          h("td", { class: a.error ? "attempt-error" : "" }, a.error ? a.error.code + ": " + a.error.message : ""),
          h("td", null, typeof a.retryAt === "number" ? fmtTime(a.retryAt) : ""),
        ),
      )
    }
  }
  const tasks = (run.tasks || []).map((t) =>
    h(
      "tr",
      null,
      h("td", null, String(t.seq)),
      h("td", null, t.kind),
      h("td", null, String(t.attempt)),
      h("td", null, fmtTime(t.visibleAt)),
      h("td", { class: "mono" }, t.owner || ""),
      h("td", null, typeof t.leaseUntil === "number" ? fmtTime(t.leaseUntil) : ""),
    ),
  )
  return h(
    "section",
    { class: "panel", id: "attempts" },
    h("h2", null, "Attempts and errors"),
    rows.length === 0 ? h("p", { class: "muted" }, "No attempts yet.") : table("attempts", ["Entry", "Attempt", "Outcome", "Worker", "Started", "Took", "Error", "Retry at"], rows),
    tasks.length === 0 ? null : h("div", null, h("h2", null, "Tasks to do"), table("tasks", ["Seq", "Kind", "Attempt", "Visible at", "Claimed by", "Lease until"], tasks)),
  )
}

/** Child runs: from the graph (which knows children not created yet) and the run. */
export function childrenPanel(run, graph) {
  const byId = new Map()
  for (const c of graph.children) byId.set(c.runId, { id: c.runId, workflow: c.workflow, status: c.status, wait: c.wait, node: c.node })
  for (const c of run.children || []) if (!byId.has(c.id)) byId.set(c.id, { id: c.id, workflow: c.workflow, status: c.status })
  const parent = run.parentRunId ? h("p", null, "Child of ", h("a", { href: runHref(run.parentRunId), class: "mono parent-link" }, run.parentRunId)) : null
  const rows = Array.from(byId.values()).map((c) =>
    h(
      "tr",
      { class: "child", "data-run-id": c.id },
      h("td", null, c.status === "not_started" ? h("span", { class: "mono" }, c.id) : h("a", { class: "mono", href: runHref(c.id) }, c.id)),
      h("td", null, c.workflow),
      h("td", null, badge(c.status)),
      h("td", null, c.wait === undefined ? "" : c.wait ? "waited on" : "started, not waited on"),
    ),
  )
  if (!parent && rows.length === 0) return null
  return h("section", { class: "panel", id: "children" }, h("h2", null, "Children"), parent, rows.length === 0 ? null : table("children", ["Run", "Workflow", "Status", ""], rows))
}

/** The dynamic work added to the run (the graph's overlay): each key, its mode and origin, its nodes with their status. */
export function dynamicWorkPanel(graph) {
  const work = graph.dynamicWork || []
  if (work.length === 0) return null
  const byId = new Map(graph.nodes.map((n) => [n.id, n]))
  const rows = work.map((w) =>
    h(
      "tr",
      { class: "dynamic-work", "data-key": w.key, "data-mode": w.mode },
      h("td", { class: "mono dyn-key" }, w.key),
      h("td", { class: "dyn-mode" }, w.mode),
      h("td", { class: "dyn-origin" }, w.origin.step + " (seq " + w.origin.seq + ", attempt " + w.origin.attempt + ")"),
      h(
        "td",
        { class: "dyn-nodes" },
        w.nodeIds.map((id) => {
          const n = byId.get(id)
          if (!n) return null
          const action = n.dynamic && n.dynamic.action ? " · " + n.dynamic.action : ""
          return h("span", { class: "dyn-node", "data-node": id, "data-status": n.status }, h("span", { class: "dyn-node-name" }, n.name + action), badge(n.status))
        }),
      ),
      h("td", { class: "dyn-reason" }, w.reason || ""),
      h("td", null, fmtTime(w.createdAt)),
    ),
  )
  return h(
    "section",
    { class: "panel", id: "dynamic-work" },
    h("h2", null, "Dynamic work"),
    h("p", { class: "muted" }, "Work added to the run after it started. Recorded work is shown only; scheduled nodes run, and the run ends once they have."),
    table("dynamic-work", ["Key", "Mode", "Origin", "Nodes", "Reason", "Added"], rows),
  )
}

/** The controls done to the run (audit events), oldest first. */
export function auditPanel(run) {
  const commands = run.commands || []
  const rows = commands.map((c) =>
    h(
      "tr",
      { class: "audit", "data-kind": c.kind },
      h("td", null, fmtTime(c.at)),
      h("td", null, c.kind),
      h("td", { class: "audit-actor" }, c.actor),
      h("td", { class: "audit-note" }, c.note || ""),
      h("td", null, typeof c.seq === "number" ? String(c.seq) : ""),
      h("td", { class: "mono" }, c.idempotencyKey || ""),
      h("td", { class: "mono" }, c.metadata === undefined ? "" : JSON.stringify(c.metadata)),
    ),
  )
  return h(
    "section",
    { class: "panel", id: "audit" },
    h("h2", null, "Audit trail"),
    rows.length === 0 ? h("p", { class: "muted" }, "No controls recorded.") : table("audit", ["At", "Control", "Actor", "Note", "Entry", "Idempotency key", "Metadata"], rows),
  )
}

/** The run's input, output and error, as stored (redacted). */
export function dataPanel(run) {
  return h(
    "section",
    { class: "panel", id: "data" },
    h("h2", null, "Input and result"),
    h("details", { open: true }, h("summary", null, "Input"), json(run.input)),
    run.output === undefined ? null : h("details", { open: true }, h("summary", null, "Output"), json(run.output)),
    run.error === undefined ? null : h("details", { open: true }, h("summary", null, "Error"), kv("code", run.error.code), json(run.error)),
  )
}
`
