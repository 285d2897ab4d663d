/**
 * Contract cases for listing runs (`listRuns`: every filter, the keyset cursor, ordering
 * ties) and for purging them (`purgeRuns`, `listPurges`), registered inside the Store
 * contract of each backend (storeContract.ts). The store is shared by all cases, so each case
 * isolates itself with fresh workflow names (every purge is limited to its own workflow).
 */
import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { RunRecord, RunStatus } from "../../src/core/model.js"
import type { StoreService } from "../../src/store/Store.js"

const T0 = 1_700_000_000_123

const uid = () => randomUUID().slice(0, 8)

const makeRun = (overrides: Partial<RunRecord> = {}): RunRecord => ({
  id: randomUUID(),
  workflow: `wf-${uid()}`,
  trigger: "manual",
  queue: `q-${uid()}`,
  status: "running",
  input: { n: 1 },
  revision: 0,
  requestHash: "a".repeat(64),
  definitionHash: "b".repeat(64),
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
})

/** A terminal run of `workflow` finished at `finishedAt`. */
const finished = (workflow: string, finishedAt: number, status: RunStatus = "completed", overrides: Partial<RunRecord> = {}): RunRecord =>
  makeRun({ workflow, status, createdAt: finishedAt - 10, updatedAt: finishedAt, finishedAt, ...overrides })

const ids = (rs: ReadonlyArray<RunRecord>) => rs.map((r) => r.id)

/** Sorted the way listRuns answers: createdAt desc, then id desc. */
const newestFirst = (rs: ReadonlyArray<RunRecord>) => [...rs].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))

