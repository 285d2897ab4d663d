/**
 * The `squid-mesh` command line. `main` runs one command and resolves to its exit code; the
 * executable (src/bin.ts) only calls it, so the CLI works through npm's .bin symlink, npx,
 * a global install or `node dist/src/bin.js` alike.
 *
 * Exit codes: 0 ok; 1 the check failed (check-replay found divergent runs, doctor found a
 * problem); 2 the command could not run (bad usage, missing store or schema, unreadable module).
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect, Layer } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { ReplayReport } from "../runtime/checkReplay.js"
import * as Mesh from "./Mesh.js"
import * as PgliteStore from "./store/pglite.js"
import * as PostgresStore from "./store/postgres.js"
import { connect, postgresClient, postgresDriverVersion } from "./store/postgres.js"
import { loadMigrations, migrate, pendingMigrations, requireCurrentSchema } from "./store/sql/migrate.js"
import type { SqlClient } from "./store/sql/SqlClient.js"
import type { Store } from "./store/Store.js"
import type { StoreError, StoreLockedError } from "./core/errors.js"

/** The usage text, printed by `--help` (stdout) and after a usage error (stderr). */
export const USAGE = `usage: squid-mesh <command> [options]

commands:
  migrate [--url <postgres url>]        apply pending migrations (default: $DATABASE_URL)
  migrations list                       list the migration files shipped with the package
  migrations print                      print their SQL in order (pipe it into a host migration)
  migrations copy <dir> [--prefix P]    copy them into <dir> (file names get prefix P, default "squid_mesh_")
  doctor [--url <postgres url>]         report the runtime, the driver and its crash guard; with --url,
                                        check the connection and the schema
  check-replay --module <file> [--url <postgres url> | --pglite <dir>]
                                        deploy gate: replay every open run against the workflows exported
                                        by <file> (a \`workflows\` array or a default export). Read-only.
                                        Default store: $DATABASE_URL, else the project's embedded store
                                        (.squid-mesh/ at the project root, or $SQUID_MESH_DATA_DIR),
                                        through the socket of the process that holds it.
                                        exit 0: all replay; 1: divergent runs; 2: could not check

Every command that opens a store names it on stderr ("squid-mesh: store: ...").
  help, --help                          print this text`

/** A command that cannot run; `main` prints `message` on stderr and exits with `exitCode`. */
export class CliError extends Data.TaggedError("CliError")<{
  readonly message: string
  readonly exitCode: 1 | 2
  /** Print the usage after the message (a usage mistake). */
  readonly usage?: boolean
}> {}

const usageError = (message: string) => new CliError({ message, exitCode: 2, usage: true })

/** The value after `name` in `args`; a usage error when the flag is last or followed by another flag. */
const option = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const value = args[i + 1]
  if (value === undefined || value.startsWith("--")) throw usageError(`${name} needs a value`)
  return value
}

/** Refuses (exit 2) unless the schema at `client` has every migration of this package. */
const requireSchema = (client: SqlClient, where: string): Promise<void> =>
  requireCurrentSchema(client, where).catch((error: unknown) => {
    throw new CliError({ message: error instanceof Error ? error.message : String(error), exitCode: 2 })
  })

/** Loads the workflows a check-replay module exports (`workflows` array or default export). */
const loadWorkflows = async (modulePath: string): Promise<Array<AnyWorkflow>> => {
  const file = resolve(process.cwd(), modulePath)
  if (!existsSync(file)) throw new CliError({ message: `check-replay: module not found: ${file}`, exitCode: 2 })
  let loaded: { workflows?: unknown; default?: unknown }
  try {
    loaded = (await import(pathToFileURL(file).href)) as typeof loaded
  } catch (error) {
    throw new CliError({ message: `check-replay: cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`, exitCode: 2 })
  }
  const workflows = Array.isArray(loaded.workflows) ? loaded.workflows : loaded.default
  if (!Array.isArray(workflows)) throw new CliError({ message: `check-replay: ${file} must export a \`workflows\` array (or a default array)`, exitCode: 2 })
  return workflows as Array<AnyWorkflow>
}

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
const announceStore = (description: string): void => console.error(`squid-mesh: store: ${description}`)

/** Runs Mesh.checkReplay over a store layer; a store failure is exit 2. */
const replayOver = (workflows: Array<AnyWorkflow>, store: Layer.Layer<Store, StoreError | StoreLockedError>, label?: string): Promise<ReplayReport> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(Mesh.Mesh, (m) => Effect.sync(() => announceStore(label ?? PgliteStore.describeStore(m.store))).pipe(Effect.zipRight(m.checkReplay()))),
    ).pipe(
      Effect.provide(Mesh.layer({ workflows }).pipe(Layer.provide(store))),
      Effect.mapError((error) => new CliError({ message: `check-replay: ${describe(error)}`, exitCode: 2 })),
    ) as Effect.Effect<ReplayReport, CliError>,
  )

const describe = (error: unknown): string => {
  const cause = (error as { cause?: unknown } | null)?.cause
  const text = error instanceof Error ? error.message : String(error)
  return cause instanceof Error && !text.includes(cause.message) ? `${text}: ${cause.message}` : text
}

