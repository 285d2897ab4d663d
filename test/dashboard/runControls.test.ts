/**
 * Signal and rerun over the dashboard's API: absent unless actions are allowed (404), behind
 * the same Origin, Sec-Fetch-Site, CSRF and JSON-body checks as the other controls, and
 * working without the workflow's code: a dashboard whose client registers no workflow checks
 * a signal against the JSON Schema journaled with its wait (refusing a bad payload with its
 * field errors, writing nothing) and reruns from the journal (refused over an irreversible
 * step unless allowed). A worker with the code advances what the dashboard wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Dashboard, MeshClient } from "../../src/index.js"
import { AwaitingPayment, Shipping, codelessMeshes, eventually, serve, untilStatus } from "./fixtures.js"
import { request } from "./http.js"

let worker: MeshClient
let operator: MeshClient
let stop: () => Promise<void>

/** Starts an order waiting for its payment signal. */
const awaitingPayment = async (orderId: string): Promise<string> => {
  const { runId } = await worker.start(AwaitingPayment, { orderId })
  await eventually(async () => ((await operator.explainRun(runId)).reason === "waiting_for_signal" ? true : undefined), `${orderId} to wait for payment`)
  return runId
}

/** What a refusal must leave as it was: the run's revision, status and audit trail, and how many runs there are. */
const footprint = async (runId: string) => {
  const run = await operator.inspectRun(runId, { history: true })
  return { revision: run.revision, status: run.status, commands: run.commands, runs: (await operator.listRuns({ limit: 1000 })).runs.length }
}

beforeAll(async () => {
  ;({ worker, operator, stop } = await codelessMeshes())
})

afterAll(async () => {
  await stop()
})

describe("signal and rerun without allowActions", () => {
  it("do not exist: 404, and nothing is written", async () => {
    const dash = await serve(operator)
    try {
      const runId = await awaitingPayment("o-ro")
      const before = await footprint(runId)
      const headers = { Origin: dash.url.slice(0, -1), "Sec-Fetch-Site": "same-origin" }
      const signal = await request(dash.url, `/api/runs/${runId}/signal`, {
        method: "POST",
        body: { actor: "ana", name: "payment", payload: { amount: 5, currency: "EUR" } },
        headers,
      })
      expect(signal.status).toBe(404)
      expect((await request(dash.url, `/api/runs/${runId}/rerun`, { method: "POST", body: { actor: "ana" }, headers })).status).toBe(404)
      expect(await footprint(runId)).toEqual(before)
      await operator.cancel(runId, { actor: "test" })
    } finally {
      await dash.close()
    }
  })
})

