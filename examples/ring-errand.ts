/**
 * `npm run example:ring-errand`: the seed's Ring Errand as a graph workflow, on the memory store.
 *
 * Three bearers leave the Shire at once. Each run packs lembas, logs its departure, waits for
 * Gandalf (a durable sleep), hides at the Prancing Pony (a pause that Strider resumes), and
 * waits for the council's vote (an approval with a 5-second deadline that rejects by itself).
 * - Frodo: approved, routed through Moria, where the crossing fails once and is retried; the
 *   eagle is reserved, Sauron insulted and the ring tossed (irreversible). A plain rerun is
 *   refused (`RerunRefusedError`, `irreversible_steps`); `allowIrreversible` reruns it.
 * - Boromir: nobody votes; at the deadline the council rejects him and the error route sends
 *   him home.
 * - Sam: approved, routed over Caradhras by a condition; Sauron notices the insult (a failure
 *   with no route), so the run fails and the saga cancels the eagle ride (`reserve_eagle`'s
 *   compensation).
 */
import { Effect, Schema } from "effect"
import { createMesh, type MeshClient, type RunView, Step, StepError, Trigger, Workflow } from "squid-mesh"
import { atGate, pathOf, printJournal, short, storyLogger } from "./shared/story.js"

/** The eagles' booking system: rides booked and cancelled (by the saga). */
const eagles = { booked: new Set<string>(), cancelled: [] as Array<string> }
/** What Mount Doom received: one entry per ring tossed. */
const mountDoom: Array<string> = []

const Errand = Schema.Struct({
  bearer: Schema.String,
  ringId: Schema.String,
  routePreference: Schema.Literal("moria", "caradhras"),
  snackCount: Schema.Number.pipe(Schema.int(), Schema.positive()),
  sauronIsWatching: Schema.Boolean,
})

export const RingErrand = Workflow.graph({
  name: "ring-errand",
  triggers: {
    leaveShire: Trigger.manual({
      payload: Errand,
      defaults: { bearer: "Frodo", routePreference: "moria", snackCount: 11, sauronIsWatching: false },
    }),
  },
  steps: {
    pack_lembas: { input: ["snackCount"], run: ({ snackCount }: { snackCount: number }) => ({ lembas: snackCount * 2, rope: "elven" }), output: "provisions" },
    announce_departure: { log: "Leaving the Shire with suspicious jewelry" },
    wait_for_gandalf: { sleep: "1 second" },
    hide_at_prancing_pony: { pause: true },
    council_vote: {
      approval: { deadline: { within: "5 seconds", dueSoon: "2 seconds", escalation: "ask Elrond again" }, onDeadline: "reject" },
      output: "council",
    },
    choose_path: {
      input: { bearer: ["bearer"], preference: ["routePreference"] },
      run: ({ preference }: { bearer: string; preference: string }) => ({ route: preference, guide: preference === "moria" ? "Gandalf" : "Legolas" }),
      output: "journey",
    },
    cross_moria: {
      input: ["bearer", "provisions", "journey"],
      run: async ({ bearer }: { bearer: string }, ctx) => {
        if (ctx.attempt === 1) throw new StepError({ code: "balrog_on_the_bridge", message: "You shall not pass" })
        return { crossed: "Khazad-dûm", by: bearer }
      },
      retry: { maxAttempts: 3, backoff: { type: "exponential", min: "200 millis", max: "1 second" } },
      deadline: { within: "30 seconds", dueSoon: "5 seconds" },
      output: "moria",
    },
    climb_caradhras: { run: () => ({ pass: "the Redhorn Gate" }), output: "caradhras" },
    reserve_eagle: {
      input: ["bearer"],
      run: ({ bearer }: { bearer: string }) => {
        const ride = `eagle-for-${bearer.toLowerCase()}`
        eagles.booked.add(ride)
        return { ride }
      },
      compensate: (_input: unknown, output: { ride: string }) =>
        Effect.sync(() => {
          eagles.booked.delete(output.ride)
          eagles.cancelled.push(output.ride)
        }),
      output: "eagle",
    },
    insult_sauron: {
      input: ["sauronIsWatching"],
      run: ({ sauronIsWatching }: { sauronIsWatching: boolean }) =>
        sauronIsWatching ? Effect.fail(Step.fatal("sauron_noticed", "the Eye turned toward the insult")) : Effect.succeed({ insult: "Lidless, eh?" }),
    },
    toss_ring: {
      input: ["ringId", "bearer"],
      irreversible: true,
      run: ({ ringId, bearer }: { ringId: string; bearer: string }) => {
        mountDoom.push(`${ringId} (tossed by ${bearer})`)
        return { destroyed: ringId }
      },
      output: "mountDoom",
    },
    walk_home_awkwardly: {
      run: (context: { bearer?: string; failure?: { code: string }; council?: { actor: string; automatic?: boolean } }) =>
        `${context.bearer} walks home: ${context.failure ? context.failure.code : `turned away by ${context.council?.actor}${context.council?.automatic ? " (nobody voted in time)" : ""}`}`,
      output: "epilogue",
    },
  },
  transitions: [
    { from: "pack_lembas", on: "ok", to: "announce_departure" },
    { from: "announce_departure", on: "ok", to: "wait_for_gandalf" },
    { from: "wait_for_gandalf", on: "ok", to: "hide_at_prancing_pony" },
    { from: "hide_at_prancing_pony", on: "ok", to: "council_vote" },
    { from: "council_vote", on: "ok", to: "choose_path" },
    { from: "council_vote", on: "error", to: "walk_home_awkwardly" },
    { from: "choose_path", on: "ok", to: "climb_caradhras", when: { path: ["journey", "route"], equals: "caradhras" } },
    { from: "choose_path", on: "ok", to: "cross_moria" },
    { from: "cross_moria", on: "ok", to: "reserve_eagle" },
    { from: "cross_moria", on: "error", to: "walk_home_awkwardly", recovery: "undo" },
    { from: "climb_caradhras", on: "ok", to: "reserve_eagle" },
    { from: "reserve_eagle", on: "ok", to: "insult_sauron" },
    { from: "insult_sauron", on: "ok", to: "toss_ring" },
    { from: "toss_ring", on: "ok", to: "complete" },
    { from: "walk_home_awkwardly", on: "ok", to: "complete" },
  ],
})

