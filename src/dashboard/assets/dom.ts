/**
 * `/assets/dom.js`: the page's helpers. Everything shown is built with `createElement` and
 * text nodes (never HTML strings), so names, payloads and errors cannot become markup. Also
 * the JSON fetch (engine failures arrive as `ApiError` with their tag), formats, badges.
 */
export const DOM_JS = String.raw`
const SVG_NS = "http://www.w3.org/2000/svg"

function setAttributes(el, attrs) {
  if (!attrs) return
  for (const key of Object.keys(attrs)) {
    const value = attrs[key]
    if (value === undefined || value === null || value === false) continue
    if (key === "on") {
      for (const type of Object.keys(value)) el.addEventListener(type, value[type])
      continue
    }
    if (key === "href" && !/^\/(?!\/)/.test(String(value))) continue
    el.setAttribute(key, value === true ? "" : String(value))
  }
}

/** Appends children: nodes as they are, anything else as a text node. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

/** An HTML element; "href" takes only same-origin paths. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  setAttributes(el, attrs)
  return append(el, children)
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag)
  setAttributes(el, attrs)
  return append(el, children)
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild)
  return el
}

/** A failed API call: the engine's tagged error (or the HTTP failure). */
export class ApiError extends Error {
  constructor(status, error) {
    super(error && typeof error.message === "string" ? error.message : "HTTP " + status)
    this.status = status
    this.tag = error && typeof error._tag === "string" ? error._tag : "HttpError"
    this.details = error || {}
  }
}

/** Fetches JSON from the dashboard's API. */
export async function api(path, init) {
  const options = Object.assign({ credentials: "same-origin", cache: "no-store" }, init || {})
  options.headers = Object.assign({ Accept: "application/json" }, (init && init.headers) || {})
  let res
  try {
    res = await fetch(path, options)
  } catch (e) {
    throw new ApiError(0, { _tag: "NetworkError", message: String(e && e.message ? e.message : e) })
  }
  let body = null
  try {
    body = await res.json()
  } catch (e) {
    body = null
  }
  if (!res.ok) throw new ApiError(res.status, body && body.error ? body.error : { _tag: "HttpError", message: "HTTP " + res.status })
  return body
}

export function runHref(id) {
  return "/runs/" + encodeURIComponent(id)
}

function pad(n, w) {
  return String(n).padStart(w || 2, "0")
}

/** A local time, to the millisecond. */
export function fmtTime(ms) {
  if (typeof ms !== "number") return ""
  const d = new Date(ms)
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3)
}

/** A local time, to the second (cron windows fall on whole seconds). */
export function fmtClock(ms) {
  return typeof ms === "number" ? fmtTime(ms).slice(0, 19) : ""
}

/** A duration in its two largest units. */
export function fmtDuration(ms) {
  if (typeof ms !== "number" || !isFinite(ms)) return ""
  const abs = Math.max(0, Math.round(ms))
  if (abs < 1000) return abs + "ms"
  const units = [["d", 86400000], ["h", 3600000], ["m", 60000], ["s", 1000]]
  const parts = []
  let rest = abs
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0 || parts.length > 0) parts.push(n + unit)
    if (parts.length === 2) break
  }
  if (abs < 60000) return (abs / 1000).toFixed(abs < 10000 ? 2 : 1) + "s"
  return parts.filter((p) => !/^0/.test(p)).join(" ")
}

/** "in 4s" / "3m ago". */
export function fmtRelative(ms, now) {
  if (typeof ms !== "number") return ""
  const delta = ms - (typeof now === "number" ? now : Date.now())
  return delta >= 0 ? "in " + fmtDuration(delta) : fmtDuration(-delta) + " ago"
}

const SAFE_CLASS = /^[a-z_]+$/

/** A status badge (its colour comes from the status). */
export function badge(status) {
  const text = String(status)
  return h("span", { class: "badge" + (SAFE_CLASS.test(text) ? " status-" + text : ""), "data-status": text }, text)
}

export function statusClass(status) {
  return SAFE_CLASS.test(String(status)) ? "status-" + status : ""
}

/** An engine failure, shown with its tag. */
export function errorBox(error) {
  const tag = error && error.tag ? error.tag : "Error"
  const message = error && error.message ? error.message : String(error)
  return h("div", { class: "error", role: "alert" }, h("strong", { class: "error-tag" }, tag), ": ", h("span", { class: "error-message" }, message))
}

export function json(value) {
  return h("pre", null, JSON.stringify(value, null, 2))
}

/** A labelled value. */
export function kv(label, ...value) {
  return h("div", { class: "kv" }, h("span", { class: "k" }, label), h("span", { class: "v" }, ...value))
}

/** Sets the header's live indicator. */
export function setLive(on, text) {
  const el = document.getElementById("live")
  if (!el) return
  el.textContent = text || (on ? "live" : "offline")
  el.className = on ? "live on" : "live"
}
`
