/**
 * The package as a user gets it: `npm pack` the project, install the tarball (plus `effect`)
 * into a fresh consumer project outside the repository, type-check a consumer under
 * `module`/`moduleResolution` "nodenext" (strict), run a workflow with plain `node`, and run
 * the installed `squid-mesh` binary through npm's .bin symlink: --help, a bogus command,
 * `migrate` against a fresh database, `check-replay` with an absolute module path, and the
 * operator commands on the run the consumer left waiting (runs list, explain, approve, show,
 * with their refusals), the installed package importing no workflow code for them.
 *
 * Everything lives in temp directories removed afterwards. npm uses its normal cache; with
 * the packages cached the file takes ~20-40 s, most of it `npm install`.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { loadMigrations } from "../../src/store/sql/migrate.js"
import { freshDatabase } from "../support/database.js"

const root = resolve(import.meta.dirname, "../..")
const work = mkdtempSync(join(tmpdir(), "squid-mesh-package-"))
const consumer = join(work, "consumer")
const dropDatabases: Array<() => Promise<void>> = []

afterAll(async () => {
  for (const drop of dropDatabases) await drop().catch(() => undefined)
  rmSync(work, { recursive: true, force: true })
})

/** The environment of a user's shell: no npm_* variables leaking from the `npm test` that runs us. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")))

const run = (command: string, args: ReadonlyArray<string>, cwd: string, extraEnv: Record<string, string> = {}): SpawnSyncReturns<string> =>
  spawnSync(command, args, { cwd, env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 120_000 })

const ok = (r: SpawnSyncReturns<string>, what: string): string => {
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).toBe(0)
  return r.stdout
}

/** The exact version of a dev dependency installed here, so the consumer's install hits npm's cache. */
const installedVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    exactOptionalPropertyTypes: true,
    outDir: "out",
    rootDir: "src",
    // No skipLibCheck: our declarations must hold under a strict consumer. PGlite's own
    // declarations need @types/emscripten (a devDependency of PGlite, so installed here).
    skipLibCheck: false,
    types: ["node", "emscripten"],
  },
  include: ["src"],
}

/** The user's workflows: a module the check-replay gate can load too. */
const WORKFLOWS_TS = `import { Schema } from "effect"
import { Step, Trigger, Workflow } from "squid-mesh"

export const Greet = Step.make("greet", { run: async (input: { name: string }) => ({ text: \`hello \${input.name}\` }) })
export const Shout = Step.make("shout", { run: async (input: { text: string }) => input.text.toUpperCase() })

export const Hello = Workflow.make({
  name: "hello",
  triggers: { manual: Trigger.manual({ payload: Schema.Struct({ name: Schema.String }) }) },
  *run(input) {
    const greeting = yield* Greet(input)
    const loud: string = yield* Shout(greeting)
    const vote = yield* Workflow.approval("ok-to-send")
    return { loud, approved: vote.approved }
  },
})

export const workflows = [Hello]
`

/** Runs one workflow on the memory store, or (with a URL) leaves one paused in Postgres for the gate. */
const MAIN_TS = `import { createMesh, PostgresStore, type RunView } from "squid-mesh"
import * as TestMesh from "squid-mesh/testing"
import { Hello } from "./workflows.js"

const url = process.argv[2]
const store = url ? { kind: "layer" as const, layer: PostgresStore.layer({ url, migrate: false }) } : { kind: "memory" as const }
const mesh = await createMesh({ workflows: [Hello], store })
const { runId } = await mesh.start(Hello, { name: "ada" })
for (let i = 0; i < 10 && (await mesh.inspectRun(runId)).status === "running"; i++) await mesh.executeNext()
if (!url) {
  await mesh.approve(runId, { actor: "me" })
  for (let i = 0; i < 10 && (await mesh.inspectRun(runId)).status === "running"; i++) await mesh.executeNext()
}
const run: RunView = await mesh.inspectRun(runId)
await mesh.close()
console.log(JSON.stringify({ status: run.status, output: run.output ?? null, testKit: typeof TestMesh.runUntilDone }))
`

