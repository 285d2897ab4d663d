/**
 * The embedded store through an app's socket: an app process holds `.squid-mesh/` (here
 * `$SQUID_MESH_DATA_DIR`) with a long-lived worker that practically never polls, while the
 * CLI, given no store flag, finds the same store, reaches it through the app's socket, approves
 * the run, and the app's worker completes it at once (woken by the notification).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type BuiltCli, buildCli, runCli, startProcess } from "./support.js"

let built: BuiltCli
const dataDir = join(mkdtempSync(join(tmpdir(), "squid-mesh-cli-socket-")), ".squid-mesh")
beforeAll(async () => {
  built = await buildCli()
})
afterAll(() => {
  built?.remove()
  rmSync(join(dataDir, ".."), { recursive: true, force: true })
})

it("the CLI approves a run in an app's embedded store through the app's socket, and the app completes it", async () => {
  const env = { SQUID_MESH_DATA_DIR: dataDir }
  const app = startProcess(built.fixture("cliHolder"), [], { env })
  try {
    await app.waitFor(/^run [0-9a-f-]{36}$/m)
    const runId = /^run ([0-9a-f-]{36})$/m.exec(app.output())![1]!
    const pid = app.child.pid!

    const listed = await runCli(built.bin, ["runs", "list", "--status", "paused", "--json"], { env })
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stderr).toBe(`squid-mesh: store: embedded store ${dataDir} via the socket of process ${pid} (${join(dataDir, ".s.PGSQL.5432")})\n`)
    expect((JSON.parse(listed.stdout) as { runs: Array<{ id: string }> }).runs.map((r) => r.id)).toEqual([runId])

    const approved = await runCli(built.bin, ["approve", runId, "--actor", "ops:ana", "--note", "from another terminal"], { env })
    expect(approved.code, approved.stderr).toBe(0)
    expect(approved.stdout).toBe(`approved run ${runId}: now running\n`)
    await app.waitFor(/^completed 42$/m, 60_000)

    const shown = await runCli(built.bin, ["runs", "show", runId, "--history", "--json"], { env })
    expect(JSON.parse(shown.stdout)).toMatchObject({
      status: "completed",
      output: 42,
      commands: [{ kind: "approve", actor: "ops:ana", note: "from another terminal" }],
    })
  } finally {
    app.child.kill("SIGTERM")
  }
  expect(await app.exited).toBe(0)
})

it("a CLI given a directory that holds no store refuses (exit 2) and creates nothing", async () => {
  const empty = mkdtempSync(join(tmpdir(), "squid-mesh-cli-empty-"))
  const absent = join(empty, "absent")
  try {
    for (const args of [
      ["runs", "list", "--data-dir", empty],
      ["approve", "00000000-0000-4000-8000-000000000000", "--actor", "x", "--data-dir", absent],
      ["purges", "list"],
    ]) {
      const r = await runCli(built.bin, args, { env: { SQUID_MESH_DATA_DIR: absent } })
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" })
      expect(r.stderr).toMatch(
        /^squid-mesh: no embedded store in \S+ \(start the app that uses it first, or give --data-dir <dir> or --url <postgres url>\)\n$/,
      )
    }
    expect(readdirSync(empty)).toEqual([])
    expect(existsSync(absent)).toBe(false)
  } finally {
    rmSync(empty, { recursive: true, force: true })
  }
})
