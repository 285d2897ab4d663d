/**
 * `npm run example:beacon-watch`: the seed's Beacon Watch, a cron-triggered graph workflow on
 * the memory store. The seed watches at "0 21 * * *"; so that the demo ends in seconds, it
 * registers the same workflow with a seconds field, "* * * * * *" (every second), and runs two
 * schedulers, as two instances of an app would: each window still starts one run.
 * - The first watch: fog hides the hilltops (the inspection fails once and is retried), then
 *   the first beacon is lit and Gondor calls for aid.
 * - The second watch: the errand rider's horse goes lame after the beacon was lit, so the run
 *   fails and the saga puts the beacon out (`light_first_beacon`'s compensation).
 */
import { Effect, Schema } from "effect"
import { createMesh, type RunView, Step, StepError, Trigger, Workflow } from "squid-mesh"
import { pathOf, printJournal, short, storyLogger, until } from "./shared/story.js"

/** The watches in the order their runs first inspected the hilltops (1 is foggy, 2 loses its rider). */
const watches: Array<string> = []
const watchNumber = (runId: string) => {
  if (!watches.includes(runId)) watches.push(runId)
  return watches.indexOf(runId) + 1
}
/** The beacons burning now. */
const burning = new Set<string>()

/** The Beacon Watch, fired by the scheduler at every window of `expression` (UTC). */
export const beaconWatch = (expression: string) =>
  Workflow.graph({
    name: "beacon-watch",
    triggers: {
      beaconCheck: Trigger.cron(expression, {
        timeZone: "Etc/UTC",
        payload: Schema.Struct({ stewardMood: Schema.String, beaconCount: Schema.Number, watchedOn: Schema.String }),
        defaults: { stewardMood: "dramatic", beaconCount: 7, watchedOn: Trigger.today() },
      }),
    },
    steps: {
      inspect_hilltops: {
        input: ["beaconCount"],
        run: async ({ beaconCount }: { beaconCount: number }, ctx) => {
          if (watchNumber(ctx.runId) === 1 && ctx.attempt === 1) throw new StepError({ code: "fog", message: "fog over Amon Dîn" })
          return { clear: beaconCount }
        },
        retry: { maxAttempts: 5, backoff: { type: "fixed", delay: "200 millis" } },
        output: "hilltops",
      },
      light_first_beacon: {
        run: (_context: unknown, ctx) =>
          Effect.sync(() => {
            burning.add(`Amon Dîn (watch ${watchNumber(ctx.runId)})`)
            return { lit: "Amon Dîn" }
          }),
        compensate: (_input: unknown, _output: unknown, ctx) => Effect.sync(() => void burning.delete(`Amon Dîn (watch ${watchNumber(ctx.runId)})`)),
        output: "beacon",
      },
      log_call_for_aid: { log: "Gondor calls for aid" },
      send_errand_rider: {
        run: (_context: unknown, ctx) =>
          watchNumber(ctx.runId) === 2 ? Effect.fail(Step.fatal("horse_lame", "the errand rider's horse went lame")) : Effect.succeed({ rider: "to Edoras" }),
        output: "rider",
      },
    },
    transitions: [
      { from: "inspect_hilltops", on: "ok", to: "light_first_beacon" },
      { from: "light_first_beacon", on: "ok", to: "log_call_for_aid" },
      { from: "log_call_for_aid", on: "ok", to: "send_errand_rider" },
      { from: "send_errand_rider", on: "ok", to: "complete" },
    ],
  })

/** The seed's schedule: every night at 21:00 UTC. */
export const BeaconWatch = beaconWatch("0 21 * * *")

const windowOf = (run: RunView) => new Date(Number(run.idempotencyKey?.replace("cron:", ""))).toISOString()

const main = async () => {
  const DemoWatch = beaconWatch("* * * * * *")
  const mesh = await createMesh({ workflows: [DemoWatch], store: { kind: "memory" }, logger: storyLogger })
  const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "100 millis" })
  const schedulers = [await mesh.startScheduler(), await mesh.startScheduler()]
  console.log(`two schedulers started; beacon-watch fires at every window of "* * * * * *" (the seed: "0 21 * * *")`)
  try {
    await until("two windows", async () => ((await mesh.listRuns({ workflow: "beacon-watch" })).runs.length >= 2 ? true : undefined))
    for (const scheduler of schedulers) await scheduler.stop()
    const { runs } = await mesh.listRuns({ workflow: "beacon-watch" })
    console.log(`schedulers stopped after ${runs.length} windows: one run per window, though two schedulers fired each`)
    for (const listed of [...runs].reverse()) {
      await mesh.awaitRun(listed.id, { timeout: "30 seconds" })
      const run = await mesh.inspectRun(listed.id, { history: true })
      console.log(`\n== window ${windowOf(run)}: run ${short(run.id)} (trigger ${run.trigger}, key ${run.idempotencyKey}) ${run.status}`)
      console.log(`  input: ${JSON.stringify(run.input)}`)
      console.log(`  path: ${pathOf(run)}`)
      printJournal(run, "    ")
      if (run.error) console.log(`  error: ${run.error.code}: ${run.error.message}`)
    }
    console.log(`\nbeacons burning: ${[...burning].join(", ") || "none"}`)
  } finally {
    for (const scheduler of schedulers) await scheduler.stop()
    await worker.stop()
    await mesh.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