describe("the npm package", () => {
  let tarball = ""
  let packedFiles: Array<string> = []

  beforeAll(() => {
    // npm pack runs `prepare` (the build), as it does for git and folder installs.
    const packed = JSON.parse(ok(run("npm", ["pack", "--json", "--pack-destination", work], root), "npm pack")) as Array<{
      filename: string
      files: Array<{ path: string }>
    }>
    tarball = join(work, packed[0]!.filename)
    packedFiles = packed[0]!.files.map((f) => f.path)

    mkdirSync(join(consumer, "src"), { recursive: true })
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2))
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG, null, 2))
    writeFileSync(join(consumer, "src", "workflows.ts"), WORKFLOWS_TS)
    writeFileSync(join(consumer, "src", "main.ts"), MAIN_TS)
    const deps = [
      tarball,
      `effect@${installedVersion("effect")}`,
      `typescript@${installedVersion("typescript")}`,
      `@types/node@${installedVersion("@types/node")}`,
      "@types/emscripten@1",
    ]
    ok(run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...deps], consumer), "npm install")
  }, 180_000)

  it("ships the compiled JS, the declarations, the bin and the migrations, and nothing else", () => {
    for (const file of [
      "package.json",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/testing/index.js",
      "dist/src/testing/index.d.ts",
      "dist/src/bin.js",
      "dist/src/cli/main.js",
      "dist/src/dashboard/server.js",
      "dist/src/dashboard/assets/app.js",
    ]) {
      expect(packedFiles).toContain(file)
    }
    for (const m of loadMigrations()) expect(packedFiles).toContain(`migrations/${m.filename}`)
    // The embedded store's pre-initialised, migrated template (a fast first open).
    for (const file of ["dist/template/pgdata.tar.gz", "dist/template/template.json"]) expect(packedFiles).toContain(file)
    const stray = packedFiles.filter(
      (f) =>
        !/^(dist\/(src|dsl|runtime)\/.+\.(js|d\.ts)|dist\/template\/(pgdata\.tar\.gz|template\.json)|migrations\/\d+_\w+\.sql|package\.json|README\.md|LICENSE)$/.test(
          f,
        ),
    )
    expect(stray).toEqual([])
    expect(readFileSync(join(consumer, "node_modules/squid-mesh/dist/src/bin.js"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
  })

  it("type-checks under nodenext and runs a workflow with plain node", () => {
    ok(run(join(consumer, "node_modules/.bin/tsc"), ["-p", "."], consumer), "tsc (nodenext, strict)")
    const out = ok(run(process.execPath, ["out/main.js"], consumer), "node out/main.js")
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ status: "completed", output: { loud: "HELLO ADA", approved: true }, testKit: "function" })
  })

  it("runs the installed binary: --help, a bogus command, migrate, check-replay and the operator commands", async () => {
    // Exactly what a user types: npx finds the locally installed binary through node_modules/.bin.
    const cli = (...args: Array<string>) => run("npx", ["squid-mesh", ...args], consumer)

    const help = cli("--help")
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^usage: squid-mesh <command>/)

    const bogus = cli("frobnicate")
    expect(bogus.status).toBe(2)
    expect(bogus.stdout).toBe("")
    expect(bogus.stderr.split("\n")[0]).toBe('squid-mesh: unknown command "frobnicate"')

    const db = await freshDatabase(inject("databaseUrl"), "pkg")
    dropDatabases.push(db.drop)
    const migrated = cli("migrate", "--url", db.url)
    expect(migrated.status, migrated.stderr).toBe(0)
    expect(migrated.stdout.trim()).toBe(
      `applied: ${loadMigrations()
        .map((m) => m.filename)
        .join(", ")}`,
    )
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined })
    try {
      const [row] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM squid_mesh.schema_migrations`
      expect(row!.n).toBe(loadMigrations().length)
    } finally {
      await sql.end()
    }

    // A run waiting for its approval, left in Postgres by the consumer's own code.
    const seeded = JSON.parse(
      ok(run(process.execPath, ["out/main.js", db.url], consumer), "seed a paused run")
        .trim()
        .split("\n")
        .pop()!,
    ) as { status: string }
    expect(seeded.status).toBe("paused")
    const gate = cli("check-replay", "--module", join(consumer, "out/workflows.js"), "--url", db.url)
    expect(gate.status, gate.stderr).toBe(0)
    expect(JSON.parse(gate.stdout)).toEqual({ ok: true, checked: 1, divergent: [] })

    const missing = cli("check-replay", "--module", join(consumer, "out/workflows.js"), "--pglite", join(work, "no-such-dir"))
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain("is not a PGlite data directory")

    // The operator's commands on that run, through the installed binary, without the workflow code.
    const listed = cli("runs", "list", "--status", "paused", "--json", "--url", db.url)
    expect(listed.status, listed.stderr).toBe(0)
    const runs = (JSON.parse(listed.stdout) as { runs: Array<{ id: string; workflow: string }> }).runs
    expect(runs.map((r) => r.workflow)).toEqual(["hello"])
    const runId = runs[0]!.id
    const why = cli("runs", "explain", runId, "--url", db.url)
    expect(why.stdout).toMatch(/reason:\s+waiting_for_approval/)
    const approved = cli("approve", runId, "--actor", "ops", "--url", db.url)
    expect(approved.status, approved.stderr).toBe(0)
    expect(approved.stdout).toBe(`approved run ${runId}: now running\n`)
    const twice = cli("approve", runId, "--actor", "ops", "--url", db.url)
    expect(twice.status).toBe(4)
    expect(twice.stderr.split("\n")[1]).toMatch(/^squid-mesh: InvalidTransitionError: cannot approve run /)
    const shown = cli("runs", "show", runId, "--history", "--json", "--url", db.url)
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: runId, status: "running", commands: [{ kind: "approve", actor: "ops" }] })
    const unknown = cli("runs", "show", "00000000-0000-4000-8000-000000000000", "--url", db.url)
    expect(unknown.status).toBe(3)
    expect(unknown.stderr).toContain("squid-mesh: RunNotFoundError: run 00000000-0000-4000-8000-000000000000 not found")
  })
})
