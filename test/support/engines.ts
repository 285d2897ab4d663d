/**
 * Scenarios run as after restarts, on every backend: one store and one TestClock per scenario,
 * and every `act` in a fresh engine (an empty sticky cache), so each task replays its run from
 * the journal. `onEveryBackend` registers the scenarios on memory, PGlite and Postgres, with
 * the temporary data directories and database cleaned up afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, type Duration, Effect, Exit, Layer, ManagedRuntime, TestClock, TestContext } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import { Mesh, MemoryStore, PgliteStore, PostgresStore, type Store } from "../../src/index.js"
import { freshDatabase } from "./database.js"

/** A store and a TestClock; `act` and `drain` run in a fresh engine made with `config` (and `override`). */
export const freshEngines = (store: Layer.Layer<Store, unknown>, config: Mesh.MeshConfig) => {
  const runtime = ManagedRuntime.make(Layer.merge(store as Layer.Layer<Store>, TestContext.TestContext))
  const act = <A>(f: (mesh: Mesh.MeshService) => Effect.Effect<A, unknown>, override: Partial<Mesh.MeshConfig> = {}) =>
    runtime
      .runPromiseExit(Effect.scoped(Effect.flatMap(Mesh.make({ ...config, ...override }), f)) as Effect.Effect<A, unknown, never>)
      .then((exit) => (Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))))
  /** Executes every task due now. */
  const drain = (override: Partial<Mesh.MeshConfig> = {}) =>
    act(
      (mesh) =>
        Effect.gen(function* () {
          for (let i = 0; i < 500; i++) if ((yield* mesh.executeNext({ ownerId: "w" }))._tag === "Idle") return
        }),
      override,
    )
  const adjust = (d: Duration.DurationInput) => runtime.runPromise(TestClock.adjust(d))
  return { act, drain, adjust, close: () => runtime.dispose() }
}

/** A run's history as `name:status` lines, in journal order. */
export const names = (history: ReadonlyArray<{ name: string; status: string }> | undefined) => history!.map((e) => `${e.name}:${e.status}`)

/** Registers `scenarios` on memory, PGlite (a temporary directory) and Postgres (a fresh database named after `prefix`). */
export const onEveryBackend = (prefix: string, scenarios: (backend: string, store: () => Layer.Layer<Store, unknown>) => void): void => {
  const dirs: Array<string> = []
  let db: { url: string; drop: () => Promise<void> }
  beforeAll(async () => {
    db = await freshDatabase(inject("databaseUrl"), prefix)
  })
  afterAll(async () => {
    await db.drop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  scenarios("memory", () => MemoryStore.layer)
  scenarios("PGlite", () => {
    const dir = mkdtempSync(join(tmpdir(), `squid-mesh-${prefix}-`))
    dirs.push(dir)
    return PgliteStore.layer({ dataDir: dir })
  })
  scenarios("Postgres", () => PostgresStore.layer({ url: db.url, max: 2 }))
}
