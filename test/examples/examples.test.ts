/**
 * The five examples of the README's "Examples" section, run as a user runs them: `npm run
 * example:<name>` from the project root, each a process of its own, all five at once. Each must
 * exit 0 and tell its story (run statuses, the path taken, the retries, routes and compensations).
 *
 * The npm scripts run `tsx examples/<name>.ts`, which imports the package by its name. A user
 * gets the compiled `dist/` (built by `npm install`); here the package resolves to its source
 * (`--conditions=squid-mesh-source`, the condition the other tests use), so the test needs no
 * build and never races the package test, which rebuilds `dist/` while the suite runs.
 */
import { execFile } from "node:child_process"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "../..")

/** Runs `npm run <script>` at the project root; resolves with its exit code and output (never rejects on a non-zero exit). */
const npmRun = (script: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --conditions=squid-mesh-source`.trim() }
    execFile("npm", ["run", "--silent", script], { cwd: root, env, timeout: 90_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0
      done({ code, stdout, stderr })
    })
  })

/** Runs the script and checks it exited 0, showing its output when it did not. */
const story = async (script: string): Promise<string> => {
  const { code, stdout, stderr } = await npmRun(script)
  expect(code, `${script} exited ${code}\n${stdout}\n${stderr}`).toBe(0)
  return stdout
}

/** The block of output that starts with the line containing `heading`, up to the next `==` heading. */
const section = (out: string, heading: string): string => {
  const start = out.indexOf(heading)
  expect(start, `no "${heading}" in:\n${out}`).toBeGreaterThanOrEqual(0)
  const next = out.indexOf("\n==", start + heading.length)
  return out.slice(start, next === -1 ? undefined : next)
}

describe.concurrent("the examples, through their npm scripts", () => {
  it("example:ring-errand: pause, approval with a deadline, routing, retry, saga, and an irreversible step that blocks a plain rerun", async () => {
    const out = await story("example:ring-errand")
    const frodo = section(out, "== Frodo")
    expect(frodo).toMatch(/run [0-9a-f]{8} completed/)
    expect(frodo).toContain("resumed by strider")
    expect(frodo).toContain("waiting_for_approval: council_vote deadline on_time")
    expect(frodo).toContain(
      "path: pack_lembas → log → wait_for_gandalf → hide_at_prancing_pony → council_vote → choose_path → cross_moria → reserve_eagle → insult_sauron → toss_ring",
    )
    expect(frodo).toContain("attempt 1 failed: balrog_on_the_bridge")
    expect(frodo).toContain("audit: approve by elrond")
    const boromir = section(out, "== Boromir")
    expect(boromir).toMatch(/completed/)
    expect(boromir).toContain("routed: council_vote —error→ walk_home_awkwardly")
    expect(boromir).toContain("Boromir walks home: turned away by system:deadline (nobody voted in time)")
    const sam = section(out, "== Sam")
    expect(sam).toMatch(/run [0-9a-f]{8} failed/)
    expect(sam).toContain('routed: choose_path —ok · journey.route = "caradhras"→ climb_caradhras')
    expect(sam).toContain("insult_sauron (failed) → compensate:reserve_eagle")
    expect(sam).toContain("result: sauron_noticed")
    expect(out).toContain("eagle rides still booked: eagle-for-frodo; cancelled by compensation: eagle-for-sam")
    const rerun = section(out, "== Rerunning")
    expect(rerun).toContain("RerunRefusedError (irreversible_steps, steps: toss_ring)")
    expect(rerun).toMatch(/with allowIrreversible: run [0-9a-f]{8} \(rerunOf [0-9a-f]{8}\)/)
    expect(rerun).toMatch(/run [0-9a-f]{8} completed; the ring was tossed 2 times/)
    // Workflow.log lines go through the host logger, once per run (never again on replay).
    expect(out.match(/Leaving the Shire with suspicious jewelry/g)).toHaveLength(4)
  })

  it("example:parallel-attack: the roots run side by side and the after-join waits for all three; a failed root skips it and undoes", async () => {
    const out = await story("example:parallel-attack")
    const won = section(out, "== The attack:")
    expect(won).toContain("completed: victory, with 12000 at the gate")
    expect(won).toContain("declare_victory waited for: march_to_gate (join, taken), rally_rohan (join, taken), distract_sauron (join, taken)")
    const span = (name: string) => {
      const m = new RegExp(`${name}\\s+(\\d+) → +(\\d+) ms`).exec(won)
      expect(m, `no timeline line for ${name}`).not.toBeNull()
      return { from: Number(m![1]), to: Number(m![2]) }
    }
    const roots = ["march_to_gate", "rally_rohan", "distract_sauron"].map(span)
    // They ran at once: each waited at the muster until all three were under way (progress, not timing).
    expect(out).toContain("all three forces are under way at once")
    expect(span("declare_victory").from).toBeGreaterThanOrEqual(Math.max(...roots.map((r) => r.to)))
    const lost = section(out, "== The attack without Rohan")
    expect(lost).toContain("failed: horns_unanswered: Rohan does not ride")
    expect(lost).toContain("compensate:march_to_gate")
    expect(lost).toContain("never ran: declare_victory")
    expect(out).toContain(
      "on the field: all three forces are under way at once; victory declared; all three forces are under way at once; the army retreats from the Black Gate",
    )
  })

  it("example:beacon-watch: the cron trigger starts one run per window, even with two schedulers", async () => {
    const out = await story("example:beacon-watch")
    const windows = [...out.matchAll(/== window (\S+): run [0-9a-f]{8} \(trigger beaconCheck, key cron:(\d+)\) (\w+)/g)]
    expect(windows.length).toBeGreaterThanOrEqual(2)
    expect(new Set(windows.map((w) => w[2])).size).toBe(windows.length) // one run per window
    for (const w of windows) expect(new Date(Number(w[2])).toISOString()).toBe(w[1])
    expect(out).toMatch(new RegExp(`schedulers stopped after ${windows.length} windows`))
    const first = section(out, windows[0]![0])
    expect(windows[0]![3]).toBe("completed")
    expect(first).toContain("attempt 1 failed: fog: fog over Amon Dîn")
    expect(first).toContain("audit: start by scheduler")
    const second = section(out, windows[1]![0])
    expect(windows[1]![3]).toBe("failed")
    expect(second).toContain("send_errand_rider (failed) → compensate:light_first_beacon")
    expect(out).toContain("beacons burning: Amon Dîn (watch 1)")
    expect(out).not.toContain("not started")
  })

  it("example:rss-digest: fetch, build, post with a retried 500, and the error route when the feed is malformed or empty", async () => {
    const out = await story("example:rss-digest")
    expect(out).toMatch(/feeds and the webhook served locally at http:\/\/127\.0\.0\.1:\d+/)
    expect(out).toContain('"0 9 * * 1-5"')
    const today = section(out, "== today's digest")
    expect(today).toMatch(/run [0-9a-f]{8} completed/)
    expect(today).toContain("path: fetch_feed → build_digest → log → post_to_discord")
    expect(today).toContain("attempt 1 failed: discord_500: Discord answered 500")
    expect(today).toContain("the webhook was called 2 times")
    expect(today).toContain("| • Record pumpkin at Bywater <http://gazette.shire/pumpkin>")
    const broken = section(out, "== a malformed feed")
    expect(broken).toContain("path: fetch_feed (failed) → notify_editors")
    expect(broken).toContain("editors notified: no digest today (fetch_feed: feed_malformed")
    const empty = section(out, "== an empty feed")
    expect(empty).toContain("path: fetch_feed → build_digest (failed) → notify_editors")
    expect(empty).toContain("build_digest: feed_empty")
    expect(out).toContain("posts on Discord: 1")
  })

  it("example:party-invites: a step's dynamic work runs and holds the run until done; host code records more; a failed node fails the run", async () => {
    const out = await story("example:party-invites")
    expect(out).toContain("preview of the seating chart: adds table-1, table-2; recordable true, schedulable false")
    const party = section(out, "== The long-expected party")
    expect(party).toContain("while the invitations go out: waiting_for_dynamic_work")
    expect(party).toContain('dynamic work "invite-fanout" (scheduled) from plan_invites attempt 1: 5 node(s)')
    expect(party).toContain('tally: {"delivered":4,"byEagle":["Gandalf"]}')
    expect(party).toContain('dynamic work "seating-chart" (recorded) from gather_guests attempt 1: 2 node(s)')
    expect(party).toMatch(/invite-3\s+completed/)
    expect(party).toMatch(/table-2\s+recorded/)
    expect(party).toContain("attempt 1 failed: door_shut")
    expect(party).toContain("audit: dynamic_work by hamfast")
    expect(party).toContain('completed: {"host":"Bilbo","invitations":4}')
    expect(party).toMatch(/Lobelia's invitation was delivered after \d+ tries/)
    const gollum = section(out, "== A party for Gollum")
    expect(gollum).toMatch(/invite-1\s+failed/)
    expect(gollum).toContain("tally: never ran")
    expect(gollum).toContain("attempt 1 failed: no_address: nobody knows where Gollum lives")
    expect(gollum).toContain('failed: dynamic_work_failed: dynamic node "invite-1" (action "invites.deliver", work "invite-fanout")')
  })
})
