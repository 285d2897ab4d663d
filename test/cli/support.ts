/**
 * The CLI tests' harness. `buildCli` transpiles the sources (and the test fixtures the CLI
 * loads with `--module`) with esbuild into a private folder under .tmp/ (about 0.1 s), so
 * each CLI invocation is a plain `node …/src/bin.js` child process, as the built package runs,
 * without racing the package test's `npm pack` rebuild of dist/. `cli` runs one command
 * asynchronously (the test process may hold the embedded store and must keep serving its socket).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs"
import { join, resolve } from "node:path"
import { build } from "esbuild"

const root = resolve(import.meta.dirname, "../..")

const tsFiles = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? tsFiles(path) : path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : []
  })

/** A transpiled copy of the CLI: its folder, the bin, and where a fixture module landed. */
export interface BuiltCli {
  readonly dir: string
  readonly bin: string
  readonly fixture: (name: string) => string
  readonly remove: () => void
}

/** Transpiles src/, dsl/, runtime/ and test/fixtures/cli*.ts into .tmp/cli-<pid>-<n>/, with the migrations and the store template. */
export const buildCli = async (): Promise<BuiltCli> => {
  const dir = join(root, ".tmp", `cli-${process.pid}-${Math.floor(performance.now())}`)
  mkdirSync(dir, { recursive: true })
  const entryPoints = [...tsFiles("src"), ...tsFiles("dsl"), ...tsFiles("runtime"), ...tsFiles("test/fixtures").filter((f) => /\/cli\w*\.ts$/.test(f))]
  await build({
    entryPoints: entryPoints.map((f) => join(root, f)),
    outdir: dir,
    outbase: root,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "error",
  })
  cpSync(join(root, "migrations"), join(dir, "migrations"), { recursive: true })
  if (existsSync(join(root, "dist/template/template.json"))) cpSync(join(root, "dist/template"), join(dir, "template"), { recursive: true })
  return {
    dir,
    bin: join(dir, "src/bin.js"),
    fixture: (name) => join(dir, "test/fixtures", `${name}.js`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The environment of a user's shell: no npm_* variables, no DATABASE_URL or SQUID_MESH_DATA_DIR unless given. */
export const cleanEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !e[0].toLowerCase().startsWith("npm_") && e[0] !== "DATABASE_URL" && e[0] !== "SQUID_MESH_DATA_DIR",
    ),
  ),
  ...extra,
})

/** What a finished CLI process printed, and its exit code. */
export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node <bin> ...args` to completion. */
export const runCli = (bin: string, args: ReadonlyArray<string>, options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> =>
  new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", fail)
    child.on("close", (code) => done({ code, stdout, stderr }))
  })

/** A long-lived child process (a worker, an app holding the store) and what it printed so far. */
export interface LiveProcess {
  readonly child: ChildProcess
  readonly output: () => string
  /** What it printed on stdout alone. */
  readonly stdout: () => string
  /** Resolves once its output (stdout and stderr) matches `pattern`. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  /** Resolves with its exit code once it exits. */
  readonly exited: Promise<number | null>
}

/** Starts `node <script> ...args` and keeps it running. */
export const startProcess = (script: string, args: ReadonlyArray<string>, options: { env?: Record<string, string> } = {}): LiveProcess => {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, env: cleanEnv(options.env), stdio: ["pipe", "pipe", "pipe"] })
  let text = ""
  let out = ""
  const listeners = new Set<() => void>()
  const onData = (d: Buffer) => {
    text += d.toString()
    for (const l of listeners) l()
  }
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString()
    onData(d)
  })
  child.stderr!.on("data", onData)
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
  return {
    child,
    output: () => text,
    stdout: () => out,
    exited,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((done, fail) => {
        const check = () => {
          if (pattern.test(text)) {
            listeners.delete(check)
            clearTimeout(timer)
            done()
          }
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          fail(new Error(`timed out waiting for ${pattern}; output:\n${text}`))
        }, timeoutMs)
        listeners.add(check)
        void exited.then(() => {
          if (!pattern.test(text)) {
            listeners.delete(check)
            clearTimeout(timer)
            fail(new Error(`process exited before ${pattern}; output:\n${text}`))
          }
        })
        check()
      }),
  }
}
