/**
 * `npm run example:parallel-attack`: the seed's Parallel Attack, a dependency graph on the
 * memory store. Three roots (march to the gate, rally Rohan, distract Sauron) run in parallel;
 * `declare_victory` (irreversible) runs once all three completed: an `after` join.
 * - The first attack: the three take 250-600 ms each, side by side, so the join comes after the
 *   slowest, not after their sum. Each force musters at the gate until all three are under way
 *   (proof that they run at once, whatever the machine's speed); the timeline shows the overlap.
 * - The second: Rohan does not ride. The join never runs, the run fails, and the army that
 *   marched to the gate retreats (the saga compensates `march_to_gate`).
 */
import { Effect, Schema } from "effect"
import { createMesh, type MeshClient, Step, type StepContext, Trigger, Workflow } from "squid-mesh"
import { pathOf, printJournal, short, storyLogger } from "./shared/story.js"

/** What happened on the field, in order, as the steps saw it. */
const field: Array<string> = []

/** The forces under way, per run: each waits for the other two before it sets off. */
const underWay = new Map<string, { readonly forces: Set<string>; readonly all: Promise<void>; readonly done: () => void }>()

/** Records `force` as under way in `runId`, and waits until all three are (they run in parallel). */
const muster = (runId: string, force: string) =>
  Effect.promise(() => {
    let entry = underWay.get(runId)
    if (!entry) {
      let done = () => {}
      const all = new Promise<void>((resolve) => {
        done = resolve
      })
      entry = { forces: new Set(), all, done }
      underWay.set(runId, entry)
    }
    entry.forces.add(force)
    if (entry.forces.size === 3) {
      field.push("all three forces are under way at once")
      entry.done()
    }
    return entry.all
  })

/** A step that takes `ms` to happen (the work of an army). */
const takes = <A>(ms: number, what: () => A) => Effect.promise(() => new Promise<A>((resolve) => setTimeout(() => resolve(what()), ms)))

export const ParallelAttack = Workflow.graph({
  name: "parallel-attack",
  triggers: {
    start: Trigger.manual({
      payload: Schema.Struct({ speech: Schema.String, rohanRides: Schema.Boolean }),
      defaults: { speech: "For Frodo.", rohanRides: true },
    }),
  },
  steps: {
    march_to_gate: {
      run: (_: unknown, ctx: StepContext) =>
        Effect.zipRight(
          muster(ctx.runId, "gate"),
          takes(400, () => ({ at: "the Black Gate", soldiers: 6000 })),
        ),
      compensate: () => Effect.sync(() => void field.push("the army retreats from the Black Gate")),
      output: "gate",
    },
    rally_rohan: {
      input: ["rohanRides"],
      run: ({ rohanRides }: { rohanRides: boolean }, ctx: StepContext) =>
        Effect.zipRight(
          muster(ctx.runId, "rohan"),
          takes(600, () => rohanRides),
        ).pipe(Effect.flatMap((rides) => (rides ? Effect.succeed({ riders: 6000 }) : Effect.fail(Step.fatal("horns_unanswered", "Rohan does not ride"))))),
      output: "rohan",
    },
    distract_sauron: {
      input: ["speech"],
      run: ({ speech }: { speech: string }, ctx: StepContext) =>
        Effect.zipRight(
          muster(ctx.runId, "sauron"),
          takes(250, () => ({ shouted: speech })),
        ),
      output: "distraction",
    },
    declare_victory: {
      after: ["march_to_gate", "rally_rohan", "distract_sauron"],
      input: { soldiers: ["gate", "soldiers"], riders: ["rohan", "riders"] },
      irreversible: true,
      run: ({ soldiers, riders }: { soldiers: number; riders: number }) => {
        field.push("victory declared")
        return `victory, with ${soldiers + riders} at the gate`
      },
      output: "victory",
    },
  },
})

/** Prints when each step ran, relative to the run's start, as a bar (one mark per 25 ms). */
const timeline = async (mesh: MeshClient, runId: string) => {
  const run = await mesh.inspectRun(runId, { history: true })
  for (const entry of run.history ?? []) {
    const first = entry.attempts[0]
    const last = entry.attempts.at(-1)
    if (!first || !last) continue
    const from = first.startedAt - run.createdAt
    const to = last.finishedAt - run.createdAt
    const bar = `${" ".repeat(Math.round(from / 25))}${"█".repeat(Math.max(1, Math.round((to - from) / 25)))}`
    console.log(`  ${entry.name.padEnd(24)} ${String(from).padStart(4)} → ${String(to).padStart(4)} ms  ${bar}`)
  }
  console.log("  (one after the other, the three would take 1250 ms)")
}

const main = async () => {
  const mesh = await createMesh({ workflows: [ParallelAttack], store: { kind: "memory" }, logger: storyLogger })
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "100 millis" })
  try {
    const attack = await mesh.start(ParallelAttack, {})
    console.log(`== The attack: run ${short(attack.runId)}`)
    const won = await mesh.awaitRun(ParallelAttack, attack.runId, { timeout: "30 seconds" })
    console.log(`  ${won.status}: ${won.output?.victory}`)
    await timeline(mesh, attack.runId)
    const graph = await mesh.inspectRunGraph(attack.runId)
    const name = new Map(graph.nodes.map((n) => [n.id, n.name]))
    const joins = graph.edges.filter((e) => name.get(e.to) === "declare_victory")
    console.log(`  declare_victory waited for: ${joins.map((e) => `${name.get(e.from)} (${e.kind}${e.taken ? ", taken" : ""})`).join(", ")}`)

    const second = await mesh.start(ParallelAttack, { rohanRides: false })
    console.log(`\n== The attack without Rohan: run ${short(second.runId)}`)
    const lost = await mesh.awaitRun(second.runId, { timeout: "30 seconds" })
    const run = await mesh.inspectRun(second.runId, { history: true })
    console.log(`  ${lost.status}: ${lost.error?.code}: ${lost.error?.message}`)
    console.log(`  path: ${pathOf(run)}`)
    printJournal(run, "    ")
    const never = (await mesh.inspectRunGraph(second.runId)).nodes.filter((n) => n.status === "skipped").map((n) => n.name)
    console.log(`  never ran: ${never.join(", ") || "nothing"}`)
    console.log(`\non the field: ${field.join("; ")}`)
  } finally {
    await worker.stop()
    await mesh.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