/** check-replay against a Postgres URL: a read-only session, never a migration. */
const checkReplayPostgres = async (workflows: Array<AnyWorkflow>, url: string): Promise<ReplayReport> => {
  const sql = connect(url, { max: 2, readOnly: true })
  try {
    await requireSchema(postgresClient(sql), "the database").catch((error: unknown) => {
      throw error instanceof CliError ? error : new CliError({ message: `check-replay: cannot read the database: ${describe(error)}`, exitCode: 2 })
    })
    return await replayOver(workflows, PostgresStore.layer({ sql, migrate: false }), `${describeUrl(url)} (read-only)`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** check-replay against a PGlite data directory: it must exist and hold a migrated squid-mesh schema. */
const checkReplayPglite = async (workflows: Array<AnyWorkflow>, dir: string): Promise<ReplayReport> => {
  const dataDir = resolve(process.cwd(), dir)
  // PGlite would create an empty database in a missing or empty directory: refuse instead.
  if (!existsSync(join(dataDir, "PG_VERSION"))) throw new CliError({ message: `check-replay: ${dataDir} is not a PGlite data directory`, exitCode: 2 })
  // Through the store, never a second PGlite on the directory: while an app holds it, this goes
  // through the app's socket. The schema must be current; nothing is migrated.
  return replayOver(workflows, PgliteStore.layer({ dataDir, migrate: "require", mustExist: true, progress: false }))
}

const checkReplay = async (args: ReadonlyArray<string>): Promise<number> => {
  const modulePath = option(args, "--module")
  const pgliteDir = option(args, "--pglite")
  const url = option(args, "--url") ?? (pgliteDir === undefined ? process.env.DATABASE_URL : undefined)
  if (!modulePath) throw usageError("check-replay: give --module <file>")
  if (url !== undefined && pgliteDir !== undefined) throw usageError("check-replay: give either --url or --pglite, not both")
  const workflows = await loadWorkflows(modulePath)
  // Neither given: the embedded store of this project (as createMesh finds it by default).
  const report = url !== undefined ? await checkReplayPostgres(workflows, url) : await checkReplayPglite(workflows, pgliteDir ?? PgliteStore.resolveDataDir())
  console.log(JSON.stringify(report, null, 2))
  return report.ok ? 0 : 1
}

const migrateCommand = async (args: ReadonlyArray<string>): Promise<number> => {
  const url = option(args, "--url") ?? process.env.DATABASE_URL
  if (!url) throw usageError("migrate: give --url <postgres url> or set DATABASE_URL")
  announceStore(describeUrl(url))
  const sql = connect(url, { max: 1 })
  try {
    const applied = await migrate(postgresClient(sql))
    console.log(applied.length > 0 ? `applied: ${applied.map((m) => m.filename).join(", ")}` : "schema is up to date")
    return 0
  } finally {
    await sql.end({ timeout: 5 })
  }
}

const migrationsCommand = (args: ReadonlyArray<string>): number => {
  const [, sub, target] = args
  const migrations = loadMigrations()
  if (sub === "list") {
    for (const m of migrations) console.log(m.filename)
    return 0
  }
  if (sub === "print") {
    for (const m of migrations) process.stdout.write(`-- ${m.filename}\n${m.sql.trimEnd()}\n\n`)
    return 0
  }
  if (sub === "copy") {
    if (!target || target.startsWith("--")) throw usageError("migrations copy: give the target directory")
    const prefix = option(args, "--prefix") ?? "squid_mesh_"
    mkdirSync(target, { recursive: true })
    for (const m of migrations) {
      const dest = join(target, `${prefix}${m.filename}`)
      copyFileSync(m.path, dest)
      console.log(dest)
    }
    return 0
  }
  throw usageError(sub === undefined ? "migrations: give list, print or copy" : `migrations: unknown subcommand "${sub}"`)
}

/** doctor: what a bug report needs, and (with --url) whether the database is reachable and migrated. */
const doctor = async (args: ReadonlyArray<string>): Promise<number> => {
  let problems = 0
  const major = Number(process.versions.node.split(".")[0])
  if (major < 20) problems++
  console.log(`node: ${process.version}${major < 20 ? " (too old: squid-mesh needs Node >= 20)" : ""}`)
  console.log(`postgres.js: ${postgresDriverVersion() ?? "version unknown (bundled?)"}`)
  console.log("postgres.js null-socket guard: built in (installed at run time through the driver's socket option, TLS included)")
  if (args.includes("--fix-postgres")) console.log("--fix-postgres: nothing to patch any more; the guard is built in")
  const migrations = loadMigrations()
  console.log(`migrations shipped: ${migrations.length} (${migrations[0]?.filename} .. ${migrations[migrations.length - 1]?.filename})`)
  const url = option(args, "--url")
  if (url !== undefined) {
    const sql = connect(url, { max: 1, readOnly: true })
    try {
      const [row] = await sql<Array<{ v: string }>>`SELECT current_setting('server_version') AS v`
      console.log(`database: reachable (PostgreSQL ${row?.v ?? "?"})`)
      const pending = await pendingMigrations(postgresClient(sql), migrations)
      if (pending === undefined || pending.length > 0) problems++
      console.log(
        `schema: ${pending === undefined ? "missing (run `squid-mesh migrate`)" : pending.length > 0 ? `behind by ${pending.length} migration(s) (run \`squid-mesh migrate\`)` : "up to date"}`,
      )
    } catch (error) {
      problems++
      console.log(`database: unreachable (${describe(error)})`)
    } finally {
      await sql.end({ timeout: 5 })
    }
  }
  return problems > 0 ? 1 : 0
}

/** Runs the CLI with its arguments (without the node and script paths); resolves to the exit code. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  const [command] = args
  try {
    switch (command) {
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE)
        return 0
      case "migrate":
        return await migrateCommand(args)
      case "migrations":
        return migrationsCommand(args)
      case "doctor":
        return await doctor(args)
      case "check-replay":
        return await checkReplay(args)
      default:
        throw usageError(command === undefined ? "squid-mesh: give a command" : `squid-mesh: unknown command "${command}"`)
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    console.error(error.message)
    if (error.usage) console.error(USAGE)
    return error.exitCode
  }
}
