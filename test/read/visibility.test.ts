/**
 * Visibility on the memory store with the TestClock: every read model (a run without and with
 * history, its explanation, its graph, a list and a page of runs) for each scope, on completed,
 * failed, paused, waiting-for-approval, waiting-for-signal, retrying, compensating, running,
 * child-waiting and cancelled runs. Operator and external views never contain a payload
 * sentinel; auditor views contain them all; each view's fields and `hidden` markers are checked.
 */
import { randomUUID } from "node:crypto"
import { storedRun } from "./fixtures.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Mesh, redact, redactPage, Store, type RunView } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import {
  AUDITOR,
  EXTERNAL,
  Failing,
  Full,
  OPERATOR,
  RUN_EXTERNAL,
  Refusing,
  SENTINELS,
  Sleepy,
  ctl,
  expectClean,
  explanations,
  json,
  keys,
  policy,
  runViews,
  toApproval,
  toCompleted,
  toFailed,
  toSignal,
  withMesh,
} from "./visibilityFixtures.js"

describe("visibility: runs", () => {
  it.effect("completed, with history: auditor sees everything; operator loses payloads; external also errors, actors and owners", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toCompleted
        const { raw, auditor, operator, external } = yield* runViews(runId)
        expect(raw.status).toBe("completed")
        expect(auditor).toEqual({ ...raw, scope: "auditor" })
        for (const s of [...SENTINELS, "KEY-SENTINEL", "META-SENTINEL"]) expect(json(auditor)).toContain(s)
        expectClean(operator, "operator")
        expectClean(external, "external")

        expect(keys(external)).toEqual([...RUN_EXTERNAL, "finishedAt", "hidden"].sort())
        expect(external.hidden).toEqual(["input", "idempotencyKey", "output"])
        expect(operator.hidden).toEqual(["input", "idempotencyKey", "output"])
        expect(operator.input).toBeUndefined()
        expect(external.output).toBeUndefined()

        // History: structure and status for all, payloads withheld with a marker per entry.
        const shape = (view: typeof external) => view.history!.map((e) => [e.seq, e.kind, e.name, e.status, e.hidden ?? []])
        expect(shape(external)).toEqual([
          [1, "step", "work", "completed", ["input", "output"]],
          [2, "log", "log", "completed", ["input"]],
          [3, "pause", "hold", "completed", ["output"]],
          [4, "approval", "sign-off", "completed", ["input", "output"]],
          // A signal wait's input is its journaled JSON Schema: withheld like every input.
          [5, "signal", "go", "completed", ["input", "output"]],
          [6, "child", "inner", "completed", ["input", "output"]],
        ])
        expect(shape(operator)).toEqual(shape(external))
        expect(keys(external.history![0]!)).toEqual([
          "attemptCount",
          "attempts",
          "createdAt",
          "hidden",
          "irreversible",
          "kind",
          "name",
          "resolvedAt",
          "seq",
          "status",
        ])
        expect(external.history![3]!.deadline).toEqual(raw.history![3]!.deadline)
        // Attempts: the worker that ran them is an operator's business.
        expect(operator.history![0]!.attempts[0]).toEqual(raw.history![0]!.attempts[0])
        expect(external.history![0]!.attempts[0]).toEqual({ seq: 1, attempt: 1, status: "completed", startedAt: 0, finishedAt: 0, hidden: ["owner"] })

        // The audit trail: kinds and times for all, actors for operators, notes, metadata and keys for auditors.
        expect(raw.commands!.map((c) => c.kind)).toEqual(["start", "resume", "approve", "signal"])
        expect(external.commands![1]).toEqual({ kind: "resume", seq: 3, at: 0, hidden: ["actor", "note", "idempotencyKey", "metadata"] })
        expect(operator.commands![1]).toEqual({ kind: "resume", actor: OPERATOR, seq: 3, at: 0, hidden: ["note", "idempotencyKey", "metadata"] })
        expect(external.commands![0]).toEqual({ kind: "start", at: 0, hidden: ["actor", "idempotencyKey", "metadata"] })
        // Children keep their links.
        expect(external.children).toEqual(raw.children)
        expect(external.tasks).toEqual([])
      }),
    ),
  )

  it.effect("without history: the run's own fields by scope", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toCompleted
        const { raw, auditor, operator, external } = yield* runViews(runId, false)
        expect(raw.history).toBeUndefined()
        expect(auditor).toEqual({ ...raw, scope: "auditor" })
        expect(keys(external)).toEqual([
          "createdAt",
          "definitionHash",
          "finishedAt",
          "hidden",
          "id",
          "queue",
          "revision",
          "scope",
          "status",
          "trigger",
          "updatedAt",
          "workflow",
        ])
        expect(operator).toEqual({ ...external, scope: "operator" })
        expectClean(external, "external")
      }),
    ),
  )

  it.effect("failed: operators keep error codes, steps and seqs, never messages or details; external sees only that it failed", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toFailed
        const { raw, auditor, operator, external } = yield* runViews(runId)
        expect(raw.status).toBe("failed")
        expect(raw.error).toMatchObject({ code: "boom_code", message: "MSG-SENTINEL", step: "boom" })
        expect(json(auditor)).toContain("MSG-SENTINEL")
        expectClean(operator, "operator")
        expectClean(external, "external")

        expect(operator.error).toEqual({ code: "boom_code", retryable: raw.error!.retryable, step: "boom", seq: 2, hidden: ["message", "details"] })
        expect(external.error).toBeUndefined()
        expect(external.hidden).toEqual(["input", "error"])
        expect(operator.hidden).toEqual(["input"])

        const boom = (view: typeof operator) => view.history!.find((e) => e.name === "boom")!
        expect(boom(operator).error).toEqual({ code: "boom_code", hidden: ["message"] })
        expect(boom(operator).attempts.map((a) => a.error)).toEqual([
          { code: "boom_code", hidden: ["message"] },
          { code: "boom_code", hidden: ["message"] },
        ])
        expect(boom(external).error).toBeUndefined()
        expect(boom(external).hidden).toEqual(["error"])
        expect(boom(external).attempts[0]).toEqual({
          seq: 2,
          attempt: 1,
          status: "failed",
          startedAt: 0,
          finishedAt: 0,
          retryAt: 10_000,
          hidden: ["owner", "error"],
        })
        // The compensation entry's input quotes the step's input and output.
        const undo = (view: typeof operator) => view.history!.find((e) => e.kind === "compensation")!
        expect(undo(operator).hidden).toEqual(["input"])
        expect(undo(external).status).toBe("completed")
      }),
    ),
  )

  it.effect("waiting for approval: the deadline and the pending gate stay, the decisions before it do not", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toApproval
        yield* TestClock.adjust("1 hour")
        const { raw, operator, external } = yield* runViews(runId)
        expect(raw.status).toBe("paused")
        expect(external.deadline).toEqual(raw.deadline)
        expect(external.deadline).toMatchObject({ kind: "approval", name: "sign-off", status: "on_time" })
        expect(external.history!.at(-1)).toEqual({
          seq: 4,
          kind: "approval",
          name: "sign-off",
          status: "pending",
          attemptCount: 0,
          attempts: [],
          createdAt: 0,
          deadline: raw.history!.at(-1)!.deadline,
          deadlineStatus: "on_time",
          hidden: ["input"],
        })
        expectClean(operator, "operator")
        expectClean(external, "external")
      }),
    ),
  )

  it.effect("waiting for a signal: the pending wait and the gates decided before it, without their decisions", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toSignal
        const { raw, operator, external } = yield* runViews(runId)
        expect(raw.history!.at(-1)).toMatchObject({ kind: "signal", name: "go", status: "pending" })
        expect(operator.history![2]).toMatchObject({ kind: "pause", hidden: ["output"] })
        expect(external.history![3]).toMatchObject({ kind: "approval", status: "completed", hidden: ["input", "output"] })
        expectClean(operator, "operator")
        expectClean(external, "external")
      }),
    ),
  )

  it.effect("cancelled: the cancel's actor for operators, its reason for auditors", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toApproval
        yield* (yield* Mesh.Mesh).cancel(runId, { ...ctl, reason: "CANCEL-SENTINEL" })
        const { raw, auditor, operator, external } = yield* runViews(runId)
        expect(raw.status).toBe("cancelled")
        expect(json(auditor)).toContain("CANCEL-SENTINEL")
        expectClean(operator, "operator")
        expectClean(external, "external")
        expect(operator.commands!.at(-1)).toEqual({ kind: "cancel", actor: OPERATOR, at: 0, hidden: ["note", "idempotencyKey"] })
        expect(external.commands!.at(-1)).toEqual({ kind: "cancel", at: 0, hidden: ["actor", "note", "idempotencyKey"] })
        expect(external.history!.map((e) => [e.name, e.status])).toEqual(raw.history!.map((e) => [e.name, e.status]))
      }),
    ),
  )
})

