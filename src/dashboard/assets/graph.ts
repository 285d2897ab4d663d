/**
 * `/assets/graph.js`: a run's graph (`GET /api/runs/:id/graph`) drawn as SVG, top to bottom.
 * A node's row is its depth: one more than the deepest node leading to it (sequence, fork and
 * join edges), so the members of a parallel group share a row side by side and the join comes
 * under them. Nodes are coloured by status, the current ones drawn thick, compensation edges
 * dashed, paths not taken dotted; a child node links to its child run. Dynamic work is drawn
 * beside the workflow, in columns of its own to the right: each dynamic node (dashed border)
 * one row under the step or node it hangs from, joined to it by a dynamic edge.
 */
export const GRAPH_JS = String.raw`
import { s, runHref, statusClass, fmtDuration } from "./dom.js"

const W = 200
const H = 46
const GAP_X = 28
const GAP_Y = 36
const PAD = 16

function short(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text
}

function isDynamic(node) {
  return node.kind === "dynamic"
}

function rowsOf(nodes, depth) {
  const rows = []
  for (const n of nodes) {
    const d = depth.get(n.id)
    while (rows.length <= d) rows.push([])
    rows[d].push(n)
  }
  return rows
}

/** Rows and columns of the nodes: the workflow's centred, dynamic work in columns to their right. */
export function layout(graph) {
  const depth = new Map()
  const main = graph.nodes.filter((n) => !isDynamic(n))
  const extra = graph.nodes.filter(isDynamic)
  const seqOf = new Map(main.map((n) => [n.id, n.seq]))
  const incoming = new Map()
  const hangsFrom = new Map()
  for (const e of graph.edges) {
    if (e.kind === "dynamic") {
      hangsFrom.set(e.to, (hangsFrom.get(e.to) || []).concat([e.from]))
      continue
    }
    if (e.kind === "compensation") continue
    if (!(seqOf.get(e.from) < seqOf.get(e.to))) continue
    const list = incoming.get(e.to) || []
    list.push(e.from)
    incoming.set(e.to, list)
  }
  let previous = -1
  for (const n of main) {
    const from = incoming.get(n.id)
    const d = from && from.length > 0 ? Math.max(...from.map((f) => (depth.has(f) ? depth.get(f) : 0))) + 1 : previous + 1
    depth.set(n.id, d)
    previous = Math.max(previous, d)
  }
  // A dynamic node sits a row under what it hangs from; a second pass places nodes listed before their source.
  for (let pass = 0; pass < 2; pass++) {
    for (const n of extra) {
      const from = (hangsFrom.get(n.id) || []).filter((f) => depth.has(f))
      depth.set(n.id, from.length > 0 ? Math.max(...from.map((f) => depth.get(f))) + 1 : 0)
    }
  }
  const rows = rowsOf(main, depth)
  const dynamicRows = rowsOf(extra, depth)
  const widest = Math.max(1, ...rows.map((r) => r.length))
  const mainWidth = PAD * 2 + widest * W + (widest - 1) * GAP_X
  const widestDynamic = Math.max(0, ...dynamicRows.map((r) => r.length))
  const width = mainWidth + widestDynamic * (W + GAP_X)
  const at = new Map()
  rows.forEach((row, d) => {
    const rowWidth = row.length * W + (row.length - 1) * GAP_X
    const left = (mainWidth - rowWidth) / 2
    row.forEach((n, i) => at.set(n.id, { x: left + i * (W + GAP_X), y: PAD + d * (H + GAP_Y) }))
  })
  dynamicRows.forEach((row, d) => row.forEach((n, i) => at.set(n.id, { x: mainWidth - PAD + GAP_X + i * (W + GAP_X), y: PAD + d * (H + GAP_Y) })))
  const height = Math.max(1, rows.length, dynamicRows.length)
  return { at, width, height: PAD * 2 + height * (H + GAP_Y) - GAP_Y }
}

function edgePath(a, b, kind) {
  if (kind === "compensation") {
    const x1 = a.x + W
    const y1 = a.y + H / 2
    const x2 = b.x + W
    const y2 = b.y + H / 2
    const bend = Math.max(x1, x2) + 40
    return "M" + x1 + " " + y1 + " C" + bend + " " + y1 + " " + bend + " " + y2 + " " + x2 + " " + y2
  }
  const x1 = a.x + W / 2
  const y1 = a.y + H
  const x2 = b.x + W / 2
  const y2 = b.y
  const mid = (y1 + y2) / 2
  return "M" + x1 + " " + y1 + " C" + x1 + " " + mid + " " + x2 + " " + mid + " " + x2 + " " + (y2 - 2)
}

/** The graph as an <svg> element. */
export function drawGraph(graph) {
  const { at, width, height } = layout(graph)
  const current = new Set(graph.current)
  const childOf = new Map(graph.children.map((c) => [c.node, c]))
  const svg = s("svg", { class: "graph", width: width + 60, height, viewBox: "0 0 " + (width + 60) + " " + height, role: "img", "aria-label": "run graph" })
  svg.appendChild(
    s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, s("path", { class: "arrow", d: "M0 0 L10 5 L0 10 z" }))),
  )
  const groups = new Map()
  for (const n of graph.nodes) if (n.group) groups.set(n.group.id, (groups.get(n.group.id) || []).concat([n]))
  for (const [id, members] of groups) {
    const xs = members.map((m) => at.get(m.id).x)
    const ys = members.map((m) => at.get(m.id).y)
    svg.appendChild(
      s("rect", { class: "group", "data-group": id, x: Math.min(...xs) - 8, y: Math.min(...ys) - 8, width: Math.max(...xs) - Math.min(...xs) + W + 16, height: Math.max(...ys) - Math.min(...ys) + H + 16, rx: 10 }),
    )
  }
  for (const e of graph.edges) {
    const a = at.get(e.from)
    const b = at.get(e.to)
    if (!a || !b) continue
    const cls = "edge kind-" + (/^[a-z]+$/.test(e.kind) ? e.kind : "other") + (e.taken ? "" : " not-taken")
    svg.appendChild(s("path", { class: cls, "data-edge": e.id, d: edgePath(a, b, e.kind), "marker-end": "url(#arrow)" }, s("title", null, e.kind + (e.taken ? "" : " (not taken)"))))
  }
  for (const n of graph.nodes) {
    const p = at.get(n.id)
    const dyn = n.dynamic
    const meta = [n.kind, dyn && dyn.action ? dyn.action : "", n.status, n.attempts > 1 ? n.attempts + " attempts" : "", typeof n.durationMs === "number" ? fmtDuration(n.durationMs) : ""].filter((v) => v !== "").join(" · ")
    const what = dyn ? "dynamic node of work " + JSON.stringify(dyn.key) + " (" + dyn.mode + (dyn.action ? ", action " + dyn.action : "") + ")" : n.kind + " (seq " + n.seq + ")"
    const tip = n.name + "\n" + what + ": " + n.status + (n.error ? "\n" + n.error.code + (n.error.message ? ": " + n.error.message : "") : "")
    const node = s(
      "g",
      {
        class: "node " + statusClass(n.status) + (current.has(n.id) ? " current" : "") + (isDynamic(n) ? " dynamic" : ""),
        "data-node": n.id,
        "data-seq": n.seq,
        "data-status": n.status,
        "data-dynamic-key": dyn ? dyn.key : undefined,
        transform: "translate(" + p.x + " " + p.y + ")",
      },
      s("title", null, tip),
      s("rect", { width: W, height: H, rx: 7 }),
      s("rect", { class: "bar", width: 6, height: H, rx: 3 }),
      s("text", { class: "name", x: 14, y: 19 }, short(n.name, 26)),
      s("text", { class: "meta", x: 14, y: 36 }, short(meta, 34)),
    )
    const child = childOf.get(n.id)
    svg.appendChild(child ? s("a", { href: runHref(child.runId), class: "child-link" }, node) : node)
  }
  return svg
}
`
