/**
 * The dashboard's HTML shell, the same for every view (runs list, run page, schedules, spec
 * preview): the scripts decide which to draw from the address. No inline script or style (the Content-Security-Policy
 * forbids them).
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Squid Mesh dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/style.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header class="top"><a class="brand" href="/">Squid Mesh</a><nav class="nav" aria-label="views"><a id="nav-runs" href="/">Runs</a><a id="nav-schedules" href="/schedules">Schedules</a><a id="nav-specs" href="/specs">Specs</a></nav><span id="mode" class="mode"></span><span id="live" class="live" title="live updates">offline</span></header>
<main id="app"><p class="muted">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript; the same data is at <code>/api/runs</code>.</p></noscript>
</body>
</html>
`
