/**
 * The schema: `migrate` applies the pending migrations to a Postgres database; `migrations
 * list | print | copy` hand the SQL files to a host's own migration tool.
 */
import { copyFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { connect, postgresClient } from "../store/postgres.js"
import { loadMigrations, migrate } from "../store/sql/migrate.js"
import { parseArgs } from "./args.js"
import { commandUsageError, EXIT, type ExitCode } from "./errors.js"
import { print } from "./output.js"
import { announceStore, describeUrl } from "./store.js"
import { StoreError } from "../core/errors.js"

/** `migrate [--url <postgres url>]` (default $DATABASE_URL). */
export const migrateCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("migrate", words, { url: "string" })
  args.atMostPositionals(0)
  const url = args.string("url") ?? process.env.DATABASE_URL
  if (!url) throw args.usage("give --url <postgres url> or set DATABASE_URL")
  announceStore(describeUrl(url))
  const sql = connect(url, { max: 1 })
  try {
    const applied = await migrate(postgresClient(sql)).catch((cause: unknown) => {
      throw new StoreError({ operation: "migrate", cause, transient: false })
    })
    print(applied.length > 0 ? `applied: ${applied.map((m) => m.filename).join(", ")}` : "schema is up to date")
    return EXIT.ok
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** `migrations list | print | copy <dir> [--prefix P]`. */
export const migrationsCommand = (words: ReadonlyArray<string>): ExitCode => {
  const [sub, ...rest] = words
  const migrations = loadMigrations()
  if (sub === "list" || sub === "print") {
    parseArgs(`migrations ${sub}`, rest, {}).atMostPositionals(0)
    if (sub === "list") for (const m of migrations) print(m.filename)
    else for (const m of migrations) process.stdout.write(`-- ${m.filename}\n${m.sql.trimEnd()}\n\n`)
    return EXIT.ok
  }
  if (sub === "copy") {
    const args = parseArgs("migrations copy", rest, { prefix: "string" })
    const target = args.positional(0, "target directory")
    args.atMostPositionals(1)
    const prefix = args.string("prefix") ?? "squid_mesh_"
    mkdirSync(target, { recursive: true })
    for (const m of migrations) {
      const dest = join(target, `${prefix}${m.filename}`)
      copyFileSync(m.path, dest)
      print(dest)
    }
    return EXIT.ok
  }
  throw commandUsageError("migrations", sub === undefined ? "give list, print or copy" : `unknown subcommand "${sub}"`)
}
