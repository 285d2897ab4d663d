/**
 * A separate app process of the embedded-store tests (embedded*.test.ts), started with
 * `node --import tsx --conditions=squid-mesh-source` and driven over IPC. Its role comes from the JSON in
 * the EMBEDDED_CHILD environment variable:
 * - `starter`: opens the default-style store with a worker, starts `count` runs at once,
 *   waits for all of them, reports them, and closes when told;
 * - `gate-holder`: opens the store with a worker that practically never polls, starts a run
 *   that waits at an approval, reports when it completes, and closes when told;
 * - `approver`: opens the same directory, approves the run, reports, closes and exits;
 * - `hold`: only opens the store (optionally without serving) and holds it until told.
 * Every message to the parent is `{ type, ... }`. It exits when the parent goes away.
 */
import { Effect, Exit, Schema, Scope } from "effect"
import { createMesh, PgliteStore, Step, Trigger, Workflow } from "../../src/index.js"

/** The child's configuration. */
export interface ChildConfig {
  readonly role: "starter" | "gate-holder" | "approver" | "hold"
  readonly dataDir: string
  readonly label?: string
  readonly count?: number
  readonly runId?: string
  readonly serve?: boolean
  /** Open `createMesh`'s default store (the test sets SQUID_MESH_DATA_DIR) instead of naming `dataDir`. */
  readonly defaultStore?: boolean
}

const config = JSON.parse(process.env.EMBEDDED_CHILD ?? "null") as ChildConfig | null
if (!config) throw new Error("embeddedProcess: EMBEDDED_CHILD is not set")

process.on("disconnect", () => process.exit(3))
const send = (message: Record<string, unknown>) => process.send?.(message)
const told = (type: string) =>
  new Promise<void>((resolve) =>
    process.on("message", (m: { type?: string }) => {
      if (m.type === type) resolve()
    }),
  )

const Double = Step.make("double", { run: (input: { n: number }) => Effect.succeed(input.n * 2) })
const Inc = Step.make("inc", { run: (input: { n: number }) => Effect.succeed(input.n + 1) })

/** Two steps, so both processes' workers claim and commit through the shared database. */
export const Pair = Workflow.make({
  name: "embedded-pair",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ label: Schema.String, n: Schema.Number }) }) },
  *run(input) {
    const doubled = yield* Double({ n: input.n })
    const plusOne = yield* Inc({ n: doubled })
    return { label: input.label, value: plusOne }
  },
})

/** Waits at an approval, then runs a step. */
export const Gate = Workflow.make({
  name: "embedded-gate",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    const vote = yield* Workflow.approval("manager")
    const after = yield* Inc({ n: 41 })
    return { approvedBy: vote.actor, after }
  },
})

const workflows = [Pair, Gate]

const main = async (c: ChildConfig) => {
  if (c.role === "hold") {
    const scope = Effect.runSync(Scope.make())
    const store = await Effect.runPromise(Scope.extend(PgliteStore.make({ dataDir: c.dataDir, serve: c.serve !== false }), scope))
    send({ type: "ready", description: PgliteStore.describeStore(store), pid: process.pid })
    await told("close")
    await Effect.runPromise(Scope.close(scope, Exit.void))
    return
  }
  const mesh = await createMesh({ workflows, ...(c.defaultStore ? {} : { store: { kind: "pglite" as const, dataDir: c.dataDir } }) })
  if (c.role === "starter") {
    const worker = await mesh.startWorker({ concurrency: 4, pollInterval: "250 millis" })
    const started = await Promise.all(Array.from({ length: c.count ?? 30 }, (_, n) => mesh.start(Pair, { label: c.label ?? "x", n })))
    const runs = await Promise.all(started.map((s) => mesh.awaitRun(s.runId, { timeout: "10 minutes", pollInterval: "200 millis" })))
    send({
      type: "done",
      runIds: runs.map((r) => r.id),
      statuses: runs.map((r) => r.status),
      outputs: runs.map((r) => r.output),
      executed: worker.stats().executed,
    })
    await told("close")
    await worker.stop()
  } else if (c.role === "gate-holder") {
    // Polling every 10 minutes: only a wakeup (NOTIFY through the socket) gets the run going in time.
    const worker = await mesh.startWorker({ concurrency: 2, pollInterval: "10 minutes" })
    const { runId } = await mesh.start(Gate, {})
    while ((await mesh.inspectRun(runId)).status !== "paused") await new Promise((r) => setTimeout(r, 50))
    send({ type: "started", runId })
    const run = await mesh.awaitRun(runId, { timeout: "10 minutes", pollInterval: "100 millis" })
    send({ type: "completed", runId, status: run.status, output: run.output, at: Date.now() })
    await told("close")
    await worker.stop()
  } else if (c.role === "approver") {
    const outcome = await mesh.approve(c.runId!, { actor: "approver-process" })
    send({ type: "approved", outcome, at: Date.now() })
  }
  await mesh.close()
  send({ type: "closed" })
}

main(config).then(
  () => process.exit(0),
  (error: unknown) => {
    send({
      type: "error",
      tag: (error as { _tag?: string })._tag,
      message: error instanceof Error ? error.message : String(error),
      error: JSON.parse(JSON.stringify(error ?? null)) as unknown,
    })
    setTimeout(() => process.exit(1), 100)
  },
)
