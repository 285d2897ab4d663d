/**
 * `/assets/schedules.js`: the schedules page (`/schedules`). One row per cron trigger
 * (`GET /api/schedules?next=3`): its expression, time zone, overlap and catch-up policies,
 * whether it is paused (by whom, when, why), the last window it fired with a link to its run,
 * and its next three fire times in the browser's time zone with how far off they are. A row
 * opens to the schedule's audit trail (`.../events`, newest first). With actions allowed,
 * Pause and Resume ask for the actor like a run's controls. A live stream of the listing
 * redraws the rows when it changes; the "in 4m" labels tick every second in between.
 */
export const SCHEDULES_JS = String.raw`
import { h, clear, api, badge, fmtClock, fmtRelative, runHref, errorBox, setLive } from "./dom.js"
import { askAndPost } from "./dialog.js"

const NEXT = 3
const EVENTS_LIMIT = 50
const KINDS_WITH_WINDOW = { skipped: "window", buffered: "window", failed: "window", missed: "missed windows", resumed: "windows left out", backfill: "range [from, to)" }
let stream = null
let ticker = null
/** The page being shown: its rows' body, the config, and how to read the listing again. */
let view = null
let drawn = []
/** The schedules whose audit trail is open (kept across redraws), and their last events read. */
const expanded = new Set()
const eventsOf = new Map()

function keyOf(s) {
  return s.workflow + "\u0000" + s.trigger
}

function pathOf(s) {
  return "/api/schedules/" + encodeURIComponent(s.workflow) + "/" + encodeURIComponent(s.trigger)
}

/** "in 42s", "in 4m", "3h 20m ago", "just now": whole seconds (the second's fraction is noise here). */
function relative(ms) {
  const now = Date.now()
  const delta = ms - now
  if (delta > 0 && delta < 60000) return "in " + Math.ceil(delta / 1000) + "s"
  if (delta <= 0 && delta > -1000) return "just now"
  if (delta <= 0 && delta > -60000) return Math.floor(-delta / 1000) + "s ago"
  return fmtRelative(ms, now)
}

/** A relative time that the page's ticker keeps true. */
function rel(ms) {
  return h("span", { class: "rel", "data-at": String(ms) }, relative(ms))
}

function when(ms, className) {
  return h(
    "span",
    { class: className || "when", "data-at": String(ms), title: new Date(ms).toISOString() },
    h("span", { class: "at" }, fmtClock(ms)),
    " ",
    rel(ms),
  )
}

function catchUpText(c) {
  if (c === undefined) return ""
  if (typeof c === "string") return c
  if (c.every) return "every missed window (at most " + c.limit + ")"
  return "within " + c.within + " (at most " + c.limit + ")"
}

function stateCell(s) {
  if (!s.paused) return h("td", { class: "state" }, badge("active"))
  return h(
    "td",
    { class: "state" },
    badge("paused"),
    h("div", { class: "paused-by" }, "by ", h("strong", null, s.pausedBy || "?"), typeof s.pausedAt === "number" ? [", ", rel(s.pausedAt)] : null),
    s.pauseNote ? h("div", { class: "pause-note" }, s.pauseNote) : null,
  )
}

function lastFiredCell(s) {
  const parts = []
  if (typeof s.lastFired === "number") {
    parts.push(h("div", null, when(s.lastFired, "last-window")))
    if (s.lastRunId) parts.push(h("div", null, "run ", h("a", { class: "mono last-run", href: runHref(s.lastRunId), title: s.lastRunId }, s.lastRunId.slice(0, 8))))
  } else parts.push(h("span", { class: "muted" }, "never"))
  if (typeof s.buffered === "number") parts.push(h("div", { class: "buffered" }, "buffered: ", when(s.buffered)))
  return h("td", { class: "last-fired" }, parts)
}

function nextCell(s) {
  if (!s.registered) return h("td", { class: "next muted" }, "—")
  return h(
    "td",
    { class: "next" + (s.paused ? " paused" : "") },
    s.nextFireTimes.map((at) => h("div", { class: "next-fire", "data-at": String(at) }, when(at))),
    s.paused ? h("div", { class: "muted small" }, "paused: these windows will not start") : null,
  )
}

function controlsCell(s) {
  const { config, refresh } = view
  const open = expanded.has(keyOf(s))
  const toggle = h(
    "button",
    { type: "button", class: "btn events-toggle", "aria-expanded": open ? "true" : "false", on: { click: () => toggleEvents(s) } },
    open ? "Hide events" : "Events",
  )
  if (!config.allowActions || !s.registered) return h("td", { class: "controls" }, toggle)
  const action = s.paused ? "resume" : "pause"
  const detail = s.paused
    ? "Its next window after now starts; the windows due while it was paused are not started (backfill them with the API or the CLI if they are wanted)."
    : "No scheduler starts its windows until it is resumed."
  const button = h(
    "button",
    {
      type: "button",
      class: "btn act-" + (s.paused ? "resume" : "cancel"),
      "data-action": action,
      on: {
        click: () =>
          askAndPost({
            action,
            title: (s.paused ? "Resume " : "Pause ") + s.workflow + " · " + s.trigger,
            detail,
            confirm: s.paused ? "Resume schedule" : "Pause schedule",
            noteLabel: "Reason (optional)",
            path: pathOf(s) + "/" + action,
            config,
            done: refresh,
          }),
      },
    },
    s.paused ? "Resume" : "Pause",
  )
  return h("td", { class: "controls" }, toggle, " ", button)
}

function scheduleRow(s) {
  return h(
    "tr",
    { class: "schedule-row", "data-workflow": s.workflow, "data-trigger": s.trigger, "data-status": s.paused ? "paused" : "active", "data-registered": String(s.registered) },
    h("td", { class: "workflow" }, s.workflow),
    h("td", { class: "trigger mono" }, s.trigger),
    h("td", { class: "cron" }, s.registered ? h("code", null, s.expression) : h("span", { class: "muted" }, "not registered in this process")),
    h("td", { class: "tz" }, s.timeZone || ""),
    h("td", { class: "overlap" }, s.overlap || ""),
    h("td", { class: "catch-up" }, catchUpText(s.catchUp)),
    stateCell(s),
    lastFiredCell(s),
    nextCell(s),
    controlsCell(s),
  )
}

function windowText(e) {
  if (typeof e.from !== "number") return ""
  if (typeof e.to !== "number" || e.to === e.from) return fmtClock(e.from)
  return fmtClock(e.from) + " – " + fmtClock(e.to)
}

function eventsTable(events) {
  if (events === undefined) return h("p", { class: "muted" }, "Loading…")
  if (events.length === 0) return h("p", { class: "muted" }, "No events: nothing was paused, resumed, skipped, buffered, missed or backfilled yet.")
  return h(
    "table",
    { class: "events" },
    h("thead", null, h("tr", null, ["At", "Kind", "Window or range", "Count", "Run", "Actor", "Note"].map((t) => h("th", null, t)))),
    h(
      "tbody",
      null,
      events.map((e) =>
        h(
          "tr",
          { class: "schedule-event", "data-kind": e.kind },
          h("td", { class: "ev-at" }, when(e.at)),
          h("td", { class: "ev-kind" }, e.kind),
          h("td", { class: "ev-window", title: KINDS_WITH_WINDOW[e.kind] || "" }, windowText(e)),
          h("td", { class: "ev-count" }, typeof e.count === "number" ? String(e.count) : ""),
          h("td", { class: "ev-run" }, e.runId ? h("a", { class: "mono", href: runHref(e.runId), title: e.runId }, e.runId.slice(0, 8)) : ""),
          h("td", { class: "ev-actor" }, e.actor || ""),
          h("td", { class: "ev-note" }, e.note || "", e.detail === undefined ? "" : h("code", { class: "ev-detail" }, " " + JSON.stringify(e.detail))),
        ),
      ),
    ),
  )
}

function eventsRow(s) {
  return h(
    "tr",
    { class: "schedule-events", "data-workflow": s.workflow, "data-trigger": s.trigger },
    h("td", { colspan: "10" }, h("div", { class: "events-slot" }, eventsTable(eventsOf.get(keyOf(s))))),
  )
}

async function loadEvents(s) {
  const key = keyOf(s)
  try {
    eventsOf.set(key, await api(pathOf(s) + "/events?limit=" + EVENTS_LIMIT))
  } catch (error) {
    eventsOf.delete(key)
    return errorBox(error)
  }
  return eventsTable(eventsOf.get(key))
}

/** Reads the open schedules' events again and puts them in their rows. */
function refreshEvents() {
  const tbody = view.tbody
  for (const s of drawn) {
    if (!expanded.has(keyOf(s))) continue
    loadEvents(s).then((shown) => {
      const row = Array.from(tbody.querySelectorAll("tr.schedule-events")).find((r) => r.getAttribute("data-workflow") === s.workflow && r.getAttribute("data-trigger") === s.trigger)
      if (row) clear(row.querySelector(".events-slot")).appendChild(shown)
    })
  }
}

function toggleEvents(s) {
  const key = keyOf(s)
  if (expanded.has(key)) expanded.delete(key)
  else expanded.add(key)
  rows(drawn)
}

/** Draws the rows of a listing (and the open audit trails under theirs). */
function rows(schedules) {
  const tbody = view.tbody
  drawn = schedules
  clear(tbody)
  if (schedules.length === 0) {
    tbody.appendChild(h("tr", null, h("td", { colspan: "10", class: "muted empty" }, "No cron schedules: the workflows this process registers have no Trigger.cron(...), and the store holds none.")))
    return
  }
  for (const s of schedules) {
    tbody.appendChild(scheduleRow(s))
    if (expanded.has(keyOf(s))) tbody.appendChild(eventsRow(s))
  }
  refreshEvents()
}

function listen(problem) {
  if (stream) stream.close()
  if (typeof EventSource === "undefined") return
  stream = new EventSource("/api/events?schedules&next=" + NEXT)
  stream.addEventListener("open", () => setLive(true))
  stream.addEventListener("error", () => setLive(false, "reconnecting"))
  stream.addEventListener("schedules", (event) => {
    clear(problem)
    rows(JSON.parse(event.data))
  })
  stream.addEventListener("failure", (event) => {
    const failure = JSON.parse(event.data)
    clear(problem).appendChild(errorBox({ tag: failure._tag, message: "live update failed: " + failure.message }))
  })
}

/** Keeps the "in 4m" labels true between redraws. */
function tick() {
  if (ticker) clearInterval(ticker)
  ticker = setInterval(() => {
    for (const el of document.querySelectorAll(".rel[data-at]")) el.textContent = relative(Number(el.getAttribute("data-at")))
  }, 1000)
}

/** Draws the schedules page into root and keeps it live. */
export async function showSchedules(root, config) {
  document.title = "Schedules · Squid Mesh"
  const tbody = h("tbody", { id: "schedule-rows" })
  const problem = h("div", { id: "schedules-problem" })
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time"
  const refresh = async () => {
    try {
      rows(await api("/api/schedules?next=" + NEXT))
      clear(problem)
    } catch (error) {
      clear(problem).appendChild(errorBox(error))
    }
  }
  view = { tbody, config, refresh }
  const headings = ["Workflow", "Trigger", "Cron", "Time zone", "Overlap", "Catch-up", "Status", "Last fired", "Next fire times", ""]
  clear(root).append(
    h("h1", null, "Schedules"),
    h(
      "section",
      { class: "panel" },
      problem,
      h("table", { class: "schedules" }, h("thead", null, h("tr", null, headings.map((t) => h("th", null, t)))), tbody),
      h(
        "p",
        { class: "legend" },
        "Times are in your time zone (" + zone + "); each trigger's windows fall by its own time zone. " +
          "Overlap: what a window does while the previous run is still open (allow, skip, bufferOne). " +
          "Catch-up: which windows missed while no scheduler ran start when one comes back.",
      ),
    ),
  )
  await refresh()
  listen(problem)
  tick()
}
`
