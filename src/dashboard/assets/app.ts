/**
 * `/assets/app.js`: the page's entry. Reads `/api/config` (are actions allowed, the CSRF
 * secret), marks the current view in the header's navigation, then draws the runs list
 * (`/`), a run page (`/runs/:id`), the schedules (`/schedules`) or the spec preview (`/specs`).
 */
export const APP_JS = String.raw`
import { api, clear, errorBox, h } from "./dom.js"
import { showList } from "./list.js"
import { showRun } from "./run.js"
import { showSchedules } from "./schedules.js"
import { showSpecs } from "./specs.js"

function markNavigation() {
  const id = location.pathname === "/schedules" ? "nav-schedules" : location.pathname === "/specs" ? "nav-specs" : "nav-runs"
  const link = document.getElementById(id)
  if (link) link.setAttribute("aria-current", "page")
}

async function main() {
  const root = document.getElementById("app")
  let config
  try {
    config = await api("/api/config")
  } catch (error) {
    clear(root).appendChild(errorBox(error))
    return
  }
  const mode = document.getElementById("mode")
  if (mode) mode.textContent = config.allowActions ? "actions allowed" : "read-only"
  markNavigation()
  const match = /^\/runs\/([^/]+)$/.exec(location.pathname)
  if (match) await showRun(root, decodeURIComponent(match[1]), config)
  else if (location.pathname === "/specs") await showSpecs(root)
  else if (location.pathname === "/schedules") await showSchedules(root, config)
  else {
    window.addEventListener("popstate", () => showList(root, config))
    await showList(root, config)
  }
  document.body.setAttribute("data-ready", "true")
}

main().catch((error) => {
  const root = document.getElementById("app")
  if (root) clear(root).appendChild(h("div", null, errorBox(error)))
})
`
