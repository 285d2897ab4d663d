/**
 * Workflows, actors, a policy and drivers shared by the visibility tests. Every payload carries
 * a sentinel ("...-SENTINEL"), so a JSON search finds any that leaks into a redacted view.
 */
import { expect } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Mesh, Step, StepError, type Store, Trigger, Workflow, visibilityPolicy, type VisibilityRules } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

export const In = Trigger.manual({ payload: Schema.Struct({ secret: Schema.String }) })
export const Work = Step.make("work", { run: (i: { secret: string }) => ({ out: `OUT-SENTINEL-${i.secret}` }), compensate: () => Effect.void })
export const Boom = Step.make("boom", {
  run: () => Effect.fail(new StepError({ code: "boom_code", message: "MSG-SENTINEL" })),
  retry: { maxAttempts: 2, backoff: { type: "fixed", delay: "10 seconds" } },
})
export const Inner = Workflow.make({
  name: "inner",
  triggers: { manual: In },
  *run(input) {
    yield* Workflow.pause("inner-hold")
    return yield* Work(input)
  },
})
/** Every kind of payload: input, step output, a log line, a pause reason, an approval note, a signal payload, a child input, a result. */
export const Full = Workflow.make({
  name: "full",
  triggers: { manual: In },
  *run(input) {
    yield* Work(input)
    yield* Workflow.log("LOG-SENTINEL")
    yield* Workflow.pause("hold")
    const vote = yield* Workflow.approval("sign-off", { deadline: "2 days" })
    const go = yield* Workflow.signal("go", { schema: Schema.Struct({ word: Schema.String }) })
    const child = yield* Workflow.child(Inner, { secret: "CHILD-SENTINEL" }, { key: "only" })
    return { result: "RESULT-SENTINEL", approved: vote.approved, go: go._tag, child }
  },
})
export const Failing = Workflow.make({
  name: "failing",
  triggers: { manual: In },
  *run(input) {
    yield* Work(input)
    return yield* Boom()
  },
})

export const Sleepy = Workflow.make({
  name: "sleepy",
  triggers: { manual: In },
  *run(input) {
    yield* Workflow.sleep("nap", "10 minutes")
    return yield* Work(input)
  },
})
/** Fails on purpose, with details a payload may hide in. */
export const Refusing = Workflow.make({
  name: "refusing",
  triggers: { manual: In },
  *run(input) {
    yield* Work(input)
    return yield* Workflow.fail("REFUSAL-SENTINEL", { d: "DETAIL-SENTINEL" })
  },
})

export const AUDITOR = "audit:zoe"
export const OPERATOR = "ops:ana"
export const EXTERNAL = "customer:42"
export const rules: VisibilityRules = { actors: { [AUDITOR]: "auditor", [OPERATOR]: "operator" }, roles: { support: "operator", audit: "auditor" } }
export const policy = Effect.runSync(visibilityPolicy(rules))
export const withMesh = <A, E>(body: Effect.Effect<A, E, Mesh.Mesh | Store>) =>
  body.pipe(Effect.provide(TestMesh.layer({ workflows: [Full, Failing, Inner, Sleepy, Refusing], visibility: rules })))

export const json = (value: unknown) => JSON.stringify(value)
export const SENTINELS = [
  "IN-SENTINEL",
  "OUT-SENTINEL",
  "LOG-SENTINEL",
  "REASON-SENTINEL",
  "NOTE-SENTINEL",
  "SIG-SENTINEL",
  "CHILD-SENTINEL",
  "RESULT-SENTINEL",
]

/** No payload, and (external) no actor or worker name, anywhere in a view. */
export const expectClean = (view: unknown, scope: "operator" | "external") => {
  expect(json(view)).not.toMatch(/sentinel/i)
  if (scope === "external") {
    expect(json(view)).not.toContain(OPERATOR)
    expect(json(view)).not.toContain("test-worker")
  }
}
export const keys = (value: object) => Object.keys(value).sort()

export const ctl = { actor: OPERATOR }

/** Starts a Full run and drives it to its approval gate. */
export const toApproval = Effect.gen(function* () {
  const mesh = yield* Mesh.Mesh
  const { runId } = yield* TestMesh.start(
    Full,
    { secret: "IN-SENTINEL" },
    { actor: OPERATOR, idempotencyKey: "KEY-SENTINEL", metadata: { m: "META-SENTINEL" } },
  )
  yield* TestMesh.drain()
  yield* mesh.resume(runId, { ...ctl, reason: "REASON-SENTINEL", metadata: { why: "META-SENTINEL" } })
  yield* TestMesh.drain()
  return runId
})
export const toSignal = Effect.gen(function* () {
  const runId = yield* toApproval
  yield* (yield* Mesh.Mesh).approve(runId, { ...ctl, note: "NOTE-SENTINEL" })
  yield* TestMesh.drain()
  return runId
})
export const toCompleted = Effect.gen(function* () {
  const runId = yield* toSignal
  const mesh = yield* Mesh.Mesh
  yield* mesh.signal(runId, "go", { word: "SIG-SENTINEL" }, ctl)
  yield* TestMesh.drain()
  const [child] = (yield* mesh.inspectRun(runId, { history: true })).children ?? []
  yield* mesh.resume(child!.id, ctl)
  yield* TestMesh.drain()
  return runId
})
export const toFailed = Effect.gen(function* () {
  const { runId } = yield* TestMesh.start(Failing, { secret: "IN-SENTINEL" })
  yield* TestMesh.drain()
  yield* TestMesh.advance("10 seconds")
  return runId
})

/** A run read with history by each scope, and without `as`. */
export const runViews = (runId: string, history = true) =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    return {
      raw: yield* mesh.inspectRun(runId, { history }),
      auditor: yield* mesh.inspectRun(runId, { history, as: AUDITOR }),
      operator: yield* mesh.inspectRun(runId, { history, as: OPERATOR }),
      external: yield* mesh.inspectRun(runId, { history, as: EXTERNAL }),
    }
  })
export const explanations = (runId: string) =>
  Effect.gen(function* () {
    const mesh = yield* Mesh.Mesh
    return {
      raw: yield* mesh.explainRun(runId),
      auditor: yield* mesh.explainRun(runId, { as: AUDITOR }),
      operator: yield* mesh.explainRun(runId, { as: OPERATOR }),
      external: yield* mesh.explainRun(runId, { as: EXTERNAL }),
    }
  })

export const RUN_EXTERNAL = [
  "children",
  "commands",
  "createdAt",
  "definitionHash",
  "history",
  "id",
  "queue",
  "revision",
  "scope",
  "status",
  "tasks",
  "trigger",
  "updatedAt",
  "workflow",
]
