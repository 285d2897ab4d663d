/**
 * `npm run example:party-invites`: dynamic work, after the Squidie README's Hobbiton invitations.
 * Bilbo's party has a guest list known only once the run has looked it up, so the planning step
 * schedules one delivery node per guest (`ctx.dynamicWork.schedule`), written with its result in
 * one commit; host code records a seating chart as an inspection-only fact. On the memory store.
 * - The long-expected party: the Sackville-Bagginses shut their door on the postman until the
 *   story has looked at the run (the node is retried by its own policy meanwhile); the run
 *   completes once every invitation is delivered, with the workflow's own result.
 *   A tally node waits for every invitation (an edge from each) and counts them.
 * - A party for Gollum: his invitation cannot be delivered (no address), so the run fails with
 *   `dynamic_work_failed` and the tally never runs.
 */
import { Effect, Schema } from "effect"
import { Actions, createMesh, type MeshClient, Step, StepError, Trigger, Workflow } from "squid-mesh"
import { printJournal, short, until } from "./shared/story.js"

/** Deliveries tried, by guest: the story counts them. */
const tries = new Map<string, number>()
/** Lobelia opens her door once the story has shown the run waiting for its invitations. */
let doorOpen = false

const actions = Actions.make({
  "invites.deliver": {
    params: Schema.Struct({ by: Schema.Literal("post", "eagle") }),
    run: (input: { guest: string }, params: { by: string }) => {
      const n = (tries.get(input.guest) ?? 0) + 1
      tries.set(input.guest, n)
      if (input.guest === "Gollum") return Effect.fail(new StepError({ code: "no_address", message: "nobody knows where Gollum lives", retryable: false }))
      if (input.guest === "Lobelia Sackville-Baggins" && !doorOpen)
        return Effect.fail(new StepError({ code: "door_shut", message: "the door was shut in the postman's face" }))
      return Effect.succeed({ delivered: input.guest, by: params.by, tries: n })
    },
    retry: { maxAttempts: 2, backoff: { type: "fixed", delay: "100 millis" } },
  },
  /** Runs once every invitation is out: it gets their results as `after`. */
  "invites.tally": {
    run: (input: { after: Record<string, { delivered: string; by: string }> }) => {
      const sent = Object.values(input.after)
      return { delivered: sent.length, byEagle: sent.filter((s) => s.by === "eagle").map((s) => s.delivered) }
    },
  },
})

const GatherGuests = Step.make("gather_guests", {
  run: (input: { host: string; special: ReadonlyArray<string> }) => ({
    guests: input.host === "Bilbo" ? ["Frodo Baggins", "Samwise Gamgee", "Lobelia Sackville-Baggins", ...input.special] : [...input.special],
  }),
})

const PlanInvites = Step.make("plan_invites", {
  run: (input: { guests: ReadonlyArray<string> }, ctx) => {
    // Checked now, written with this step's result (or dropped with a failed attempt).
    const invites = input.guests.map((_, i) => `invite-${i + 1}`)
    ctx.dynamicWork.schedule({
      key: "invite-fanout",
      nodes: [
        ...input.guests.map((guest, i) => ({
          id: `invite-${i + 1}`,
          action: "invites.deliver",
          params: { by: guest === "Gandalf" ? "eagle" : "post" },
          input: { guest },
          // The Sackville-Bagginses get more patience than the action's default.
          ...(guest.includes("Sackville") ? { retry: { maxAttempts: 100 } } : {}),
        })),
        { id: "tally", action: "invites.tally" },
      ],
      // The tally waits for every invitation (a fan-in); the invitations start from this step.
      edges: [...invites.map((id) => ({ from: "plan_invites", to: id })), ...invites.map((id) => ({ from: id, to: "tally" }))],
      reason: "one invitation per guest, then a tally",
    })
    return { invitations: input.guests.length }
  },
})

const Party = Workflow.make({
  name: "party-invites",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ host: Schema.String, special: Schema.Array(Schema.String) }) }) },
  *run(input) {
    const { guests } = yield* GatherGuests(input)
    const planned = yield* PlanInvites({ guests })
    return { host: input.host, ...planned }
  },
})

/** Prints a run's graph overlay, its explanation while it waits, and its journal once it ends. */
const tell = async (mesh: MeshClient, title: string, runId: string) => {
  console.log(`\n== ${title}: run ${short(runId)}`)
  const waiting = await until("the invitations to be planned", async () => {
    const why = await mesh.explainRun(runId)
    return (why.reason === "waiting_for_dynamic_work" && why.summary.includes("retry")) || why.reason === "failed" ? why : undefined
  })
  console.log(`  while the invitations go out: ${waiting.reason}`)
  doorOpen = true
  const run = await mesh.awaitRun(runId, { timeout: "30 seconds" })
  const graph = await mesh.inspectRunGraph(runId)
  for (const work of graph.dynamicWork ?? []) {
    console.log(`  dynamic work "${work.key}" (${work.mode}) from ${work.origin.step} attempt ${work.origin.attempt}: ${work.nodeIds.length} node(s)`)
  }
  for (const node of graph.nodes.filter((n) => n.kind === "dynamic")) console.log(`    ${node.name.padEnd(14)} ${node.status}`)
  const history = await mesh.inspectRun(runId, { history: true })
  printJournal(history, "  ")
  const tally = history.history?.find((e) => e.name === "tally")
  console.log(`  tally: ${tally?.status === "completed" ? JSON.stringify(tally.output) : "never ran"}`)
  console.log(`  ${run.status}${run.output ? `: ${JSON.stringify(run.output)}` : ""}${run.error ? `: ${run.error.code}: ${run.error.message}` : ""}`)
  return run
}

const main = async () => {
  const mesh = await createMesh({ workflows: [Party], actions, store: { kind: "memory" } })
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "50 millis" })
  try {
    const party = await mesh.start(Party, { host: "Bilbo", special: ["Gandalf"] })
    await until("the guest list", async () => ((await mesh.inspectRun(party.runId, { history: true })).history?.[0]?.status === "completed" ? true : undefined))
    // Host code may add inspection-only work too: previewed first (nothing written), then recorded.
    const chart = { key: "seating-chart", origin: { step: "gather_guests" }, nodes: [{ id: "table-1" }, { id: "table-2" }], reason: "who sits where" }
    const preview = await mesh.previewDynamicWork(party.runId, chart)
    console.log(`preview of the seating chart: adds ${preview.addedNodeIds.join(", ")}; recordable ${preview.recordable}, schedulable ${preview.schedulable}`)
    await mesh.recordDynamicWork(party.runId, chart, { actor: "hamfast" })
    await tell(mesh, "The long-expected party", party.runId)
    console.log(`  Lobelia's invitation was delivered after ${tries.get("Lobelia Sackville-Baggins")} tries`)

    const gollum = await mesh.start(Party, { host: "Sméagol", special: ["Gollum"] })
    await tell(mesh, "A party for Gollum", gollum.runId)
  } finally {
    await worker.stop()
    await mesh.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
