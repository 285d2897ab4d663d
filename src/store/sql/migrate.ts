/**
 * The migration runner. Migrations are forward-only SQL files named `NNNN_name.sql` in the
 * package's `migrations/` folder. They are applied in version order, each recorded in
 * `squid_mesh.schema_migrations`, all inside one transaction that holds a transaction-scoped
 * advisory lock: several processes starting at once apply each migration exactly once.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { SqlClient } from "./SqlClient.js"

/** One migration file. */
export interface Migration {
  /** The numeric prefix (`0001` is 1). */
  readonly version: number
  /** The name after the prefix, without `.sql` (`init`). */
  readonly name: string
  /** The file name (`0001_init.sql`). */
  readonly filename: string
  /** Absolute path of the file. */
  readonly path: string
  /** The SQL script. */
  readonly sql: string
}

/** Arbitrary constant key of the advisory lock that serializes migration runs. */
const MIGRATION_LOCK_KEY = "7412093417701160001"

const MIGRATION_FILE = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/

/**
 * The `migrations/` folder shipped with the package, resolved from this module's location
 * (never the cwd): `src/store/sql/` when running from source, `dist/src/store/sql/` when built.
 */
export const migrationsDir = (): string => {
  const candidates = ["../../../migrations/", "../../../../migrations/"].map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  const found = candidates.find((dir) => existsSync(join(dir, "0001_init.sql")))
  if (found === undefined) {
    // Typically a bundled app: the SQL files are not next to the code any more.
    throw new Error(
      `squid-mesh migrations folder not found (looked in ${candidates.join(", ")}); in a bundled app, apply them at deploy time ` +
        "with `npx squid-mesh migrate` and open the store with `migrate: false`",
    )
  }
  return found
}

/** Reads the migration files of `dir` (default: the package's own), sorted by version. */
export const loadMigrations = (dir: string = migrationsDir()): ReadonlyArray<Migration> => {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith(".sql"))
    .map((filename): Migration => {
      const match = MIGRATION_FILE.exec(filename)
      if (!match) throw new Error(`invalid migration file name ${filename} (expected NNNN_name.sql)`)
      const path = join(dir, filename)
      return { version: Number(match[1]), name: match[2]!, filename, path, sql: readFileSync(path, "utf8") }
    })
    .sort((a, b) => a.version - b.version)
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new Error(`duplicate migration version ${migrations[i]!.version}: ${migrations[i - 1]!.filename}, ${migrations[i]!.filename}`)
    }
  }
  return migrations
}

/**
 * Applies the migrations not yet recorded in `squid_mesh.schema_migrations`, in order, in one
 * transaction under `pg_advisory_xact_lock`. Returns the migrations it applied (empty when the
 * database was up to date).
 */
export const migrate = (client: SqlClient, migrations: ReadonlyArray<Migration> = loadMigrations()): Promise<ReadonlyArray<Migration>> =>
  client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`)
    await tx.exec(
      `CREATE SCHEMA IF NOT EXISTS squid_mesh;
       CREATE TABLE IF NOT EXISTS squid_mesh.schema_migrations (
         version     integer     PRIMARY KEY,
         name        text        NOT NULL,
         applied_at  timestamptz NOT NULL DEFAULT now()
       );`,
    )
    const rows = await tx.query<{ version: number | string }>("SELECT version FROM squid_mesh.schema_migrations")
    const applied = new Set(rows.map((r) => Number(r.version)))
    const pending = migrations.filter((m) => !applied.has(m.version))
    for (const m of pending) {
      await tx.exec(m.sql)
      await tx.query("INSERT INTO squid_mesh.schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name])
    }
    return pending
  })

/** Which migrations the database at `client` has not applied; `undefined` when it has no squid-mesh schema. */
export const pendingMigrations = async (
  client: SqlClient,
  migrations: ReadonlyArray<Migration> = loadMigrations(),
): Promise<ReadonlyArray<Migration> | undefined> => {
  const [table] = await client.query<{ t: string | null }>("SELECT to_regclass('squid_mesh.schema_migrations')::text AS t")
  if (!table?.t) return undefined
  const rows = await client.query<{ version: number | string }>("SELECT version FROM squid_mesh.schema_migrations")
  const applied = new Set(rows.map((r) => Number(r.version)))
  return migrations.filter((m) => !applied.has(m.version))
}

/**
 * Rejects unless the schema at `client` has every migration of this package, saying what to
 * run. For read-only tools (the deploy gate), which must never migrate.
 */
export const requireCurrentSchema = async (client: SqlClient, where: string): Promise<void> => {
  const pending = await pendingMigrations(client)
  if (pending === undefined) throw new Error(`${where} has no squid-mesh schema; run \`squid-mesh migrate\` first`)
  if (pending.length > 0) {
    throw new Error(`${where} is behind this package's schema (missing ${pending.map((m) => m.filename).join(", ")}); run \`squid-mesh migrate\` first`)
  }
}
