/**
 * The embedded store with real processes: one directory, one writer (the lock), and other
 * processes served through the holder's socket. Issue 7: two processes each starting 30 runs
 * on one `.squid-mesh/` lost 25 runs silently; an approval from a second process was reported
 * done while the waiting worker stayed paused forever.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit, Option } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { StoreLockedError } from "../../src/core/errors.js"
import * as PgliteStore from "../../src/store/pglite.js"
import { spawnChild, type Child } from "./embeddedChild.js"
import type { ChildConfig } from "./embeddedProcess.js"

const dirs: Array<string> = []
const children: Array<Child> = []
afterAll(() => {
  children.forEach((c) => c.process.kill("SIGKILL"))
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "squid-mesh-embedded-"))
  dirs.push(dir)
  return join(dir, ".squid-mesh")
}

const child = (config: ChildConfig, env: Record<string, string> = {}): Child => {
  const c = spawnChild("embeddedProcess.ts", { ...env, EMBEDDED_CHILD: JSON.stringify(config) })
  children.push(c)
  return c
}

/** Opens the directory in this process, runs `f` on the store, closes. */
const withStore = <A>(dataDir: string, f: (store: Effect.Effect.Success<ReturnType<typeof PgliteStore.make>>) => Effect.Effect<A, unknown>) =>
  Effect.runPromiseExit(Effect.scoped(Effect.flatMap(PgliteStore.make({ dataDir, progress: false }), f)))

const failureOf = <A, E>(exit: Exit.Exit<A, E>) => (Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined)