/** What happened to one run before it ended, told once it has ended (the runs advance together). */
type Notes = Array<string>

/** Drives one run through its gates: Strider resumes the pause, Elrond approves (unless `vote` is false). */
const journey = async (mesh: MeshClient, runId: string, vote: boolean, notes: Notes): Promise<RunView> => {
  await atGate(mesh, runId, "hide_at_prancing_pony")
  await mesh.resume(runId, { actor: "strider", reason: "pipeweed restocked" })
  notes.push("paused at hide_at_prancing_pony; resumed by strider")
  const waiting = await atGate(mesh, runId, "council_vote")
  const why = await mesh.explainRun(runId)
  notes.push(`${why.reason}: council_vote deadline ${waiting.deadline?.status}, due in ${((waiting.deadline?.remainingMs ?? 0) / 1000).toFixed(1)} s`)
  if (vote) await mesh.approve(runId, { actor: "elrond", note: "approved by council", idempotencyKey: `vote-${runId}` })
  else notes.push("nobody votes...")
  return mesh.awaitRun(runId, { timeout: "30 seconds" })
}

/** Prints a finished run: its story, the path taken (with each transition's label), its journal. */
const tell = async (mesh: MeshClient, title: string, runId: string, notes: Notes) => {
  const run = await mesh.inspectRun(runId, { history: true })
  const graph = await mesh.inspectRunGraph(runId)
  const name = new Map(graph.nodes.map((n) => [n.id, n.name]))
  console.log(`\n== ${title}: run ${short(runId)} ${run.status}`)
  for (const note of notes) console.log(`  ${note}`)
  console.log(`  path: ${pathOf(run)}`)
  const routed = graph.edges.filter((e) => e.kind === "transition" && e.taken && e.label !== "ok")
  for (const e of routed) console.log(`  routed: ${name.get(e.from)} —${e.label}→ ${name.get(e.to) ?? "complete"}`)
  printJournal(run, "    ")
  const result = run.status === "completed" ? (run.output as { epilogue?: string; mountDoom?: unknown }) : undefined
  console.log(`  result: ${run.error ? `${run.error.code}: ${run.error.message}` : (result?.epilogue ?? JSON.stringify(result?.mountDoom))}`)
}

const main = async () => {
  const mesh = await createMesh({ workflows: [RingErrand], store: { kind: "memory" }, logger: storyLogger })
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "100 millis" })
  try {
    const frodo = await mesh.start(RingErrand, { ringId: "the-one-ring" })
    const boromir = await mesh.start(RingErrand, { ringId: "the-one-ring", bearer: "Boromir" })
    const sam = await mesh.start(RingErrand, { ringId: "the-one-ring", bearer: "Sam", routePreference: "caradhras", sauronIsWatching: true })
    console.log(`three errands started: Frodo ${short(frodo.runId)}, Boromir ${short(boromir.runId)}, Sam ${short(sam.runId)}`)
    const notes: Record<string, Notes> = { frodo: [], boromir: [], sam: [] }
    await Promise.all([
      journey(mesh, frodo.runId, true, notes.frodo!),
      journey(mesh, boromir.runId, false, notes.boromir!),
      journey(mesh, sam.runId, true, notes.sam!),
    ])
    await tell(mesh, "Frodo (approved, through Moria)", frodo.runId, notes.frodo!)
    await tell(mesh, "Boromir (no vote before the deadline)", boromir.runId, notes.boromir!)
    await tell(mesh, "Sam (over Caradhras, Sauron is watching)", sam.runId, notes.sam!)
    console.log(`\neagle rides still booked: ${[...eagles.booked].join(", ") || "none"}; cancelled by compensation: ${eagles.cancelled.join(", ") || "none"}`)

    console.log("\n== Rerunning Frodo's errand")
    try {
      await mesh.rerun(frodo.runId, { actor: "gandalf" })
      console.log("  unexpected: the rerun was accepted")
      process.exitCode = 1
    } catch (error) {
      if ((error as { _tag?: string })._tag !== "RerunRefusedError") throw error
      const refused = error as { reason: string; steps: ReadonlyArray<string>; message: string }
      console.log(`  RerunRefusedError (${refused.reason}, steps: ${refused.steps.join(", ")}): ${refused.message}`)
    }
    const again = await mesh.rerun(frodo.runId, { actor: "gandalf", allowIrreversible: true })
    console.log(`  with allowIrreversible: run ${short(again.runId)} (rerunOf ${short(frodo.runId)})`)
    const done = await journey(mesh, again.runId, true, [])
    console.log(`  run ${short(again.runId)} ${done.status}; the ring was tossed ${mountDoom.length} times (allowIrreversible repeats the irreversible step)`)
  } finally {
    await worker.stop()
    await mesh.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
