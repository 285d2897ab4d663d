/**
 * `transaction: true` steps write through the journal's own SQL transaction: their rows
 * commit with the recorded result, or not at all (step failure, fenced commit).
 */
import { Effect, Layer, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { Mesh, PgliteStore, PostgresStore, Step, Store, Trigger, Workflow } from "../../src/index.js"
import type { StoreService } from "../../src/store/Store.js"
import { freshDatabase } from "../support/database.js"

type Query = (text: string, params?: ReadonlyArray<unknown>) => Promise<unknown>

/** Runs SQL through either driver's transaction handle. */
const queryOf = (handle: unknown): Query => {
  const h = handle as {
    unsafe?: (t: string, p?: ReadonlyArray<unknown>) => Promise<unknown>
    query?: (t: string, p?: ReadonlyArray<unknown>) => Promise<unknown>
  }
  if (h.unsafe) return (t, p) => h.unsafe!(t, p ?? [])
  return (t, p) => h.query!(t, [...(p ?? [])])
}

let failFirst = true
const Book = Step.make("book", {
  transaction: true,
  retry: { maxAttempts: 2 },
  run: async (input: { ref: string }, ctx) => {
    await queryOf(ctx.sql)("INSERT INTO ledger (ref, attempt) VALUES ($1, $2)", [input.ref, ctx.attempt])
    if (failFirst && ctx.attempt === 1) throw new Error("boom after writing")
    return { booked: input.ref }
  },
})
const Booking = Workflow.make({
  name: "booking",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ ref: Schema.String }) }) },
  *run(input) {
    return yield* Book(input)
  },
})

const ensureLedger = (store: StoreService) =>
  store.transaction!((scope) => Effect.promise(() => queryOf(scope.handle)("CREATE TABLE IF NOT EXISTS ledger (ref text, attempt int)")))

const rows = (store: StoreService) =>
  Effect.gen(function* () {
    let out: ReadonlyArray<{ ref: string; attempt: number }> = []
    yield* store.transaction!((scope) =>
      Effect.promise(async () => {
        const r = (await queryOf(scope.handle)("SELECT ref, attempt FROM ledger ORDER BY ref, attempt")) as
          | { rows?: Array<{ ref: string; attempt: number }> }
          | Array<{ ref: string; attempt: number }>
        out = Array.isArray(r) ? r.map((x) => ({ ref: x.ref, attempt: Number(x.attempt) })) : r.rows!.map((x) => ({ ref: x.ref, attempt: Number(x.attempt) }))
      }),
    )
    return out
  })

const suite = (name: string, storeLayer: () => Layer.Layer<Store, unknown>) =>
  describe(`transactional steps on ${name}`, () => {
    const run = <A>(program: Effect.Effect<A, unknown, Mesh.Mesh | Store>) =>
      Effect.runPromise(
        Effect.scoped(program.pipe(Effect.provide(Layer.provideMerge(Mesh.layer({ workflows: [Booking] }), storeLayer())))) as Effect.Effect<A, unknown, never>,
      )

    it("commits the step's row with its result; a failed attempt's row is rolled back", () =>
      run(
        Effect.gen(function* () {
          const mesh = yield* Mesh.Mesh
          const store = yield* Store
          yield* ensureLedger(store)
          failFirst = true
          const { runId } = yield* mesh.start(Booking, { ref: "r1" })
          expect(yield* mesh.executeNext()).toMatchObject({ result: "retry_scheduled" })
          expect(yield* rows(store)).toEqual([])
          expect(yield* mesh.executeNext()).toMatchObject({ result: "completed", runStatus: "completed" })
          expect(yield* rows(store)).toEqual([{ ref: "r1", attempt: 2 }])
          expect((yield* mesh.inspectRun(runId)).output).toEqual({ booked: "r1" })
        }),
      ))

    it("rolls the step's row back when the commit is fenced (run finished meanwhile)", () =>
      run(
        Effect.gen(function* () {
          const mesh = yield* Mesh.Mesh
          const store = yield* Store
          yield* ensureLedger(store)
          failFirst = false
          const { runId } = yield* mesh.start(Booking, { ref: "r2" })
          const [task] = yield* store.claim({ queue: "default", owner: "x", now: Date.now(), leaseUntil: Date.now() + 60_000, limit: 1 })
          // Someone else finishes the run first: any late result must be fenced out.
          expect(
            yield* store.commit({
              runId,
              now: Date.now(),
              expectedRevision: 1,
              run: { status: "failed", error: { code: "x", message: "x" } },
              resolve: [],
              append: [],
              attempts: [],
              tasks: [],
              withdraw: [],
            }),
          ).toMatchObject({ _tag: "Committed" })
          expect(task).toBeDefined()
          // The old claim is gone with the run's tasks; replaying a fenced commit inside a transaction writes nothing.
          const fenced = yield* store.transaction!((scope) =>
            Effect.gen(function* () {
              yield* Effect.promise(() => queryOf(scope.handle)("INSERT INTO ledger (ref, attempt) VALUES ('r2', 1)"))
              const r = yield* scope.commit({
                runId,
                now: Date.now(),
                fence: { runId, seq: 1, claimId: task!.claimId, token: task!.token },
                task: { _tag: "Done" },
                resolve: [],
                append: [],
                attempts: [],
                tasks: [],
                withdraw: [],
              })
              return r._tag === "Rejected" ? yield* Effect.fail(r) : r
            }),
          ).pipe(Effect.flip)
          expect(fenced).toMatchObject({ _tag: "Rejected", reason: "terminal_run" })
          expect((yield* rows(store)).filter((r) => r.ref === "r2")).toEqual([])
        }),
      ))
  })

suite("PGlite", () => PgliteStore.layer())

let db: { url: string; drop: () => Promise<void> }
beforeAll(async () => {
  db = await freshDatabase(inject("databaseUrl"), "tx")
})
afterAll(() => db.drop())
suite("Postgres", () => PostgresStore.layer({ url: db.url, max: 4 }))