describe("signal and rerun from a dashboard without the workflows' code", () => {
  let dash: Dashboard
  let origin: string
  let csrf: string
  beforeAll(async () => {
    dash = await serve(operator, { allowActions: true })
    origin = dash.url.slice(0, -1)
    csrf = (await request(dash.url, "/api/config")).json.csrf
  })
  afterAll(async () => {
    await dash.close()
  })
  const browserHeaders = () => ({ Origin: origin, "X-Squid-Mesh-CSRF": csrf, "Sec-Fetch-Site": "same-origin" })
  const post = (path: string, body: unknown, headers: Record<string, string> = browserHeaders()) => request(dash.url, path, { method: "POST", body, headers })

  it("refuse a cross-origin or cross-site POST, one without the CSRF header, a form body and GET; nothing is written", async () => {
    const runId = await awaitingPayment("o-csrf")
    const before = await footprint(runId)
    const body = { actor: "ana", name: "payment", payload: { amount: 5, currency: "EUR" } }
    for (const path of [`/api/runs/${runId}/signal`, `/api/runs/${runId}/rerun`]) {
      const cross = await post(path, body, { ...browserHeaders(), Origin: "http://evil.example" })
      expect(cross.status).toBe(403)
      expect(cross.json.error.message).toContain("cross-origin")
      expect((await post(path, body, { Origin: origin })).status).toBe(403)
      expect((await post(path, body, { "X-Squid-Mesh-CSRF": csrf })).status).toBe(403)
      expect((await post(path, body, { ...browserHeaders(), "Sec-Fetch-Site": "cross-site" })).status).toBe(403)
      const form = await post(path, "actor=ana&name=payment", { ...browserHeaders(), "Content-Type": "application/x-www-form-urlencoded" })
      expect(form.status).toBe(415)
      const get = await request(dash.url, path)
      expect(get.status).toBe(405)
      expect(get.headers.allow).toBe("POST")
    }
    expect(await footprint(runId)).toEqual(before)
    await operator.cancel(runId, { actor: "test" })
  })

  it("a signal is checked against the journaled schema: a bad payload is refused with its field errors and writes nothing", async () => {
    const runId = await awaitingPayment("o-bad")
    const explain = (await request(dash.url, `/api/runs/${runId}/explain`)).json
    expect(explain.evidence.workflowRegistered).toBe(false)
    expect(explain.nextActions).toEqual([{ action: "signal", signal: "payment" }, { action: "cancel" }])
    const before = await footprint(runId)
    const bad = await post(`/api/runs/${runId}/signal`, { actor: "ana", name: "payment", payload: { amount: -3, tip: 1 } })
    expect(bad.status).toBe(400)
    expect(bad.json.error).toMatchObject({
      _tag: "InvalidPayloadError",
      workflow: "awaiting-payment",
      trigger: "signal:payment",
      missing: ["currency"],
      unknown: ["tip"],
      invalid: [{ field: "amount", message: "expected more than 0" }],
    })
    expect(bad.json.error.message).toContain("missing: currency")
    const noName = await post(`/api/runs/${runId}/signal`, { actor: "ana", payload: {} })
    expect(noName.status).toBe(400)
    expect(noName.json.error).toMatchObject({ _tag: "InvalidOptionError", option: "name" })
    const noActor = await post(`/api/runs/${runId}/signal`, { name: "payment", payload: { amount: 1, currency: "EUR" } })
    expect(noActor.json.error).toMatchObject({ _tag: "InvalidOptionError", option: "actor" })
    expect(await footprint(runId)).toEqual(before)
    await operator.cancel(runId, { actor: "test" })
  })

  it("a signal accepted moves the run on (the worker with the code books it), recorded with its actor and via: dashboard", async () => {
    const runId = await awaitingPayment("o-2")
    const sent = await post(`/api/runs/${runId}/signal`, {
      actor: "ops:ana",
      name: "payment",
      payload: { amount: 42.5, currency: "EUR" },
      idempotencyKey: "pay-o-2",
    })
    expect(sent.status).toBe(200)
    expect(sent.json).toEqual({ action: "signal", signal: "payment", runId, status: "running", duplicate: false })
    await untilStatus(operator, runId, "completed")
    const run = await operator.inspectRun(runId, { history: true })
    expect(run.output).toBe("o-2: EUR 42.5")
    expect(run.commands).toEqual([expect.objectContaining({ kind: "signal", actor: "ops:ana", note: "payment", metadata: { via: "dashboard" } })])
    // The same key again is the same signal: nothing more is written.
    const again = await post(`/api/runs/${runId}/signal`, {
      actor: "ops:ana",
      name: "payment",
      payload: { amount: 42.5, currency: "EUR" },
      idempotencyKey: "pay-o-2",
    })
    expect(again.json).toMatchObject({ action: "signal", runId, duplicate: true })
    // Without a key, the run has ended: the engine's refusal keeps its tag.
    const late = await post(`/api/runs/${runId}/signal`, { actor: "ops:ana", name: "payment", payload: { amount: 1, currency: "EUR" } })
    expect(late.status).toBe(409)
    expect(late.json.error).toMatchObject({ _tag: "InvalidTransitionError", control: "signal", runId, status: "completed" })
    expect((await operator.inspectRun(runId, { history: true })).commands).toHaveLength(1)
  })

  it("a rerun creates a new run of the same input, recorded with the actor and the note; it is refused on an open run", async () => {
    const source = await awaitingPayment("o-3")
    const open = await post(`/api/runs/${source}/rerun`, { actor: "ops:bo" })
    expect(open.status).toBe(409)
    expect(open.json.error).toMatchObject({ _tag: "RerunRefusedError", reason: "not_terminal", runId: source })
    await operator.signal(source, "payment", { amount: 1, currency: "USD" }, { actor: "test" })
    await untilStatus(operator, source, "completed")
    expect((await request(dash.url, `/api/runs/${source}/explain`)).json.nextActions).toEqual([{ action: "rerun" }])
    const rerun = await post(`/api/runs/${source}/rerun`, { actor: "ops:bo", note: "customer asked again" })
    expect(rerun.status).toBe(200)
    expect(rerun.json).toMatchObject({ action: "rerun", rerunOf: source, duplicate: false })
    const fresh = rerun.json.runId as string
    expect(fresh).not.toBe(source)
    const run = await operator.inspectRun(fresh, { history: true })
    expect(run).toMatchObject({ workflow: "awaiting-payment", rerunOf: source, input: { orderId: "o-3" } })
    expect(run.commands).toEqual([
      expect.objectContaining({ kind: "rerun", actor: "ops:bo", note: `rerun of ${source}`, metadata: { via: "dashboard", note: "customer asked again" } }),
    ])
    // The new run is run by the worker: it waits for its own payment.
    await eventually(async () => ((await operator.explainRun(fresh)).reason === "waiting_for_signal" ? true : undefined), "the rerun to wait for payment")
    await operator.cancel(fresh, { actor: "test" })
  })

  it("a rerun over an irreversible step is refused with the steps, writing nothing, then allowed with allowIrreversible", async () => {
    const { runId: source } = await worker.start(Shipping, { orderId: "o-4" })
    await untilStatus(operator, source, "completed")
    const explain = (await request(dash.url, `/api/runs/${source}/explain`)).json
    expect(explain.nextActions).toEqual([])
    expect(explain.evidence).toMatchObject({ irreversibleSteps: ["ship-parcel"], rerunRefused: { reason: "irreversible_steps" } })
    const before = await footprint(source)
    const refused = await post(`/api/runs/${source}/rerun`, { actor: "ops:cy" })
    expect(refused.status).toBe(409)
    expect(refused.json.error).toMatchObject({ _tag: "RerunRefusedError", runId: source, reason: "irreversible_steps", steps: ["ship-parcel"] })
    const notBoolean = await post(`/api/runs/${source}/rerun`, { actor: "ops:cy", allowIrreversible: "yes" })
    expect(notBoolean.status).toBe(400)
    expect(notBoolean.json.error).toMatchObject({ _tag: "InvalidOptionError", option: "allowIrreversible" })
    expect(await footprint(source)).toEqual(before)

    const allowed = await post(`/api/runs/${source}/rerun`, { actor: "ops:cy", allowIrreversible: true, idempotencyKey: "reship-o-4" })
    expect(allowed.status).toBe(200)
    expect(allowed.json).toMatchObject({ action: "rerun", rerunOf: source, duplicate: false })
    await untilStatus(operator, allowed.json.runId, "completed")
    expect((await operator.inspectRun(allowed.json.runId)).output).toBe("shipped o-4")
    const repeated = await post(`/api/runs/${source}/rerun`, { actor: "ops:cy", allowIrreversible: true, idempotencyKey: "reship-o-4" })
    expect(repeated.json).toMatchObject({ runId: allowed.json.runId, duplicate: true })
    expect((await operator.listRuns({ limit: 1000 })).runs.length).toBe(before.runs + 1)
  })
})

