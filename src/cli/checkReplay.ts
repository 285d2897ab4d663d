/**
 * `squid-mesh check-replay --module <file>`: the deploy gate. Replays every open run against
 * the module's workflows and prints the report as JSON. Read-only: on Postgres a session that
 * cannot write, whose schema must be current; on the embedded store, through the store (the
 * holder's socket when an app holds it), never creating or migrating it.
 * Exit 0: every open run replays; 1: divergent runs; 2: could not check.
 */
import { Effect, Layer } from "effect"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import type { ReplayReport } from "../../runtime/checkReplay.js"
import type { StoreError, StoreLockedError } from "../core/errors.js"
import * as Mesh from "../Mesh.js"
import * as PgliteStore from "../store/pglite.js"
import * as PostgresStore from "../store/postgres.js"
import { connect } from "../store/postgres.js"
import type { Store } from "../store/Store.js"
import { parseArgs } from "./args.js"
import { CliError, describeError, EXIT, type ExitCode } from "./errors.js"
import { loadWorkflows } from "./module.js"
import { printJson } from "./output.js"
import { announceStore, describeUrl, isEmbeddedStore, requirePostgresSchema, STORE_FLAGS, storeTarget } from "./store.js"

/** Runs Mesh.checkReplay over a store layer; a store failure is exit 2 (the gate could not check). */
const replayOver = (workflows: ReadonlyArray<AnyWorkflow>, store: Layer.Layer<Store, StoreError | StoreLockedError>, label?: string): Promise<ReplayReport> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(Mesh.Mesh, (m) => Effect.sync(() => announceStore(label ?? PgliteStore.describeStore(m.store))).pipe(Effect.zipRight(m.checkReplay()))),
    ).pipe(
      Effect.provide(Mesh.layer({ workflows }).pipe(Layer.provide(store))),
      Effect.mapError((error) => new CliError({ message: `check-replay: ${describeError(error)}`, exitCode: EXIT.usage })),
    ),
  )

/** check-replay against a Postgres URL: a read-only session, never a migration. */
const checkReplayPostgres = async (workflows: ReadonlyArray<AnyWorkflow>, url: string): Promise<ReplayReport> => {
  await requirePostgresSchema(url).catch((error: unknown) => {
    throw error instanceof CliError ? error : new CliError({ message: `check-replay: cannot read the database: ${describeError(error)}`, exitCode: EXIT.usage })
  })
  const sql = connect(url, { max: 2, readOnly: true })
  try {
    return await replayOver(workflows, PostgresStore.layer({ sql, migrate: false }), `${describeUrl(url)} (read-only)`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** check-replay against an embedded store: it must exist and hold a current squid-mesh schema. */
const checkReplayEmbedded = (workflows: ReadonlyArray<AnyWorkflow>, dataDir: string): Promise<ReplayReport> => {
  // PGlite would create an empty database in a missing or empty directory: refuse instead.
  if (!isEmbeddedStore(dataDir)) throw new CliError({ message: `check-replay: ${dataDir} is not a PGlite data directory`, exitCode: EXIT.usage })
  return replayOver(workflows, PgliteStore.layer({ dataDir, migrate: "require", mustExist: true, progress: false }))
}

/** `check-replay --module <file> [--url <url> | --data-dir <dir> | --pglite <dir>]`. */
export const checkReplayCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("check-replay", words, { ...STORE_FLAGS, pglite: "string", module: "string", json: "boolean" })
  args.atMostPositionals(0)
  const modulePath = args.required("module", "file")
  if (args.string("pglite") !== undefined && args.string("data-dir") !== undefined) throw args.usage("give either --pglite or --data-dir, not both")
  const target = storeTarget(args, args.string("pglite") !== undefined ? "pglite" : "data-dir")
  const workflows = await loadWorkflows("check-replay", modulePath)
  const report = target.kind === "postgres" ? await checkReplayPostgres(workflows, target.url) : await checkReplayEmbedded(workflows, target.dataDir)
  printJson(report)
  return report.ok ? EXIT.ok : EXIT.failed
}
