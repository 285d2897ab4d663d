#!/usr/bin/env node
/**
 * The `squid-mesh` command line.
 *
 *   squid-mesh migrate [--url postgres://...]      apply pending migrations (DATABASE_URL by default)
 *   squid-mesh migrations list                    list the migration files shipped with the package
 *   squid-mesh migrations print                   print their SQL, in order (pipe it into a host migration)
 *   squid-mesh migrations copy <dir> [--prefix P] copy them into a host app's migrations folder
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { connect, postgresClient } from "./store/postgres.js"
import { loadMigrations, migrate } from "./store/sql/migrate.js"

const USAGE = `usage:
  squid-mesh migrate [--url <postgres url>]        apply pending migrations (default: $DATABASE_URL)
  squid-mesh migrations list                      list the migration files
  squid-mesh migrations print                     print their SQL in order
  squid-mesh migrations copy <dir> [--prefix P]   copy them into <dir> (file names get prefix P, default "squid_mesh_")`

const option = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** Runs the CLI with its arguments; resolves to the process exit code. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  const [command, sub, target] = args
  if (command === "migrate") {
    const url = option(args, "--url") ?? process.env.DATABASE_URL
    if (!url) {
      console.error("squid-mesh migrate: give --url or set DATABASE_URL")
      return 2
    }
    const sql = connect(url, 1)
    try {
      const applied = await migrate(postgresClient(sql))
      console.log(applied.length > 0 ? `applied: ${applied.map((m) => m.filename).join(", ")}` : "schema is up to date")
      return 0
    } finally {
      await sql.end({ timeout: 5 })
    }
  }
  if (command === "migrations") {
    const migrations = loadMigrations()
    if (sub === "list") {
      for (const m of migrations) console.log(m.filename)
      return 0
    }
    if (sub === "print") {
      for (const m of migrations) process.stdout.write(`-- ${m.filename}\n${m.sql.trimEnd()}\n\n`)
      return 0
    }
    if (sub === "copy" && target) {
      const prefix = option(args, "--prefix") ?? "squid_mesh_"
      if (!existsSync(target)) mkdirSync(target, { recursive: true })
      for (const m of migrations) {
        const dest = join(target, `${prefix}${m.filename}`)
        copyFileSync(m.path, dest)
        console.log(dest)
      }
      return 0
    }
  }
  console.error(USAGE)
  return command === "--help" || command === "help" ? 0 : 2
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/cli.ts") || process.argv[1]?.endsWith("/cli.js")) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error)
      process.exit(1)
    },
  )
}