describe("embedded store across processes", () => {
  it("two processes each start 30 runs at once on one directory: all 60 exist and complete", async () => {
    const dataDir = freshDir()
    const a = child({ role: "starter", dataDir, label: "a", count: 30 })
    const b = child({ role: "starter", dataDir, label: "b", count: 30 })
    type Done = { statuses: Array<string>; outputs: Array<{ label: string; value: number }> }
    const [doneA, doneB] = await Promise.all([a.next<Done>("done"), b.next<Done>("done")])
    expect(doneA.statuses).toEqual(Array(30).fill("completed"))
    expect(doneB.statuses).toEqual(Array(30).fill("completed"))
    expect(doneA.outputs.map((o) => o.value).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, n) => n * 2 + 1))

    // Exactly one of them opened the directory; the other went through its socket.
    const holder = [a, b].find((c) => /serving \S+\.s\.PGSQL\.5432/.test(c.output()))
    const client = [a, b].find((c) => c.output().includes(`via the socket of process ${holder?.pid}`))
    expect(holder, a.output() + b.output()).toBeDefined()
    expect(client).toBeDefined()
    expect(client).not.toBe(holder)

    client!.send("close")
    expect(await client!.exited).toBe(0)
    holder!.send("close")
    expect(await holder!.exited).toBe(0)

    const exit = await withStore(dataDir, (store) => store.listRuns({ workflow: "embedded-pair", limit: 1000 }))
    expect(Exit.isSuccess(exit)).toBe(true)
    const runs = Exit.isSuccess(exit) ? exit.value : []
    expect(runs).toHaveLength(60)
    expect(runs.every((r) => r.status === "completed")).toBe(true)
    const labels = runs.map((r) => (r.input as { label: string }).label)
    expect(labels.filter((l) => l === "a")).toHaveLength(30)
    expect(labels.filter((l) => l === "b")).toHaveLength(30)
  }, 600_000)

  it("an approval sent from a second process completes the run waiting in the holder's worker", async () => {
    const dataDir = freshDir()
    const holder = child({ role: "gate-holder", dataDir })
    const { runId } = await holder.next<{ runId: string }>("started")
    // The approver opens createMesh's default store, found through SQUID_MESH_DATA_DIR.
    const approver = child({ role: "approver", dataDir, runId, defaultStore: true }, { SQUID_MESH_DATA_DIR: dataDir })
    const approved = await approver.next<{ outcome: { status?: string }; at: number }>("approved")
    expect(await approver.exited).toBe(0)
    expect(approver.output()).toContain(`via the socket of process ${holder.pid}`)
    const completed = await holder.next<{ status: string; output: unknown; at: number }>("completed")
    expect(completed.status).toBe("completed")
    expect(completed.output).toEqual({ approvedBy: "approver-process", after: 42 })
    // The holder's worker polls every 10 minutes: it ran the step because the approval's NOTIFY reached it.
    expect(completed.at - approved.at).toBeLessThan(60_000)
    holder.send("close")
    expect(await holder.exited).toBe(0)
  }, 600_000)

  it("a process that cannot reach the holder (not serving) gets StoreLockedError naming it", async () => {
    const dataDir = freshDir()
    const holder = child({ role: "hold", dataDir, serve: false })
    const ready = await holder.next<{ description: string }>("ready")
    expect(ready.description).toContain("not serving")
    const exit = await withStore(dataDir, (store) => store.listRuns({}))
    const error = failureOf(exit)
    expect(error).toBeInstanceOf(StoreLockedError)
    expect(error).toMatchObject({ _tag: "StoreLockedError", holderPid: holder.pid, holderHost: hostname(), dataDir })
    expect((error as StoreLockedError).socket).toBeUndefined()
    expect((error as StoreLockedError).message).toContain(`held by process ${holder.pid}`)
    holder.send("close")
    expect(await holder.exited).toBe(0)
    // Released: now this process opens it itself.
    const reopened = await withStore(dataDir, (store) => Effect.succeed(PgliteStore.describeStore(store)))
    expect(Exit.isSuccess(reopened) && reopened.value).toMatch(/^embedded store .* \(opened in \d+ ms, serving /)
  }, 600_000)

  it("a process connected through the socket takes the directory over when the holder dies, and keeps working", async () => {
    const dataDir = freshDir()
    const holder = child({ role: "hold", dataDir })
    await holder.next("ready")
    const runId = "0b8a0f38-5c44-4c1e-9d3a-7f2d1c9b4e11"
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* PgliteStore.make({ dataDir, progress: false })
          const before = PgliteStore.storeInfo(store)
          yield* store.createRun({
            run: {
              id: runId,
              workflow: "w",
              trigger: "manual",
              queue: "default",
              status: "running",
              input: { n: 1 },
              revision: 0,
              requestHash: "r".repeat(64),
              definitionHash: "d".repeat(64),
              createdAt: 1,
              updatedAt: 1,
            },
            entries: [],
            tasks: [],
          })
          holder.process.kill("SIGKILL")
          yield* Effect.promise(() => holder.exited)
          // The pool's connection died with the holder; the next statement may see that once.
          let run = yield* Effect.either(store.getRun(runId))
          for (let i = 0; i < 20 && run._tag === "Left"; i++) run = yield* Effect.either(store.getRun(runId))
          const listed = yield* store.listRuns({})
          return { before, after: PgliteStore.storeInfo(store), run, listed, holderNow: PgliteStore.holderOf(dataDir) }
        }),
      ),
    )
    expect(failureOf(exit)).toBeUndefined()
    const value = Exit.isSuccess(exit) ? exit.value : undefined
    expect(value?.before).toMatchObject({ mode: "client", holderPid: holder.pid })
    expect(value?.run).toMatchObject({ _tag: "Right", right: { id: runId, input: { n: 1 } } })
    expect(value?.listed.map((r) => r.id)).toEqual([runId])
    expect(value?.after).toMatchObject({ mode: "holder", tookOverFrom: holder.pid })
    expect(value?.holderNow).toMatchObject({ pid: process.pid })
    // Closed with its scope: the lock is free again.
    expect(PgliteStore.holderOf(dataDir)).toBeUndefined()
  }, 600_000)

  it("takes over the lock of a holder that was SIGKILLed, and keeps its data", async () => {
    const dataDir = freshDir()
    const holder = child({ role: "hold", dataDir })
    await holder.next("ready")
    const viaSocket = await withStore(dataDir, (store) =>
      Effect.zipRight(
        store.createRun({
          run: {
            id: "6a1d3c7e-8a6b-4a55-9f0e-0c5d2f1b9e01",
            workflow: "w",
            trigger: "manual",
            queue: "default",
            status: "running",
            input: { kept: true },
            revision: 0,
            requestHash: "r".repeat(64),
            definitionHash: "d".repeat(64),
            createdAt: 1,
            updatedAt: 1,
          },
          entries: [],
          tasks: [],
        }),
        Effect.succeed(PgliteStore.storeInfo(store)),
      ),
    )
    expect(Exit.isSuccess(viaSocket) && viaSocket.value).toMatchObject({ mode: "client", holderPid: holder.pid })
    holder.process.kill("SIGKILL")
    expect(await holder.exited).toBe("SIGKILL")
    const stale = readdirSync(dataDir).filter((f) => f.startsWith("squid-mesh.lock."))
    expect(stale).toHaveLength(1)
    expect(JSON.parse(readFileSync(join(dataDir, stale[0]!), "utf8"))).toMatchObject({ pid: holder.pid })

    const exit = await withStore(dataDir, (store) =>
      Effect.all({
        info: Effect.succeed(PgliteStore.storeInfo(store)),
        run: store.getRun("6a1d3c7e-8a6b-4a55-9f0e-0c5d2f1b9e01"),
        holder: Effect.sync(() => PgliteStore.holderOf(dataDir)),
      }),
    )
    expect(failureOf(exit)).toBeUndefined()
    const value = Exit.isSuccess(exit) ? exit.value : undefined
    expect(value?.info).toMatchObject({ mode: "holder", dataDir })
    expect(value?.holder).toMatchObject({ pid: process.pid, host: hostname() })
    expect(value?.run?.input).toEqual({ kept: true })
  }, 600_000)
})
