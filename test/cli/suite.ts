/**
 * The CLI against one store, run by pglite.test.ts and postgres.test.ts: every command that
 * reads or changes runs, as a child process (`node …/src/bin.js`, see support.ts), its happy
 * path and its refusals (exit code and the one stderr line), `--json` shapes, paging, and a
 * `worker --module` process. The test process plays the app: it registers the workflows,
 * starts runs and executes their tasks; the CLI never imports workflow code (except the worker).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { MeshClient } from "../../src/index.js"
import { Gate, Hold, Shipping, Steps, Wait, workflows } from "../fixtures/cliWorkflows.js"
import { type BuiltCli, buildCli, type CliResult, runCli, startProcess } from "./support.js"

/** The store the suite runs on: the CLI's store flags, and a Promise client of the test process on the same store. */
export interface SuiteStore {
  readonly args: ReadonlyArray<string>
  readonly open: (registered: typeof workflows) => Promise<MeshClient>
  readonly close: () => Promise<void>
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Executes due tasks in the test process until none is left. */
const drain = async (mesh: MeshClient): Promise<void> => {
  for (let i = 0; i < 50; i++) if ((await mesh.executeNext())._tag === "Idle") return
}

/** The lines of stderr that are not the store announcement. */
const problems = (r: CliResult): Array<string> => r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("squid-mesh: store: "))

/** Expects a refusal: the exit code, nothing on stdout, and one line on stderr starting with `line`. */
const refused = (r: CliResult, code: number, line: string) => {
  expect({ code: r.code, stdout: r.stdout }, r.stderr).toEqual({ code, stdout: "" })
  expect(problems(r)).toHaveLength(1)
  expect(problems(r)[0]).toContain(line)
}

const json = <T>(r: CliResult): T => {
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as T
}

