/**
 * `npm run example:approval`: an expense approval on PGlite. The budget is reserved
 * (compensated if the expense is refused), a manager approves within 2 days (or the request
 * is rejected automatically), and the payout is irreversible. One request is approved, one is
 * rejected (its reservation is released by compensation); the journals and audit trail are
 * printed, and the open requests are listed by deadline status.
 */
import { Effect, Schema } from "effect"
import { createMesh, Step, Trigger, Workflow, type RunView } from "squid-mesh"

const Expense = Schema.Struct({ employee: Schema.String, cents: Schema.Number.pipe(Schema.int(), Schema.positive()), reason: Schema.String })

const budget = { reserved: new Map<string, number>() }

const Reserve = Step.make("reserve-budget", {
  run: (e: { employee: string; cents: number }, ctx) =>
    Effect.sync(() => {
      budget.reserved.set(ctx.runId, e.cents)
      return { reservation: `bud-${ctx.runId.slice(0, 8)}`, cents: e.cents }
    }),
  compensate: (_e, out, ctx) => Effect.sync(() => void budget.reserved.delete(ctx.runId)).pipe(Effect.tap(() => Effect.log(`released ${out.reservation}`))),
})

const Payout = Step.make("payout", {
  irreversible: true,
  run: async (e: { employee: string; cents: number }) => ({ transfer: `tr-${e.employee}-${e.cents}` }),
  retry: { maxAttempts: 5, backoff: { type: "exponential", min: "1 second", max: "1 minute" } },
  deadline: { within: "1 hour", escalation: "tell finance the payout is late" },
})

export const ExpenseApproval = Workflow.make({
  name: "expense-approval",
  triggers: { manual: Trigger.manual({ payload: Expense }) },
  *run(expense) {
    const { reservation } = yield* Reserve(expense)
    const vote = yield* Workflow.approval("manager", { deadline: { within: "2 days", dueSoon: "4 hours" }, onDeadline: "reject" })
    if (!vote.approved) {
      // Fails the run: the reservation is compensated (released) before it ends.
      return yield* Workflow.fail(`expense refused by ${vote.actor}${vote.note ? `: ${vote.note}` : ""}`)
    }
    const { transfer } = yield* Payout(expense)
    return { reservation, transfer, approvedBy: vote.actor }
  },
})

const show = (run: RunView) => {
  console.log(`\n${run.id}  status=${run.status}  ${JSON.stringify(run.output ?? run.error)}`)
  for (const e of run.history ?? []) console.log(`  #${e.seq} ${e.kind.padEnd(12)} ${e.name.padEnd(26)} ${e.status}`)
  for (const c of run.commands ?? []) console.log(`  audit: ${c.kind} by ${c.actor}${c.note ? ` (${c.note})` : ""}`)
}

const main = async () => {
  const mesh = await createMesh({ workflows: [ExpenseApproval] }) // the embedded store at the project root
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "200 millis" })
  try {
    const a = await mesh.start(ExpenseApproval, { employee: "ada", cents: 12_000, reason: "conference" })
    const b = await mesh.start(ExpenseApproval, { employee: "bob", cents: 990_000, reason: "a yacht" })
    for (const id of [a.runId, b.runId]) {
      while ((await mesh.inspectRun(id)).status !== "paused") await new Promise((r) => setTimeout(r, 20))
    }
    const { runs: waiting } = await mesh.listRuns({ deadline: "on_time", workflow: "expense-approval" })
    console.log(`${waiting.length} request(s) waiting for a manager, on time; budget reserved for ${budget.reserved.size}`)
    await mesh.approve(a.runId, { actor: "manager:carol", note: "ok", idempotencyKey: `approve-${a.runId}` })
    await mesh.approve(a.runId, { actor: "manager:carol", note: "ok", idempotencyKey: `approve-${a.runId}` }) // a retried click: no effect
    await mesh.reject(b.runId, { actor: "manager:carol", note: "not a business expense" })
    for (const id of [a.runId, b.runId]) show(await mesh.inspectRun((await mesh.awaitRun(id, { timeout: "30 seconds" })).id, { history: true }))
    console.log(`\nbudget still reserved for ${budget.reserved.size} request(s) (the approved one)`)
  } finally {
    await worker.stop()
    await mesh.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
