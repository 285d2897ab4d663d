/**
 * The dashboard's schedules over HTTP: the listing (definition, policies, state, next fire
 * times; filtered by workflow; `next` validated by the engine), a schedule's events (404 for
 * one that does not exist, names with `:` and `/` escaped in the path), pause and resume
 * absent unless actions are allowed, refused without the page's Origin and CSRF secret, and a
 * pause then resume round trip seen in `listSchedules`, the audit trail and the live stream;
 * a fired schedule's last window and run; a dashboard without the workflows' code (as the
 * CLI's) showing stored schedules as not registered.
 */
import { Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createMesh, Store, type Dashboard, type MeshClient } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { Digest, WORKFLOWS, meshWithFiredSchedule, serve } from "./fixtures.js"
import { openStream, request } from "./http.js"

const NIGHTLY = "nightly:eu-west"
const FIVE = "reports/every-5m"
const path = (workflow: string, trigger: string, rest: string) => `/api/schedules/${encodeURIComponent(workflow)}/${encodeURIComponent(trigger)}/${rest}`
const nightly = (rest: string) => path(Digest.name, NIGHTLY, rest)

let mesh: MeshClient

beforeAll(async () => {
  mesh = await createMesh({ workflows: WORKFLOWS, store: { kind: "memory" } })
})

afterAll(async () => {
  await mesh.close()
})

describe("the schedules listing (read-only)", () => {
  let dash: Dashboard
  beforeAll(async () => {
    dash = await serve(mesh)
  })
  afterAll(async () => {
    await dash.close()
  })

  it("lists every cron trigger with its definition, policies, state and next fire times", async () => {
    const before = Date.now()
    const answer = await request(dash.url, "/api/schedules")
    expect(answer.status).toBe(200)
    expect(answer.json.map((s: { trigger: string }) => s.trigger)).toEqual([NIGHTLY, FIVE])
    const [night, five] = answer.json
    expect(night).toMatchObject({
      workflow: "ops:digest",
      trigger: NIGHTLY,
      registered: true,
      expression: "30 2 * * *",
      timeZone: "Europe/Lisbon",
      overlap: "skip",
      catchUp: "latest",
      paused: false,
    })
    expect(five).toMatchObject({ expression: "*/5 * * * *", timeZone: "UTC", overlap: "bufferOne", catchUp: { within: "1h", limit: 3 }, paused: false })
    // The engine's own answer, but for next fire times a window boundary may have moved between the two reads.
    const engine = await mesh.listSchedules()
    const definition = (s: { nextFireTimes: unknown }) => ({ ...s, nextFireTimes: undefined })
    expect(answer.json.map(definition)).toEqual(engine.map(definition))
    expect(night.nextFireTimes).toHaveLength(5)
    for (const s of [night, five]) {
      expect(s.nextFireTimes[0]).toBeGreaterThan(before)
      expect([...s.nextFireTimes].sort((a, b) => a - b)).toEqual(s.nextFireTimes)
    }
    expect(five.nextFireTimes.every((t: number) => t % (5 * 60_000) === 0)).toBe(true)
    expect(five.nextFireTimes[1] - five.nextFireTimes[0]).toBe(5 * 60_000)
    const lisbon = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Lisbon", hour: "2-digit", minute: "2-digit" })
    expect(night.nextFireTimes.map((t: number) => lisbon.format(t))).toEqual(Array(5).fill("02:30"))
  })

  it("takes next and workflow; refuses a bad next with the engine's error and an unknown parameter", async () => {
    const three = await request(dash.url, "/api/schedules?next=3")
    expect(three.json.map((s: { nextFireTimes: Array<number> }) => s.nextFireTimes.length)).toEqual([3, 3])
    expect((await request(dash.url, `/api/schedules?workflow=${encodeURIComponent("ops:digest")}`)).json).toHaveLength(2)
    expect((await request(dash.url, "/api/schedules?workflow=checkout")).json).toEqual([])
    const tooMany = await request(dash.url, "/api/schedules?next=101")
    expect(tooMany.status).toBe(400)
    expect(tooMany.json.error).toMatchObject({ _tag: "InvalidOptionError", option: "next" })
    expect((await request(dash.url, "/api/schedules?next=abc")).json.error._tag).toBe("InvalidOptionError")
    const typo = await request(dash.url, "/api/schedules?nxt=3")
    expect(typo.status).toBe(400)
    expect(typo.json.error.message).toContain("nxt")
    expect((await request(dash.url, "/api/schedules", { method: "POST", body: {} })).status).toBe(405)
    expect((await request(dash.url, "/api/events?schedules&bogus=1")).status).toBe(400)
    expect((await request(dash.url, "/api/events?schedules&next=x")).json.error).toMatchObject({ _tag: "InvalidOptionError", option: "next" })
  })

  it("answers a schedule's events (none yet), 404 for one that does not exist, 400 for a malformed name", async () => {
    const events = await request(dash.url, nightly("events"))
    expect(events.status).toBe(200)
    expect(events.json).toEqual([])
    // The "/" of the trigger's name is escaped: one path segment.
    expect((await request(dash.url, path(Digest.name, FIVE, "events"))).status).toBe(200)
    expect((await request(dash.url, "/api/schedules/ops:digest/reports/every-5m/events")).status).toBe(404)
    const manual = await request(dash.url, path(Digest.name, "manual", "events"))
    expect(manual.status).toBe(404)
    expect(manual.json.error.message).toContain('no schedule "manual"')
    expect((await request(dash.url, path("nope", NIGHTLY, "events"))).status).toBe(404)
    expect((await request(dash.url, "/api/schedules/%E0%A4%A/x/events")).json.error._tag).toBe("InvalidOptionError")
    expect((await request(dash.url, nightly("events?limit=0"))).json.error).toMatchObject({ _tag: "InvalidOptionError", option: "limit" })
    expect((await request(dash.url, nightly("events?since=1"))).status).toBe(400)
  })

  it("has no pause or resume routes when actions are not allowed", async () => {
    for (const action of ["pause", "resume"]) {
      const refused = await request(dash.url, nightly(action), { method: "POST", body: { actor: "ana" }, headers: { Origin: dash.url.slice(0, -1) } })
      expect(refused.status).toBe(404)
    }
    expect((await mesh.listSchedules()).every((s) => !s.paused)).toBe(true)
  })

  it("serves the schedules page and its module", async () => {
    const page = await request(dash.url, "/schedules")
    expect(page.status).toBe(200)
    expect(page.text).toContain('id="nav-schedules"')
    const js = await request(dash.url, "/assets/schedules.js")
    expect(js.headers["content-type"]).toContain("text/javascript")
    expect(js.text).toContain("export async function showSchedules")
  })
})

