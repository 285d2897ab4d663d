/**
 * Which store a command works on, and opening it. `--url <postgres url>`, `--data-dir <dir>`
 * (an embedded PGlite store), else `$DATABASE_URL`, else the project's embedded store
 * (`.squid-mesh/` at the project root, or `$SQUID_MESH_DATA_DIR`). An embedded store held by an
 * app is reached through the app's socket (PgliteStore does that). The store is named on
 * stderr (`squid-mesh: store: …`), a Postgres URL without its credentials.
 */
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { Context, Effect, Layer, Logger } from "effect"
import type { AnyWorkflow } from "../../dsl/Workflow.js"
import { createMesh, type MeshClient } from "../client.js"
import { StoreError } from "../core/errors.js"
import * as PgliteStore from "../store/pglite.js"
import * as PostgresStore from "../store/postgres.js"
import { pendingMigrations } from "../store/sql/migrate.js"
import { Store } from "../store/Store.js"
import type { Args, FlagSpec } from "./args.js"
import { CliError, EXIT } from "./errors.js"

/** The store flags every store command accepts. */
export const STORE_FLAGS: FlagSpec = { url: "string", "data-dir": "string" }

/** The store a command works on. */
export type StoreTarget = { readonly kind: "postgres"; readonly url: string } | { readonly kind: "embedded"; readonly dataDir: string }

/** A Postgres URL as the CLI names it: host, port and database, never the credentials. */
export const describeUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `postgres ${u.hostname || "localhost"}${u.port ? `:${u.port}` : ""}${u.pathname || "/"}`
  } catch {
    return "postgres (unparsable URL)"
  }
}

/** Says on stderr which store a command works on (stdout stays machine-readable). */
export const announceStore = (description: string): void => console.error(`squid-mesh: store: ${description}`)

/**
 * The store of a command: `--url`, `--data-dir` (or the legacy `dataDirFlag`), `$DATABASE_URL`,
 * then the project's embedded store. Giving both a URL and a directory is a usage error.
 */
export const storeTarget = (args: Args, dataDirFlag = "data-dir"): StoreTarget => {
  const url = args.string("url")
  const dataDir = args.string(dataDirFlag)
  if (url !== undefined && dataDir !== undefined) throw args.usage(`give either --url or --${dataDirFlag}, not both`)
  if (url !== undefined) return { kind: "postgres", url }
  if (dataDir !== undefined) return { kind: "embedded", dataDir: resolve(process.cwd(), dataDir) }
  const env = process.env.DATABASE_URL
  if (env !== undefined && env.trim() !== "") return { kind: "postgres", url: env }
  return { kind: "embedded", dataDir: PgliteStore.resolveDataDir() }
}

/** Whether a directory holds a PGlite database (so opening it never creates one by mistake). */
export const isEmbeddedStore = (dataDir: string): boolean => existsSync(join(dataDir, "PG_VERSION"))

/**
 * Refuses (exit 2) unless the database at `url` has this package's whole schema; a database
 * that cannot be reached is a `StoreError` (exit 5). Nothing is migrated.
 */
export const requirePostgresSchema = async (url: string): Promise<void> => {
  const sql = PostgresStore.connect(url, { max: 1, readOnly: true })
  try {
    let pending: Awaited<ReturnType<typeof pendingMigrations>>
    try {
      pending = await pendingMigrations(PostgresStore.postgresClient(sql))
    } catch (cause) {
      throw new StoreError({ operation: "connect", cause, transient: true })
    }
    if (pending === undefined) throw new CliError({ message: "the database has no squid-mesh schema; run `squid-mesh migrate` first", exitCode: EXIT.usage })
    if (pending.length > 0) {
      throw new CliError({
        message: `the database is behind this package's schema (missing ${pending.map((m) => m.filename).join(", ")}); run \`squid-mesh migrate\` first`,
        exitCode: EXIT.usage,
      })
    }
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** How a command opens its store. */
export interface OpenOptions {
  /** Workflows to register (`worker`, `check-replay`, or `--module` on a control); none by default. */
  readonly workflows?: ReadonlyArray<AnyWorkflow>
  /**
   * A long-lived app process (`worker`): it may create the embedded store and migrates the
   * schema. Otherwise the store must exist with a current schema (nothing is created).
   */
  readonly create?: boolean
}

/** Effect's log lines go to stderr: stdout carries the command's output. */
const stderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

/** The embedded store's layer, announcing the store it opened (the holder's socket, or the directory itself). */
const embeddedLayer = (dataDir: string, options: OpenOptions) =>
  PgliteStore.layer({
    dataDir,
    mustExist: options.create !== true,
    migrate: true,
  }).pipe(Layer.tap((context) => Effect.sync(() => announceStore(PgliteStore.describeStore(Context.get(context, Store))))))

/**
 * Opens the Promise API on a store. A missing embedded store or schema is a usage error
 * (exit 2) unless `create`; an unreachable store fails with the store's own tagged error.
 */
export const openMesh = async (target: StoreTarget, options: OpenOptions = {}): Promise<MeshClient> => {
  const workflows = options.workflows ?? []
  if (target.kind === "postgres") {
    announceStore(describeUrl(target.url))
    if (options.create !== true) await requirePostgresSchema(target.url)
    const layer = PostgresStore.layer({ url: target.url, max: 4, migrate: options.create === true })
    return createMesh({ workflows, store: { kind: "layer", layer: Layer.merge(layer, stderrLogger) } })
  }
  if (options.create !== true && !isEmbeddedStore(target.dataDir)) {
    throw new CliError({
      message: `no embedded store in ${target.dataDir} (start the app that uses it first, or give --data-dir <dir> or --url <postgres url>)`,
      exitCode: EXIT.usage,
    })
  }
  return createMesh({ workflows, store: { kind: "layer", layer: Layer.merge(embeddedLayer(target.dataDir, options), stderrLogger) } })
}
