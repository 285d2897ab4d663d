/**
 * A throwaway Postgres cluster for tests and benchmarks: initdb into a temp directory, start
 * it on a free loopback port as a non-root user, and stop and delete it afterwards. Uses the
 * machine's Postgres binaries (Debian's `postgresql` package); `ensureBinaries` installs them
 * with apt-get when running as root and none are present.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A running cluster. */
export interface PgCluster {
  readonly url: string
  readonly port: number
  readonly dataDir: string
  readonly binDir: string
  /** Restarts the server (same data, same port): for "Postgres restart mid-load" tests. */
  readonly restart: (options?: { readonly downMs?: number }) => void
  readonly stop: () => void
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/** The directory holding initdb/pg_ctl, or undefined. Prefers the newest major version. */
export const findBinDir = (): string | undefined => {
  const base = "/usr/lib/postgresql"
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0]) return join(base, versions[0], "bin")
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" })
  return which.status === 0 ? which.stdout.trim().replace(/\/initdb$/, "") : undefined
}

/** Finds the binaries, installing Debian's postgresql as root if needed. */
export const ensureBinaries = (): string => {
  const found = findBinDir()
  if (found) return found
  if (isRoot() && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0) {
    console.error("[pg] no Postgres binaries; installing Debian's postgresql (one time)")
    execFileSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null"], { stdio: "inherit" })
    const installed = findBinDir()
    if (installed) return installed
  }
  throw new Error("Postgres binaries not found: install Debian's `postgresql` package (or set DATABASE_URL to an existing database)")
}

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** The OS user the server runs as: the current one, or `postgres` when we are root. */
const serverUser = (): string | undefined => {
  if (!isRoot()) return undefined
  if (spawnSync("id", ["postgres"]).status === 0) return "postgres"
  execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "squidpg"])
  return "squidpg"
}

const runAs = (user: string | undefined, cmd: string, args: ReadonlyArray<string>, options: { quiet?: boolean } = {}) => {
  const [file, argv] = user ? ["runuser", ["-u", user, "--", cmd, ...args]] : [cmd, [...args]]
  const out = spawnSync(file, argv, { encoding: "utf8" })
  if (out.status !== 0 && !options.quiet) throw new Error(`${cmd} ${args.join(" ")} failed (${out.status}): ${out.stderr || out.stdout}`)
  return out
}

/** Options of `startCluster`. */
export interface ClusterOptions {
  /** fsync off for fast tests; keep it on (default for benchmarks) for honest figures. */
  readonly durable?: boolean
  readonly maxConnections?: number
  /** Extra postgresql.conf lines (e.g. `shared_preload_libraries = 'pg_stat_statements'`). */
  readonly settings?: ReadonlyArray<string>
}

/** Creates and starts a throwaway cluster. */
export const startCluster = async (options: ClusterOptions = {}): Promise<PgCluster> => {
  const binDir = ensureBinaries()
  const user = serverUser()
  const root = mkdtempSync(join(tmpdir(), "squid-mesh-pg-"))
  chmodSync(root, 0o777)
  const dataDir = join(root, "data")
  const socketDir = join(root, "sock")
  runAs(user, "mkdir", ["-p", socketDir])
  runAs(user, join(binDir, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
  const port = await freePort()
  const settings = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    `max_connections = ${options.maxConnections ?? 200}`,
    ...(options.durable ? [] : ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]),
    ...(options.settings ?? []),
  ]
  writeFileSync(join(root, "extra.conf"), settings.join("\n") + "\n")
  chmodSync(join(root, "extra.conf"), 0o644)
  runAs(user, "sh", ["-c", `cat '${join(root, "extra.conf")}' >> '${join(dataDir, "postgresql.conf")}'`])
  const logFile = join(root, "server.log")
  const pgctl = (args: ReadonlyArray<string>, quiet = false) => runAs(user, join(binDir, "pg_ctl"), ["-D", dataDir, "-l", logFile, ...args], { quiet })
  pgctl(["-w", "-t", "60", "start"])
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let stopped = false
  return {
    url,
    port,
    dataDir,
    binDir,
    restart: ({ downMs = 0 } = {}) => {
      pgctl(["-w", "-m", "fast", "stop"])
      if (downMs > 0) spawnSync("sleep", [String(downMs / 1000)])
      pgctl(["-w", "-t", "60", "start"])
    },
    stop: () => {
      if (stopped) return
      stopped = true
      pgctl(["-w", "-m", "immediate", "stop"], true)
      rmSync(root, { recursive: true, force: true })
    },
  }
}
