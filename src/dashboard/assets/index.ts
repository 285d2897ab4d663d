/**
 * The dashboard's static assets, by path: the HTML shell, the stylesheet and the page's ES
 * modules. They are TypeScript modules exporting strings, so they ship compiled with the
 * package and need no build step or file copying.
 */
import { ACTIONS_JS } from "./actions.js"
import { APP_JS } from "./app.js"
import { DIALOG_JS } from "./dialog.js"
import { DOM_JS } from "./dom.js"
import { GRAPH_JS } from "./graph.js"
import { LIST_JS } from "./list.js"
import { PAGE_HTML } from "./page.js"
import { PANELS_JS } from "./panels.js"
import { RUN_JS } from "./run.js"
import { SCHEDULES_JS } from "./schedules.js"
import { SPECS_JS } from "./specs.js"
import { STYLE_CSS } from "./style.js"

/** One static asset. */
export interface Asset {
  readonly contentType: string
  readonly body: string
}

const JS = "text/javascript; charset=utf-8"

/** Every asset, by its path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { contentType: "text/html; charset=utf-8", body: PAGE_HTML }],
  ["/assets/style.css", { contentType: "text/css; charset=utf-8", body: STYLE_CSS }],
  ["/assets/app.js", { contentType: JS, body: APP_JS }],
  ["/assets/dom.js", { contentType: JS, body: DOM_JS }],
  ["/assets/list.js", { contentType: JS, body: LIST_JS }],
  ["/assets/run.js", { contentType: JS, body: RUN_JS }],
  ["/assets/panels.js", { contentType: JS, body: PANELS_JS }],
  ["/assets/graph.js", { contentType: JS, body: GRAPH_JS }],
  ["/assets/actions.js", { contentType: JS, body: ACTIONS_JS }],
  ["/assets/dialog.js", { contentType: JS, body: DIALOG_JS }],
  ["/assets/specs.js", { contentType: JS, body: SPECS_JS }],
  ["/assets/schedules.js", { contentType: JS, body: SCHEDULES_JS }],
])

/** The asset at a path, if any. */
export const assetAt = (path: string): Asset | undefined => ASSETS.get(path)
