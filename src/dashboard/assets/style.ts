/** The dashboard's stylesheet: layout, status colours (shared by badges and graph nodes), tables. */
export const STYLE_CSS = String.raw`
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2430; --muted: #6b7484; --line: #dde1e7; --accent: #2457d6;
  --running: #2563eb; --paused: #d97706; --completed: #15803d; --failed: #dc2626; --cancelled: #6b7280;
  --pending: #64748b; --skipped: #a3a3a3; --dynamic: #7c3aed;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f1f3f6; border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; max-height: 320px; white-space: pre-wrap; word-break: break-word; }
.top { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #111827; color: #e5e7eb; }
.top .brand { color: #fff; font-weight: 700; font-size: 16px; }
.top .nav { display: flex; gap: 14px; }
.top .nav a { color: #9ca3af; padding: 2px 0; border-bottom: 2px solid transparent; }
.top .nav a[aria-current="page"] { color: #fff; border-bottom-color: #60a5fa; }
.top .mode { margin-left: auto; color: #9ca3af; font-size: 12px; }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #374151; color: #d1d5db; }
.live.on { background: #065f46; color: #d1fae5; }
main { padding: 16px 20px 40px; max-width: 1280px; margin: 0 auto; }
h1 { font-size: 20px; margin: 4px 0 12px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h2 { font-size: 15px; margin: 0 0 10px; }
section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 0 0 14px; }
.muted { color: var(--muted); }
.row { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 6px 18px; }
.kv .k { color: var(--muted); font-size: 12px; display: block; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--pending); }
.status-running { background: var(--running); } .status-paused { background: var(--paused); }
.status-completed { background: var(--completed); } .status-failed { background: var(--failed); }
.status-cancelled { background: var(--cancelled); } .status-pending { background: var(--pending); }
.status-skipped { background: var(--skipped); } .status-not_started { background: var(--skipped); }
.status-recorded { background: var(--dynamic); } .status-not_reached { background: var(--skipped); }
.status-active { background: var(--completed); }
.chip { border: 1px solid var(--line); background: #fff; border-radius: 14px; padding: 3px 12px; cursor: pointer; font: inherit; color: var(--ink); }
.chip[aria-pressed="true"] { background: var(--ink); color: #fff; border-color: var(--ink); }
.attr { display: inline-block; background: #eef2ff; color: #3730a3; border-radius: 4px; padding: 0 6px; margin: 1px 4px 1px 0; font-size: 12px; }
input[type="text"], textarea { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; min-width: 200px; }
textarea { width: 100%; min-height: 60px; }
button.btn { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.btn.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.btn.act-approve, button.btn.act-resume { background: var(--completed); border-color: var(--completed); color: #fff; }
button.btn.act-reject, button.btn.act-cancel { background: #fff; border-color: var(--failed); color: var(--failed); }
button.btn:disabled { opacity: .5; cursor: default; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
tr.err td { color: var(--failed); border-bottom-style: dashed; }
.error { border: 1px solid #fecaca; background: #fef2f2; color: #991b1b; border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
.notice { border: 1px solid #fde68a; background: #fffbeb; color: #92400e; border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
.reason { font-family: ui-monospace, monospace; font-weight: 700; }
.summary { font-size: 15px; margin: 6px 0 10px; }
.pager { display: flex; gap: 10px; margin-top: 12px; align-items: center; }
.graph-wrap { overflow: auto; max-height: 720px; border: 1px solid var(--line); border-radius: 6px; background: #fbfcfd; }
svg.graph .node rect { fill: #fff; stroke: var(--pending); stroke-width: 2; }
svg.graph .node.status-running rect { stroke: var(--running); } svg.graph .node.status-completed rect { stroke: var(--completed); }
svg.graph .node.status-failed rect { stroke: var(--failed); fill: #fef2f2; } svg.graph .node.status-cancelled rect { stroke: var(--cancelled); fill: #f3f4f6; }
svg.graph .node.status-skipped rect { stroke: var(--skipped); stroke-dasharray: 4 3; }
svg.graph .node.dynamic rect { stroke-dasharray: 6 3; }
svg.graph .node.status-recorded rect { stroke: var(--dynamic); fill: #f5f3ff; } svg.graph .node.status-recorded .bar { fill: var(--dynamic); }
svg.graph .node.current rect { stroke-width: 4; fill: #fff7ed; }
svg.graph .node.current.status-running rect { fill: #eff6ff; }
svg.graph .node .bar { stroke: none; }
svg.graph .node.status-pending .bar { fill: var(--pending); } svg.graph .node.status-running .bar { fill: var(--running); }
svg.graph .node.status-completed .bar { fill: var(--completed); } svg.graph .node.status-failed .bar { fill: var(--failed); }
svg.graph .node.status-cancelled .bar { fill: var(--cancelled); } svg.graph .node.status-skipped .bar { fill: var(--skipped); }
svg.graph .node text { font-size: 12px; fill: var(--ink); }
svg.graph .node text.meta { font-size: 10.5px; fill: var(--muted); }
svg.graph .edge { fill: none; stroke: #94a3b8; stroke-width: 1.5; }
svg.graph .edge.kind-compensation { stroke: var(--paused); stroke-dasharray: 6 4; }
svg.graph .edge.kind-dynamic { stroke: var(--dynamic); stroke-dasharray: 5 3; }
svg.graph .edge.not-taken { stroke: #cbd5e1; stroke-dasharray: 2 4; }
.dyn-node { display: inline-flex; align-items: center; gap: 4px; margin: 1px 10px 1px 0; }
svg.graph .arrow { fill: #94a3b8; }
svg.graph .group { fill: none; stroke: #c7d2fe; stroke-dasharray: 3 3; }
.actions { margin: 6px 0 12px; }
.chips { margin-bottom: 10px; }
.legend { font-size: 12px; color: var(--muted); margin-top: 6px; }
table.schedules td.next .next-fire, table.schedules td.cron code { white-space: nowrap; }
table.schedules .rel { color: var(--muted); font-size: 12px; }
table.schedules td.next.paused .at { text-decoration: line-through; color: var(--muted); }
table.schedules .paused-by, table.schedules .pause-note { font-size: 12px; margin-top: 3px; }
table.schedules .pause-note { color: var(--paused); }
table.schedules td.controls { white-space: nowrap; }
tr.schedule-events > td { background: #fbfcfd; padding: 8px 16px 12px; }
table.events th, table.events td { font-size: 12.5px; padding: 4px 6px; }
.small { font-size: 12px; }
dialog { border: 1px solid var(--line); border-radius: 10px; padding: 18px; min-width: 380px; box-shadow: 0 10px 30px rgba(0,0,0,.2); }
dialog::backdrop { background: rgba(17,24,39,.35); }
dialog label { display: block; margin: 8px 0 4px; color: var(--muted); font-size: 12px; }
dialog input[type="text"] { width: 100%; }
dialog label.check { display: flex; align-items: center; gap: 6px; color: inherit; font-size: 13px; }
dialog textarea#action-payload { min-height: 120px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.error ul.field-errors { margin: 6px 0 0; padding-left: 18px; }
button.btn.act-signal, button.btn.act-rerun { background: #fff; border-color: var(--accent); color: var(--accent); }
dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 14px; }
`
