/**
 * The dashboard over HTTP: the JSON API (every runs filter, paging by cursor, one run, its
 * explanation and graph, tagged failures), the token (401 without it, bearer, the `?token=`
 * cookie), the Host check, actions absent unless allowed (404/405), actions that move a run on
 * with their audit event, the same-origin and CSRF refusals, live updates over SSE that poll
 * only while someone listens, the static page and its headers, option validation, and a
 * run's dynamic work in its graph and explanation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { serveDashboard, type Dashboard, type ListRunsFilter, type MeshClient } from "../../src/index.js"
import { Checkout, Holding, eventually, meshWithDynamicRun, meshWithWorker, serve, untilStatus } from "./fixtures.js"
import { orderSpec } from "../fixtures/specs.js"
import { openStream, request } from "./http.js"

let mesh: MeshClient
let stop: () => Promise<void>
let waiting: string
let done: Array<string>
let held: string

beforeAll(async () => {
  ;({ mesh, stop } = await meshWithWorker())
  done = []
  for (let i = 0; i < 3; i++) {
    const { runId } = await mesh.start(Holding, {}, { attributes: { tenant: i === 0 ? "acme" : "globex" } })
    await mesh.resume(runId, { actor: "setup" })
    done.push(runId)
  }
  waiting = (await mesh.start(Checkout, { orderId: "o-1" }, { attributes: { tenant: "acme", region: "eu" } })).runId
  held = (await mesh.start(Holding, {}, { attributes: { tenant: "initech" } })).runId
  for (const id of done) await untilStatus(mesh, id, "completed")
  await eventually(async () => ((await mesh.explainRun(waiting)).reason === "waiting_for_approval" ? true : undefined), "the checkout to wait for approval")
  await eventually(async () => ((await mesh.explainRun(held)).reason === "paused" ? true : undefined), "the holding run to pause")
})

afterAll(async () => {
  await stop()
})

describe("the JSON API (read-only)", () => {
  let dash: Dashboard
  beforeAll(async () => {
    dash = await serve(mesh)
  })
  afterAll(async () => {
    await dash.close()
  })

  it("listens on 127.0.0.1 on an ephemeral port, and says actions are off", async () => {
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const config = await request(dash.url, "/api/config")
    expect(config.status).toBe(200)
    expect(config.json).toEqual({ allowActions: false, pollMs: 100 })
  })

  it("lists runs newest first, filtered by status, workflow and attributes", async () => {
    const all = await request(dash.url, "/api/runs")
    expect(all.json.runs.map((r: { id: string }) => r.id)).toEqual((await mesh.listRuns()).runs.map((r) => r.id))
    expect(all.json.runs.map((r: { id: string }) => r.id).sort()).toEqual([held, waiting, ...done].sort())
    const completed = await request(dash.url, "/api/runs?status=completed")
    expect(completed.json.runs.map((r: { id: string }) => r.id).sort()).toEqual([...done].sort())
    const several = await request(dash.url, "/api/runs?status=paused&status=running")
    expect(several.json.runs.map((r: { id: string }) => r.id).sort()).toEqual([held, waiting].sort())
    const byWorkflow = await request(dash.url, "/api/runs?workflow=checkout")
    expect(byWorkflow.json.runs.map((r: { id: string }) => r.id)).toEqual([waiting])
    const acme = await request(dash.url, `/api/runs?attr=${encodeURIComponent("tenant=acme")}`)
    expect(acme.json.runs.map((r: { id: string }) => r.id).sort()).toEqual([waiting, done[0]].sort())
    const both = await request(dash.url, `/api/runs?attr=tenant%3Dacme&attr=region%3Deu&status=paused,running`)
    expect(both.json.runs.map((r: { id: string }) => r.id)).toEqual([waiting])
    const since = await request(dash.url, `/api/runs?createdFrom=${new Date(Date.now() + 60_000).toISOString()}`)
    expect(since.json.runs).toEqual([])
  })

  it("pages with cursors: nextCursor continues exactly after the last run", async () => {
    const first = await request(dash.url, "/api/runs?limit=2")
    expect(first.json.runs).toHaveLength(2)
    expect(typeof first.json.nextCursor).toBe("string")
    const second = await request(dash.url, `/api/runs?limit=2&cursor=${first.json.nextCursor}`)
    const third = await request(dash.url, `/api/runs?limit=2&cursor=${second.json.nextCursor}`)
    expect(third.json.nextCursor).toBeUndefined()
    const ids = [...first.json.runs, ...second.json.runs, ...third.json.runs].map((r: { id: string }) => r.id)
    expect(ids).toEqual((await mesh.listRuns()).runs.map((r) => r.id))
    expect(new Set(ids).size).toBe(5)
  })

  it("refuses a bad filter with the engine's tagged error, and an unknown parameter", async () => {
    const status = await request(dash.url, "/api/runs?status=sleeping")
    expect(status.status).toBe(400)
    expect(status.json.error).toMatchObject({ _tag: "InvalidOptionError", option: "status" })
    const typo = await request(dash.url, "/api/runs?stauts=paused")
    expect(typo.status).toBe(400)
    expect(typo.json.error._tag).toBe("InvalidOptionError")
    expect(typo.json.error.message).toContain("stauts")
    expect((await request(dash.url, "/api/runs?cursor=nonsense")).json.error).toMatchObject({ _tag: "InvalidOptionError", option: "cursor" })
    expect((await request(dash.url, "/api/runs?attr=novalue")).status).toBe(400)
  })

  it("shows one run with its history, its explanation and its graph", async () => {
    const run = await request(dash.url, `/api/runs/${waiting}`)
    expect(run.status).toBe(200)
    expect(run.json).toMatchObject({ id: waiting, workflow: "checkout", status: "paused", attributes: { tenant: "acme", region: "eu" } })
    expect(run.json.history.map((e: { name: string }) => e.name)).toEqual(["reserve-stock", "pack-box", "print-label", "manager-review"])
    expect(run.json.commands).toEqual([])
    const explain = await request(dash.url, `/api/runs/${waiting}/explain`)
    expect(explain.json).toMatchObject({ reason: "waiting_for_approval", nextActions: [{ action: "approve" }, { action: "reject" }, { action: "cancel" }] })
    const graph = await request(dash.url, `/api/runs/${waiting}/graph`)
    expect(graph.json.nodes.map((n: { name: string }) => n.name)).toEqual(["reserve-stock", "pack-box", "print-label", "manager-review"])
    expect(graph.json.edges.map((e: { kind: string }) => e.kind)).toEqual(["fork", "fork", "join", "join"])
    expect(graph.json.current).toEqual([graph.json.nodes.find((n: { name: string }) => n.name === "manager-review").id])
  })

  it("answers an unknown run 404 RunNotFoundError and a malformed id 400", async () => {
    const missing = await request(dash.url, "/api/runs/00000000-0000-4000-8000-000000000000")
    expect(missing.status).toBe(404)
    expect(missing.json.error).toMatchObject({ _tag: "RunNotFoundError", runId: "00000000-0000-4000-8000-000000000000" })
    const bad = await request(dash.url, "/api/runs/not-a-uuid/explain")
    expect(bad.status).toBe(400)
    expect(bad.json.error._tag).toBe("InvalidOptionError")
    expect((await request(dash.url, "/api/runs/%E0%A4%A")).json.error._tag).toBe("InvalidOptionError")
  })

  it("has no action routes: POST approve is 404, GET routes refuse POST with 405", async () => {
    const approve = await request(dash.url, `/api/runs/${waiting}/approve`, {
      method: "POST",
      body: { actor: "ana" },
      headers: { Origin: dash.url.slice(0, -1) },
    })
    expect(approve.status).toBe(404)
    for (const action of ["reject", "resume", "cancel"])
      expect((await request(dash.url, `/api/runs/${held}/${action}`, { method: "POST", body: { actor: "ana" } })).status).toBe(404)
    const post = await request(dash.url, "/api/runs", { method: "POST", body: {} })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe("GET, HEAD")
    expect((await mesh.inspectRun(waiting)).status).toBe("paused")
  })

  it("serves the page with a strict Content-Security-Policy, and its modules", async () => {
    for (const path of ["/", `/runs/${waiting}`]) {
      const page = await request(dash.url, path)
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toContain("text/html")
      expect(page.headers["content-security-policy"]).toContain("script-src 'self'")
      expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'")
      expect(page.headers["x-content-type-options"]).toBe("nosniff")
      expect(page.text).toContain('<script type="module" src="/assets/app.js">')
    }
    const js = await request(dash.url, "/assets/run.js")
    expect(js.headers["content-type"]).toContain("text/javascript")
    expect(js.text).toContain("export async function showRun")
    expect((await request(dash.url, "/assets/nope.js")).status).toBe(404)
    expect((await request(dash.url, "/runs/a/b")).status).toBe(404)
  })

  it("previews a spec's graph and every problem with its path, writing nothing (POST only)", async () => {
    const before = (await mesh.listRuns({ limit: 1000 })).runs.length
    const good = await request(dash.url, "/api/specs/preview", { method: "POST", body: { spec: orderSpec } })
    expect(good.status).toBe(200)
    const graph = good.json as { nodes: Array<{ name: string; status: string }>; edges: Array<{ kind: string }>; problems: Array<unknown>; mode: string }
    expect(graph.problems).toEqual([])
    expect(graph.mode).toBe("transitions")
    expect(graph.nodes.map((n) => n.name)).toEqual(Object.keys(orderSpec.steps))
    expect(new Set(graph.nodes.map((n) => n.status))).toEqual(new Set(["not_reached"]))
    expect(graph.edges.length).toBeGreaterThan(0)
    const bad = await request(dash.url, "/api/specs/preview", {
      method: "POST",
      body: { ...orderSpec, steps: { ...orderSpec.steps, reserve: { ...orderSpec.steps.reserve, retry: { maxAttempts: 0 } } } },
    })
    expect(bad.status).toBe(200)
    expect((bad.json as { problems: Array<{ at: string }> }).problems.map((p) => p.at)).toContain("steps.reserve.retry.maxAttempts")
    expect((await request(dash.url, "/api/specs/preview")).status).toBe(405)
    expect((await request(dash.url, "/api/specs/preview", { method: "POST", body: "not json", headers: { "Content-Type": "text/plain" } })).status).toBe(415)
    expect((await mesh.listRuns({ limit: 1000 })).runs.length).toBe(before)
  })

  it("answers only requests addressed to a loopback name (DNS rebinding)", async () => {
    const rebound = await request(dash.url, "/api/runs", { headers: { Host: "attacker.example:80" } })
    expect(rebound.status).toBe(421)
    expect((await request(dash.url, "/api/config", { headers: { Host: "localhost" } })).status).toBe(200)
  })
})

describe("the token", () => {
  const token = "s3cret-token-for-tests"
  let dash: Dashboard
  let base: string
  beforeAll(async () => {
    dash = await serve(mesh, { token })
    base = dash.url.replace(/\?.*$/, "")
  })
  afterAll(async () => {
    await dash.close()
  })

  it("is required on every request: 401 without it or with a wrong one", async () => {
    expect(dash.url).toBe(`${base}?token=${token}`)
    for (const path of ["/", "/api/runs", `/api/runs/${waiting}`, "/assets/app.js", "/api/events"]) {
      const refused = await request(base, path)
      expect(refused.status).toBe(401)
      expect(refused.headers["www-authenticate"]).toBe("Bearer")
    }
    expect((await request(base, "/api/runs", { headers: { Authorization: "Bearer wrong-token-wrong-token" } })).status).toBe(401)
    expect((await request(base, "/api/runs?token=wrong")).status).toBe(401)
  })

  it("is accepted as a bearer header", async () => {
    const ok = await request(base, "/api/runs?status=paused", { headers: { Authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    expect(ok.json.runs).toHaveLength(2)
  })

  it("?token= sets an HttpOnly SameSite=Strict cookie and redirects without the token; the cookie then stands in", async () => {
    const opened = await request(base, `/runs/${waiting}?token=${token}&x=1`)
    expect(opened.status).toBe(303)
    expect(opened.headers.location).toBe(`/runs/${waiting}?x=1`)
    const cookie = String(opened.headers["set-cookie"])
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    expect(cookie).not.toContain(token)
    const session = cookie.split(";")[0]!
    expect((await request(base, "/api/runs", { headers: { Cookie: session } })).status).toBe(200)
    expect((await request(base, "/api/runs", { headers: { Cookie: "squid_mesh_dashboard=forged" } })).status).toBe(401)
  })

  it("is refused when shorter than 16 characters, and required off loopback", async () => {
    await expect(serveDashboard({ mesh, token: "short" })).rejects.toMatchObject({ _tag: "InvalidOptionError", option: "token" })
    await expect(serveDashboard({ mesh, host: "0.0.0.0" })).rejects.toMatchObject({ _tag: "InvalidOptionError", option: "host" })
    await expect(serveDashboard({ mesh, port: 70000 })).rejects.toMatchObject({ _tag: "InvalidOptionError", option: "port" })
  })
})

describe("actions", () => {
  let dash: Dashboard
  let origin: string
  let csrf: string
  beforeAll(async () => {
    dash = await serve(mesh, { allowActions: true })
    origin = dash.url.slice(0, -1)
    csrf = (await request(dash.url, "/api/config")).json.csrf
  })
  afterAll(async () => {
    await dash.close()
  })
  const browserHeaders = () => ({ Origin: origin, "X-Squid-Mesh-CSRF": csrf, "Sec-Fetch-Site": "same-origin" })

  it("refuses a cross-origin POST, one without Origin, and one without the CSRF header", async () => {
    expect(csrf.length).toBeGreaterThan(20)
    const path = `/api/runs/${waiting}/approve`
    const cross = await request(dash.url, path, {
      method: "POST",
      body: { actor: "ana" },
      headers: { Origin: "http://evil.example", "X-Squid-Mesh-CSRF": csrf },
    })
    expect(cross.status).toBe(403)
    expect(cross.json.error.message).toContain("cross-origin")
    expect((await request(dash.url, path, { method: "POST", body: { actor: "ana" }, headers: { "X-Squid-Mesh-CSRF": csrf } })).status).toBe(403)
    expect((await request(dash.url, path, { method: "POST", body: { actor: "ana" }, headers: { Origin: origin } })).status).toBe(403)
    const site = await request(dash.url, path, { method: "POST", body: { actor: "ana" }, headers: { ...browserHeaders(), "Sec-Fetch-Site": "cross-site" } })
    expect(site.status).toBe(403)
    const form = await request(dash.url, path, {
      method: "POST",
      body: "actor=ana",
      headers: { ...browserHeaders(), "Content-Type": "application/x-www-form-urlencoded" },
    })
    expect(form.status).toBe(415)
    expect((await request(dash.url, path, { method: "GET" })).status).toBe(405)
    expect((await mesh.inspectRun(waiting)).status).toBe("paused")
  })

  it("shows the engine's refusal with its tag: approving a pause is an InvalidTransitionError", async () => {
    const refused = await request(dash.url, `/api/runs/${held}/approve`, { method: "POST", body: { actor: "ana" }, headers: browserHeaders() })
    expect(refused.status).toBe(409)
    expect(refused.json.error).toMatchObject({ _tag: "InvalidTransitionError", control: "approve", runId: held })
    const noActor = await request(dash.url, `/api/runs/${held}/resume`, { method: "POST", body: {}, headers: browserHeaders() })
    expect(noActor.status).toBe(400)
    expect(noActor.json.error._tag).toBe("InvalidOptionError")
  })

  it("approve moves the run on, recorded with its actor, note and via: dashboard; a live stream sees it", async () => {
    const stream = await openStream(dash.url, `/api/events?run=${waiting}`)
    try {
      expect(stream.status).toBe(200)
      expect((await stream.next((e) => e.event === "run")).data).toMatchObject({ id: waiting, status: "paused" })
      const approved = await request(dash.url, `/api/runs/${waiting}/approve`, {
        method: "POST",
        body: { actor: "ops:ana", note: "looks fine" },
        headers: browserHeaders(),
      })
      expect(approved.status).toBe(200)
      expect(approved.json).toMatchObject({ action: "approve", runId: waiting, duplicate: false })
      expect((await stream.next((e) => e.event === "run" && e.data.status === "completed")).data.id).toBe(waiting)
    } finally {
      stream.close()
    }
    const run = await mesh.inspectRun(waiting, { history: true })
    expect(run.commands).toEqual([expect.objectContaining({ kind: "approve", actor: "ops:ana", note: "looks fine", metadata: { via: "dashboard" } })])
    expect(run.children?.map((c) => c.workflow)).toEqual(["courier"])
  })

  it("resume and cancel take a reason; a bearer-authenticated script needs no Origin", async () => {
    const token = "another-token-for-scripts"
    const scripted = await serve(mesh, { allowActions: true, token })
    try {
      const resumed = await request(scripted.url, `/api/runs/${held}/resume`, {
        method: "POST",
        body: { actor: "script", reason: "batch release" },
        headers: { Authorization: `Bearer ${token}` },
      })
      expect(resumed.status).toBe(200)
      await untilStatus(mesh, held, "completed")
      expect((await mesh.inspectRun(held, { history: true })).commands).toEqual([
        expect.objectContaining({ kind: "resume", actor: "script", note: "batch release" }),
      ])
    } finally {
      await scripted.close()
    }
    const another = (await mesh.start(Holding, {})).runId
    await eventually(async () => ((await mesh.inspectRun(another)).status === "paused" ? true : undefined), "a pause")
    const cancelled = await request(dash.url, `/api/runs/${another}/cancel`, {
      method: "POST",
      body: { actor: "ops:bo", reason: "duplicate" },
      headers: browserHeaders(),
    })
    expect(cancelled.json).toMatchObject({ action: "cancel", status: "cancelled" })
    expect((await mesh.explainRun(another)).summary).toContain('cancelled by "ops:bo" (duplicate)')
  })
})

describe("live updates", () => {
  it("send the runs page on connect and on change, and poll the store only while a client listens", async () => {
    let reads = 0
    const counting: MeshClient = {
      ...mesh,
      // Only the unredacted overload is used by the dashboard.
      listRuns: ((filter?: ListRunsFilter) => {
        reads++
        return mesh.listRuns(filter)
      }) as MeshClient["listRuns"],
    }
    const dash = await serveDashboard({ mesh: counting, pollMs: 50 })
    try {
      expect(reads).toBe(0)
      const stream = await openStream(dash.url, "/api/events?workflow=holding&status=paused")
      const first = await stream.next((e) => e.event === "runs")
      const before = first.data.runs.length
      const { runId } = await mesh.start(Holding, {})
      const changed = await stream.next((e) => e.event === "runs" && e.data.runs.some((r: { id: string }) => r.id === runId))
      expect(changed.data.runs).toHaveLength(before + 1)
      stream.close()
      await eventually(async () => {
        const at = reads
        await new Promise((resolve) => setTimeout(resolve, 300))
        return reads === at ? true : undefined
      }, "polling to stop once the client left")
      await mesh.cancel(runId, { actor: "test" })
    } finally {
      await dash.close()
    }
  })

  it("report a failed read as a failure event, and refuse a bad filter", async () => {
    const dash = await serve(mesh)
    try {
      const stream = await openStream(dash.url, "/api/events?run=00000000-0000-4000-8000-000000000000")
      expect((await stream.next((e) => e.event === "failure")).data._tag).toBe("RunNotFoundError")
      stream.close()
      const badStatus = await openStream(dash.url, "/api/events?status=nope")
      expect((await badStatus.next((e) => e.event === "failure")).data._tag).toBe("InvalidOptionError")
      badStatus.close()
      expect((await request(dash.url, "/api/events?bogus=1")).status).toBe(400)
    } finally {
      await dash.close()
    }
  })
})

describe("a dashboard on a store", () => {
  it("opens its own client on the store, and closes it with the dashboard", async () => {
    const dash = await serveDashboard({ store: { kind: "memory" } })
    const page = await request(dash.url, "/api/runs")
    expect(page.json).toEqual({ runs: [] })
    await dash.close()
    await expect(request(dash.url, "/api/runs")).rejects.toThrow()
  })
})

describe("dynamic work over the API", () => {
  let dynamic: { readonly mesh: MeshClient; readonly runId: string }
  let dash: Dashboard
  beforeAll(async () => {
    dynamic = await meshWithDynamicRun()
    dash = await serve(dynamic.mesh)
  })
  afterAll(async () => {
    await dash?.close()
    await dynamic?.mesh.close()
  })

  it("the graph carries the overlay: dynamic nodes and edges beside the workflow's, and dynamicWork", async () => {
    const graph = (await request(dash.url, `/api/runs/${dynamic.runId}/graph`)).json
    expect(graph.nodes.map((n: { id: string; kind: string; status: string }) => [n.id, n.kind, n.status])).toEqual([
      ["seq-1", "step", "completed"],
      ["dyn:fanout/notify-a", "dynamic", "pending"],
      ["dyn:fanout/notify-b", "dynamic", "completed"],
      ["dyn:fanout/audit", "dynamic", "pending"],
      ["dyn:plan/later", "dynamic", "recorded"],
    ])
    expect(graph.edges.map((e: { kind: string; from: string; to: string }) => `${e.kind} ${e.from}->${e.to}`)).toEqual([
      "dynamic seq-1->dyn:fanout/notify-a",
      "dynamic seq-1->dyn:fanout/notify-b",
      "dynamic dyn:fanout/notify-a->dyn:fanout/audit",
      "dynamic seq-1->dyn:plan/later",
    ])
    expect(graph.dynamicWork.map((w: { key: string; mode: string; origin: { nodeId: string } }) => [w.key, w.mode, w.origin.nodeId])).toEqual([
      ["fanout", "scheduled", "seq-1"],
      ["plan", "recorded", "seq-1"],
    ])
    // The dashboard reads as the host: payloads as stored.
    expect(graph.nodes[1].dynamic.input).toEqual({ to: "INPUT-SENTINEL" })
  })

  it("the explanation waits for dynamic work, with the counts and each pending node", async () => {
    const explain = (await request(dash.url, `/api/runs/${dynamic.runId}/explain`)).json
    expect(explain).toMatchObject({
      status: "running",
      reason: "waiting_for_dynamic_work",
      nextActions: [{ action: "cancel" }],
      evidence: { dynamicWork: { keys: 2, recorded: 1, scheduled: 3, pending: 2, completed: 1, failed: 0 } },
    })
    const waits = [explain.evidence.wait, ...explain.evidence.alsoWaiting]
    expect(waits.map((w: { name: string; dynamic: { node: string } }) => [w.name, w.dynamic.node]).sort()).toEqual([
      ["audit", "dyn:fanout/audit"],
      ["notify-a", "dyn:fanout/notify-a"],
    ])
    expect(explain.summary).toMatch(/^waiting for dynamic work \(2 node\(s\) pending\): dynamic node "(audit|notify-a)" of work "fanout"/)
    const run = (await request(dash.url, `/api/runs/${dynamic.runId}`)).json
    expect(run.history.map((e: { kind: string; name: string }) => `${e.kind}:${e.name}`)).toEqual([
      "step:work",
      "dynamic_work:fanout",
      "dynamic:notify-a",
      "dynamic:notify-b",
      "dynamic:audit",
      "dynamic_work:plan",
    ])
  })
})
