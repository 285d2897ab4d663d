/**
 * `/assets/run.js`: a run page. Its header (status, facts, attributes, deadline), the
 * explanation (reason, summary, next actions and their buttons, the evidence), the graph
 * (with its dynamic work), then the record panels. A live stream of the run redraws the page when its status,
 * revision or update time changes, keeping the scroll position.
 */
export const RUN_JS = String.raw`
import { h, append, clear, api, badge, fmtTime, fmtDuration, fmtRelative, runHref, errorBox, json, kv, setLive } from "./dom.js"
import { drawGraph } from "./graph.js"
import { actionBar } from "./actions.js"
import { timelinePanel, attemptsPanel, childrenPanel, auditPanel, dataPanel, dynamicWorkPanel } from "./panels.js"

let stream = null
let shown = null
let rendering = false
let again = false

function facts(run) {
  const attributes = run.attributes ? Object.keys(run.attributes).map((k) => h("span", { class: "attr" }, k + "=" + run.attributes[k])) : []
  const took = typeof run.finishedAt === "number" ? fmtDuration(run.finishedAt - run.createdAt) : ""
  return h(
    "div",
    { class: "grid facts" },
    kv("Run", h("span", { class: "mono run-id" }, run.id)),
    kv("Trigger", run.trigger),
    kv("Queue", run.queue),
    kv("Created", fmtTime(run.createdAt)),
    kv("Updated", fmtTime(run.updatedAt)),
    run.finishedAt ? kv("Finished", fmtTime(run.finishedAt) + " (took " + took + ")") : null,
    kv("Revision", String(run.revision)),
    run.parentRunId ? kv("Parent", h("a", { class: "mono", href: runHref(run.parentRunId) }, run.parentRunId)) : null,
    run.rerunOf ? kv("Rerun of", h("a", { class: "mono", href: runHref(run.rerunOf) }, run.rerunOf)) : null,
    run.idempotencyKey ? kv("Idempotency key", h("span", { class: "mono" }, run.idempotencyKey)) : null,
    attributes.length > 0 ? kv("Attributes", attributes) : null,
    run.deadline ? kv("Deadline", run.deadline.status + ": " + run.deadline.kind + " " + JSON.stringify(run.deadline.name) + " due " + fmtRelative(run.deadline.dueAt)) : null,
  )
}

function waitLines(wait, now) {
  if (!wait) return []
  const what = wait.dynamic ? "dynamic node " + JSON.stringify(wait.name) + " of work " + JSON.stringify(wait.dynamic.key) + " (" + wait.dynamic.state + ")" : wait.kind + " " + JSON.stringify(wait.name) + " (seq " + wait.seq + ")"
  const lines = [kv("Waiting on", what + " for " + fmtDuration(wait.waitedMs))]
  if (typeof wait.attempt === "number") lines.push(kv("Attempt", wait.attempt + (typeof wait.maxAttempts === "number" ? " of " + wait.maxAttempts : "")))
  if (typeof wait.dueAt === "number") lines.push(kv("Due", fmtTime(wait.dueAt) + " (" + fmtRelative(wait.dueAt, now) + ")"))
  if (wait.lastError) lines.push(kv("Last error", h("span", { class: "last-error" }, wait.lastError.code + (wait.lastError.message ? ": " + wait.lastError.message : ""))))
  if (wait.deadline) lines.push(kv("Deadline", wait.deadline.status + ", due " + fmtRelative(wait.deadline.dueAt, now) + (wait.onDeadline ? " (then " + wait.onDeadline + ")" : "")))
  if (wait.task) lines.push(kv("Task", wait.task.state + (wait.task.owner ? " by " + wait.task.owner : "")))
  if (wait.compensates) lines.push(kv("Compensates", wait.compensates.step + " (seq " + wait.compensates.seq + ")"))
  return lines
}

function explanationPanel(run, explanation, config, refresh) {
  const ev = explanation.evidence
  const offered = explanation.nextActions.map((a) => a.action + (a.gate ? " “" + a.gate + "”" : "") + (a.signal ? " “" + a.signal + "”" : ""))
  const evidence = waitLines(ev.wait, ev.now)
  if (ev.worker) evidence.push(kv("Workers", "queue " + ev.worker.queue + ": " + (ev.worker.seenRecently ? "served" : "no worker seen in the last minute") + (ev.worker.owner ? " (last " + ev.worker.owner + ", " + fmtRelative(ev.worker.lastSeenAt, ev.now) + ")" : "")))
  if (ev.error) evidence.push(kv("Error", h("span", { class: "run-error" }, ev.error.code + ": " + ev.error.message + (ev.error.step ? " (step " + ev.error.step + ")" : ""))))
  if (ev.child) evidence.push(kv("Child", h("a", { class: "mono", href: runHref(ev.child.runId) }, ev.child.workflow + " " + ev.child.runId.slice(0, 8)), " ", badge(ev.child.status), ev.child.explanation ? " — " + ev.child.explanation.summary : ""))
  if (ev.cancelledBy) evidence.push(kv("Cancelled by", ev.cancelledBy.actor + (ev.cancelledBy.note ? " (" + ev.cancelledBy.note + ")" : "")))
  if (ev.rerunRefused) evidence.push(kv("Rerun refused", ev.rerunRefused.reason + ": " + ev.rerunRefused.detail))
  if (ev.alsoWaiting) evidence.push(kv("Also waiting", ev.alsoWaiting.map((w) => w.kind + " " + JSON.stringify(w.name)).join(", ")))
  const dw = ev.dynamicWork
  if (dw) evidence.push(kv("Dynamic work", h("span", { class: "dynamic-counts" }, dw.keys + " key(s): " + dw.scheduled + " scheduled node(s) (" + dw.pending + " pending, " + dw.completed + " completed, " + dw.failed + " failed), " + dw.recorded + " recorded")))
  if (!ev.workflowRegistered) evidence.push(kv("Code", "this dashboard's process does not register " + JSON.stringify(explanation.workflow) + ": structure comes from the journal"))
  return h(
    "section",
    { class: "panel", id: "explanation" },
    h("h2", null, "Why it is here"),
    h("div", { class: "row" }, h("span", { class: "reason", id: "reason" }, explanation.reason), badge(explanation.status)),
    h("p", { class: "summary", id: "summary" }, explanation.summary),
    h("p", { class: "next-actions" }, h("span", { class: "muted" }, "Next actions: "), offered.length > 0 ? offered.join(", ") : "none"),
    actionBar(run.id, explanation, config, refresh),
    evidence.length > 0 ? h("div", { class: "grid evidence" }, evidence) : null,
    h("details", null, h("summary", null, "All evidence (JSON)"), json(ev)),
  )
}

function graphPanel(graph) {
  return h(
    "section",
    { class: "panel", id: "graph" },
    h("h2", null, "Graph"),
    graph.nodes.length === 0 ? h("p", { class: "muted" }, "No commands yet.") : h("div", { class: "graph-wrap" }, drawGraph(graph)),
    h(
      "p",
      { class: "legend" },
      "Colour is the status; thick outline: waiting there now; dashed: compensation; dotted: not taken" +
        (graph.dynamicWork ? "; dashed border, on the right: dynamic work" : "") +
        ". Structure: " +
        graph.structure +
        ".",
    ),
  )
}

async function render(root, runId, config) {
  if (rendering) {
    again = true
    return
  }
  rendering = true
  try {
    const base = "/api/runs/" + encodeURIComponent(runId)
    let run, explanation, graph
    try {
      ;[run, explanation, graph] = await Promise.all([api(base), api(base + "/explain"), api(base + "/graph")])
    } catch (error) {
      append(clear(root), [h("p", null, h("a", { href: "/" }, "← Runs")), errorBox(error)])
      return
    }
    shown = { status: run.status, revision: run.revision, updatedAt: run.updatedAt }
    const refresh = () => render(root, runId, config)
    const scroll = window.scrollY
    append(clear(root), [
      h("p", null, h("a", { href: "/", class: "back" }, "← Runs")),
      h("div", { id: "live-problem" }),
      h("h1", null, h("span", { class: "workflow" }, run.workflow), h("span", { id: "run-status" }, badge(run.status))),
      h("section", { class: "panel" }, facts(run)),
      explanationPanel(run, explanation, config, refresh),
      graphPanel(graph),
      dynamicWorkPanel(graph),
      timelinePanel(run),
      attemptsPanel(run),
      childrenPanel(run, graph),
      auditPanel(run),
      dataPanel(run),
    ])
    window.scrollTo(0, scroll)
  } finally {
    rendering = false
    if (again) {
      again = false
      render(root, runId, config)
    }
  }
}

function listen(root, runId, config) {
  if (stream) stream.close()
  if (typeof EventSource === "undefined") return
  stream = new EventSource("/api/events?run=" + encodeURIComponent(runId))
  stream.addEventListener("open", () => setLive(true))
  stream.addEventListener("error", () => setLive(false, "reconnecting"))
  stream.addEventListener("run", (event) => {
    const now = JSON.parse(event.data)
    const slot = document.getElementById("live-problem")
    if (slot) clear(slot)
    if (!shown || now.status !== shown.status || now.revision !== shown.revision || now.updatedAt !== shown.updatedAt) render(root, runId, config)
  })
  stream.addEventListener("failure", (event) => {
    const problem = JSON.parse(event.data)
    const slot = document.getElementById("live-problem")
    if (slot) clear(slot).appendChild(errorBox({ tag: problem._tag, message: "live update failed: " + problem.message }))
  })
}

/** Draws a run page and keeps it live. */
export async function showRun(root, runId, config) {
  document.title = "Run " + runId.slice(0, 8) + " · Squid Mesh"
  await render(root, runId, config)
  listen(root, runId, config)
}
`
