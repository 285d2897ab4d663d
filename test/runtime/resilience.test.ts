/**
 * Commits that fail with a StoreError are retried with backoff (real time, so `it.live`).
 * A lost reply after a successful commit must not apply the step twice: the retry is fenced.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Mesh, Step, StoreError, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import type { StoreService } from "../../src/store/Store.js"

let calls = 0
const Once = Step.make("once", { run: () => ++calls })
const Wf = Workflow.make({ name: "resilient", triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) }, *run() { return yield* Once() } })

/** A memory store whose first `failures` commits fail; `applyFirst` makes them fail after applying. */
const flaky = (failures: number, applyFirst: boolean): StoreService => {
  const base = TestMesh.memoryStore()
  let left = failures
  return {
    ...base,
    commit: (c) =>
      Effect.suspend(() =>
        left-- > 0
          ? (applyFirst ? Effect.asVoid(base.commit(c)) : Effect.void).pipe(Effect.zipRight(Effect.fail(new StoreError({ operation: "commit", cause: new Error("connection reset") }))))
          : base.commit(c),
      ),
  }
}

it.live("retries a commit that failed on a transient store error; the step ran once", () =>
  Effect.gen(function* () {
    calls = 0
    const mesh = yield* Mesh.Mesh
    const { runId } = yield* mesh.start(Wf, {})
    expect(yield* mesh.executeNext()).toMatchObject({ _tag: "Executed", result: "completed", runStatus: "completed" })
    expect(calls).toBe(1)
    expect((yield* mesh.inspectRun(runId)).output).toBe(1)
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store: flaky(2, false) }))))

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