describe("signal from a dashboard that has the code", () => {
  it("refuses a bad payload with the schema's field errors, and accepts a good one", async () => {
    const dash = await serve(worker, { allowActions: true })
    try {
      const headers = { Origin: dash.url.slice(0, -1), "X-Squid-Mesh-CSRF": (await request(dash.url, "/api/config")).json.csrf }
      const runId = await awaitingPayment("o-5")
      const bad = await request(dash.url, `/api/runs/${runId}/signal`, {
        method: "POST",
        body: { actor: "ana", name: "payment", payload: { amount: "ten" } },
        headers,
      })
      expect(bad.status).toBe(400)
      expect(bad.json.error._tag).toBe("InvalidPayloadError")
      expect([...bad.json.error.invalid.map((f: { field: string }) => f.field), ...bad.json.error.missing]).toEqual(
        expect.arrayContaining(["amount", "currency"]),
      )
      expect((await worker.inspectRun(runId, { history: true })).commands).toEqual([])
      const good = await request(dash.url, `/api/runs/${runId}/signal`, {
        method: "POST",
        body: { actor: "ana", name: "payment", payload: { amount: 10, currency: "GBP" } },
        headers,
      })
      expect(good.json).toMatchObject({ action: "signal", runId, duplicate: false })
      await untilStatus(worker, runId, "completed")
      expect((await worker.inspectRun(runId)).output).toBe("o-5: GBP 10")
    } finally {
      await dash.close()
    }
  })
})
