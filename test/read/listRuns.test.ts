/**
 * Listing runs through the public API: run attributes given at start (validated, secret-looking
 * ones refused, kept by a rerun), every filter's validation (nothing is queried or written on
 * bad input), and paging with `nextCursor`, newest first and by deadline.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Mesh, Step, Trigger, Workflow, createMesh, type ListRunsFilter } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"

const Echo = Step.make("echo", { run: (n: number) => n })
const Job = Workflow.make({
  name: "job",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ n: Schema.Number }) }) },
  *run({ n }) {
    return yield* Echo(n)
  },
})
const Review = Workflow.make({
  name: "review",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ days: Schema.Number }) }) },
  *run() {
    return yield* Workflow.approval("sign-off", { deadline: { within: "2 days", dueSoon: "1 day" }, onDeadline: "none" })
  },
})
/** A fresh in-memory Mesh per test. */
const layer = () => TestMesh.layer({ workflows: [Job, Review] })

describe("run attributes", () => {
  it.effect("are stored with the run, shown by inspection, listed by, and kept by a rerun", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const acme = yield* mesh.start(Job, { n: 1 }, { attributes: { tenant: "acme", region: "eu" } })
      const other = yield* mesh.start(Job, { n: 2 }, { attributes: { tenant: "globex", region: "eu" } })
      const plain = yield* mesh.start(Job, { n: 3 })
      yield* TestMesh.drain()
      expect((yield* mesh.inspectRun(acme.runId)).attributes).toEqual({ tenant: "acme", region: "eu" })
      expect("attributes" in (yield* mesh.inspectRun(plain.runId))).toBe(false)
      expect((yield* mesh.listRuns({ attributes: { tenant: "acme" } })).runs.map((r) => r.id)).toEqual([acme.runId])
      expect((yield* mesh.listRuns({ attributes: { region: "eu" } })).runs.map((r) => r.id).sort()).toEqual([acme.runId, other.runId].sort())
      expect((yield* mesh.listRuns({ attributes: { region: "eu", tenant: "initech" } })).runs).toEqual([])
      yield* TestClock.adjust("1 minute")
      const again = yield* mesh.rerun(acme.runId, { actor: "ops" })
      expect((yield* mesh.inspectRun(again.runId)).attributes).toEqual({ tenant: "acme", region: "eu" })
      expect((yield* mesh.listRuns({ attributes: { tenant: "acme" } })).runs.map((r) => r.id)).toEqual([again.runId, acme.runId])
    }).pipe(Effect.provide(layer())),
  )

  const refused: ReadonlyArray<readonly [string, unknown, string]> = [
    ["not an object", ["tenant"], "attributes"],
    ["a non-string value", { tenant: 42 }, "attributes.tenant"],
    ["a bad key", { "9lives": "x" }, "attributes.9lives"],
    ["a key over 64 characters", { [`k${"e".repeat(64)}`]: "x" }, `attributes.k${"e".repeat(64)}`],
    ["a value over 256 characters", { tenant: "x".repeat(257) }, "attributes.tenant"],
    ["more than 16 pairs", Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])), "attributes"],
    ["a secret-looking key", { apiKey: "abc" }, "attributes.apiKey"],
    ["a secret-looking value", { note: "sk_live_abcdefghijklmnop" }, "attributes.note"],
    ["a bearer credential", { caller: "Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl" }, "attributes.caller"],
  ]
  for (const [what, attributes, option] of refused) {
    it.effect(`refuses ${what} with an InvalidOptionError naming ${option}, writing nothing`, () =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const error = yield* Effect.flip(mesh.start(Job, { n: 1 }, { attributes: attributes as Record<string, string> }))
        expect(error).toMatchObject({ _tag: "InvalidOptionError", option })
        expect(error.message).not.toContain("sk_live_abcdefghijklmnop")
        expect(yield* mesh.listRuns()).toEqual({ runs: [] })
      }).pipe(Effect.provide(layer())),
    )
  }

  it("the Promise client takes and refuses attributes the same way", async () => {
    const mesh = await createMesh({ workflows: [Job], store: { kind: "memory" } })
    try {
      const { runId } = await mesh.start(Job, { n: 1 }, { attributes: { tenant: "acme" } })
      expect((await mesh.inspectRun(runId)).attributes).toEqual({ tenant: "acme" })
      await expect(mesh.start(Job, { n: 2 }, { attributes: { password: "hunter2" } })).rejects.toMatchObject({
        _tag: "InvalidOptionError",
        option: "attributes.password",
      })
      expect((await mesh.listRuns()).runs.map((r) => r.id)).toEqual([runId])
    } finally {
      await mesh.close()
    }
  })
})

