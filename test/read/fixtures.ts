/**
 * Workflows and backends shared by the read-model tests. Every test builds its workflows on a
 * queue of its own, so tests sharing one PGlite store never take each other's tasks.
 */
import type { Json } from "../../src/core/json.js"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { PgliteStore, Step, Store, StepError, Trigger, Workflow, type AnyWorkflow, type StoreService } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const empty = Trigger.manual({ payload: Schema.Struct({}) })

/** The test workflows, on `queue`. */
export const flows = (queue: string) => {
  const Charge = Step.make("charge", {
    run: () => Effect.fail(new StepError({ code: "card_declined", message: "card declined for password=hunter2" })),
    retry: { maxAttempts: 3, backoff: { type: "fixed", delay: "10 seconds" } },
  })
  const Work = Step.make("work", { run: () => "done" })
  const Reserve = Step.make("reserve", { run: () => ({ id: "r-1" }), compensate: () => Effect.void })
  const Ship = Step.make("ship", { run: () => Effect.fail(Step.fatal("no_courier", "no courier available")) })
  const Pay = Step.make("pay", { run: () => ({ paid: true }), irreversible: true })
  const Inner = Workflow.make({
    name: "inner",
    queue,
    triggers: { manual: empty },
    *run() {
      return yield* Workflow.pause("inner-hold")
    },
  })
  return {
    Single: Workflow.make({
      name: "single",
      queue,
      triggers: { manual: empty },
      *run() {
        return yield* Work()
      },
    }),
    Retrying: Workflow.make({
      name: "retrying",
      queue,
      triggers: { manual: empty },
      *run() {
        return yield* Charge()
      },
    }),
    Sleepy: Workflow.make({
      name: "sleepy",
      queue,
      triggers: { manual: empty },
      *run() {
        yield* Workflow.sleep("cool-off", "10 minutes")
        return "awake"
      },
    }),
    Gates: Workflow.make({
      name: "gates",
      queue,
      triggers: { manual: empty },
      *run() {
        yield* Workflow.pause("hold")
        const vote = yield* Workflow.approval("sign-off", { deadline: { within: "2 days", dueSoon: "1 day" }, onDeadline: "none" })
        const go = yield* Workflow.signal("go", { schema: Schema.Struct({ word: Schema.String }), timeout: "1 hour" })
        return { approved: vote.approved, word: go._tag === "Received" ? go.payload.word : null }
      },
    }),
    Inner,
    Outer: Workflow.make({
      name: "outer",
      queue,
      triggers: { manual: empty },
      *run() {
        return yield* Workflow.child(Inner, {}, { key: "only" })
      },
    }),
    Saga: Workflow.make({
      name: "saga",
      queue,
      triggers: { manual: empty },
      *run() {
        yield* Reserve()
        return yield* Ship()
      },
    }),
    Irreversible: Workflow.make({
      name: "irreversible",
      queue,
      triggers: { manual: empty },
      *run() {
        return yield* Pay()
      },
    }),
    Parallel: Workflow.make({
      name: "parallel",
      queue,
      triggers: { manual: empty },
      *run() {
        yield* Workflow.now("start")
        const [a] = yield* Workflow.all([Work(), Workflow.sleep("t", "1 hour")])
        const winner = yield* Workflow.race([Work(), Workflow.sleep("timeout", "1 minute")])
        yield* Workflow.log("done")
        return { a, winner: winner ?? null }
      },
    }),
    /** Version 1 of "evolving": step "a", then a sleep. */
    Evolving: Workflow.make({
      name: "evolving",
      queue,
      triggers: { manual: empty },
      *run() {
        yield* Step.make("a", { run: () => 1 })()
        yield* Workflow.sleep("later", "1 minute")
        return "v1"
      },
    }),
  }
}

/** Version 2 of "evolving": its first step is now "b" (non-deterministic for runs of version 1). */
export const evolvingV2 = (queue: string) =>
  Workflow.make({
    name: "evolving",
    queue,
    triggers: { manual: empty },
    *run() {
      yield* Step.make("b", { run: () => 2 })()
      return "v2"
    },
  })

/** A backend under test: a store to run a test's meshes on. */
export interface Backend {
  readonly name: string
  /** The store of one test (memory: fresh; PGlite: one per file, shared, tests isolated by queue). */
  readonly store: () => StoreService
}

/** The memory backend. */
export const memory: Backend = { name: "memory", store: () => TestMesh.memoryStore() }

/** A PGlite backend opened once for a file; `close` releases it. */
export const pgliteBackend = () => {
  let scope: Scope.CloseableScope | undefined
  let store: StoreService | undefined
  return {
    backend: {
      name: "pglite",
      store: () => {
        if (!store) throw new Error("PGlite store not opened (call open in beforeAll)")
        return store
      },
    } satisfies Backend,
    open: async () => {
      scope = await Effect.runPromise(Scope.make())
      store = await Effect.runPromise(Scope.extend(PgliteStore.make(), scope))
    },
    close: async () => {
      if (scope) await Effect.runPromise(Scope.close(scope, Exit.void))
    },
  }
}

/** A test Mesh (with its hooks and Store) over `store`. */
export const meshOn = (store: StoreService, workflows: ReadonlyArray<AnyWorkflow>) =>
  TestMesh.meshLayer({ workflows }).pipe(Layer.provideMerge(Layer.succeed(Store, store)), Layer.orDie)

let counter = 0
/** A fresh queue name for one test. */
export const freshQueue = (backend: Backend): string => `q-${backend.name}-${++counter}`

/** A running run of `workflow` as written straight to the store, for states the engine does not reach by itself. */
export const storedRun = (id: string, workflow: string, queue: string, input: Json = {}) => ({
  id,
  workflow,
  trigger: "manual",
  queue,
  status: "running" as const,
  input,
  revision: 1,
  requestHash: "r",
  definitionHash: "d",
  createdAt: 0,
  updatedAt: 0,
})
