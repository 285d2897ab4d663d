/**
 * `squid-mesh doctor`: what a bug report needs (Node, the postgres.js driver and its crash
 * guard, the migrations shipped, the project's embedded store) and, with `--url`, whether the
 * database is reachable and its schema current. Exit 1 when it finds a problem.
 */
import * as PgliteStore from "../store/pglite.js"
import { connect, postgresClient, postgresDriverVersion } from "../store/postgres.js"
import { loadMigrations, pendingMigrations } from "../store/sql/migrate.js"
import { parseArgs } from "./args.js"
import { describeError, EXIT, type ExitCode } from "./errors.js"
import { print } from "./output.js"
import { isEmbeddedStore } from "./store.js"

/** The project's embedded store, as doctor reports it: where, and who holds it. */
const embeddedLine = (): string => {
  const dataDir = PgliteStore.resolveDataDir()
  if (!isEmbeddedStore(dataDir)) return `embedded store: ${dataDir} (not created yet)`
  const holder = PgliteStore.holderOf(dataDir)
  return `embedded store: ${dataDir} (${holder ? `held by process ${holder.pid} on ${holder.host}${holder.socket ? `, serving ${holder.socket}` : ", not serving"}` : "not held by any process"})`
}

/** The database at `url`: reachable, and its schema current? Prints a line each; resolves to the number of problems. */
const checkDatabase = async (url: string): Promise<number> => {
  const sql = connect(url, { max: 1, readOnly: true })
  try {
    const [row] = await sql<Array<{ v: string }>>`SELECT current_setting('server_version') AS v`
    print(`database: reachable (PostgreSQL ${row?.v ?? "?"})`)
    const pending = await pendingMigrations(postgresClient(sql))
    print(
      `schema: ${pending === undefined ? "missing (run `squid-mesh migrate`)" : pending.length > 0 ? `behind by ${pending.length} migration(s) (run \`squid-mesh migrate\`)` : "up to date"}`,
    )
    return pending === undefined || pending.length > 0 ? 1 : 0
  } catch (error) {
    print(`database: unreachable (${describeError(error)})`)
    return 1
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** `doctor [--url <postgres url>]`. */
export const doctorCommand = async (words: ReadonlyArray<string>): Promise<ExitCode> => {
  const args = parseArgs("doctor", words, { url: "string", "fix-postgres": "boolean" })
  args.atMostPositionals(0)
  let problems = 0
  const major = Number(process.versions.node.split(".")[0])
  if (major < 20) problems++
  print(`node: ${process.version}${major < 20 ? " (too old: squid-mesh needs Node >= 20)" : ""}`)
  print(`postgres.js: ${postgresDriverVersion() ?? "version unknown (bundled?)"}`)
  print("postgres.js null-socket guard: built in (installed at run time through the driver's socket option, TLS included)")
  if (args.boolean("fix-postgres")) print("--fix-postgres: nothing to patch any more; the guard is built in")
  const migrations = loadMigrations()
  print(`migrations shipped: ${migrations.length} (${migrations[0]?.filename} .. ${migrations[migrations.length - 1]?.filename})`)
  print(embeddedLine())
  const url = args.string("url")
  if (url !== undefined) problems += await checkDatabase(url)
  return problems > 0 ? EXIT.failed : EXIT.ok
}