describe("pause and resume", () => {
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
  const post = (to: string, body: unknown, headers: Record<string, string> = browserHeaders()) => request(dash.url, to, { method: "POST", body, headers })

  it("are refused cross-origin, without Origin, without the CSRF header, cross-site, and as a form", async () => {
    const to = nightly("pause")
    const cross = await post(to, { actor: "ana" }, { Origin: "http://evil.example", "X-Squid-Mesh-CSRF": csrf })
    expect(cross.status).toBe(403)
    expect(cross.json.error).toMatchObject({ _tag: "Forbidden" })
    expect(cross.json.error.message).toContain("cross-origin")
    expect((await post(to, { actor: "ana" }, { "X-Squid-Mesh-CSRF": csrf })).status).toBe(403)
    const noCsrf = await post(to, { actor: "ana" }, { Origin: origin })
    expect(noCsrf.status).toBe(403)
    expect(noCsrf.json.error.message).toContain("x-squid-mesh-csrf")
    expect((await post(to, { actor: "ana" }, { Origin: origin, "X-Squid-Mesh-CSRF": "wrong" })).status).toBe(403)
    expect((await post(to, { actor: "ana" }, { ...browserHeaders(), "Sec-Fetch-Site": "cross-site" })).status).toBe(403)
    expect((await post(to, "actor=ana", { ...browserHeaders(), "Content-Type": "application/x-www-form-urlencoded" })).status).toBe(415)
    expect((await request(dash.url, to)).status).toBe(405)
    expect((await mesh.listSchedules()).every((s) => !s.paused)).toBe(true)
    expect(await mesh.scheduleEvents(Digest.name, NIGHTLY)).toEqual([])
  })

  it("show the engine's refusals with their tags: no actor, a manual or unknown trigger, an unregistered workflow", async () => {
    const noActor = await post(nightly("pause"), {})
    expect(noActor.status).toBe(400)
    expect(noActor.json.error._tag).toBe("InvalidOptionError")
    expect((await post(nightly("pause"), { actor: "" })).json.error).toMatchObject({ _tag: "InvalidOptionError", option: "actor" })
    const manual = await post(path(Digest.name, "manual", "pause"), { actor: "ana" })
    expect(manual.status).toBe(404)
    expect(manual.json.error).toMatchObject({ _tag: "InvalidTriggerError", workflow: "ops:digest", trigger: "manual" })
    const unknown = await post(path("nope", NIGHTLY, "resume"), { actor: "ana" })
    expect(unknown.status).toBe(409)
    expect(unknown.json.error).toMatchObject({ _tag: "InvalidWorkflowError", workflow: "nope" })
    expect((await post("/api/schedules/%E0%A4%A/x/pause", { actor: "ana" })).status).toBe(400)
  })

  it("pause then resume: recorded with actor and reason, shown by listSchedules, the listing, the events and the live stream", async () => {
    const stream = await openStream(dash.url, "/api/events?schedules&next=2")
    try {
      expect(stream.status).toBe(200)
      const first = await stream.next((e) => e.event === "schedules")
      expect(first.data.map((s: { trigger: string; paused: boolean; nextFireTimes: Array<number> }) => [s.trigger, s.paused, s.nextFireTimes.length])).toEqual([
        [NIGHTLY, false, 2],
        [FIVE, false, 2],
      ])

      const paused = await post(nightly("pause"), { actor: "ops:ana", reason: "db maintenance" })
      expect(paused.status).toBe(200)
      expect(paused.json).toEqual({ action: "pause", workflow: "ops:digest", trigger: NIGHTLY, paused: true, changed: true })
      const [night] = await mesh.listSchedules()
      expect(night).toMatchObject({ trigger: NIGHTLY, paused: true, pausedBy: "ops:ana", pauseNote: "db maintenance" })
      expect(night!.pausedAt).toBeGreaterThan(Date.now() - 60_000)
      expect((await request(dash.url, "/api/schedules")).json[0]).toMatchObject({ paused: true, pausedBy: "ops:ana", pauseNote: "db maintenance" })
      const seen = await stream.next((e) => e.event === "schedules" && e.data[0].paused === true)
      expect(seen.data[0]).toMatchObject({ pausedBy: "ops:ana", pauseNote: "db maintenance" })
      expect(seen.data[1].paused).toBe(false)

      expect((await post(nightly("pause"), { actor: "ops:ana" })).json).toMatchObject({ paused: true, changed: false })

      const resumed = await post(nightly("resume"), { actor: "ops:bo", note: "maintenance over" })
      expect(resumed.json).toEqual({ action: "resume", workflow: "ops:digest", trigger: NIGHTLY, paused: false, changed: true })
      const [after] = await mesh.listSchedules()
      expect(after).toMatchObject({ paused: false })
      expect(after!.pausedBy).toBeUndefined()
      await stream.next((e) => e.event === "schedules" && e.data[0].paused === false)
    } finally {
      stream.close()
    }
    const events = await request(dash.url, nightly("events"))
    expect(events.json.map((e: { kind: string; actor: string; note?: string }) => [e.kind, e.actor, e.note])).toEqual([
      ["resumed", "ops:bo", "maintenance over"],
      ["paused", "ops:ana", "db maintenance"],
    ])
    expect(events.json[0].at).toBeGreaterThanOrEqual(events.json[1].at)
    expect((await request(dash.url, nightly("events?limit=1"))).json.map((e: { kind: string }) => e.kind)).toEqual(["resumed"])
    expect(events.json).toEqual(await mesh.scheduleEvents(Digest.name, NIGHTLY))
    expect(await mesh.scheduleEvents(Digest.name, FIVE)).toEqual([])
  })

  it("a trigger name with a slash addresses its own schedule; a bearer-authenticated script needs no Origin", async () => {
    const token = "schedules-script-token-01"
    const scripted = await serve(mesh, { allowActions: true, token })
    try {
      const done = await request(scripted.url, path(Digest.name, FIVE, "pause"), {
        method: "POST",
        body: { actor: "script" },
        headers: { Authorization: `Bearer ${token}` },
      })
      expect(done.status).toBe(200)
      expect(done.json).toMatchObject({ trigger: FIVE, paused: true, changed: true })
      expect((await request(scripted.url, path(Digest.name, FIVE, "pause"), { method: "POST", body: { actor: "script" } })).status).toBe(401)
    } finally {
      await scripted.close()
    }
    expect((await mesh.listSchedules()).map((s) => [s.trigger, s.paused, s.pausedBy])).toEqual([
      [NIGHTLY, false, undefined],
      [FIVE, true, "script"],
    ])
    await mesh.resumeSchedule(Digest.name, FIVE, { actor: "test" })
  })
})

