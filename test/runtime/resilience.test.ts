/**
 * Commits that fail with a transient StoreError are retried with backoff (real time, so
 * `it.live`); other StoreErrors fail at once. A lost reply after a successful commit must not
 * apply the step twice: the retry is fenced.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { Mesh, Step, StoreError, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import type { StoreService } from "../../src/store/Store.js"

let calls = 0
const Once = Step.make("once", { run: () => ++calls })
const Wf = Workflow.make({ name: "resilient", triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) }, *run() { return yield* Once() } })

/**
 * A memory store whose first `failures` commits fail (transient ones unless `transient: false`);
 * `applyFirst` makes them fail after applying. `commits` counts every commit call.
 */
const flaky = (failures: number, applyFirst: boolean, options: { readonly transient?: boolean } = {}): StoreService & { readonly commits: () => number } => {
  const base = TestMesh.memoryStore()
  let left = failures
  let commits = 0
  const failure = new StoreError({ operation: "commit", cause: new Error("connection reset"), transient: options.transient ?? true })
  return {
    ...base,
    commits: () => commits,
    commit: (c) =>
      Effect.suspend(() => {
        commits++
        return left-- > 0
          ? (applyFirst ? Effect.asVoid(base.commit(c)) : Effect.void).pipe(Effect.zipRight(Effect.fail(failure)))
          : base.commit(c)
      }),
  }
}

it.live("retries a commit that failed on a transient store error; the step ran once", () => {
  const store = flaky(2, false)
  return Effect.gen(function* () {
    calls = 0
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Wf, {})
    const before = store.commits()
    expect(yield* mesh.executeNext()).toMatchObject({ _tag: "Executed", result: "completed", runStatus: "completed" })
    expect(store.commits() - before).toBe(3)
    expect(calls).toBe(1)
    expect((yield* mesh.inspectRun(runId)).output).toBe(1)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
})

it.live("does not retry a commit that failed on a non-transient store error", () => {
  const store = flaky(1, false, { transient: false })
  return Effect.gen(function* () {
    calls = 0
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Wf, {})
    const before = store.commits()
    const exit = yield* Effect.exit(mesh.executeNext())
    expect(exit).toMatchObject({ _tag: "Failure" })
    expect(Exit.isFailure(exit) && exit.cause).toMatchObject({ error: { _tag: "StoreError", operation: "commit", transient: false } })
    expect(store.commits() - before).toBe(1)
    expect((yield* mesh.inspectRun(runId)).status).toBe("running")
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store })))
})

it.live("a commit applied before its reply was lost is not applied again on retry", () =>
  Effect.gen(function* () {
    calls = 0
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Wf, {})
    const result = yield* mesh.executeNext()
    expect(result).toMatchObject({ _tag: "Fenced" })
    const run = yield* mesh.inspectRun(runId, { history: true })
    expect(run).toMatchObject({ status: "completed", output: 1 })
    expect(run.history![0]!.attempts).toHaveLength(1)
    expect(calls).toBe(1)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store: flaky(1, true) }))))

it.live("a keyless command whose commit reply was lost is not applied twice (its internal key finds it)", () => {
  const Wait = Workflow.make({
    name: "waits-for-signal",
    triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
    *run() {
      yield* Workflow.sleep("first", "1 hour")
      return yield* Workflow.signal("go", { schema: Schema.Struct({ n: Schema.Number }) })
    },
  })
  return Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Wait, {})
    // The signal arrives early (inbox); the first commit lands but its reply is lost.
    expect(yield* mesh.signal(runId, "go", { n: 1 })).toMatchObject({ duplicate: false })
    expect(yield* mesh.store.getInbox(runId)).toHaveLength(1)
    expect((yield* mesh.inspectRun(runId, { history: true })).commands).toHaveLength(1)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wait], store: flaky(1, true) })))
})

