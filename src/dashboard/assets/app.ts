/**
 * `/assets/app.js`: the page's entry. Reads `/api/config` (are actions allowed, the CSRF
 * secret), then draws the runs list (`/`) or a run page (`/runs/:id`).
 */
export const APP_JS = String.raw`
import { api, clear, errorBox, h } from "./dom.js"
import { showList } from "./list.js"
import { showRun } from "./run.js"
import { showSpecs } from "./specs.js"

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
  const match = /^\/runs\/([^/]+)$/.exec(location.pathname)
  if (match) await showRun(root, decodeURIComponent(match[1]), config)
  else if (location.pathname === "/specs") await showSpecs(root)
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
