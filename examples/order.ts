/**
 * `npm run demo`: an order workflow, end to end, on the embedded PGlite store in
 * `.squid-mesh/`. The payment provider fails twice (durable retries with backoff), the
 * order cools off for two seconds (a durable timer), then shipping and the confirmation
 * email run in parallel and are joined. The run's journal is printed at the end.
 */
import { Effect, Schema } from "effect"
import { createMesh, Step, StepError, Trigger, Workflow, type RunView } from "squid-mesh"

const OrderPayload = Schema.Struct({
  orderId: Schema.String,
  cents: Schema.Number.pipe(Schema.int(), Schema.positive()),
  email: Schema.String,
  placedOn: Schema.String,
})

/** A payment provider that is down for the first two calls of each order. */
const psp = {
  calls: new Map<string, number>(),
  charge: async (orderId: string, cents: number) => {
    const n = (psp.calls.get(orderId) ?? 0) + 1
    psp.calls.set(orderId, n)
    if (n <= 2) throw new StepError({ code: "psp_unavailable", message: `PSP 503 (call ${n}, api_key=sk_live_demo1234)` })
    return { chargeId: `ch_${orderId}_${cents}` }
  },
}

const Reserve = Step.make("reserve-stock", {
  run: (input: { orderId: string }) => Effect.succeed({ reservation: `res_${input.orderId}` }),
})

const Charge = Step.make("charge-card", {
  run: (input: { orderId: string; cents: number }, ctx) =>
    Effect.tryPromise({ try: () => psp.charge(input.orderId, input.cents), catch: (e) => e }).pipe(
      Effect.tap(() => Effect.log(`charged with idempotency key ${ctx.idempotencyKey}`)),
    ),
  retry: { maxAttempts: 5, backoff: { type: "exponential", min: "200 millis", max: "2 seconds" } },
  timeout: "10 seconds",
})

const Ship = Step.make("ship", { run: async (input: { orderId: string }) => ({ tracking: `TRK-${input.orderId.toUpperCase()}` }) })
const Email = Step.make("send-confirmation", { run: async (input: { email: string; orderId: string }) => ({ to: input.email, template: "order-confirmed" }) })

export const PlaceOrder = Workflow.make({
  name: "place-order",
  triggers: {
    manual: Trigger.manual({ payload: OrderPayload, defaults: { placedOn: Trigger.today() } }),
  },
  *run(order) {
    yield* Workflow.log(`order ${order.orderId} placed on ${order.placedOn}`)
    const { reservation } = yield* Reserve(order)
    const { chargeId } = yield* Charge(order)
    yield* Workflow.sleep("cool-off", "2 seconds")
    const [shipment, email] = yield* Workflow.all([Ship(order), Email(order)])
    return { reservation, chargeId, tracking: shipment.tracking, emailedTo: email.to }
  },
})

const time = (ms: number | undefined, origin: number) => (ms === undefined ? "" : `+${String(ms - origin).padStart(5)} ms`)

const printHistory = (run: RunView) => {
  console.log(`\nrun ${run.id}  ${run.workflow}  status=${run.status}`)
  console.log(`input  ${JSON.stringify(run.input)}`)
  console.log(`output ${JSON.stringify(run.output ?? run.error)}`)
  console.log("\njournal:")
  for (const entry of run.history ?? []) {
    console.log(`  #${entry.seq} ${entry.kind.padEnd(5)} ${entry.name.padEnd(18)} ${entry.status.padEnd(9)} ${time(entry.resolvedAt, run.createdAt)}`)
    for (const a of entry.attempts) {
      const detail = a.status === "failed" ? `${a.error?.code}: ${a.error?.message}${a.retryAt ? `  → retry ${time(a.retryAt, run.createdAt)}` : ""}` : "ok"
      console.log(`      attempt ${a.attempt} ${a.status.padEnd(9)} ${time(a.finishedAt, run.createdAt)}  ${detail}`)
    }
  }
}

const main = async () => {
  // The default store: embedded PGlite in .squid-mesh/ at the project root ($SQUID_MESH_DATA_DIR
  // to move it). Its first line of output says which store was opened.
  const mesh = await createMesh({ workflows: [PlaceOrder] })
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "500 millis" })
  try {
    const orderId = `o-${process.pid}`
    const { runId } = await mesh.start(PlaceOrder, { orderId, cents: 4_999, email: "ada@example.com" })
    console.log(`started run ${runId}; waiting for it to finish...`)
    const done = await mesh.awaitRun(runId, { timeout: "60 seconds" })
    printHistory(await mesh.inspectRun(done.id, { history: true }))
    if (done.status !== "completed") process.exitCode = 1
    const { runs: total, nextCursor } = await mesh.listRuns({ workflow: "place-order", limit: 1000 })
    console.log(`\n${total.length}${nextCursor ? "+" : ""} place-order run(s) stored so far (the journal survives restarts).`)
  } finally {
    await worker.stop()
    await mesh.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