describe("visibility: explanations", () => {
  it.effect("waiting_for_approval and waiting_for_signal: the same reason and actions for all; evidence by scope", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toApproval
        yield* TestClock.adjust("1 hour")
        const approval = yield* explanations(runId)
        expect(approval.auditor).toEqual({ ...approval.raw, scope: "auditor" })
        for (const scope of ["operator", "external"] as const) {
          const view = approval[scope]
          expect(view).toMatchObject({
            runId,
            workflow: "full",
            status: "paused",
            reason: "waiting_for_approval",
            scope,
            nextActions: approval.raw.nextActions,
          })
          expect(view.summary).toBe(approval.raw.summary)
          expect(view.summary).toBe('waiting 1h for approval "sign-off"; deadline in 1d 23h (on_time)')
          expect(view.evidence.wait).toEqual(approval.raw.evidence.wait)
          expectClean(view, scope)
        }
        expect(approval.external.evidence.worker).toEqual({ queue: "default", seenRecently: false })

        yield* (yield* Mesh.Mesh).approve(runId, { ...ctl, note: "NOTE-SENTINEL" })
        yield* TestMesh.drain()
        const signal = yield* explanations(runId)
        expect(signal.operator.reason).toBe("waiting_for_signal")
        expect(signal.external.summary).toBe(signal.raw.summary)
        expect(signal.external.nextActions).toEqual([{ action: "signal", signal: "go" }, { action: "cancel" }])
        expectClean(signal.operator, "operator")
        expectClean(signal.external, "external")
      }),
    ),
  )

  it.effect("waiting_for_retry: operators see the last error's code, external only that it retries", () =>
    withMesh(
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Failing, { secret: "IN-SENTINEL" })
        yield* TestMesh.drain()
        const { raw, auditor, operator, external } = yield* explanations(runId)
        expect(raw.reason).toBe("waiting_for_retry")
        expect(raw.evidence.wait!.lastError).toEqual({ code: "boom_code", message: "MSG-SENTINEL" })
        expect(json(auditor)).toContain("MSG-SENTINEL")
        expect(operator.evidence.wait!.lastError).toEqual({ code: "boom_code", hidden: ["message"] })
        expect(operator.summary).toBe(raw.summary)
        expect(operator.summary).toBe('step "boom" waits to retry: attempt 2 of 2 in 10s (last error: boom_code)')
        expect(external.evidence.wait!.lastError).toBeUndefined()
        expect(external.evidence.wait!.hidden).toEqual(["lastError"])
        expect(external.summary).toBe('step "boom" waits to retry: attempt 2 of 2 in 10s')
        expectClean(operator, "operator")
        expectClean(external, "external")
      }),
    ),
  )

  it.effect("failed: the error code for operators, not for external; compensation outcomes for both", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toFailed
        const { raw, operator, external } = yield* explanations(runId)
        expect(raw.reason).toBe("failed")
        expect(raw.evidence.error).toEqual({ code: "boom_code", message: "MSG-SENTINEL", step: "boom", seq: 2 })
        expect(operator.evidence.error).toEqual({ code: "boom_code", step: "boom", seq: 2, hidden: ["message"] })
        expect(operator.summary).toBe(raw.summary)
        expect(operator.summary).toBe('failed at step "boom": boom_code; 1 compensation(s) ran (1 completed)')
        expect(external.evidence.error).toBeUndefined()
        expect(external.evidence.hidden).toEqual(["error"])
        expect(external.summary).toBe("failed; 1 compensation(s) ran (1 completed)")
        expect(external.evidence.compensations).toEqual([{ step: "work", seq: 3, status: "completed" }])
        expect(external.nextActions).toEqual(raw.nextActions)
        expectClean(operator, "operator")
        expectClean(external, "external")
      }),
    ),
  )

  it.effect("cancelled: who for operators, why for auditors only", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toApproval
        yield* TestClock.adjust("5 minutes")
        yield* (yield* Mesh.Mesh).cancel(runId, { ...ctl, reason: "CANCEL-SENTINEL" })
        const { raw, auditor, operator, external } = yield* explanations(runId)
        expect(raw.summary).toBe(`cancelled by "${OPERATOR}" (CANCEL-SENTINEL) after 5m`)
        expect(auditor.summary).toBe(raw.summary)
        expect(operator.summary).toBe(`cancelled by "${OPERATOR}" after 5m`)
        expect(operator.evidence.cancelledBy).toEqual({ actor: OPERATOR, at: 300_000, hidden: ["note"] })
        expect(external.summary).toBe("cancelled after 5m")
        expect(external.evidence.cancelledBy).toEqual({ at: 300_000, hidden: ["actor", "note"] })
        expectClean(operator, "operator")
        expectClean(external, "external")
      }),
    ),
  )

  it.effect("completed and waiting_for_child: a child's explanation is redacted the same way", () =>
    withMesh(
      Effect.gen(function* () {
        const runId = yield* toSignal
        yield* (yield* Mesh.Mesh).signal(runId, "go", { word: "SIG-SENTINEL" }, ctl)
        yield* TestMesh.drain()
        const waiting = yield* explanations(runId)
        expect(waiting.raw.reason).toBe("waiting_for_child")
        expect(waiting.external.evidence.child?.explanation).toMatchObject({ reason: "paused", scope: "external" })
        expect(waiting.external.summary).toBe(waiting.raw.summary)
        expectClean(waiting.operator, "operator")
        expectClean(waiting.external, "external")

        const child = waiting.raw.evidence.child!.runId
        yield* (yield* Mesh.Mesh).resume(child, ctl)
        yield* TestMesh.drain()
        const done = yield* explanations(runId)
        expect(done.external).toMatchObject({ reason: "completed", summary: done.raw.summary, nextActions: done.raw.nextActions })
        expectClean(done.external, "external")
      }),
    ),
  )

  it.effect("running and lease_expired: the worker holding the task is named for operators only", () =>
    withMesh(
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Full, { secret: "IN-SENTINEL" })
        yield* (yield* Store).claim({ queue: "default", owner: "test-worker", now: 0, leaseUntil: 60_000, limit: 1 })
        yield* TestClock.adjust("15 seconds")
        const running = yield* explanations(runId)
        expect(running.raw.summary).toBe('step "work" attempt 1 is running on worker "test-worker" (lease expires in 45s)')
        expect(running.operator.summary).toBe(running.raw.summary)
        expect(running.external.summary).toBe('step "work" attempt 1 is running on a worker')
        expect(running.external.evidence.wait!.task).toEqual({ kind: "step", state: "claimed", attempt: 1, visibleAt: 0, hidden: ["owner", "leaseUntil"] })
        expectClean(running.external, "external")
        const tasks = yield* runViews(runId)
        expect(tasks.operator.tasks).toEqual(tasks.raw.tasks)
        expect(tasks.raw.tasks![0]).toMatchObject({ owner: "test-worker", leaseUntil: 60_000 })
        expect(tasks.external.tasks).toEqual([
          { runId, seq: 1, queue: "default", kind: "step", attempt: 1, visibleAt: 0, hidden: ["owner", "claimId", "leaseUntil"] },
        ])

        yield* TestClock.adjust("50 seconds")
        const expired = yield* explanations(runId)
        expect(expired.raw.reason).toBe("lease_expired")
        expect(expired.operator.summary).toBe(expired.raw.summary)
        expect(expired.external.summary).toBe(`a worker's lease on step "work" expired; a worker of queue "default" will reclaim it`)
        expectClean(expired.external, "external")
      }),
    ),
  )
})

