/**
 * Workflows and a served dashboard shared by the dashboard tests: an order with a
 * compensable step, a parallel group, an approval and a child run; a run named and fed with
 * markup (to prove nothing is rendered as HTML); a pause; a step that fails for good; a run
 * with dynamic work, written straight to its store; cron schedules whose workflow and trigger
 * names need escaping in a URL (`:`, `/`), and one that fires every second; a run waiting for a
 * signal and one with an irreversible step, and a codeless operator's client beside a worker's.
 */
import { randomUUID } from "node:crypto"
import { Effect, Layer, Schema } from "effect"
import {
  Step,
  StepError,
  Store,
  Trigger,
  Workflow,
  createMesh,
  serveDashboard,
  type Dashboard,
  type DashboardOptions,
  type MeshClient,
} from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { seedDynamicRun } from "../read/dynamicFixtures.js"

const order = Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String, note: Schema.optional(Schema.String) }) })
const empty = Trigger.manual({ payload: Schema.Struct({}) })

const Reserve = Step.make("reserve-stock", { run: (input: { orderId: string }) => ({ reservation: `r-${input.orderId}` }), compensate: () => Effect.void })
const Pack = Step.make("pack-box", { run: () => "packed" })
const Label = Step.make("print-label", { run: () => "labelled" })
const Charge = Step.make("charge-card", { run: () => ({ chargeId: "ch_1" }) })
const Notify = Step.make("notify-warehouse", { run: (input: { orderId: string }) => `notified ${input.orderId}` })
/** A step whose name is markup: it must show as text. */
export const XSS_NAME = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`
const Markup = Step.make(XSS_NAME, { run: () => "<b>bold?</b>" })
const Doomed = Step.make("call-courier", {
  run: () => Effect.fail(new StepError({ code: "courier_down", message: "courier API answered 503" })),
  retry: { maxAttempts: 2, backoff: { type: "fixed", delay: "10 millis" } },
})

/** The courier child run (waits for nothing). */
export const Courier = Workflow.make({
  name: "courier",
  triggers: { manual: order },
  *run(input) {
    return yield* Notify(input)
  },
})

/** reserve → (pack ∥ label) → approval "manager-review" → child courier → charge. */
export const Checkout = Workflow.make({
  name: "checkout",
  triggers: { manual: order },
  *run(input) {
    yield* Reserve(input)
    yield* Workflow.all([Pack(), Label()])
    const vote = yield* Workflow.approval("manager-review")
    if (!vote.approved) return yield* Workflow.fail("rejected")
    yield* Workflow.child(Courier, { orderId: input.orderId }, { key: "courier" })
    return yield* Charge()
  },
})

/** A step named with markup, fed a payload with markup. */
export const Markupful = Workflow.make({
  name: "markup",
  triggers: { manual: order },
  *run() {
    return yield* Markup()
  },
})

/** Waits at a pause. */
export const Holding = Workflow.make({
  name: "holding",
  triggers: { manual: empty },
  *run() {
    yield* Workflow.pause("hold")
    return "released"
  },
})

/** Fails at "call-courier" after two attempts; "reserve-stock" is compensated. */
export const Failing = Workflow.make({
  name: "failing",
  triggers: { manual: order },
  *run(input) {
    yield* Reserve(input)
    return yield* Doomed()
  },
})

/** Two cron schedules (never fired: no test starts a scheduler over `WORKFLOWS`) and a manual trigger. */
export const Digest = Workflow.make({
  name: "ops:digest",
  triggers: {
    "nightly:eu-west": Trigger.cron("30 2 * * *", { timeZone: "Europe/Lisbon", overlap: "skip", catchUp: "latest" }),
    "reports/every-5m": Trigger.cron("*/5 * * * *", { overlap: "bufferOne", catchUp: { within: "1 hour", limit: 3 } }),
    manual: empty,
  },
  *run() {
    return "digested"
  },
})

/** The signal's payload: a positive amount and a currency. */
const Payment = Schema.Struct({ amount: Schema.Number.pipe(Schema.positive()), currency: Schema.String })

/** Waits for the signal "payment" (its schema is journaled with the wait), then books it. */
export const AwaitingPayment = Workflow.make({
  name: "awaiting-payment",
  triggers: { manual: order },
  *run(input) {
    const paid = yield* Workflow.signal("payment", { schema: Payment })
    if (paid._tag !== "Received") return yield* Workflow.fail("no payment")
    return yield* Step.make("book-payment", { run: (p: typeof Payment.Type) => `${input.orderId}: ${p.currency} ${p.amount}` })(paid.payload)
  },
})

/** Ships a parcel: an irreversible step, so a rerun needs `allowIrreversible`. */
export const Shipping = Workflow.make({
  name: "shipping",
  triggers: { manual: order },
  *run(input) {
    return yield* Step.make("ship-parcel", { run: (id: string) => `shipped ${id}`, irreversible: true })(input.orderId)
  },
})

export const WORKFLOWS = [Checkout, Courier, Markupful, Holding, Failing, Digest, AwaitingPayment, Shipping]

/** Fires every second (cron with seconds), for a schedule with a last fired window and run. */
export const Ticker = Workflow.make({
  name: "ticker",
  triggers: { "every-second": Trigger.cron("* * * * * *") },
  *run() {
    return "tick"
  },
})

/**
 * A mesh (no worker) over `Ticker` whose scheduler ran until the schedule fired once, then
 * stopped: `listSchedules` shows its last fired window and run, which stay put.
 */
export const meshWithFiredSchedule = async (): Promise<{ readonly mesh: MeshClient; readonly lastFired: number; readonly lastRunId: string }> => {
  const mesh = await createMesh({ workflows: [Ticker], store: { kind: "memory" } })
  const scheduler = await mesh.startScheduler()
  try {
    const fired = await eventually(async () => {
      const [view] = await mesh.listSchedules({ next: 0 })
      return view?.lastFired !== undefined && view.lastRunId !== undefined ? { lastFired: view.lastFired, lastRunId: view.lastRunId } : undefined
    }, "the ticker to fire")
    await scheduler.stop()
    // The scheduler may have fired once more before it stopped: read what stayed.
    const [view] = await mesh.listSchedules({ next: 0 })
    return { mesh, lastFired: view!.lastFired ?? fired.lastFired, lastRunId: view!.lastRunId ?? fired.lastRunId }
  } catch (error) {
    await mesh.close()
    throw error
  }
}

/** A mesh with a worker, on a fresh memory store. */
export const meshWithWorker = async (): Promise<{ readonly mesh: MeshClient; readonly stop: () => Promise<void> }> => {
  const mesh = await createMesh({ workflows: WORKFLOWS, store: { kind: "memory" } })
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "20 millis" })
  return {
    mesh,
    stop: async () => {
      await worker.stop()
      await mesh.close()
    },
  }
}

/** Polls `check` until it returns a value (progress-based waiting, bounded). */
export const eventually = async <A>(check: () => Promise<A | undefined>, what: string, timeoutMs = 60_000): Promise<A> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Waits until a run has the status. */
export const untilStatus = (mesh: MeshClient, runId: string, status: string) =>
  eventually(async () => ((await mesh.inspectRun(runId)).status === status ? true : undefined), `run ${runId} to be ${status}`)

/**
 * Two clients on one memory store: `worker` registers `WORKFLOWS` and runs a worker;
 * `operator` registers none, like a dashboard opened on the store, so its controls work on
 * the journal alone.
 */
export const codelessMeshes = async (): Promise<{ readonly worker: MeshClient; readonly operator: MeshClient; readonly stop: () => Promise<void> }> => {
  const layer = Layer.succeed(Store, TestMesh.memoryStore())
  const worker = await createMesh({ workflows: WORKFLOWS, store: { kind: "layer", layer } })
  const operator = await createMesh({ workflows: [], store: { kind: "layer", layer } })
  const running = await worker.startWorker({ concurrency: 2, pollInterval: "20 millis" })
  return {
    worker,
    operator,
    stop: async () => {
      await running.stop()
      await operator.close()
      await worker.close()
    },
  }
}

/** Serves a dashboard over a mesh. */
export const serve = (mesh: MeshClient, options: Omit<DashboardOptions, "mesh" | "store"> = {}): Promise<Dashboard> =>
  serveDashboard({ mesh, pollMs: 100, ...options })

/**
 * A mesh (no worker) on a memory store holding one run with dynamic work (test/read/dynamicFixtures.ts:
 * step "work", then scheduled "fanout" with notify-a, notify-b, audit and recorded "plan" with
 * later), on a queue nobody serves, of a workflow not registered here.
 */
export const meshWithDynamicRun = async (): Promise<{ readonly mesh: MeshClient; readonly runId: string }> => {
  const store = TestMesh.memoryStore()
  const mesh = await createMesh({ workflows: WORKFLOWS, store: { kind: "layer", layer: Layer.succeed(Store, store) } })
  const runId = randomUUID()
  await Effect.runPromise(seedDynamicRun(store, { id: runId, workflow: "fanout-demo", queue: "dynamic-demo" }))
  return { mesh, runId }
}
