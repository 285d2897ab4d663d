/**
 * `/assets/list.js`: the runs list. Its state lives in the address (`?status=&workflow=&attr=
 * &cursor=&back=&limit=`), so a view can be bookmarked and the browser's back button works: status
 * chips, a workflow filter, an attribute search (`tenant=acme, region=eu`), and paging by
 * cursor (`back` keeps the cursors of the pages before, for "previous"). A live stream of the
 * same page replaces the rows when they change.
 */
export const LIST_JS = String.raw`
import { h, clear, api, badge, fmtTime, runHref, errorBox, setLive } from "./dom.js"

const STATUSES = ["running", "paused", "completed", "failed", "cancelled"]
const PAGE_SIZE = 25
let stream = null

function readState() {
  const p = new URLSearchParams(location.search)
  return {
    status: p.getAll("status").flatMap((v) => v.split(",")).filter((v) => v !== ""),
    workflow: p.get("workflow") || "",
    attr: p.getAll("attr").filter((v) => v !== ""),
    cursor: p.get("cursor") || "",
    back: p.getAll("back"),
    limit: /^[0-9]+$/.test(p.get("limit") || "") ? p.get("limit") : "",
  }
}

function pageQuery(state) {
  const q = new URLSearchParams()
  if (state.status.length > 0) q.set("status", state.status.join(","))
  if (state.workflow) q.set("workflow", state.workflow)
  for (const pair of state.attr) q.append("attr", pair)
  if (state.cursor) q.set("cursor", state.cursor)
  q.set("limit", state.limit || String(PAGE_SIZE))
  return q
}

function addressOf(state) {
  const q = new URLSearchParams()
  for (const v of state.status) q.append("status", v)
  if (state.workflow) q.set("workflow", state.workflow)
  for (const pair of state.attr) q.append("attr", pair)
  if (state.cursor) q.set("cursor", state.cursor)
  for (const c of state.back) q.append("back", c)
  if (state.limit) q.set("limit", state.limit)
  const text = q.toString()
  return "/" + (text ? "?" + text : "")
}

/** "tenant=acme, region=eu" (or space-separated) into pairs. */
function parseAttributes(text) {
  return text
    .split(/\s*,\s*|\s+(?=[A-Za-z][A-Za-z0-9_.:-]*=)/)
    .map((v) => v.trim())
    .filter((v) => v !== "")
}

function go(root, config, state) {
  history.pushState(null, "", addressOf(state))
  showList(root, config)
}

function filters(root, config, state) {
  const fresh = (changes) => Object.assign({}, state, { cursor: "", back: [] }, changes)
  const chips = h(
    "div",
    { class: "row chips", role: "group", "aria-label": "status" },
    h("button", { type: "button", class: "chip", "data-status": "all", "aria-pressed": state.status.length === 0 ? "true" : "false", on: { click: () => go(root, config, fresh({ status: [] })) } }, "all"),
    STATUSES.map((st) => {
      const on = state.status.includes(st)
      const next = on ? state.status.filter((v) => v !== st) : state.status.concat([st])
      return h("button", { type: "button", class: "chip", "data-status": st, "aria-pressed": on ? "true" : "false", on: { click: () => go(root, config, fresh({ status: next })) } }, st)
    }),
  )
  const workflow = h("input", { type: "text", name: "workflow", placeholder: "workflow", value: state.workflow, list: "workflows", "aria-label": "workflow" })
  const attrs = h("input", { type: "text", name: "attr", placeholder: "attributes: tenant=acme, region=eu", value: state.attr.join(", "), "aria-label": "attributes" })
  const form = h(
    "form",
    {
      class: "row filters",
      on: {
        submit: (event) => {
          event.preventDefault()
          go(root, config, fresh({ workflow: workflow.value.trim(), attr: parseAttributes(attrs.value) }))
        },
      },
    },
    workflow,
    attrs,
    h("button", { type: "submit", class: "btn primary" }, "Filter"),
    h("button", { type: "button", class: "btn", on: { click: () => go(root, config, { status: [], workflow: "", attr: [], cursor: "", back: [], limit: state.limit }) } }, "Clear"),
    h("datalist", { id: "workflows" }),
  )
  return h("section", { class: "panel" }, chips, h("div", { class: "row" }, form))
}

function rows(tbody, page) {
  clear(tbody)
  if (page.runs.length === 0) {
    tbody.appendChild(h("tr", null, h("td", { colspan: "7", class: "muted empty" }, "No runs match.")))
    return
  }
  for (const run of page.runs) {
    const attributes = run.attributes ? Object.keys(run.attributes).map((k) => h("span", { class: "attr" }, k + "=" + run.attributes[k])) : []
    tbody.appendChild(
      h(
        "tr",
        { class: "run-row", "data-run-id": run.id, "data-status": run.status },
        h("td", null, h("a", { class: "mono run-link", href: runHref(run.id), title: run.id }, run.id.slice(0, 8))),
        h("td", { class: "workflow" }, run.workflow),
        h("td", null, badge(run.status)),
        h("td", null, run.trigger),
        h("td", null, attributes),
        h("td", null, fmtTime(run.createdAt)),
        h("td", null, fmtTime(run.updatedAt)),
      ),
    )
  }
  const list = document.getElementById("workflows")
  if (list) {
    const names = new Set(Array.from(list.children).map((o) => o.value))
    for (const run of page.runs) if (!names.has(run.workflow)) (names.add(run.workflow), list.appendChild(h("option", { value: run.workflow })))
  }
}

function pager(root, config, state, page) {
  const prev = h("button", { type: "button", class: "btn", id: "prev", disabled: state.back.length === 0 }, "← Previous")
  const next = h("button", { type: "button", class: "btn", id: "next", disabled: !page.nextCursor }, "Next →")
  prev.addEventListener("click", () => {
    const back = state.back.slice(0, -1)
    go(root, config, Object.assign({}, state, { cursor: state.back[state.back.length - 1] || "", back }))
  })
  next.addEventListener("click", () => {
    if (page.nextCursor) go(root, config, Object.assign({}, state, { cursor: page.nextCursor, back: state.back.concat([state.cursor]) }))
  })
  return h("div", { class: "pager" }, prev, next, h("span", { class: "muted" }, "page " + (state.back.length + 1)))
}

function listen(tbody, pagerSlot, root, config, state) {
  if (stream) stream.close()
  if (typeof EventSource === "undefined") return
  stream = new EventSource("/api/events?" + pageQuery(state).toString())
  stream.addEventListener("open", () => setLive(true))
  stream.addEventListener("error", () => setLive(false, "reconnecting"))
  stream.addEventListener("runs", (event) => {
    const page = JSON.parse(event.data)
    rows(tbody, page)
    clear(pagerSlot).appendChild(pager(root, config, state, page))
  })
}

/** Draws the runs list for the address's filters, then keeps it live. */
export async function showList(root, config) {
  const state = readState()
  document.title = "Runs · Squid Mesh"
  const tbody = h("tbody")
  const pagerSlot = h("div")
  const problem = h("div")
  clear(root).append(
    h("h1", null, "Runs"),
    filters(root, config, state),
    h(
      "section",
      { class: "panel" },
      problem,
      h("table", { class: "runs" }, h("thead", null, h("tr", null, ["Run", "Workflow", "Status", "Trigger", "Attributes", "Created", "Updated"].map((t) => h("th", null, t)))), tbody),
      pagerSlot,
    ),
  )
  try {
    const page = await api("/api/runs?" + pageQuery(state).toString())
    rows(tbody, page)
    pagerSlot.appendChild(pager(root, config, state, page))
    listen(tbody, pagerSlot, root, config, state)
  } catch (error) {
    problem.appendChild(errorBox(error))
  }
}

/** Closes the list's live stream (when another view takes over). */
export function stopList() {
  if (stream) stream.close()
  stream = null
}
`