describe("listRuns", () => {
  const invalid: ReadonlyArray<readonly [string, ListRunsFilter, string]> = [
    ["an unknown status", { status: "bogus" as never }, "status"],
    ["an unknown status in a list", { status: ["running", "late" as never] }, "status"],
    ["an empty status list", { status: [] }, "status"],
    ["an unknown filter", { tenant: "acme" } as never, "tenant"],
    ["a limit of 0", { limit: 0 }, "limit"],
    ["a limit over 1,000", { limit: 1001 }, "limit"],
    ["a fractional limit", { limit: 2.5 }, "limit"],
    ["a malformed cursor", { cursor: "not-a-cursor" }, "cursor"],
    ["an inverted created range", { created: { from: 2000, to: 1000 } }, "created.to"],
    ["an empty updated range", { updated: { from: new Date(5), to: new Date(5) } }, "updated.to"],
    ["a bad time", { created: { from: "yesterday" as never } }, "created.from"],
    ["a non-string attribute", { attributes: { tenant: 7 as never } }, "attributes.tenant"],
    ["a parent id that is not a UUID", { parentRunId: "parent-1" }, "parentRunId"],
    ["an empty workflow", { workflow: "" }, "workflow"],
    ["an unknown deadline status", { deadline: "late" as never }, "deadline"],
  ]
  for (const [what, filter, option] of invalid) {
    it.effect(`refuses ${what} (InvalidOptionError on ${option})`, () =>
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        expect(yield* Effect.flip(mesh.listRuns(filter))).toMatchObject({ _tag: "InvalidOptionError", option })
      }).pipe(Effect.provide(layer())),
    )
  }

  it.effect("pages newest first with nextCursor, continuing exactly after the last run even as new runs arrive", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const started: Array<string> = []
      for (let n = 0; n < 7; n++) {
        started.push((yield* mesh.start(Job, { n }, { attributes: { batch: "b1" } })).runId)
        if (n % 2 === 0) yield* TestClock.adjust("1 second") // ties in between
      }
      const expected = (yield* mesh.listRuns({ limit: 1000 })).runs.map((r) => r.id)
      expect([...expected].sort()).toEqual([...started].sort())
      const seen: Array<string> = []
      let page = yield* mesh.listRuns({ workflow: "job", limit: 3 })
      for (;;) {
        seen.push(...page.runs.map((r) => r.id))
        yield* mesh.start(Job, { n: 99 }, { attributes: { batch: "b1" } }) // newer: on no later page
        yield* TestClock.adjust("1 second")
        if (!page.nextCursor) break
        expect(page.runs).toHaveLength(3)
        page = yield* mesh.listRuns({ workflow: "job", limit: 3, cursor: page.nextCursor })
      }
      expect(seen).toEqual(expected)
      // a cursor of one kind of listing is refused by the other
      const first = yield* mesh.listRuns({ limit: 1 })
      expect(yield* Effect.flip(mesh.listRuns({ deadline: "on_time", cursor: first.nextCursor! }))).toMatchObject({ option: "cursor" })
      // filters combine: status list, time range, attributes
      yield* TestMesh.drain()
      const done = yield* mesh.listRuns({ status: ["completed", "failed"], attributes: { batch: "b1" }, created: { from: 0, to: Date.now() + 1e12 } })
      expect(done.runs.length).toBe(started.length + 3)
      expect(done.runs.every((r) => r.status === "completed")).toBe(true)
    }).pipe(Effect.provide(layer())),
  )

  it.effect("pages a deadline listing earliest due first", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        ids.push((yield* mesh.start(Review, { days: i })).runId)
        yield* TestClock.adjust("1 hour")
      }
      const first = yield* mesh.listRuns({ deadline: "on_time", limit: 2 })
      expect(first.runs.map((r) => r.id)).toEqual(ids.slice(0, 2))
      const second = yield* mesh.listRuns({ deadline: "on_time", limit: 2, cursor: first.nextCursor! })
      expect(second.runs.map((r) => r.id)).toEqual(ids.slice(2, 4))
      const last = yield* mesh.listRuns({ deadline: "on_time", limit: 2, cursor: second.nextCursor! })
      expect(last).toMatchObject({ runs: [{ id: ids[4], deadline: { status: "on_time" } }] })
      expect(last.nextCursor).toBeUndefined()
      yield* TestClock.adjust("1 day")
      expect((yield* mesh.listRuns({ deadline: "due_soon", workflow: "review" })).runs.map((r) => r.id)).toEqual(ids)
    }).pipe(Effect.provide(layer())),
  )
})
