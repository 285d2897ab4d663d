/**
 * Commits that fail with a transient StoreError are retried with backoff (real time, so
 * `it.live`); other StoreErrors fail at once. A lost reply after a successful commit must not
 * apply the step twice: the retry is fenced.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { Mesh, Step, StoreError, Trigger, Workflow } from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { openMemory } from "../../src/store/embedded/open.js"
import { pgliteClient } from "../../src/store/embedded/pgliteClient.js"
import { migrate } from "../../src/store/sql/migrate.js"
import type { SqlClient } from "../../src/store/sql/SqlClient.js"
import { makeSqlStore } from "../../src/store/sql/SqlStore.js"
import type { StoreService } from "../../src/store/Store.js"

let calls = 0
const Once = Step.make("once", { run: () => ++calls })
const Wf = Workflow.make({
  name: "resilient",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
  *run() {
    return yield* Once()
  },
})

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
        return left-- > 0 ? (applyFirst ? Effect.asVoid(base.commit(c)) : Effect.void).pipe(Effect.zipRight(Effect.fail(failure))) : base.commit(c)
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
  }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store: flaky(1, true) }))),
)

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

/**
 * The SQL store (on PGlite) with its commit statements intercepted: "sql-bug" sends a broken
 * statement (the database answers with a real undefined-table error), "connection" fails the
 * first two with a socket error, as a dropped connection would. `commits` counts attempts.
 */
const interceptedSqlStore = (fault: "sql-bug" | "connection") =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => openMemory()),
      (db) => Effect.promise(() => db.close()),
    )
    const client = pgliteClient(db)
    yield* Effect.promise(() => migrate(client))
    let commits = 0
    const intercepted: SqlClient = {
      ...client,
      query: <T>(text: string, params?: ReadonlyArray<unknown>) => {
        if (!text.startsWith("WITH c AS")) return client.query<T>(text, params)
        commits++
        if (fault === "sql-bug") return client.query<T>(text.replace("FROM squid_mesh.runs r", "FROM squid_mesh.no_such_runs r"), params)
        if (commits <= 2) return Promise.reject(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))
        return client.query<T>(text, params)
      },
    }
    return { store: makeSqlStore(intercepted, "pglite"), commits: () => commits }
  })

it.live("on a SQL store, a SQL error in the commit is not retried; a dropped connection is", () =>
  Effect.scoped(
    Effect.gen(function* () {
      calls = 0
      const bug = yield* interceptedSqlStore("sql-bug")
      const failed = yield* Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        yield* mesh.start(Wf, {})
        return yield* Effect.flip(mesh.executeNext())
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store: bug.store })))
      expect(failed).toMatchObject({ _tag: "StoreError", operation: "commit", transient: false, cause: { code: "42P01" } })
      expect(bug.commits()).toBe(1)

      calls = 0
      const dropped = yield* interceptedSqlStore("connection")
      const result = yield* Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* mesh.start(Wf, {})
        const executed = yield* mesh.executeNext()
        return { executed, run: yield* mesh.inspectRun(runId) }
      }).pipe(Effect.provide(TestMesh.layer({ workflows: [Wf], store: dropped.store })))
      expect(result.executed).toMatchObject({ _tag: "Executed", result: "completed" })
      expect(result.run).toMatchObject({ status: "completed", output: 1 })
      expect(dropped.commits()).toBe(3)
      expect(calls).toBe(1)
    }),
  ),
)