/** A run written straight to the store with one step entry (no task): for reasons the engine does not lead to by itself. */
const journaled = (workflow: string, step: string, status: "pending" | "completed") =>
  Effect.gen(function* () {
    const store = yield* Store
    const id = randomUUID()
    const run = storedRun(id, workflow, "default", { secret: "IN-SENTINEL" })
    const entry = {
      seq: 1,
      kind: "step" as const,
      name: step,
      status,
      input: { secret: "IN-SENTINEL" },
      attempts: status === "completed" ? 1 : 0,
      createdAt: 0,
    }
    yield* store.createRun({ run, entries: [status === "completed" ? { ...entry, resolvedAt: 0, output: { leaked: "OUT-SENTINEL" } } : entry], tasks: [] })
    return id
  })

describe("visibility: every status and reason", () => {
  /** How to bring a run to each remaining reason. */
  const cases: ReadonlyArray<readonly [string, string, Effect.Effect<string, unknown, Mesh.Mesh | Store>]> = [
    ["waiting_for_worker", "running", Effect.map(TestMesh.start(Full, { secret: "IN-SENTINEL" }), (r) => r.runId)],
    [
      "paused",
      "paused",
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Full, { secret: "IN-SENTINEL" })
        yield* TestMesh.drain()
        return runId
      }),
    ],
    [
      "waiting_for_timer",
      "running",
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Sleepy, { secret: "IN-SENTINEL" })
        yield* TestMesh.drain()
        return runId
      }),
    ],
    [
      "compensating",
      "running",
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Failing, { secret: "IN-SENTINEL" })
        yield* TestMesh.drain()
        yield* TestClock.adjust("10 seconds")
        yield* (yield* Mesh.Mesh).executeNext()
        return runId
      }),
    ],
    [
      "failed",
      "failed",
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Refusing, { secret: "IN-SENTINEL" })
        yield* TestMesh.drain()
        return runId
      }),
    ], // A journal the code no longer fits, and one nothing can act on: written directly to the store.
    ["non_determinism", "running", journaled(Full.name, "not-in-the-code", "completed")],
    ["stalled", "running", journaled("elsewhere", "lost", "pending")],
  ]
  for (const [reason, status, arrive] of cases) {
    it.effect(`${reason}: run, history, explanation and graph agree on status and structure in every scope, payloads only for auditors`, () =>
      withMesh(
        Effect.gen(function* () {
          const mesh = yield* Mesh.Mesh
          const runId = yield* arrive
          yield* TestClock.adjust("1 second")
          const why = yield* explanations(runId)
          const runs = yield* runViews(runId)
          const graph = yield* mesh.inspectRunGraph(runId)
          expect([why.raw.reason, runs.raw.status]).toEqual([reason, status])
          expect(why.auditor).toEqual({ ...why.raw, scope: "auditor" })
          expect(runs.auditor).toEqual({ ...runs.raw, scope: "auditor" })
          expect(json(runs.auditor)).toContain("IN-SENTINEL")
          for (const scope of ["operator", "external"] as const) {
            const actor = scope === "operator" ? OPERATOR : EXTERNAL
            const g = yield* mesh.inspectRunGraph(runId, { as: actor })
            expect([why[scope].reason, why[scope].status, why[scope].nextActions]).toEqual([why.raw.reason, why.raw.status, why.raw.nextActions])
            expect(runs[scope].history!.map((e) => [e.seq, e.kind, e.name, e.status])).toEqual(runs.raw.history!.map((e) => [e.seq, e.kind, e.name, e.status]))
            expect([g.nodes.map((n) => n.status), g.edges, g.path, g.current]).toEqual([
              graph.nodes.map((n) => n.status),
              graph.edges,
              graph.path,
              graph.current,
            ])
            expect(runs[scope].hidden).toContain("input")
            expectClean(why[scope], scope)
            expectClean(runs[scope], scope)
            expectClean(g, scope)
          }
        }),
      ),
    )
  }

  it.effect("Workflow.fail: its reason and details are payloads; operators see only the code", () =>
    withMesh(
      Effect.gen(function* () {
        const { runId } = yield* TestMesh.start(Refusing, { secret: "IN-SENTINEL" })
        yield* TestMesh.drain()
        const { raw, auditor, operator, external } = yield* runViews(runId, false)
        expect(json(auditor)).toContain("DETAIL-SENTINEL")
        expect(json(auditor)).toContain("REFUSAL-SENTINEL")
        expect(operator.error).toEqual({ code: raw.error!.code, hidden: ["message", "details"] })
        expect(external.hidden).toEqual(["input", "error"])
      }),
    ),
  )
})

