/**
 * What the examples share to tell their story: waiting for a run to reach a gate, and printing
 * a run's journal (each entry, its attempts and the audit trail) in a few readable lines.
 * Only the package entry is imported, as a user's code would.
 */
import type { HostLogger, MeshClient, RunView } from "squid-mesh"

/** The first 8 characters of a run id: enough to tell runs apart in a story. */
export const short = (runId: string): string => runId.slice(0, 8)

/** A host logger for `createMesh({ logger })`: one short line per log line, tagged with its run. */
export const storyLogger: HostLogger = (() => {
  const line = (level: string) => (message: string, fields: Record<string, unknown>) =>
    console.log(`  [${level}${typeof fields.runId === "string" ? ` run ${short(fields.runId)}` : ""}] ${message}`)
  return { debug: () => undefined, info: line("log"), warn: line("warn"), error: line("error") }
})()

/** Resolves after `ms` milliseconds. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 25 ms until it returns a value; throws after `timeoutMs` naming `what` it waited for. */
export const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await pause(25)
  }
}

/** Waits until the run waits at the gate (a pause or an approval) named `name`; resolves with the run and its history. */
export const atGate = (mesh: MeshClient, runId: string, name: string): Promise<RunView> =>
  until(`run ${short(runId)} to wait at ${name}`, async () => {
    const run = await mesh.inspectRun(runId, { history: true })
    return run.history?.some((e) => e.name === name && e.status === "pending") ? run : undefined
  })

/** The path a run took, from its journal: `a → b → c (failed)`. */
export const pathOf = (run: RunView): string => (run.history ?? []).map((e) => (e.status === "completed" ? e.name : `${e.name} (${e.status})`)).join(" → ")

const at = (ms: number | undefined, origin: number) => (ms === undefined ? "" : `+${String(ms - origin).padStart(5)} ms`)

/** Prints a run's journal: one line per entry, a line per failed attempt (with its error and retry), and the audit events. */
export const printJournal = (run: RunView, indent = "  "): void => {
  for (const entry of run.history ?? []) {
    console.log(
      `${indent}#${String(entry.seq).padEnd(2)} ${entry.kind.padEnd(12)} ${entry.name.padEnd(28)} ${entry.status.padEnd(9)} ${at(entry.resolvedAt, run.createdAt)}`,
    )
    for (const a of entry.attempts) {
      if (a.status !== "failed") continue
      const retry = a.retryAt === undefined ? "" : `  → retried at ${at(a.retryAt, run.createdAt).trim()}`
      console.log(`${indent}      attempt ${a.attempt} failed: ${a.error?.code}: ${a.error?.message}${retry}`)
    }
  }
  for (const c of run.commands ?? []) console.log(`${indent}audit: ${c.kind} by ${c.actor}${c.note ? ` (${c.note})` : ""}`)
}
