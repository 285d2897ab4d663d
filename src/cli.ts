#!/usr/bin/env node
/**
 * The `squid-mesh` command line.
 *
 *   squid-mesh migrate [--url postgres://...]      apply pending migrations (DATABASE_URL by default)
 *   squid-mesh migrations list                    list the migration files shipped with the package
 *   squid-mesh migrations print                   print their SQL, in order (pipe it into a host migration)
 *   squid-mesh migrations copy <dir> [--prefix P] copy them into a host app's migrations folder
 *   squid-mesh doctor [--fix-postgres]            check (and patch) the postgres.js driver's known crash
 *   squid-mesh check-replay --module <file> [--url <postgres url> | --pglite <dir>]
 *                                                 replay every open run against the workflows exported by
 *                                                 <file> (`workflows` array or default export); exit 1 on divergence
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, Layer } from "effect"
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { ReplayReport } from "../runtime/checkReplay.js"
import * as Mesh from "./Mesh.js"
import * as PgliteStore from "./store/pglite.js"
import * as PostgresStore from "./store/postgres.js"
import { connect, postgresClient, postgresDriverPatched } from "./store/postgres.js"
import { loadMigrations, migrate } from "./store/sql/migrate.js"

const USAGE = `usage:
  squid-mesh migrate [--url <postgres url>]        apply pending migrations (default: $DATABASE_URL)
  squid-mesh migrations list                      list the migration files
  squid-mesh migrations print                     print their SQL in order
  squid-mesh migrations copy <dir> [--prefix P]   copy them into <dir> (file names get prefix P, default "squid_mesh_")
  squid-mesh doctor [--fix-postgres]              check for (and apply) the postgres.js nextWrite guard
  squid-mesh check-replay --module <file> [--url <postgres url> | --pglite <dir>]
                                                  deploy gate: replay every open run against the new code`

const option = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** The package's root folder (where package.json is), from source or from dist/. */
const packageRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
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
  if (command === "check-replay") {
    const modulePath = option(args, "--module")
    const pgliteDir = option(args, "--pglite")
    const url = option(args, "--url") ?? (pgliteDir ? undefined : process.env.DATABASE_URL)
    if (!modulePath || (!url && !pgliteDir)) {
      console.error("squid-mesh check-replay: give --module <file> and --url <postgres url> (or DATABASE_URL) or --pglite <dir>")
      return 2
    }
    const loaded = (await import(pathToFileURL(join(process.cwd(), modulePath)).href)) as { workflows?: unknown; default?: unknown }
    const workflows = (Array.isArray(loaded.workflows) ? loaded.workflows : loaded.default) as Array<AnyWorkflow>
    if (!Array.isArray(workflows)) {
      console.error(`squid-mesh check-replay: ${modulePath} must export a \`workflows\` array (or a default array)`)
      return 2
    }
    const store = url ? PostgresStore.layer({ url, max: 2 }) : PgliteStore.layer({ dataDir: pgliteDir })
    const report = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(Mesh.Mesh, (m) => m.checkReplay())).pipe(Effect.provide(Mesh.layer({ workflows }).pipe(Layer.provide(store)))) as Effect.Effect<ReplayReport, never, never>,
    )
    console.log(JSON.stringify(report, null, 2))
    return report.ok ? 0 : 1
  }
  if (command === "doctor") {
    const fixer = join(packageRoot(), "src", "store", "postgresDriverFix.mjs")
    const { fixPostgresDriver } = (await import(pathToFileURL(fixer).href)) as { fixPostgresDriver: (from?: string) => { status: string; files: Array<string> } }
    if (args.includes("--fix-postgres")) {
      const result = fixPostgresDriver(join(process.cwd(), "package.json"))
      console.log(`postgres.js nextWrite guard: ${result.status}${result.files.length ? ` (${result.files.join(", ")})` : ""}`)
      return result.status === "absent" ? 1 : 0
    }
    console.log(`postgres.js nextWrite guard: ${postgresDriverPatched() ? "applied" : "missing (run: squid-mesh doctor --fix-postgres)"}`)
    return 0
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