/** Defines the suite on a store made by `makeStore`. */
export const cliSuite = (name: string, makeStore: () => Promise<SuiteStore>) =>
  describe(`the squid-mesh CLI on ${name}`, () => {
    let built: BuiltCli
    let store: SuiteStore
    let mesh: MeshClient
    const dirs: Array<string> = []
    const cli = (...args: Array<string>) => runCli(built.bin, [...args, ...store.args])

    beforeAll(async () => {
      built = await buildCli()
      store = await makeStore()
      mesh = await store.open(workflows)
    })
    afterAll(async () => {
      await mesh?.close()
      await store?.close()
      built?.remove()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it("runs list: a table, filters, --json, paging with --cursor and --all, and bad filters refused (exit 2)", async () => {
      const ids: Array<string> = []
      for (const [i, tenant] of ["acme", "globex", "acme", "acme", "globex"].entries()) {
        ids.push((await mesh.start(Steps, { n: i }, { attributes: { tenant, suite: "list" } })).runId)
      }
      await drain(mesh)
      const newestFirst = [...ids].reverse()

      const table = await cli("runs", "list", "--attr", "suite=list")
      expect(table.code, table.stderr).toBe(0)
      const lines = table.stdout.trimEnd().split("\n")
      expect(lines[0]).toMatch(/^RUN ID\s+WORKFLOW\s+STATUS\s+TRIGGER\s+CREATED\s+DURATION\s+ATTRIBUTES$/)
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(newestFirst)
      expect(lines[1]).toMatch(/cli-steps\s+completed\s+manual\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\S+\s+suite=list,tenant=globex$/)
      expect(table.stderr).toMatch(/^squid-mesh: store: /)

      const acme = json<{ runs: Array<{ id: string; attributes: Record<string, string> }> }>(
        await cli("runs", "list", "--attr", "suite=list", "--attr", "tenant=acme", "--json"),
      )
      expect(acme.runs.map((r) => r.id)).toEqual(newestFirst.filter((_, i) => i !== 0 && i !== 3))
      expect(acme).not.toHaveProperty("nextCursor")

      // Page by page with --cursor, then all at once with --all.
      const seen: Array<string> = []
      let cursor: string | undefined
      do {
        const page = json<{ runs: Array<{ id: string }>; nextCursor?: string }>(
          await cli("runs", "list", "--attr", "suite=list", "--limit", "2", "--json", ...(cursor ? ["--cursor", cursor] : [])),
        )
        expect(page.runs.length).toBeLessThanOrEqual(2)
        seen.push(...page.runs.map((r) => r.id))
        cursor = page.nextCursor
      } while (cursor)
      expect(seen).toEqual(newestFirst)
      const all = json<{ runs: Array<{ id: string }> }>(await cli("runs", "list", "--attr", "suite=list", "--limit", "2", "--all", "--json"))
      expect(all).toEqual({ runs: expect.any(Array) })
      expect(all.runs.map((r) => r.id)).toEqual(newestFirst)
      const paged = await cli("runs", "list", "--attr", "suite=list", "--limit", "2")
      expect(paged.stdout.trimEnd().split("\n").at(-1)).toMatch(/^next: --cursor \S+$/)

      // Status (a comma list), workflow and time filters.
      const completed = json<{ runs: Array<{ id: string }> }>(
        await cli("runs", "list", "--attr", "suite=list", "--status", "completed,failed", "--workflow", "cli-steps", "--trigger", "manual", "--json"),
      )
      expect(completed.runs).toHaveLength(5)
      const future = new Date(Date.now() + 3_600_000).toISOString()
      expect((await cli("runs", "list", "--attr", "suite=list", "--created-from", future)).stdout.trim()).toBe("(no runs)")
      expect(
        json<{ runs: unknown[] }>(await cli("runs", "list", "--attr", "suite=list", "--updated-to", String(Date.now() + 60_000), "--json")).runs,
      ).toHaveLength(5)

      const keyed = (await mesh.start(Steps, { n: 9 }, { idempotencyKey: "cli-key-1" })).runId
      expect(json<{ runs: Array<{ id: string }> }>(await cli("runs", "list", "--idempotency-key", "cli-key-1", "--json")).runs.map((r) => r.id)).toEqual([
        keyed,
      ])
      expect(json<{ runs: unknown[] }>(await cli("runs", "list", "--parent", keyed, "--json")).runs).toEqual([])
      await drain(mesh)

      refused(await cli("runs", "list", "--status", "bogus"), 2, 'squid-mesh: InvalidOptionError: invalid option status = "bogus"')
      refused(await cli("runs", "list", "--created-from", "yesterday"), 2, 'squid-mesh: runs list: --created-from = "yesterday": expected an ISO time')
      refused(await cli("runs", "list", "--limit", "0"), 2, "expected an integer from 1 to 1000")
      refused(await cli("runs", "list", "--cursor", "garbage"), 2, "squid-mesh: InvalidOptionError: invalid option cursor")
      refused(await cli("runs", "list", "--attr", "tenant"), 2, 'squid-mesh: runs list: --attr = "tenant": expected key=value')
      refused(await cli("runs", "list", "--frobnicate"), 2, "squid-mesh: runs list: unknown option --frobnicate (see squid-mesh runs list --help)")
    })

    it("runs show, explain and graph: tables and --json, decided on the journal; an unknown run exits 3, a malformed id 2", async () => {
      const { runId } = await mesh.start(Gate, { n: 1 }, { attributes: { suite: "show" } })
      await drain(mesh)

      const show = await cli("runs", "show", runId)
      expect(show.code, show.stderr).toBe(0)
      expect(show.stdout).toMatch(new RegExp(`^run:\\s+${runId}\\n`))
      expect(show.stdout).toMatch(/status:\s+paused/)
      expect(show.stdout).not.toContain("journal:")
      const history = await cli("runs", "show", runId, "--history")
      expect(history.stdout).toMatch(/deadline:\s+on_time: approval "manager" due \d{4}-\d\d-\d\dT/)
      expect(history.stdout).toMatch(/journal:\nSEQ\s+KIND\s+NAME\s+STATUS/)
      expect(history.stdout).toMatch(/\n1\s+step\s+add\s+completed\s+1\s/)
      expect(history.stdout).toMatch(/\n2\s+approval\s+manager\s+pending \(on_time\)/)
      const view = json<{ id: string; status: string; history: Array<{ kind: string }>; attributes: object }>(
        await cli("runs", "show", runId, "--history", "--json"),
      )
      expect(view).toMatchObject({ id: runId, status: "paused", attributes: { suite: "show" } })
      expect(view.history.map((e) => e.kind)).toEqual(["step", "approval"])

      const why = json<{ reason: string; nextActions: Array<{ action: string }>; evidence: { workflowRegistered: boolean } }>(
        await cli("runs", "explain", runId, "--json"),
      )
      expect(why.reason).toBe("waiting_for_approval")
      expect(why.nextActions.map((a) => a.action)).toEqual(["approve", "reject", "cancel"])
      expect(why.evidence.workflowRegistered).toBe(false) // the CLI has no workflow code
      const explained = await cli("runs", "explain", runId)
      expect(explained.stdout).toMatch(/reason:\s+waiting_for_approval/)
      expect(explained.stdout).toMatch(/next actions:\s+approve \(gate "manager"\), reject \(gate "manager"\), cancel/)
      expect(explained.stdout).toMatch(/\n {2}now: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/)

      const graph = json<{ runId: string; nodes: Array<{ id: string }>; edges: Array<{ from: string; to: string }>; current: string[] }>(
        await cli("runs", "graph", runId, "--json"),
      )
      expect(graph).toMatchObject({ runId, current: ["seq-2"], path: ["seq-1"] })
      expect(graph.nodes.map((n) => n.id)).toEqual(["seq-1", "seq-2"])
      expect(graph.edges).toEqual([expect.objectContaining({ from: "seq-1", to: "seq-2", kind: "sequence", taken: true })])
      const drawn = await cli("runs", "graph", runId)
      expect(drawn.stdout).toMatch(/nodes:\nNODE\s+KIND\s+NAME/)
      expect(drawn.stdout).toMatch(/edges:\nFROM\s+TO\s+KIND\s+TAKEN\nseq-1\s+seq-2\s+sequence\s+yes/)
      expect(drawn.stdout).toContain("path: seq-1\ncurrent: seq-2")

      const due = json<{ runs: Array<{ id: string; deadline: { status: string; kind: string; name: string } }> }>(
        await cli("runs", "list", "--deadline", "on_time", "--json"),
      )
      expect(due.runs.find((r) => r.id === runId)?.deadline).toMatchObject({ status: "on_time", kind: "approval", name: "manager" })
      const dueTable = await cli("runs", "list", "--deadline", "on_time")
      expect(dueTable.stdout).toMatch(/^RUN ID\s+WORKFLOW\s+STATUS\s+TRIGGER\s+CREATED\s+DURATION\s+DEADLINE\s+ATTRIBUTES\n/)
      expect(dueTable.stdout).toMatch(new RegExp(`${runId}\\s+cli-gate\\s+paused\\s.*on_time approval "manager" due \\d{4}-`))
      refused(await cli("runs", "list", "--deadline", "late"), 2, "squid-mesh: InvalidOptionError: invalid option deadline")

      const missing = "00000000-0000-4000-8000-000000000000"
      for (const sub of ["show", "explain", "graph"]) {
        refused(await cli("runs", sub, missing), 3, `squid-mesh: RunNotFoundError: run ${missing} not found`)
        refused(await cli("runs", sub, "not-a-run"), 2, 'squid-mesh: InvalidOptionError: invalid option runId = "not-a-run": must be a UUID')
      }
      refused(await cli("runs", "show"), 2, "squid-mesh: runs show: give the run id")
      refused(await cli("runs", "frob"), 2, 'squid-mesh: runs: unknown subcommand "frob"')
    })

    it("approve, reject, resume and cancel work without the workflow's code; a worker with it advances the run; refusals exit 4", async () => {
      const a = (await mesh.start(Gate, { n: 1 })).runId
      const b = (await mesh.start(Gate, { n: 2 })).runId
      const c = (await mesh.start(Hold, {})).runId
      const d = (await mesh.start(Hold, {})).runId
      await drain(mesh)

      const approved = await cli("approve", a, "--actor", "ops:ana", "--note", "looks fine", "--key", "approve-a")
      expect(approved.code, approved.stderr).toBe(0)
      expect(approved.stdout).toBe(`approved run ${a}: now running\n`)
      expect(json(await cli("approve", a, "--actor", "ops:ana", "--note", "looks fine", "--key", "approve-a", "--json"))).toEqual({
        runId: a,
        status: "running",
        duplicate: true,
      })
      refused(await cli("approve", a, "--actor", "ops:ana"), 4, `squid-mesh: InvalidTransitionError: cannot approve run ${a}`)
      expect(json(await cli("reject", b, "--actor", "ops:bo", "--json"))).toEqual({ runId: b, status: "running", duplicate: false })
      refused(
        await cli("approve", c, "--actor", "ops:ana"),
        4,
        `squid-mesh: InvalidTransitionError: cannot approve run ${c} (paused): the run waits on pause "hold", not an approval`,
      )
      expect((await cli("resume", c, "--actor", "ops:cy", "--reason", "go on")).stdout).toBe(`resumed run ${c}: now running\n`)
      expect((await cli("cancel", d, "--actor", "ops:di", "--reason", "not needed")).stdout).toBe(`cancelled run ${d}: now cancelled\n`)
      refused(await cli("cancel", d, "--actor", "ops:di"), 4, `squid-mesh: InvalidTransitionError: cannot cancel run ${d}`)
      refused(await cli("resume", "00000000-0000-4000-8000-000000000000", "--actor", "x"), 3, "squid-mesh: RunNotFoundError")
      refused(await cli("approve", a), 2, "squid-mesh: approve: give --actor <who> (see squid-mesh approve --help)")
      refused(await cli("cancel", d, "--actor"), 2, "squid-mesh: cancel: --actor needs a value")

      await drain(mesh)
      expect(await mesh.inspectRun(a)).toMatchObject({ status: "completed", output: 4 })
      expect(await mesh.inspectRun(b)).toMatchObject({ status: "failed" })
      expect(await mesh.inspectRun(c)).toMatchObject({ status: "completed", output: "resumed" })
      const audit = await mesh.inspectRun(a, { history: true })
      expect(audit.commands).toEqual([expect.objectContaining({ kind: "approve", actor: "ops:ana", note: "looks fine", idempotencyKey: "approve-a" })])
      const events = await cli("runs", "show", d, "--history")
      expect(events.stdout).toMatch(/audit events:\nAT\s+KIND\s+ACTOR\s+SEQ\s+NOTE\s+KEY\n\S+\s+cancel\s+ops:di\s+-\s+not needed/)
    })

    it("rerun refuses an open run and irreversible steps (exit 4), then reruns; signal checks its payload on the journal's schema", async () => {
      const open = (await mesh.start(Hold, {})).runId
      const shipped = (await mesh.start(Shipping, { n: 3 })).runId
      const waiting = (await mesh.start(Wait, {})).runId
      await drain(mesh)
      refused(await cli("rerun", open, "--actor", "ops"), 4, `squid-mesh: RerunRefusedError: rerun of ${open} refused (not_terminal)`)
      refused(await cli("rerun", shipped, "--actor", "ops"), 4, `squid-mesh: RerunRefusedError: rerun of ${shipped} refused (irreversible_steps)`)
      const again = json<{ runId: string; rerunOf: string; duplicate: boolean }>(
        await cli("rerun", shipped, "--actor", "ops", "--allow-irreversible", "--json"),
      )
      expect(again).toMatchObject({ rerunOf: shipped, duplicate: false })
      expect(again.runId).toMatch(UUID)
      const human = await cli("rerun", shipped, "--actor", "ops", "--allow-irreversible")
      expect(human.stdout).toMatch(new RegExp(`^rerun of ${shipped}: new run [0-9a-f-]{36} \\(running\\)\\n$`))
      await drain(mesh)
      expect(await mesh.inspectRun(again.runId)).toMatchObject({ status: "completed", rerunOf: shipped, output: { shipped: 3 } })

      refused(await cli("signal", waiting, "go", "--payload", '{"n":"seven"}'), 4, "squid-mesh: InvalidPayloadError: invalid payload")
      refused(await cli("signal", waiting, "go", "--payload", "{n:"), 2, "squid-mesh: signal: the payload is not JSON")
      refused(
        await cli("signal", waiting, "go", "--payload-file", "/no/such/file.json"),
        2,
        "squid-mesh: signal: cannot read --payload-file /no/such/file.json",
      )
      refused(await cli("signal", waiting), 2, "squid-mesh: signal: give the signal name")
      const dir = mkdtempSync(join(tmpdir(), "squid-mesh-cli-signal-"))
      dirs.push(dir)
      writeFileSync(join(dir, "go.json"), JSON.stringify({ n: 7 }))
      const sent = await cli("signal", waiting, "go", "--payload-file", join(dir, "go.json"), "--actor", "partner-api")
      expect(sent.stdout).toBe(`sent signal "go" to run ${waiting}: now running\n`)
      await drain(mesh)
      expect(await mesh.inspectRun(waiting)).toMatchObject({ status: "completed", output: 7 })
      refused(await cli("signal", waiting, "go", "--payload", '{"n":1}'), 4, `squid-mesh: InvalidTransitionError: cannot signal run ${waiting}`)
    })

    it("worker --module: a separate process completes runs, logs to stderr only, and drains on SIGTERM", async () => {
      const ids = await Promise.all([1, 2, 3].map(async (n) => (await mesh.start(Steps, { n }, { attributes: { suite: "worker" } })).runId))
      const worker = startProcess(built.bin, ["worker", "--module", built.fixture("cliWorkflows"), "--concurrency", "2", ...store.args])
      try {
        await worker.waitFor(/worker: started on queue default \(concurrency 2\); workflows: cli-steps, cli-gate/)
        for (const [i, id] of ids.entries())
          expect(await mesh.awaitRun(id, { timeout: "2 minutes" })).toMatchObject({ status: "completed", output: (i + 2) * 2 })
        await worker.waitFor(/added: 4/) // Workflow.log, on stderr
      } finally {
        worker.child.kill("SIGTERM")
      }
      expect(await worker.exited).toBe(0)
      expect(worker.stdout()).toBe("")
      expect(worker.output()).toMatch(/worker: SIGTERM: draining\n/)
      expect(worker.output()).toMatch(/worker: stopped \(tasks executed: \d+, retries: 0, errors: 0\)/)
      const quiet = startProcess(built.bin, ["worker", "--module", built.fixture("nope"), ...store.args])
      expect(await quiet.exited).toBe(2)
      expect(quiet.output()).toMatch(/^squid-mesh: worker: module not found: /)
    })

    it("purge refuses without --yes, counts with --dry-run, deletes with --yes; purges list shows the batch", async () => {
      const done = async () => (await mesh.listRuns({ workflow: "cli-steps", status: "completed", limit: 1000 })).runs.length
      const before = await done()
      expect(before).toBeGreaterThan(0)
      refused(await cli("purge", "--older-than", "0 seconds", "--workflow", "cli-steps"), 2, "squid-mesh: purge: refusing to delete runs without --yes")
      refused(await cli("purge", "--older-than", "0 seconds", "--status", "running", "--yes"), 2, 'squid-mesh: purge: --status = "running"')
      refused(await cli("purge", "--older-than", "a while", "--yes"), 2, 'squid-mesh: purge: --older-than = "a while"')
      refused(await cli("purge", "--yes"), 2, "squid-mesh: purge: give --older-than <duration>")
      expect(await done()).toBe(before)
      const dry = json<{ dryRun: boolean; matching: number; finishedBefore: number }>(
        await cli("purge", "--older-than", "0 seconds", "--workflow", "cli-steps", "--status", "completed", "--dry-run", "--json"),
      )
      expect(dry).toMatchObject({ dryRun: true, matching: before, scheduleEvents: 0, specs: 0 })
      expect((await cli("purge", "--older-than", "30 days", "--workflow", "cli-steps", "--dry-run")).stdout).toMatch(
        /^dry run: 0 run\(s\) match \(completed, failed, cancelled, workflow cli-steps, finished before \d{4}-.*\), with 0 schedule event\(s\) and 0 unreferenced spec\(s\) older than that; nothing was deleted\n$/,
      )
      expect(await done()).toBe(before)
      expect(json(await cli("purge", "--older-than", "0 seconds", "--workflow", "cli-steps", "--status", "completed", "--yes", "--json"))).toEqual({
        purged: before,
        batches: 2, // the runs, then the workflow's schedule events (a code workflow has no stored specs)
        scheduleEvents: 0,
        specs: 0,
      })
      expect(await done()).toBe(0)
      const trail = json<Array<{ purged: number; reason: { workflow?: string } }>>(await cli("purges", "list", "--json"))
      expect(trail[0]).toMatchObject({ purged: before, reason: { workflow: "cli-steps" } })
      refused(await cli("purges", "list", "--limit", "0"), 2, 'squid-mesh: purges list: --limit = "0": expected an integer from 1 to 1000')
      const table = await cli("purges", "list", "--limit", "1")
      expect(table.stdout).toMatch(new RegExp(`^AT\\s+RUNS\\s+EVENTS\\s+SPECS\\s+FIRST RUN\\s+LAST RUN\\s+WHAT\\n\\S+Z\\s+${before}\\s+0\\s+0\\s`))
    })

    it("purge also deletes a schedule's old events beyond the 20 newest it keeps; dry run counts them; purges list shows them", async () => {
      // 22 events on one schedule, ending resumed.
      for (let i = 0; i < 11; i++) {
        await mesh.pauseSchedule("cli-nightly", "hourly", { actor: "cli-test" })
        await mesh.resumeSchedule("cli-nightly", "hourly", { actor: "cli-test" })
      }
      const events = async () => (await mesh.scheduleEvents("cli-nightly", "hourly", { limit: 100 })).length
      expect(await events()).toBe(22)
      const dry = json<{ scheduleEvents: number; specs: number }>(
        await cli("purge", "--older-than", "0 seconds", "--workflow", "cli-nightly", "--dry-run", "--json"),
      )
      expect(dry).toMatchObject({ dryRun: true, matching: 0, scheduleEvents: 2, specs: 0 })
      expect(await events()).toBe(22)
      const done = await cli("purge", "--older-than", "0 seconds", "--workflow", "cli-nightly", "--yes")
      expect(done.code, done.stderr).toBe(0)
      expect(done.stdout).toBe("purged 0 run(s), 2 schedule event(s) and 0 unreferenced spec(s) in 2 batch(es)\n")
      expect(await events()).toBe(20)
      const [audit] = json<Array<{ purged: number; scheduleEvents: number; specs: number; firstRunId?: string }>>(
        await cli("purges", "list", "--json", "--limit", "1"),
      )
      expect(audit).toMatchObject({ purged: 0, scheduleEvents: 2, specs: 0, reason: { workflow: "cli-nightly" } })
      expect(audit!.firstRunId).toBeUndefined()
      const table = await cli("purges", "list", "--limit", "1")
      expect(table.stdout).toMatch(/^AT\s+RUNS\s+EVENTS\s+SPECS\s+FIRST RUN\s+LAST RUN\s+WHAT\n\S+Z\s+0\s+2\s+0\s+-\s+-\s/)
    })

    it("dashboard: serves the store's runs with a token, read-only, and stops on SIGTERM", async () => {
      const token = "cli-dashboard-token-0123456789"
      const dashboard = startProcess(built.bin, ["dashboard", "--token-env", "DASH_TOKEN", ...store.args], { env: { DASH_TOKEN: token } })
      try {
        await dashboard.waitFor(/dashboard: serving read-only/)
        const url = new URL(dashboard.stdout().trim())
        expect(url.hostname).toBe("127.0.0.1")
        expect(url.searchParams.get("token")).toBe(token)
        const api = new URL("/api/runs?limit=5", url)
        expect((await fetch(api)).status).toBe(401)
        const page = await fetch(api, { headers: { authorization: `Bearer ${token}` } })
        expect(page.status).toBe(200)
        const body = (await page.json()) as { runs: Array<{ id: string }> }
        expect(body.runs.length).toBeGreaterThan(0)
        // Read-only: the action routes do not exist.
        const approve = await fetch(new URL(`/api/runs/${body.runs[0]!.id}/approve`, url), {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ actor: "ops" }),
        })
        expect(approve.status).toBe(404)
      } finally {
        dashboard.child.kill("SIGTERM")
      }
      expect(await dashboard.exited).toBe(0)
      refused(await cli("dashboard", "--token", "a", "--token-env", "X"), 2, "squid-mesh: dashboard: give either --token or --token-env, not both")
      // With --module, the module's cron triggers are registered: their next fire times are known.
      const withCode = startProcess(built.bin, ["dashboard", "--module", built.fixture("cliWorkflows"), ...store.args])
      try {
        await withCode.waitFor(/dashboard: serving read-only/)
        const schedules = (await (await fetch(new URL("/api/schedules", withCode.stdout().trim()))).json()) as Array<{
          trigger: string
          registered: boolean
          nextFireTimes: ReadonlyArray<number>
        }>
        const lisbon = schedules.find((s) => s.trigger === "lisbon")
        expect(lisbon).toMatchObject({ registered: true })
        expect(lisbon!.nextFireTimes.length).toBeGreaterThan(0)
      } finally {
        withCode.child.kill("SIGTERM")
      }
      expect(await withCode.exited).toBe(0)
    })
  })