/** Registers the listing and purge cases; `store` gives the backend under test once it is built. */
export const listingContract = (store: () => StoreService): void => {
  const run = <A>(f: (s: StoreService) => Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(f(store()))
  const seed = async (...records: ReadonlyArray<RunRecord>) => {
    for (const record of records) expect((await run((s) => s.createRun({ run: record, entries: [], tasks: [] })))._tag).toBe("Created")
    return records
  }

  describe("listRuns", () => {
    it("lists newest first, ties by id descending, filtered by one or several statuses and the workflow, up to the limit", async () => {
      const wf = `wf-${uid()}`
      const rs = await seed(
        makeRun({ workflow: wf, createdAt: T0 + 1 }),
        makeRun({ workflow: wf, createdAt: T0 + 2, status: "completed", output: 1, finishedAt: T0 + 2 }),
        makeRun({ workflow: wf, createdAt: T0 + 3, status: "paused" }),
        makeRun({ workflow: wf, createdAt: T0 + 4 }),
        makeRun({ workflow: wf, createdAt: T0 + 4 }),
        makeRun({ workflow: wf, createdAt: T0 + 4, status: "failed", finishedAt: T0 + 4 }),
      )
      await seed(makeRun({ createdAt: T0 + 10, status: "completed", finishedAt: T0 + 10 }))
      const all = newestFirst(rs)
      expect(ids(await run((s) => s.listRuns({ workflow: wf })))).toStrictEqual(ids(all))
      expect(await run((s) => s.listRuns({ workflow: wf, statuses: ["completed"] }))).toStrictEqual([rs[1]])
      const open = all.filter((r) => r.status === "running" || r.status === "paused")
      expect(ids(await run((s) => s.listRuns({ workflow: wf, statuses: ["running", "paused"] })))).toStrictEqual(ids(open))
      expect(ids(await run((s) => s.listRuns({ workflow: wf, statuses: ["paused", "failed", "running"], limit: 2 })))).toStrictEqual(
        ids(all.filter((r) => r.status !== "completed").slice(0, 2)),
      )
      expect(ids(await run((s) => s.listRuns({ workflow: wf, limit: 3 })))).toStrictEqual(ids(all.slice(0, 3)))
      expect(await run((s) => s.listRuns({ workflow: wf, statuses: ["cancelled"] }))).toStrictEqual([])
      expect(await run((s) => s.listRuns({ workflow: `wf-${uid()}` }))).toStrictEqual([])
      const everything = await run((s) => s.listRuns({}))
      expect(everything.length).toBeGreaterThan(0)
      expect(everything.length).toBeLessThanOrEqual(100)
      for (let i = 1; i < everything.length; i++) expect(everything[i - 1]!.createdAt).toBeGreaterThanOrEqual(everything[i]!.createdAt)
    })

    it("filters by trigger, idempotency key and parent run", async () => {
      const wf = `wf-${uid()}`
      const parent = makeRun({ workflow: wf, createdAt: T0 })
      const key = `key-${uid()}`
      const [, b, c, d] = await seed(
        parent,
        makeRun({ workflow: wf, trigger: "nightly", idempotencyKey: key, createdAt: T0 + 1 }),
        makeRun({ workflow: wf, parentRunId: parent.id, parentSeq: 2, createdAt: T0 + 2 }),
        makeRun({ workflow: wf, parentRunId: parent.id, parentSeq: 3, trigger: "nightly", createdAt: T0 + 3 }),
      )
      expect(ids(await run((s) => s.listRuns({ trigger: "nightly", workflow: wf })))).toStrictEqual([d!.id, b!.id])
      expect(await run((s) => s.listRuns({ idempotencyKey: key }))).toStrictEqual([b])
      expect(ids(await run((s) => s.listRuns({ parentRunId: parent.id })))).toStrictEqual([d!.id, c!.id])
      expect(ids(await run((s) => s.listRuns({ parentRunId: parent.id, trigger: "nightly" })))).toStrictEqual([d!.id])
      expect(await run((s) => s.listRuns({ parentRunId: d!.id }))).toStrictEqual([])
    })

    it("filters by created and updated time ranges, from inclusive and to exclusive", async () => {
      const wf = `wf-${uid()}`
      const rs = await seed(...[0, 1, 2, 3].map((i) => makeRun({ workflow: wf, createdAt: T0 + i * 100, updatedAt: T0 + i * 100 })))
      // a commit moves updatedAt: the oldest run was touched last
      expect((await run((s) => s.commit({ runId: rs[0]!.id, now: T0 + 1000, resolve: [], append: [], attempts: [], tasks: [], withdraw: [] })))._tag).toBe(
        "Committed",
      )
      const list = (f: Parameters<StoreService["listRuns"]>[0]) => run((s) => s.listRuns({ workflow: wf, ...f })).then(ids)
      expect(await list({ createdFrom: T0 + 100, createdTo: T0 + 300 })).toStrictEqual([rs[2]!.id, rs[1]!.id])
      expect(await list({ createdFrom: T0 + 101 })).toStrictEqual([rs[3]!.id, rs[2]!.id])
      expect(await list({ createdTo: T0 + 100 })).toStrictEqual([rs[0]!.id])
      expect(await list({ updatedFrom: T0 + 300 })).toStrictEqual([rs[3]!.id, rs[0]!.id])
      expect(await list({ updatedTo: T0 + 300 })).toStrictEqual([rs[2]!.id, rs[1]!.id])
      expect(await list({ updatedFrom: T0 + 1000, updatedTo: T0 + 1001 })).toStrictEqual([rs[0]!.id])
      expect(await list({ createdFrom: T0 + 50, updatedTo: T0 + 250 })).toStrictEqual([rs[2]!.id, rs[1]!.id])
    })

    it("stores attributes with the run and filters by them: every given pair must match", async () => {
      const wf = `wf-${uid()}`
      const tenant = `t-${uid()}`
      const [eu, us, plain, other] = await seed(
        makeRun({ workflow: wf, attributes: { tenant, region: "eu" }, createdAt: T0 + 1 }),
        makeRun({ workflow: wf, attributes: { tenant, region: "us", tier: "gold" }, createdAt: T0 + 2 }),
        makeRun({ workflow: wf, createdAt: T0 + 3 }),
        makeRun({ workflow: wf, attributes: { tenant: `${tenant}-x`, region: "eu" }, createdAt: T0 + 4 }),
      )
      expect(await run((s) => s.getRun(us!.id))).toStrictEqual(us)
      expect(await run((s) => s.getRun(plain!.id))).toStrictEqual(plain)
      expect("attributes" in (await run((s) => s.getRun(plain!.id)))!).toBe(false)
      expect(ids(await run((s) => s.listRuns({ attributes: { tenant } })))).toStrictEqual([us!.id, eu!.id])
      expect(await run((s) => s.listRuns({ attributes: { tenant, region: "eu" } }))).toStrictEqual([eu])
      expect(await run((s) => s.listRuns({ attributes: { region: "us", tenant, tier: "gold" } }))).toStrictEqual([us])
      expect(await run((s) => s.listRuns({ attributes: { tenant, region: "apac" } }))).toStrictEqual([])
      expect(ids(await run((s) => s.listRuns({ workflow: wf, attributes: { region: "eu" } })))).toStrictEqual([other!.id, eu!.id])
      expect(ids(await run((s) => s.listRuns({ attributes: { tenant }, statuses: ["running", "paused"], limit: 1 })))).toStrictEqual([us!.id])
      expect(ids(await run((s) => s.listRuns({ attributes: { tenant }, after: { createdAt: us!.createdAt, id: us!.id } })))).toStrictEqual([eu!.id])
    })

    it("continues after a cursor key exactly once, across ties, with any filter, while new runs arrive", async () => {
      const wf = `wf-${uid()}`
      const tenant = `t-${uid()}`
      // 9 runs over 3 timestamps (ties of 3), alternating statuses
      const rs = await seed(
        ...Array.from({ length: 9 }, (_, i) =>
          makeRun({ workflow: wf, createdAt: T0 + Math.floor(i / 3), status: i % 2 ? "paused" : "running", attributes: { tenant } }),
        ),
      )
      let arrivals = 0
      for (const filter of [{ workflow: wf }, { workflow: wf, statuses: ["running", "paused"] as Array<RunStatus> }, { attributes: { tenant } }]) {
        const expected = await run((s) => s.listRuns({ ...filter, limit: 1000 }))
        expect(expected.length).toBeGreaterThanOrEqual(9)
        const seen: Array<string> = []
        let after: { createdAt: number; id: string } | undefined
        for (let page = 0; page < 10; page++) {
          const rows = await run((s) => s.listRuns({ ...filter, limit: 2, ...(after ? { after } : {}) }))
          seen.push(...ids(rows))
          // strictly newer than every listed run: never on a later page
          if (page === 0) await seed(makeRun({ workflow: wf, createdAt: T0 + 50 + ++arrivals, attributes: { tenant } }))
          if (rows.length < 2) break
          after = { createdAt: rows[1]!.createdAt, id: rows[1]!.id }
        }
        expect(seen).toStrictEqual(ids(expected))
      }
      const paused = newestFirst(rs).filter((r) => r.status === "paused")
      const [first] = paused
      expect(ids(await run((s) => s.listRuns({ workflow: wf, statuses: ["paused"], after: { createdAt: first!.createdAt, id: first!.id } })))).toStrictEqual(
        ids(paused.slice(1)),
      )
    })
  })

  describe("purgeRuns", () => {
    const purge = (workflow: string, finishedBefore: number, extra: { limit?: number; statuses?: Array<RunStatus> } = {}) =>
      run((s) =>
        s.purgeRuns({
          finishedBefore,
          statuses: extra.statuses ?? ["completed", "failed", "cancelled"],
          workflow,
          limit: extra.limit ?? 500,
          now: T0 + 99_999,
          reason: { test: workflow },
        }),
      )

    it("deletes terminal runs finished before the cut-off with everything they own, keeps the others, and audits the batch", async () => {
      const wf = `wf-${uid()}`
      const [old1, old2, recent, open] = await seed(
        finished(wf, T0 + 100),
        finished(wf, T0 + 200, "failed", { error: { code: "x", message: "y" } }),
        finished(wf, T0 + 5000),
        makeRun({ workflow: wf, createdAt: T0 }),
      )
      await run((s) =>
        s.createRun({
          run: finished(wf, T0 + 150, "cancelled"),
          entries: [{ seq: 1, kind: "step", name: "s", status: "cancelled", attempts: 1, createdAt: T0, resolvedAt: T0 + 150 }],
          tasks: [],
          command: { kind: "start", actor: "ops", at: T0 },
        }),
      )
      const before = (await run((s) => s.listRuns({ workflow: wf }))).length
      expect(before).toBe(5)
      expect(await purge(wf, T0 + 1000)).toStrictEqual({ purged: 3 })
      const left = await run((s) => s.listRuns({ workflow: wf }))
      expect(ids(left).sort()).toStrictEqual([recent!.id, open!.id].sort())
      expect(await run((s) => s.getRun(old1!.id))).toBeUndefined()
      expect(await run((s) => s.getRun(old2!.id))).toBeUndefined()
      const [audit] = await run((s) => s.listPurges(1))
      expect(audit).toMatchObject({ at: T0 + 99_999, reason: { test: wf }, purged: 3, firstRunId: old1!.id, lastRunId: old2!.id })
      expect(await purge(wf, T0 + 1000)).toStrictEqual({ purged: 0 })
      expect((await run((s) => s.listPurges(1)))[0]!.id).toBe(audit!.id) // nothing deleted, nothing audited
    })

    it("deletes the journal, attempts, tasks and audit events of a purged run", async () => {
      const wf = `wf-${uid()}`
      const record = finished(wf, T0 + 10)
      await run((s) =>
        s.createRun({
          run: record,
          entries: [{ seq: 1, kind: "step", name: "s", status: "completed", attempts: 1, createdAt: T0, resolvedAt: T0 + 5 }],
          tasks: [],
          command: { kind: "start", actor: "ops", at: T0 },
        }),
      )
      expect(await purge(wf, T0 + 11)).toStrictEqual({ purged: 1 })
      const left = await run((s) =>
        Effect.all([s.getRun(record.id), s.getJournal(record.id), s.getAttempts(record.id), s.getTasks(record.id), s.getCommands(record.id)]),
      )
      expect(left).toStrictEqual([undefined, [], [], [], []])
    })

    it("filters by status, and pages in batches with a continuation key", async () => {
      const wf = `wf-${uid()}`
      const rs = await seed(...[1, 2, 3, 4, 5].map((i) => finished(wf, T0 + i, i === 3 ? "failed" : "completed")))
      expect(await purge(wf, T0 + 100, { statuses: ["failed"] })).toStrictEqual({ purged: 1 })
      const first = await purge(wf, T0 + 100, { limit: 2 })
      expect(first).toStrictEqual({ purged: 2, next: { finishedAt: T0 + 2, id: rs[1]!.id } })
      const second = await run((s) =>
        s.purgeRuns({ finishedBefore: T0 + 100, statuses: ["completed"], workflow: wf, limit: 2, after: first.next!, now: T0, reason: {} }),
      )
      expect(second).toStrictEqual({ purged: 2, next: { finishedAt: T0 + 5, id: rs[4]!.id } })
      expect(await purge(wf, T0 + 100, { limit: 2 })).toStrictEqual({ purged: 0 })
      expect(await run((s) => s.listRuns({ workflow: wf }))).toStrictEqual([])
    })

    it("takes a run's child runs along once every run of the tree is terminal; a child is never purged without its parent", async () => {
      const wf = `wf-${uid()}`
      const parent = finished(wf, T0 + 10)
      const child = finished(`child-${uid()}`, T0 + 9999, "completed", { parentRunId: parent.id, parentSeq: 1 })
      const grandchild = finished(`child-${uid()}`, T0 + 9999, "failed", { parentRunId: child.id, parentSeq: 1 })
      const busy = finished(wf, T0 + 20)
      const running = makeRun({ workflow: wf, parentRunId: busy.id, parentSeq: 1 })
      const orphan = finished(wf, T0 + 30, "completed", { parentRunId: randomUUID(), parentSeq: 1 })
      const adopted = finished(wf, T0 + 40, "completed", { parentRunId: busy.id, parentSeq: 2 })
      await seed(parent, child, grandchild, busy, running, orphan, adopted)
      expect(await purge(wf, T0 + 100)).toStrictEqual({ purged: 4 }) // parent + child + grandchild, and the orphan
      for (const gone of [parent, child, grandchild, orphan]) expect(await run((s) => s.getRun(gone.id))).toBeUndefined()
      for (const kept of [busy, running, adopted]) expect((await run((s) => s.getRun(kept.id)))?.id).toBe(kept.id)
    })
  })
}
