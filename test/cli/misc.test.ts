/**
 * The CLI's surface that needs no runs: `--help` for every command and subcommand (stdout,
 * exit 0), usage mistakes (exit 2, one line), `schedules list` (cron next fire times in the
 * trigger's time zone, no store), and an unreachable store (exit 5, the URL's password never
 * printed). Help is checked in-process for speed; the rest through the binary.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { main, USAGE } from "../../src/cli/main.js"
import { type BuiltCli, buildCli, runCli } from "./support.js"

let built: BuiltCli
beforeAll(async () => {
  built = await buildCli()
})
afterAll(() => built?.remove())

/** Runs the CLI in-process: what it printed on stdout and stderr. */
const capture = async (args: ReadonlyArray<string>) => {
  const out: Array<string> = []
  const errors: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")))
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void errors.push(a.join(" ")))
  try {
    return { code: await main(args), out: out.join("\n"), err: errors.join("\n") }
  } finally {
    log.mockRestore()
    err.mockRestore()
  }
}

const COMMANDS = [
  ["runs"],
  ["runs", "list"],
  ["runs", "show"],
  ["runs", "explain"],
  ["runs", "graph"],
  ["approve"],
  ["reject"],
  ["resume"],
  ["cancel"],
  ["rerun"],
  ["signal"],
  ["purge"],
  ["purges", "list"],
  ["worker"],
  ["schedules", "list"],
  ["migrate"],
  ["migrations"],
  ["doctor"],
  ["check-replay"],
  ["dashboard"],
]

describe("help", () => {
  it("the overview lists every command and documents the exit codes", async () => {
    const help = await capture(["--help"])
    expect(help).toMatchObject({ code: 0, err: "" })
    expect(help.out).toBe(USAGE)
    for (const command of COMMANDS) expect(help.out).toContain(`  ${command.join(" ")}`)
    for (const code of ["0  ok", "2  usage", "3  not found", "4  refused", "5  store"]) expect(help.out).toContain(code)
    expect((await capture(["help"])).out).toBe(USAGE)
  })

  it.each(COMMANDS)("%s %s --help prints its own usage on stdout", async (...command) => {
    const words = command.filter((w): w is string => typeof w === "string")
    const help = await capture([...words, "--help"])
    expect(help).toMatchObject({ code: 0, err: "" })
    expect(help.out).toMatch(new RegExp(`^usage: squid-mesh ${words.join(" ")}`))
    expect((await capture([...words, "-h"])).out).toBe(help.out)
    expect((await capture(["help", ...words])).out).toBe(help.out)
  })

  it("runs list --help documents every filter", async () => {
    const help = (await capture(["runs", "list", "--help"])).out
    for (const flag of [
      "--status",
      "--workflow",
      "--trigger",
      "--created-from",
      "--created-to",
      "--updated-from",
      "--updated-to",
      "--parent",
      "--idempotency-key",
      "--attr",
      "--deadline",
      "--limit",
      "--cursor",
      "--all",
      "--json",
      "--url",
      "--data-dir",
    ]) {
      expect(help).toContain(flag)
    }
  })
})

describe("the binary", () => {
  it("--help on stdout; a bogus command or subcommand is exit 2 with the reason first on stderr", async () => {
    const help = await runCli(built.bin, ["runs", "list", "--help"])
    expect(help).toMatchObject({ code: 0, stderr: "" })
    expect(help.stdout).toMatch(/^usage: squid-mesh runs list/)
    const bogus = await runCli(built.bin, ["frobnicate"])
    expect(bogus).toMatchObject({ code: 2, stdout: "" })
    expect(bogus.stderr).toMatch(/^squid-mesh: unknown command "frobnicate"\nusage: squid-mesh <command>/)
    const sub = await runCli(built.bin, ["purges", "delete"])
    expect(sub).toEqual({ code: 2, stdout: "", stderr: 'squid-mesh: purges: unknown subcommand "delete" (see squid-mesh purges --help)\n' })
  })

  it("schedules list: the cron triggers' next fire times in their time zones, as a table and as JSON, without a store", async () => {
    const before = Date.now()
    const r = await runCli(built.bin, ["schedules", "list", "--module", built.fixture("cliWorkflows"), "--next", "2", "--json"])
    expect(r).toMatchObject({ code: 0, stderr: "" })
    const schedules = JSON.parse(r.stdout) as Array<{ workflow: string; trigger: string; expression: string; timeZone: string; next: Array<number> }>
    expect(schedules.map(({ next: _, ...s }) => s)).toEqual([
      { workflow: "cli-nightly", trigger: "lisbon", expression: "0 21 * * *", timeZone: "Europe/Lisbon" },
      { workflow: "cli-nightly", trigger: "hourly", expression: "15 * * * *", timeZone: "UTC" },
    ])
    const [lisbon, hourly] = schedules
    const local = (ms: number) =>
      new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Lisbon", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(ms)
    for (const at of lisbon!.next) expect(local(at)).toBe("21:00")
    expect(lisbon!.next[0]).toBeGreaterThan(before)
    expect(lisbon!.next[0]! - before).toBeLessThanOrEqual(86_400_000 + 3_600_000)
    expect(hourly!.next.map((at) => new Date(at).getUTCMinutes())).toEqual([15, 15])
    expect(hourly!.next[1]! - hourly!.next[0]!).toBe(3_600_000)

    const table = await runCli(built.bin, ["schedules", "list", "--module", built.fixture("cliWorkflows")])
    const lines = table.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^WORKFLOW\s+TRIGGER\s+CRON\s+TIME ZONE\s+NEXT \(UTC\)\s+IN$/)
    expect(lines[1]).toMatch(/^cli-nightly\s+lisbon\s+0 21 \* \* \*\s+Europe\/Lisbon\s+\d{4}-\d\d-\d\dT\d\d:00:00Z\s+\S/)
    expect(lines[2]).toMatch(/^cli-nightly\s+hourly\s+15 \* \* \* \*\s+UTC\s+\d{4}-\d\d-\d\dT\d\d:15:00Z\s+\S/)

    expect(await runCli(built.bin, ["schedules", "list"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "squid-mesh: schedules list: give --module <file> (see squid-mesh schedules list --help)\n",
    })
  })

  it("an unreachable Postgres is exit 5, named without its password; a URL and a directory together are exit 2", async () => {
    const url = "postgres://ops:hunter2secret@127.0.0.1:1/app"
    for (const args of [
      ["runs", "list", "--url", url],
      ["approve", "00000000-0000-4000-8000-000000000000", "--actor", "x", "--url", url],
    ]) {
      const r = await runCli(built.bin, args)
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 5, stdout: "" })
      expect(r.stderr).toMatch(/^squid-mesh: store: postgres 127\.0\.0\.1:1\/app\nsquid-mesh: StoreError: store operation connect failed: .*ECONNREFUSED.*\n$/)
      expect(r.stderr).not.toContain("hunter2")
    }
    // $DATABASE_URL is the default store when no flag names one.
    const fromEnv = await runCli(built.bin, ["runs", "list"], { env: { DATABASE_URL: url } })
    expect(fromEnv.code).toBe(5)
    expect(fromEnv.stderr).toContain("squid-mesh: store: postgres 127.0.0.1:1/app\n")
    const both = await runCli(built.bin, ["runs", "list", "--url", url, "--data-dir", "/tmp"])
    expect(both).toEqual({
      code: 2,
      stdout: "",
      stderr: "squid-mesh: runs list: give either --url or --data-dir, not both (see squid-mesh runs list --help)\n",
    })
  })
})
