/**
 * The dashboard's HTML shell, the same for the runs list and a run page: the scripts decide
 * which to draw from the address. No inline script or style (the Content-Security-Policy
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
<header class="top"><a class="brand" href="/">Squid Mesh</a><span class="sub">runs dashboard</span><a class="sub" id="nav-specs" href="/specs">spec preview</a><span id="mode" class="mode"></span><span id="live" class="live" title="live updates">offline</span></header>
<main id="app"><p class="muted">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript; the same data is at <code>/api/runs</code>.</p></noscript>
</body>
</html>
`