describe("a schedule that fired", () => {
  it("shows its last window and run, which is the run the scheduler started for that window", async () => {
    const fired = await meshWithFiredSchedule()
    const dash = await serve(fired.mesh)
    try {
      const [ticker] = (await request(dash.url, "/api/schedules?next=3")).json
      expect(ticker).toMatchObject({
        workflow: "ticker",
        trigger: "every-second",
        expression: "* * * * * *",
        lastFired: fired.lastFired,
        lastRunId: fired.lastRunId,
      })
      expect(ticker.nextFireTimes[1] - ticker.nextFireTimes[0]).toBe(1000)
      const run = (await request(dash.url, `/api/runs/${fired.lastRunId}`)).json
      expect(run).toMatchObject({ id: fired.lastRunId, workflow: "ticker", trigger: "every-second", scheduledFor: fired.lastFired })
    } finally {
      await dash.close()
      await fired.mesh.close()
    }
  })
})

describe("a dashboard without the workflows' code", () => {
  it("lists stored schedules as not registered (no definition, no next fire times), reads their events, and refuses to pause them", async () => {
    const store = TestMesh.memoryStore()
    const layer = { kind: "layer" as const, layer: Layer.succeed(Store, store) }
    const app = await createMesh({ workflows: WORKFLOWS, store: layer })
    const bare = await createMesh({ workflows: [], store: layer })
    const dash = await serve(bare, { allowActions: true })
    try {
      await app.pauseSchedule(Digest.name, NIGHTLY, { actor: "ops:ana", note: "holiday" })
      const listed = (await request(dash.url, "/api/schedules")).json
      expect(listed).toEqual([
        expect.objectContaining({
          workflow: "ops:digest",
          trigger: NIGHTLY,
          registered: false,
          paused: true,
          pausedBy: "ops:ana",
          pauseNote: "holiday",
          nextFireTimes: [],
        }),
      ])
      expect(listed[0].expression).toBeUndefined()
      const events = await request(dash.url, nightly("events"))
      expect(events.json.map((e: { kind: string; actor: string }) => [e.kind, e.actor])).toEqual([["paused", "ops:ana"]])
      const csrf = (await request(dash.url, "/api/config")).json.csrf
      const refused = await request(dash.url, nightly("resume"), {
        method: "POST",
        body: { actor: "ops:bo" },
        headers: { Origin: dash.url.slice(0, -1), "X-Squid-Mesh-CSRF": csrf },
      })
      expect(refused.status).toBe(409)
      expect(refused.json.error).toMatchObject({ _tag: "InvalidWorkflowError", workflow: "ops:digest" })
      expect((await app.listSchedules())[0]!.paused).toBe(true)
    } finally {
      await dash.close()
      await bare.close()
      await app.close()
    }
  })
})
