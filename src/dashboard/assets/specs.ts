/**
 * `/assets/specs.js`: the spec preview page (`/specs`). Paste a runtime-authored spec (JSON);
 * the server's `previewGraph` draws it as the run graph would (every node not reached yet) and
 * lists every problem with its path. Nothing is written.
 */
export const SPECS_JS = String.raw`
import { api, clear, errorBox, h } from "./dom.js"
import { drawGraph } from "./graph.js"

/** Draws the spec preview page into root. */
export async function showSpecs(root) {
  const input = h("textarea", { id: "spec-input", rows: 16, spellcheck: "false", placeholder: "{ \"version\": 1, \"name\": ..., \"triggers\": ..., \"steps\": ... }" })
  const out = h("div", { id: "spec-output" })
  const preview = async () => {
    clear(out)
    let spec
    try {
      spec = JSON.parse(input.value)
    } catch (e) {
      out.appendChild(errorBox({ tag: "InvalidJson", message: String(e && e.message ? e.message : e) }))
      return
    }
    try {
      const graph = await api("/api/specs/preview", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ spec }) })
      const problems = graph.problems || []
      out.appendChild(
        h(
          "div",
          { class: "panel", id: "spec-graph" },
          h("h2", null, "Graph"),
          graph.nodes.length === 0 ? h("p", { class: "muted" }, "No nodes.") : h("div", { class: "graph-wrap" }, drawGraph(Object.assign({ current: [], children: [] }, graph))),
          h("p", { class: "legend" }, "Mode: " + (graph.mode || "unknown") + (graph.entry ? "; entry: " + graph.entry : "") + ". Every node is not reached yet; dotted edges are transitions."),
        ),
      )
      out.appendChild(
        h(
          "div",
          { class: "panel", id: "spec-problems" },
          h("h2", null, problems.length === 0 ? "No problems" : problems.length + " problem(s)"),
          problems.length === 0 ? h("p", { class: "muted" }, "The spec is valid.") : h("ul", null, ...problems.map((p) => h("li", { class: "problem" }, h("code", null, p.at), ": " + p.message))),
        ),
      )
    } catch (error) {
      out.appendChild(errorBox(error))
    }
  }
  const button = h("button", { id: "spec-preview", type: "button" }, "Preview")
  button.addEventListener("click", () => void preview())
  clear(root).appendChild(
    h("div", null, h("p", null, h("a", { href: "/" }, "← Runs")), h("h1", null, "Spec preview"), h("div", { class: "panel" }, input, h("p", null, button)), out),
  )
}
`