describe("visibility: graphs and lists", () => {
  it.effect("graph: structure for all scopes, node error codes for operators", () =>
    withMesh(
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const runId = yield* toFailed
        const raw = yield* mesh.inspectRunGraph(runId)
        const auditor = yield* mesh.inspectRunGraph(runId, { as: AUDITOR })
        const operator = yield* mesh.inspectRunGraph(runId, { as: OPERATOR })
        const external = yield* mesh.inspectRunGraph(runId, { as: { id: "someone", roles: ["customer"] } })
        expect(auditor).toEqual({ ...raw, scope: "auditor" })
        for (const view of [operator, external]) {
          expect(view.edges).toEqual(raw.edges)
          expect(view.path).toEqual(raw.path)
          expect(view.current).toEqual(raw.current)
          expect(view.nodes.map((n) => [n.id, n.kind, n.name, n.status])).toEqual(raw.nodes.map((n) => [n.id, n.kind, n.name, n.status]))
          expectClean(view, "operator")
        }
        expect(json(raw)).toContain("MSG-SENTINEL")
        const boom = raw.nodes.find((n) => n.name === "boom")!
        expect(operator.nodes.find((n) => n.name === "boom")).toEqual({ ...boom, error: { code: "boom_code", hidden: ["message"] } })
        expect(external.scope).toBe("external")
        expect(external.nodes.find((n) => n.name === "boom")).toEqual({
          ...Object.fromEntries(Object.entries(boom).filter(([k]) => k !== "error")),
          hidden: ["error"],
        })
        // A child link keeps its run id, workflow and status.
        const parent = yield* toCompleted
        const graph = yield* mesh.inspectRunGraph(parent, { as: EXTERNAL })
        expect(graph.children).toEqual((yield* mesh.inspectRunGraph(parent)).children)
        expectClean(graph, "external")
      }),
    ),
  )

  it.effect("list and page: each run redacted, the page's other fields kept", () =>
    withMesh(
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        yield* toFailed
        yield* toCompleted
        const raw = (yield* mesh.listRuns({})).runs
        const operator = (yield* mesh.listRuns({}, { as: OPERATOR })).runs
        const external = (yield* mesh.listRuns(undefined, { as: EXTERNAL })).runs
        const auditor = (yield* mesh.listRuns({}, { as: { id: "x", roles: ["support", "audit"] } })).runs
        expect(raw.length).toBe(3)
        expect(auditor).toEqual(raw.map((r) => ({ ...r, scope: "auditor" })))
        expect(operator.map((r) => [r.id, r.status, r.scope])).toEqual(raw.map((r) => [r.id, r.status, "operator"]))
        expect(operator.find((r) => r.status === "failed")!.error).toMatchObject({ code: "boom_code" })
        expect(external.every((r) => r.error === undefined && r.input === undefined && r.hidden?.includes("input"))).toBe(true)
        expectClean(operator, "operator")
        expectClean(external, "external")
        expect(json(auditor)).toContain("IN-SENTINEL")

        const page = redactPage({ runs: raw as ReadonlyArray<RunView>, nextCursor: "c-1", total: 3 }, EXTERNAL, policy)
        expect(page.nextCursor).toBe("c-1")
        expect(page.total).toBe(3)
        expect(page.runs).toEqual(external)
        expect(redact({ runs: raw }, OPERATOR, policy).runs).toEqual(operator)
        expect(redact(raw, OPERATOR, policy)).toEqual(operator)
      }),
    ),
  )
})
