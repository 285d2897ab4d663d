/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): the runs
 * list with its status chips, attribute search and live rows; a run page with its graph as
 * SVG, its explanation, timeline and audit trail; approving a waiting run through the actor
 * dialog and watching its status change live; an engine refusal shown in the dialog; markup
 * in names and payloads shown as text; no buttons on a read-only dashboard; a run's dynamic
 * work drawn beside its workflow and listed; the schedules page (next fire times in local
 * time, pause and resume through the actor dialog, the audit trail, a pause made elsewhere
 * shown live, a fired schedule's run linked); on a dashboard without the workflows' code, a
 * signal sent through its dialog (a payload that is not JSON refused in the page, one the
 * journaled schema refuses shown with its field errors) and reruns through the button (the
 * "allow irreversible steps" checkbox only when a rerun is refused over them), landing on the
 * new run. Every wait is for a condition, never a fixed time. Screenshots go to
 * test/dashboard/artifacts/.
 */
import { orderSpec } from "../fixtures/specs.js"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"
import { ensureChromium } from "../support/chromium.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Dashboard, MeshClient } from "../../src/index.js"
import {
  AwaitingPayment,
  Checkout,
  Digest,
  Failing,
  Holding,
  Markupful,
  Shipping,
  XSS_NAME,
  codelessMeshes,
  eventually,
  meshWithDynamicRun,
  meshWithFiredSchedule,
  meshWithWorker,
  serve,
  untilStatus,
} from "./fixtures.js"

const artifacts = join(import.meta.dirname, "artifacts")
const token = "browser-test-token-0123456789"

let mesh: MeshClient
let stop: () => Promise<void>
let dash: Dashboard
let browser: Browser
let page: Page
const problems: Array<string> = []
const runs = { failing: "", markup: "", checkout: "", held: "" }
/** The page's `document`, inside functions that run in the browser (the project compiles without the DOM library). */
declare const document: any
declare const window: any

const reason = async (runId: string) => (await mesh.explainRun(runId)).reason

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true })
  ;({ mesh, stop } = await meshWithWorker())
  for (let i = 0; i < 2; i++) {
    const { runId } = await mesh.start(Holding, {}, { attributes: { tenant: "globex" } })
    await mesh.resume(runId, { actor: "setup" })
    await untilStatus(mesh, runId, "completed")
  }
  runs.failing = (await mesh.start(Failing, { orderId: "o-9" }, { attributes: { tenant: "globex" } })).runId
  runs.markup = (
    await mesh.start(Markupful, { orderId: "o-<b>7</b>", note: "<script>window.__xss=3</script>" }, { attributes: { label: "<img src=x>" } })
  ).runId
  runs.checkout = (await mesh.start(Checkout, { orderId: "o-1" }, { attributes: { tenant: "acme", region: "eu" } })).runId
  runs.held = (await mesh.start(Holding, {}, { attributes: { tenant: "initech" } })).runId
  await untilStatus(mesh, runs.failing, "failed")
  await untilStatus(mesh, runs.markup, "completed")
  await eventually(async () => ((await reason(runs.checkout)) === "waiting_for_approval" ? true : undefined), "checkout to wait for approval")
  await eventually(async () => ((await reason(runs.held)) === "paused" ? true : undefined), "the hold")
  dash = await serve(mesh, { allowActions: true, token, pollMs: 200 })
  browser = await chromium.launch({
    executablePath: ensureChromium(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.setDefaultTimeout(30_000)
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`))
  page.on("console", (message) => {
    // The refusals the tests provoke on purpose (400 for a bad signal payload, 409) are expected in the console.
    if (message.type() === "error" && !/(400 \(Bad Request\)|409 \(Conflict\))/.test(message.text())) problems.push(`console: ${message.text()}`)
  })
  page.on("dialog", (dialog) => {
    problems.push(`unexpected ${dialog.type()}: ${dialog.message()}`)
    void dialog.dismiss()
  })
})

afterAll(async () => {
  await browser?.close()
  await dash?.close()
  await stop?.()
})

const base = () => dash.url.replace(/\?.*$/, "")
const at = (path: string) => new URL(path, base()).href
const rowIds = (p: Page) => p.locator("tr.run-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-run-id")))
const NIGHTLY = "nightly:eu-west"
const FIVE = "reports/every-5m"
const scheduleRow = (trigger: string) => `tr.schedule-row[data-trigger="${trigger}"]`
const eventKinds = (trigger: string) => page.locator(`tr.schedule-events[data-trigger="${trigger}"] tr.schedule-event .ev-kind`).allTextContents()

describe("the dashboard in Chromium", () => {
  it("opens with the token (which leaves the address bar), lists runs, filters by status and attribute, and adds new runs live", async () => {
    await page.goto(dash.url)
    await page.waitForSelector("body[data-ready=true]")
    expect(page.url()).toBe(base())
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 6)
    expect(await page.locator("#mode").textContent()).toBe("actions allowed")

    await page.click('.chip[data-status="failed"]')
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("tr.run-row")]
      return rows.length === 1 && rows[0]!.getAttribute("data-status") === "failed"
    })
    expect(await rowIds(page)).toEqual([runs.failing])
    expect(page.url()).toContain("status=failed")
    await page.click('.chip[data-status="all"]')
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 6)

    await page.fill('input[name="attr"]', "tenant=acme")
    await page.click('form.filters button[type="submit"]')
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 1)
    expect(await rowIds(page)).toEqual([runs.checkout])
    await page.screenshot({ path: join(artifacts, "runs-filtered.png"), fullPage: true })

    await page.click('form.filters button[type="button"]')
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 6)
    const fresh = (await mesh.start(Holding, {}, { attributes: { tenant: "live" } })).runId
    await page.waitForSelector(`tr.run-row[data-run-id="${fresh}"]`)
    await mesh.cancel(fresh, { actor: "test" })
    await page.waitForSelector(`tr.run-row[data-run-id="${fresh}"][data-status="cancelled"]`)
    await page.screenshot({ path: join(artifacts, "runs.png"), fullPage: true })

    await page.goto(at("/?limit=3"))
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 3)
    const first = await rowIds(page)
    await page.click("#next")
    // Wait for the next page's rows (not an empty table between two renders).
    await page.waitForFunction((seen) => {
      const rows = [...document.querySelectorAll("tr.run-row")]
      return rows.length > 0 && rows.every((r) => !seen.includes(r.getAttribute("data-run-id")))
    }, first)
    const second = await rowIds(page)
    expect(second).toHaveLength(3)
    await page.click("#next")
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 1 && document.getElementById("next").disabled)
    const third = await rowIds(page)
    expect([...first, ...second, ...third]).toEqual((await mesh.listRuns()).runs.map((r) => r.id))
    await page.click("#prev")
    await page.waitForFunction((ids) => [...document.querySelectorAll("tr.run-row")].map((r) => r.getAttribute("data-run-id")).join() === ids.join(), second)
    await page.goBack()
    await page.waitForFunction(() => document.querySelectorAll("tr.run-row").length === 1)
  })

  it("opens a run: its graph as SVG, its explanation; approving it asks for the actor and the status changes live", async () => {
    await page.goto(at("/?attr=tenant%3Dacme"))
    await page.click(`tr.run-row[data-run-id="${runs.checkout}"] a.run-link`)
    await page.waitForSelector("#graph svg .node")
    expect(new URL(page.url()).pathname).toBe(`/runs/${runs.checkout}`)
    const names = await page.locator("#graph svg .node text.name").allTextContents()
    expect(names).toEqual(["reserve-stock", "pack-box", "print-label", "manager-review"])
    expect(await page.locator("#graph svg .node.current text.name").allTextContents()).toEqual(["manager-review"])
    expect(await page.locator("#graph svg .node.status-completed").count()).toBe(3)
    expect(await page.locator("#reason").textContent()).toBe("waiting_for_approval")
    expect(await page.locator("#summary").textContent()).toContain("manager-review")
    expect(await page.locator("#explanation .next-actions").textContent()).toContain("approve")
    expect(await page.locator("#timeline tr.entry").count()).toBe(4)
    expect(await page.evaluate(() => [...document.getElementById("app")!.childNodes].filter((n: any) => n.nodeType === 3).length)).toBe(0)
    await page.screenshot({ path: join(artifacts, "run-waiting.png"), fullPage: true })

    await page.click('#explanation button[data-action="approve"]')
    await page.waitForSelector("dialog#action-dialog[open]")
    await page.fill("#action-actor", "")
    await page.click("#action-confirm")
    await page.waitForSelector("dialog#action-dialog .error")
    expect(await page.locator("dialog#action-dialog .error-tag").textContent()).toBe("InvalidOptionError")
    expect((await mesh.inspectRun(runs.checkout)).status).toBe("paused")
    await page.fill("#action-actor", "ops:ana")
    await page.fill("#action-note", "stock checked <b>ok</b>")
    await page.click("#action-confirm")
    await page.waitForSelector("dialog#action-dialog", { state: "detached" })
    await page.waitForSelector('#run-status [data-status="completed"]')
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#graph svg .node[data-status="completed"] text.name')].some((t) => t.textContent === "charge-card"),
    )
    expect(await page.locator("#graph svg a.child-link").count()).toBe(1)
    expect(await page.locator("#audit .audit-actor").allTextContents()).toEqual(["ops:ana"])
    expect(await page.locator("#audit .audit-note").allTextContents()).toEqual(["stock checked <b>ok</b>"])
    expect(await page.locator("#children tr.child a").count()).toBe(1)
    // Ended: the only control left is a rerun.
    expect(await page.locator("#explanation button[data-action]").evaluateAll((bs) => bs.map((b) => b.getAttribute("data-action")))).toEqual(["rerun"])
    await page.screenshot({ path: join(artifacts, "run-completed.png"), fullPage: true })

    await page.click("#graph svg a.child-link")
    await page.waitForSelector("#graph svg .node")
    expect(await page.locator("h1 .workflow").textContent()).toBe("courier")
    expect(await page.locator("#children a.parent-link").textContent()).toBe(runs.checkout)
  })

  it("shows the engine's refusal in the dialog when the run moved on meanwhile", async () => {
    await page.goto(at(`/runs/${runs.held}`))
    await page.waitForSelector('#explanation button[data-action="resume"]')
    await page.click('#explanation button[data-action="resume"]')
    await page.waitForSelector("dialog#action-dialog[open]")
    expect(await page.locator("#action-actor").inputValue()).toBe("ops:ana")
    await mesh.resume(runs.held, { actor: "someone-else" })
    await page.waitForSelector('#run-status [data-status="completed"]')
    await page.click("#action-confirm")
    await page.waitForSelector("dialog#action-dialog .error")
    expect(await page.locator("dialog#action-dialog .error-tag").textContent()).toBe("InvalidTransitionError")
    expect(await page.locator("dialog#action-dialog .error-message").textContent()).toContain("cannot resume")
    await page.click("#action-dismiss")
  })

  it("shows a failed run's attempts and errors, and markup in names and payloads as text", async () => {
    await page.goto(at(`/runs/${runs.failing}`))
    await page.waitForSelector("#graph svg .node")
    expect(await page.locator("#reason").textContent()).toBe("failed")
    expect(await page.locator("#attempts .attempt-error").allTextContents()).toEqual([
      "courier_down: courier API answered 503",
      "courier_down: courier API answered 503",
    ])
    expect(await page.locator("#graph svg path.edge.kind-compensation").count()).toBe(1)

    await page.goto(at(`/runs/${runs.markup}`))
    await page.waitForSelector("#graph svg .node")
    expect(await page.locator("#timeline .entry-name").allTextContents()).toEqual([XSS_NAME])
    expect(await page.locator("#graph svg .node title").first().textContent()).toContain(XSS_NAME)
    expect(await page.locator("#data pre").first().textContent()).toContain("<script>window.__xss=3</script>")
    expect(await page.locator(".attr").first().textContent()).toBe("label=<img src=x>")
    expect(await page.evaluate(() => window.__xss)).toBeUndefined()
    expect(await page.locator('img[src="x"], main script').count()).toBe(0)
  })

  it("previews a pasted spec's graph as SVG, and lists its problems with their paths", async () => {
    await page.goto(at("/specs"))
    await page.waitForSelector("#spec-input")
    await page.fill("#spec-input", JSON.stringify(orderSpec))
    await page.click("#spec-preview")
    await page.waitForSelector("#spec-graph svg .node")
    expect(await page.locator("#spec-graph svg .node .name").allTextContents()).toEqual(Object.keys(orderSpec.steps))
    expect(await page.locator("#spec-problems h2").textContent()).toBe("No problems")
    const broken = { ...orderSpec, transitions: [...orderSpec.transitions, { from: "reserve", on: "ok", to: "nowhere" }] }
    await page.fill("#spec-input", JSON.stringify(broken))
    await page.click("#spec-preview")
    await page.waitForSelector("#spec-problems .problem")
    expect(await page.locator("#spec-problems .problem code").allTextContents()).toContain(`transitions[${orderSpec.transitions.length}].to`)
    await page.screenshot({ path: join(artifacts, "spec-preview.png"), fullPage: true })
    expect(problems).toEqual([])
  })

  it("has no action buttons when actions are not allowed", async () => {
    const readOnly = await serve(mesh, { pollMs: 200 })
    try {
      const paused = (await mesh.start(Holding, {})).runId
      await eventually(async () => ((await reason(paused)) === "paused" ? true : undefined), "the hold")
      await page.goto(`${readOnly.url}runs/${paused}`)
      await page.waitForSelector("#explanation")
      expect(await page.locator("#mode").textContent()).toBe("read-only")
      expect(await page.locator("#explanation .next-actions").textContent()).toContain("resume")
      expect(await page.locator("button[data-action]").count()).toBe(0)
      await mesh.resume(paused, { actor: "ops" })
      await page.waitForSelector('#run-status [data-status="completed"]')
    } finally {
      await readOnly.close()
    }
    expect(problems).toEqual([])
  })

  it("draws a run's dynamic work beside its workflow (dashed nodes, dynamic edges from the origin) and lists it", async () => {
    const dynamic = await meshWithDynamicRun()
    const shown = await serve(dynamic.mesh, { pollMs: 200 })
    try {
      await page.goto(`${shown.url}runs/${dynamic.runId}`)
      await page.waitForSelector("#graph svg .node.dynamic")
      expect(await page.locator("#reason").textContent()).toBe("waiting_for_dynamic_work")
      expect(await page.locator("#graph svg .node:not(.dynamic) text.name").allTextContents()).toEqual(["work"])
      expect(await page.locator("#graph svg .node.dynamic text.name").allTextContents()).toEqual(["notify-a", "notify-b", "audit", "later"])
      expect(await page.locator("#graph svg .node.dynamic").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-status")))).toEqual([
        "pending",
        "completed",
        "pending",
        "recorded",
      ])
      expect(await page.locator("#graph svg .node.dynamic.current").count()).toBe(2)
      // The dynamic nodes hang to the right of, and below, the step that proposed them.
      const boxes = await page.locator("#graph svg .node").evaluateAll((nodes) =>
        nodes.map((n) => {
          const r = n.getBoundingClientRect()
          return { id: n.getAttribute("data-node"), x: r.x, y: r.y }
        }),
      )
      const origin = boxes.find((b) => b.id === "seq-1")!
      for (const b of boxes.filter((b) => b.id !== "seq-1")) expect([b.x > origin.x, b.y > origin.y]).toEqual([true, true])
      const audit = boxes.find((b) => b.id === "dyn:fanout/audit")!
      expect(audit.y).toBeGreaterThan(boxes.find((b) => b.id === "dyn:fanout/notify-a")!.y)
      expect(await page.locator("#graph svg path.edge.kind-dynamic").count()).toBe(4)
      expect(await page.locator("#graph svg path.edge.kind-dynamic.not-taken").count()).toBe(1)
      expect(await page.locator("#graph .legend").textContent()).toContain("dynamic work")

      expect(await page.locator("#dynamic-work tr.dynamic-work .dyn-key").allTextContents()).toEqual(["fanout", "plan"])
      expect(await page.locator("#dynamic-work tr.dynamic-work .dyn-mode").allTextContents()).toEqual(["scheduled", "recorded"])
      expect(await page.locator("#dynamic-work tr.dynamic-work .dyn-origin").allTextContents()).toEqual(["work (seq 1, attempt 1)", "work (seq 1, attempt 1)"])
      expect(
        await page
          .locator('#dynamic-work tr[data-key="fanout"] .dyn-node')
          .evaluateAll((nodes) => nodes.map((n) => [n.textContent, n.getAttribute("data-status")])),
      ).toEqual([
        ["notify-a · notifypending", "pending"],
        ["notify-b · notifycompleted", "completed"],
        ["audit · auditpending", "pending"],
      ])
      expect(await page.locator("#dynamic-work .dyn-reason").first().textContent()).toBe("REASON-SENTINEL")
      expect(await page.locator("#explanation .dynamic-counts").textContent()).toBe(
        "2 key(s): 3 scheduled node(s) (2 pending, 1 completed, 0 failed), 1 recorded",
      )
      await page.screenshot({ path: join(artifacts, "run-dynamic.png"), fullPage: true })
    } finally {
      await shown.close()
      await dynamic.mesh.close()
    }
    expect(problems).toEqual([])
  })

  it("lists the schedules with their next fire times in local time; pausing and resuming ask for the actor; the audit trail opens; a pause made elsewhere shows live", async () => {
    await page.goto(dash.url)
    await page.waitForSelector("body[data-ready=true]")
    await page.click("#nav-schedules")
    await page.waitForFunction(() => document.querySelectorAll("tr.schedule-row").length === 2)
    expect(new URL(page.url()).pathname).toBe("/schedules")
    expect(await page.locator("#nav-schedules").getAttribute("aria-current")).toBe("page")
    expect(
      await page
        .locator("tr.schedule-row")
        .evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-workflow"), r.getAttribute("data-trigger"), r.getAttribute("data-status")])),
    ).toEqual([
      ["ops:digest", NIGHTLY, "active"],
      ["ops:digest", FIVE, "active"],
    ])
    const night = page.locator(scheduleRow(NIGHTLY))
    const cells = (row: typeof night) => Promise.all([".cron", ".tz", ".overlap", ".catch-up"].map((c) => row.locator(c).textContent()))
    expect(await cells(night)).toEqual(["30 2 * * *", "Europe/Lisbon", "skip", "latest"])
    expect(await cells(page.locator(scheduleRow(FIVE)))).toEqual(["*/5 * * * *", "UTC", "bufferOne", "within 1h (at most 3)"])
    expect(await night.locator(".last-fired").textContent()).toBe("never")

    // The next three fire times are the engine's, shown in the browser's local time with how far off they are.
    const expected = (await mesh.listSchedules({ next: 3 })).find((s) => s.trigger === NIGHTLY)!.nextFireTimes
    const shownTimes = await night.locator(".next-fire").evaluateAll((els) =>
      els.map((e) => {
        const at = Number(e.getAttribute("data-at"))
        const d = new Date(at)
        const p = (n: number) => String(n).padStart(2, "0")
        const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
        return { at, text: e.querySelector(".at")!.textContent, local, rel: e.querySelector(".rel")!.textContent }
      }),
    )
    expect(shownTimes.map((t) => t.at)).toEqual(expected)
    for (const t of shownTimes) {
      expect(t.text).toBe(t.local)
      expect(t.rel).toMatch(/^in \d+(s|m|h|d)/)
    }
    expect(await page.locator(`${scheduleRow(FIVE)} .next-fire`).count()).toBe(3)

    await night.locator('button[data-action="pause"]').click()
    await page.waitForSelector("dialog#action-dialog[open]")
    expect(await page.locator("dialog#action-dialog h2").textContent()).toBe("Pause ops:digest · nightly:eu-west")
    await page.fill("#action-actor", "ops:cy")
    await page.fill("#action-note", "quiet period <i>")
    await page.click("#action-confirm")
    await page.waitForSelector("dialog#action-dialog", { state: "detached" })
    await page.waitForSelector(`${scheduleRow(NIGHTLY)}[data-status="paused"]`)
    expect(await night.locator(".paused-by").textContent()).toMatch(/^by ops:cy, (just now|\d+s ago)$/)
    expect(await night.locator(".pause-note").textContent()).toBe("quiet period <i>")
    expect((await mesh.listSchedules()).find((s) => s.trigger === NIGHTLY)).toMatchObject({ paused: true, pausedBy: "ops:cy", pauseNote: "quiet period <i>" })
    expect(await night.locator(".next-fire").count()).toBe(3)
    expect(await page.locator(`${scheduleRow(FIVE)}[data-status="active"]`).count()).toBe(1)

    await night.locator("button.events-toggle").click()
    await page.waitForFunction((t) => document.querySelectorAll(`tr.schedule-events[data-trigger="${t}"] tr.schedule-event`).length === 1, NIGHTLY)
    expect(await eventKinds(NIGHTLY)).toEqual(["paused"])
    expect(await page.locator(`tr.schedule-events[data-trigger="${NIGHTLY}"] .ev-actor`).allTextContents()).toEqual(["ops:cy"])
    await page.screenshot({ path: join(artifacts, "schedules.png"), fullPage: true })

    await night.locator('button[data-action="resume"]').click()
    await page.waitForSelector("dialog#action-dialog[open]")
    expect(await page.locator("#action-actor").inputValue()).toBe("ops:cy")
    await page.click("#action-confirm")
    await page.waitForSelector("dialog#action-dialog", { state: "detached" })
    await page.waitForSelector(`${scheduleRow(NIGHTLY)}[data-status="active"]`)
    await page.waitForFunction((t) => document.querySelectorAll(`tr.schedule-events[data-trigger="${t}"] tr.schedule-event`).length === 2, NIGHTLY)
    expect(await eventKinds(NIGHTLY)).toEqual(["resumed", "paused"])
    expect((await mesh.scheduleEvents(Digest.name, NIGHTLY)).map((e) => [e.kind, e.actor])).toEqual([
      ["resumed", "ops:cy"],
      ["paused", "ops:cy"],
    ])

    // A pause made elsewhere (the CLI, another dashboard) arrives over the live stream.
    await mesh.pauseSchedule(Digest.name, FIVE, { actor: "cli:dee", note: "from the CLI" })
    await page.waitForSelector(`${scheduleRow(FIVE)}[data-status="paused"]`)
    expect(await page.locator(`${scheduleRow(FIVE)} .pause-note`).textContent()).toBe("from the CLI")
    expect(await page.locator(`${scheduleRow(FIVE)} button[data-action="resume"]`).count()).toBe(1)
    await mesh.resumeSchedule(Digest.name, FIVE, { actor: "test" })
    await page.waitForSelector(`${scheduleRow(FIVE)}[data-status="active"]`)
    expect(problems).toEqual([])
  })

  it("links a fired schedule's last window to its run, moves its next fire times on live, and has no buttons when read-only", async () => {
    const fired = await meshWithFiredSchedule()
    const shown = await serve(fired.mesh, { pollMs: 200 })
    try {
      await page.goto(`${shown.url}schedules`)
      await page.waitForSelector('tr.schedule-row[data-trigger="every-second"]')
      expect(await page.locator("#mode").textContent()).toBe("read-only")
      expect(await page.locator("tr.schedule-row button[data-action]").count()).toBe(0)
      expect(await page.locator("tr.schedule-row button.events-toggle").count()).toBe(1)
      expect(Number(await page.locator(".last-fired .last-window").getAttribute("data-at"))).toBe(fired.lastFired)
      expect(await page.locator(".last-fired a.last-run").getAttribute("href")).toBe(`/runs/${fired.lastRunId}`)
      const first = Number(await page.locator(".next-fire").first().getAttribute("data-at"))
      await page.waitForFunction((t) => Number(document.querySelector(".next-fire")!.getAttribute("data-at")) > t, first)
      await page.screenshot({ path: join(artifacts, "schedules-fired.png"), fullPage: true })
      await page.click(".last-fired a.last-run")
      await page.waitForSelector("#explanation")
      expect(new URL(page.url()).pathname).toBe(`/runs/${fired.lastRunId}`)
      expect(await page.locator("h1 .workflow").textContent()).toBe("ticker")
    } finally {
      await shown.close()
      await fired.mesh.close()
    }
    expect(problems).toEqual([])
  })

  describe("on a dashboard without the workflows' code", () => {
    let codeless: Awaited<ReturnType<typeof codelessMeshes>>
    let shown: Dashboard
    beforeAll(async () => {
      codeless = await codelessMeshes()
      shown = await serve(codeless.operator, { allowActions: true, pollMs: 200 })
    })
    afterAll(async () => {
      await shown?.close()
      await codeless?.stop()
    })
    const commandsOf = async (runId: string) => (await codeless.operator.inspectRun(runId, { history: true })).commands
    const waitingForPayment = (runId: string) =>
      eventually(async () => ((await codeless.operator.explainRun(runId)).reason === "waiting_for_signal" ? true : undefined), "the payment wait")

    it("sends a signal through its dialog: not JSON is refused in the page, the schema's refusal shows its fields, a good payload moves the run on", async () => {
      const { runId } = await codeless.worker.start(AwaitingPayment, { orderId: "o-sig" })
      await waitingForPayment(runId)
      await page.goto(`${shown.url}runs/${runId}`)
      await page.click('#explanation button[data-action="signal"][data-signal="payment"]')
      await page.waitForSelector('dialog#action-dialog[data-action="signal"][open]')
      expect(await page.locator("dialog#action-dialog h2").textContent()).toBe("Signal — payment")
      expect(await page.locator("#action-note").count()).toBe(0)
      await page.fill("#action-actor", "ops:dee")

      await page.fill("#action-payload", '{ "amount": 12.5, ')
      await page.click("#action-confirm")
      await page.waitForSelector("dialog#action-dialog .error")
      expect(await page.locator("dialog#action-dialog .error-tag").textContent()).toBe("InvalidJson")

      await page.fill("#action-payload", '{ "amount": -1, "tip": 2 }')
      await page.click("#action-confirm")
      await page.waitForSelector("dialog#action-dialog .error .field-errors")
      expect(await page.locator("dialog#action-dialog .error-tag").textContent()).toBe("InvalidPayloadError")
      const fields = await page
        .locator("dialog#action-dialog li.field-error")
        .evaluateAll((items) => items.map((i) => [i.getAttribute("data-kind"), i.getAttribute("data-field"), i.textContent]))
      expect(fields).toEqual([
        ["missing", "currency", "currency: missing"],
        ["unknown", "tip", "tip: not in the schema"],
        ["invalid", "amount", "amount: expected more than 0"],
      ])
      expect(await commandsOf(runId)).toEqual([])
      await page.screenshot({ path: join(artifacts, "signal-refused.png"), fullPage: true })

      await page.fill("#action-payload", '{ "amount": 12.5, "currency": "EUR" }')
      await page.click("#action-confirm")
      await page.waitForSelector("dialog#action-dialog", { state: "detached" })
      await page.waitForSelector('#run-status [data-status="completed"]')
      await page.waitForFunction(() => [...document.querySelectorAll("#timeline .entry-name")].some((t) => t.textContent === "book-payment"))
      expect(await page.locator("#audit .audit-actor").allTextContents()).toEqual(["ops:dee"])
      expect((await codeless.operator.inspectRun(runId)).output).toBe("o-sig: EUR 12.5")
      expect(await page.locator("#explanation button[data-action]").evaluateAll((bs) => bs.map((b) => b.getAttribute("data-action")))).toEqual(["rerun"])
      expect(problems).toEqual([])
    })

    it("reruns through the button and lands on the new run; over an irreversible step only once allowed", async () => {
      const [paid] = (await codeless.operator.listRuns({ workflow: "awaiting-payment", status: "completed" })).runs
      await page.goto(`${shown.url}runs/${paid!.id}`)
      await page.click('#explanation button[data-action="rerun"]')
      await page.waitForSelector('dialog#action-dialog[data-action="rerun"][open]')
      expect(await page.locator("#action-allow-irreversible").count()).toBe(0)
      expect(await page.locator("#action-actor").inputValue()).toBe("ops:dee")
      await page.fill("#action-note", "customer paid twice?")
      await page.click("#action-confirm")
      await page.waitForURL((url) => url.pathname.startsWith("/runs/") && url.pathname !== `/runs/${paid!.id}`)
      const again = decodeURIComponent(new URL(page.url()).pathname.slice("/runs/".length))
      await page.waitForSelector('#explanation button[data-action="signal"][data-signal="payment"]')
      expect(await page.locator(".facts a").filter({ hasText: paid!.id }).getAttribute("href")).toBe(`/runs/${paid!.id}`)
      expect(await codeless.operator.inspectRun(again, { history: true })).toMatchObject({
        rerunOf: paid!.id,
        commands: [{ kind: "rerun", actor: "ops:dee", metadata: { via: "dashboard", note: "customer paid twice?" } }],
      })
      await codeless.operator.cancel(again, { actor: "test" })

      const { runId: shipped } = await codeless.worker.start(Shipping, { orderId: "o-ship" })
      await untilStatus(codeless.operator, shipped, "completed")
      await page.goto(`${shown.url}runs/${shipped}`)
      await page.click('#explanation button[data-action="rerun"]')
      await page.waitForSelector('dialog#action-dialog[data-action="rerun"][open]')
      expect(await page.locator("dialog#action-dialog .dialog-detail").textContent()).toContain("irreversible steps: ship-parcel")
      expect(await page.locator("#action-allow-irreversible").isChecked()).toBe(false)
      await page.click("#action-confirm")
      await page.waitForSelector("dialog#action-dialog .error")
      expect(await page.locator("dialog#action-dialog .error-tag").textContent()).toBe("RerunRefusedError")
      expect(await page.locator("dialog#action-dialog .refused-step").allTextContents()).toEqual(["step ship-parcel"])
      expect((await codeless.operator.listRuns({ workflow: "shipping" })).runs).toHaveLength(1)
      await page.check("#action-allow-irreversible")
      await page.screenshot({ path: join(artifacts, "rerun-irreversible.png"), fullPage: true })
      await page.click("#action-confirm")
      await page.waitForURL((url) => url.pathname.startsWith("/runs/") && url.pathname !== `/runs/${shipped}`)
      await page.waitForSelector('#run-status [data-status="completed"]')
      expect(await page.locator("h1 .workflow").textContent()).toBe("shipping")
      const fresh = decodeURIComponent(new URL(page.url()).pathname.slice("/runs/".length))
      expect(await codeless.operator.inspectRun(fresh)).toMatchObject({ rerunOf: shipped, status: "completed", output: "shipped o-ship" })
      expect(problems).toEqual([])
    })
  })
})
