/**
 * The Store contract: every backend (memory, PGlite, postgres.js) must pass these cases.
 *
 * `storeContract(name, makeStore)` registers a vitest `describe` block. `makeStore` is a
 * scoped Effect: the store is built once for the block (in `beforeAll`) and its scope is
 * closed in `afterAll`, which is where a backend cleans up (closing a database...). Cases
 * share the store, so each one isolates itself with fresh run ids, queue and workflow names.
 * Times are explicit numbers; nothing sleeps.
 */
import { randomUUID } from "node:crypto"
import { sha256Hex } from "../../src/core/ids.js"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Json } from "../../src/core/json.js"
import type { AttemptRecord, ClaimedTask, Entry, ErrorInfo, RunRecord } from "../../src/core/model.js"
import type { ClaimRef, Commit, NewTask, StoreService } from "../../src/store/Store.js"
import { listingContract } from "./listingContract.js"
import { retentionContract } from "./retentionContract.js"

/** Builds the store under test; its scope's finalizers are the cleanup. */
export type StoreFactory = () => Effect.Effect<StoreService, unknown, Scope.Scope>

const T0 = 1_700_000_000_123

const uid = () => randomUUID().slice(0, 8)

/** Two fresh run ids, the first sorting before the second. */
const orderedIds = (): readonly [string, string] => {
  const a = randomUUID()
  const b = randomUUID()
  return a < b ? [a, b] : [b, a]
}

const nested: Json = {
  text: 'héllo "quoted" \\ ✓ 🦑',
  int: 42,
  neg: -7,
  float: 3.25,
  big: 9007199254740991,
  tricky: [0.1 + 0.2, 1e21, -1e-7, 5e-324, 1.7976931348623157e308],
  t: true,
  f: false,
  nil: null,
  empty: {},
  list: [1, "two", null, [3, { four: 4 }], []],
  deep: { a: { b: { c: [{ d: "e" }] } } },
}

const errorInfo: ErrorInfo = {
  code: "payment_declined",
  message: "card declined",
  retryable: false,
  step: "charge",
  seq: 2,
  details: { attempt: 3, reasons: ["insufficient_funds", null], nested: { ok: false } },
}

const makeRun = (overrides: Partial<RunRecord> = {}): RunRecord => ({
  id: randomUUID(),
  workflow: `wf-${uid()}`,
  trigger: "manual",
  queue: `q-${uid()}`,
  status: "running",
  input: { orderId: "o-1", cents: 1250 },
  revision: 0,
  requestHash: "a".repeat(64),
  definitionHash: "b".repeat(64),
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
})

const pendingStep = (seq: number, overrides: Partial<Entry> = {}): Entry => ({
  seq,
  kind: "step",
  name: `step-${seq}`,
  status: "pending",
  input: { seq },
  attempts: 0,
  createdAt: T0 + seq,
  ...overrides,
})

const task = (run: RunRecord, seq: number, visibleAt: number, overrides: Partial<NewTask> = {}): NewTask => ({
  runId: run.id,
  seq,
  queue: run.queue,
  kind: "step",
  attempt: 1,
  visibleAt,
  ...overrides,
})

const emptyCommit = (runId: string, now: number): Commit => ({ runId, now, resolve: [], append: [], attempts: [], tasks: [], withdraw: [] })

const refOf = (c: ClaimedTask): ClaimRef => ({ runId: c.runId, seq: c.seq, claimId: c.claimId, token: c.token })

/** Registers the contract cases for one backend. */
export const storeContract = (name: string, makeStore: StoreFactory): void => {
  describe(`Store contract: ${name}`, () => {
    let scope: Scope.CloseableScope | undefined
    let store: StoreService

    beforeAll(async () => {
      scope = await Effect.runPromise(Scope.make())
      store = await Effect.runPromise(Scope.extend(makeStore(), scope))
    })
    afterAll(async () => {
      if (scope) await Effect.runPromise(Scope.close(scope, Exit.void))
    })

    const run = <A>(f: (s: StoreService) => Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(f(store))

    /** Creates a run with its entries and tasks, asserting it was created. */
    const seed = async (record: RunRecord, entries: ReadonlyArray<Entry> = [], tasks: ReadonlyArray<NewTask> = []) => {
      const result = await run((s) => s.createRun({ run: record, entries, tasks }))
      expect(result._tag).toBe("Created")
      return record
    }

    /** Everything the store holds about a run. */
    const snapshot = (runId: string) =>
      run((s) => Effect.all({ run: s.getRun(runId), journal: s.getJournal(runId), tasks: s.getTasks(runId), attempts: s.getAttempts(runId) }))

    const claimOne = async (queue: string, owner: string, now: number, leaseUntil: number) => {
      const claimed = await run((s) => s.claim({ queue, owner, now, leaseUntil, limit: 1 }))
      expect(claimed).toHaveLength(1)
      return claimed[0]!
    }

    /** A run with pending steps 1 and 2; step 1's task is claimed by `owner-a` until T0 + 1000. */
    const setupClaimed = async () => {
      const record = makeRun()
      await seed(record, [pendingStep(1), pendingStep(2)], [task(record, 1, T0), task(record, 2, T0 + 50_000, { kind: "timer" })])
      const claimed = await claimOne(record.queue, "owner-a", T0, T0 + 1000)
      expect(claimed.seq).toBe(1)
      return { record, claimed }
    }

    /** A commit that would change everything, so "writes nothing" is a strong check. */
    const bigCommit = (record: RunRecord, now: number, fence: ClaimRef | undefined, expectedRevision: number): Commit => ({
      runId: record.id,
      now,
      ...(fence ? { fence } : {}),
      task: { _tag: "Done" },
      expectedRevision,
      run: { status: "completed", output: { done: true } },
      resolve: [pendingStep(1, { status: "completed", output: { ok: 1 }, attempts: 1, resolvedAt: now })],
      append: [pendingStep(3)],
      attempts: [{ seq: 1, attempt: 1, status: "completed", owner: "owner-a", startedAt: T0, finishedAt: now }],
      tasks: [task(record, 3, now)],
      withdraw: [2],
    })

    describe("createRun and reads", () => {
      it("round-trips a run, its journal and its tasks exactly", async () => {
        const record = makeRun({ input: nested, idempotencyKey: `key-${uid()}`, createdAt: T0 + 1, updatedAt: T0 + 2 })
        const entries: Array<Entry> = [
          { seq: 1, kind: "step", name: "nullish", status: "completed", input: nested, output: null, attempts: 1, createdAt: T0 + 3, resolvedAt: T0 + 4 },
          { seq: 2, kind: "step", name: "void", status: "completed", input: null, attempts: 2, createdAt: T0 + 5, resolvedAt: T0 + 6 },
          { seq: 3, kind: "step", name: "failed", status: "failed", error: errorInfo, attempts: 3, createdAt: T0 + 7, resolvedAt: T0 + 8 },
          { seq: 4, kind: "now", name: "now", status: "completed", output: T0 + 9, attempts: 0, createdAt: T0 + 9, resolvedAt: T0 + 9 },
          { seq: 5, kind: "sleep", name: "wait", status: "pending", input: T0 + 60_000, attempts: 0, createdAt: T0 + 10 },
          { seq: 6, kind: "step", name: "next", status: "pending", attempts: 0, createdAt: T0 + 11 },
        ]
        const tasks = [task(record, 6, T0 + 11, { attempt: 3 }), task(record, 5, T0 + 60_000, { kind: "timer" })]
        const created = await run((s) => s.createRun({ run: record, entries, tasks }))
        expect(created).toStrictEqual({ _tag: "Created", run: record })

        const snap = await snapshot(record.id)
        expect(snap.run).toStrictEqual(record)
        expect(snap.run && "output" in snap.run).toBe(false)
        expect(snap.run && "error" in snap.run).toBe(false)
        expect(snap.run && "finishedAt" in snap.run).toBe(false)
        expect(snap.journal).toStrictEqual(entries)
        // output null and output absent stay distinct
        expect(snap.journal[0]!.output).toBeNull()
        expect("output" in snap.journal[1]!).toBe(false)
        expect(snap.journal[1]!.input).toBeNull()
        expect("input" in snap.journal[5]!).toBe(false)
        expect(snap.tasks).toStrictEqual([
          { runId: record.id, seq: 5, queue: record.queue, kind: "timer", attempt: 1, visibleAt: T0 + 60_000 },
          { runId: record.id, seq: 6, queue: record.queue, kind: "step", attempt: 3, visibleAt: T0 + 11 },
        ])
        expect(snap.attempts).toStrictEqual([])
      })

      it("round-trips a finished run with a null output, and one with an error", async () => {
        const withNull = makeRun({ status: "completed", output: null, revision: 7, finishedAt: T0 + 999, updatedAt: T0 + 999 })
        const withError = makeRun({ status: "failed", error: errorInfo, input: [], finishedAt: T0 + 5, updatedAt: T0 + 5 })
        const withScalar = makeRun({ status: "completed", input: "plain", output: 0, finishedAt: T0, updatedAt: T0 })
        for (const r of [withNull, withError, withScalar]) await seed(r)
        expect(await run((s) => s.getRun(withNull.id))).toStrictEqual(withNull)
        expect(await run((s) => s.getRun(withError.id))).toStrictEqual(withError)
        expect(await run((s) => s.getRun(withScalar.id))).toStrictEqual(withScalar)
      })

      it("createRun and commit honour a claim written with a new task (claimed inline)", async () => {
        const record = makeRun({ queue: `q-${randomUUID()}` })
        const token = "inline-token"
        await seed(
          record,
          [],
          [task(record, 1, T0 + 1000, { claim: { claimId: "c-inline", tokenHash: sha256Hex(token), owner: "keeper", leaseUntil: T0 + 5000 } })],
        )
        expect((await snapshot(record.id)).tasks).toStrictEqual([
          {
            runId: record.id,
            seq: 1,
            queue: record.queue,
            kind: "step",
            attempt: 1,
            visibleAt: T0 + 1000,
            owner: "keeper",
            claimId: "c-inline",
            leaseUntil: T0 + 5000,
          },
        ])
        // Nobody else can claim it before its lease ends, even though it is due.
        expect(await run((s) => s.claim({ queue: record.queue, owner: "other", now: T0 + 2000, leaseUntil: T0 + 9000, limit: 5 }))).toStrictEqual([])
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 5000)
        // Its holder can complete it with the token it kept.
        const done = await run((s) =>
          s.commit({ ...emptyCommit(record.id, T0 + 2000), fence: { runId: record.id, seq: 1, claimId: "c-inline", token }, task: { _tag: "Done" } }),
        )
        expect(done).toStrictEqual({ _tag: "Committed", revision: record.revision })
        expect((await snapshot(record.id)).tasks).toStrictEqual([])
      })

      it("answers not found / empty for unknown runs", async () => {
        const id = randomUUID()
        expect(await snapshot(id)).toStrictEqual({ run: undefined, journal: [], tasks: [], attempts: [] })
        expect(await run((s) => s.getRun("not-a-uuid"))).toBeUndefined()
        expect(await run((s) => s.getEntry(id, 1))).toBeUndefined()
        expect(await run((s) => s.getEntry("not-a-uuid", 1))).toBeUndefined()
      })

      it("keeps sparse journals (dynamic work's seqs) in seq order, and reads one entry by seq", async () => {
        const record = makeRun()
        const dynamic = pendingStep(1_000_000_001, { kind: "dynamic", name: "node-a", irreversible: true })
        await seed(record, [pendingStep(1)], [task(record, 1, T0)])
        const committed = await run((s) =>
          s.commit({
            runId: record.id,
            now: T0 + 1,
            expectedRevision: record.revision,
            resolve: [],
            append: [dynamic, pendingStep(2)],
            attempts: [],
            tasks: [],
            withdraw: [],
          }),
        )
        expect(committed._tag).toBe("Committed")
        expect((await snapshot(record.id)).journal.map((e) => e.seq)).toStrictEqual([1, 2, 1_000_000_001])
        expect(await run((s) => s.getEntry(record.id, 1_000_000_001))).toStrictEqual(dynamic)
        expect(await run((s) => s.getEntry(record.id, 3))).toBeUndefined()
      })

      it("createRun on an existing id returns Existing with the stored run and writes nothing", async () => {
        const record = makeRun()
        await seed(record, [pendingStep(1)], [task(record, 1, T0)])
        const before = await snapshot(record.id)
        const otherQueue = `q-${uid()}`
        const again = await run((s) =>
          s.createRun({
            run: { ...record, workflow: "different", status: "completed", input: { other: true }, queue: otherQueue },
            entries: [pendingStep(1, { name: "changed" }), pendingStep(2)],
            tasks: [task(record, 2, T0, { queue: otherQueue })],
          }),
        )
        expect(again).toStrictEqual({ _tag: "Existing", run: record })
        expect(await snapshot(record.id)).toStrictEqual(before)
        expect(await run((s) => s.nextDueAt(otherQueue))).toBeUndefined()
      })
    })

    describe("claim", () => {
      it("claims due tasks of the queue in (time, run id, seq) order, up to the limit", async () => {
        const [lo, hi] = orderedIds()
        const queue = `q-${uid()}`
        const runLo = await seed(makeRun({ id: lo, queue }), [pendingStep(1), pendingStep(2), pendingStep(3)])
        const runHi = await seed(makeRun({ id: hi, queue }), [pendingStep(1), pendingStep(2)])
        await run((s) =>
          s.commit({
            ...emptyCommit(runLo.id, T0),
            tasks: [task(runLo, 1, T0 + 30), task(runLo, 2, T0 + 10), task(runLo, 3, T0 + 10)],
          }),
        )
        await run((s) => s.commit({ ...emptyCommit(runHi.id, T0), tasks: [task(runHi, 1, T0 + 10), task(runHi, 2, T0 + 100)] }))
        const elsewhere = makeRun()
        await seed(elsewhere, [pendingStep(1)], [task(elsewhere, 1, T0 - 1000)])

        expect(await run((s) => s.claim({ queue, owner: "w", now: T0 + 50, leaseUntil: T0 + 5000, limit: 0 }))).toStrictEqual([])

        const first = await run((s) => s.claim({ queue, owner: "w1", now: T0 + 50, leaseUntil: T0 + 5000, limit: 3 }))
        expect(first.map((c) => [c.runId, c.seq])).toStrictEqual([
          [lo, 2],
          [lo, 3],
          [hi, 1],
        ])
        const second = await run((s) => s.claim({ queue, owner: "w2", now: T0 + 50, leaseUntil: T0 + 6000, limit: 10 }))
        expect(second.map((c) => [c.runId, c.seq])).toStrictEqual([[lo, 1]])
        // runHi seq 2 is not visible before T0 + 100; the other queue's task is never ours.
        expect(await run((s) => s.claim({ queue, owner: "w3", now: T0 + 99, leaseUntil: T0 + 6000, limit: 10 }))).toStrictEqual([])
        const third = await run((s) => s.claim({ queue, owner: "w3", now: T0 + 100, leaseUntil: T0 + 6000, limit: 10 }))
        expect(third.map((c) => [c.runId, c.seq])).toStrictEqual([[hi, 2]])

        const all = [...first, ...second, ...third]
        expect(new Set(all.map((c) => c.claimId)).size).toBe(all.length)
        expect(new Set(all.map((c) => c.token)).size).toBe(all.length)
        for (const c of all) {
          expect(c.token.length).toBeGreaterThanOrEqual(16)
          expect(c.claimId.length).toBeGreaterThan(0)
        }
        expect(first[0]).toStrictEqual({
          runId: lo,
          seq: 2,
          queue,
          kind: "step",
          attempt: 1,
          visibleAt: T0 + 10,
          workflow: runLo.workflow,
          owner: "w1",
          claimId: first[0]!.claimId,
          token: first[0]!.token,
          leaseUntil: T0 + 5000,
          // The run's revision as the claim saw it (a cached interpreter at another one is stale).
          revision: runLo.revision,
        })
        expect(third[0]!.workflow).toBe(runHi.workflow)
        // the claim is visible on the task, without the token
        const tasks = await run((s) => s.getTasks(lo))
        expect(tasks).toStrictEqual([
          { runId: lo, seq: 1, queue, kind: "step", attempt: 1, visibleAt: T0 + 30, owner: "w2", claimId: second[0]!.claimId, leaseUntil: T0 + 6000 },
          { runId: lo, seq: 2, queue, kind: "step", attempt: 1, visibleAt: T0 + 10, owner: "w1", claimId: first[0]!.claimId, leaseUntil: T0 + 5000 },
          { runId: lo, seq: 3, queue, kind: "step", attempt: 1, visibleAt: T0 + 10, owner: "w1", claimId: first[1]!.claimId, leaseUntil: T0 + 5000 },
        ])
        expect(JSON.stringify(tasks)).not.toContain(first[0]!.token)
        // the other queue still has its task
        expect(await run((s) => s.getTasks(elsewhere.id))).toHaveLength(1)
      })

      it("does not hand out a claimed task until its lease expires, then another owner gets a new claim", async () => {
        const { record, claimed } = await setupClaimed()
        expect(await run((s) => s.claim({ queue: record.queue, owner: "owner-b", now: T0 + 999, leaseUntil: T0 + 2000, limit: 10 }))).toStrictEqual([])
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 1000)

        const again = await claimOne(record.queue, "owner-b", T0 + 1000, T0 + 3000)
        expect(again.seq).toBe(1)
        expect(again.owner).toBe("owner-b")
        expect(again.claimId).not.toBe(claimed.claimId)
        expect(again.token).not.toBe(claimed.token)
        expect(again.leaseUntil).toBe(T0 + 3000)
        const [t] = await run((s) => s.getTasks(record.id))
        expect(t).toStrictEqual({
          runId: record.id,
          seq: 1,
          queue: record.queue,
          kind: "step",
          attempt: 1,
          visibleAt: T0,
          owner: "owner-b",
          claimId: again.claimId,
          leaseUntil: T0 + 3000,
        })
      })
    })

    describe("commit", () => {
      it("applies resolve, append, attempts, tasks and withdraw under a valid fence, bumping the revision", async () => {
        const { record, claimed } = await setupClaimed()
        const now = T0 + 500
        const resolved = pendingStep(1, { status: "completed", output: { paid: true, ids: [1, 2] }, attempts: 1, resolvedAt: now })
        const appended = [
          pendingStep(3, { input: null }),
          { seq: 4, kind: "sleep", name: "nap", status: "pending", input: now + 9000, attempts: 0, createdAt: now } as Entry,
        ]
        const attempt: AttemptRecord = { seq: 1, attempt: 1, status: "completed", owner: "owner-a", startedAt: T0 + 1, finishedAt: now }
        const result = await run((s) =>
          s.commit({
            runId: record.id,
            now,
            fence: refOf(claimed),
            task: { _tag: "Done" },
            expectedRevision: 0,
            resolve: [resolved],
            append: appended,
            attempts: [attempt],
            tasks: [task(record, 3, now), task(record, 4, now + 9000, { kind: "timer" })],
            withdraw: [2],
          }),
        )
        expect(result).toStrictEqual({ _tag: "Committed", revision: 1 })
        const snap = await snapshot(record.id)
        expect(snap.run).toStrictEqual({ ...record, revision: 1, updatedAt: now })
        expect(snap.journal).toStrictEqual([resolved, pendingStep(2), ...appended])
        expect(snap.attempts).toStrictEqual([attempt])
        expect(snap.tasks).toStrictEqual([
          { runId: record.id, seq: 3, queue: record.queue, kind: "step", attempt: 1, visibleAt: now },
          { runId: record.id, seq: 4, queue: record.queue, kind: "timer", attempt: 1, visibleAt: now + 9000 },
        ])

        // Without expectedRevision the revision stays; updatedAt still moves.
        const later = T0 + 600
        const touch = await run((s) => s.commit({ ...emptyCommit(record.id, later), withdraw: [4] }))
        expect(touch).toStrictEqual({ _tag: "Committed", revision: 1 })
        const after = await snapshot(record.id)
        expect(after.run).toStrictEqual({ ...record, revision: 1, updatedAt: later })
        expect(after.tasks.map((t) => t.seq)).toStrictEqual([3])
        expect(after.journal).toStrictEqual(snap.journal)

        // A later revision-checked commit bumps from the stored revision.
        expect(await run((s) => s.commit({ ...emptyCommit(record.id, later), expectedRevision: 1 }))).toStrictEqual({ _tag: "Committed", revision: 2 })
        expect((await run((s) => s.getRun(record.id)))!.revision).toBe(2)
      })

      it("replaces resolved entries whole and replaces a task put again at the same seq", async () => {
        const record = makeRun()
        await seed(record, [pendingStep(1, { input: { big: nested } }), pendingStep(2)], [task(record, 2, T0)])
        const claimed = await claimOne(record.queue, "owner-a", T0, T0 + 1000)
        const replaced: Entry = { seq: 1, kind: "step", name: "step-1", status: "cancelled", attempts: 0, createdAt: T0 + 1, resolvedAt: T0 + 5 }
        const result = await run((s) =>
          s.commit({ ...emptyCommit(record.id, T0 + 5), expectedRevision: 0, resolve: [replaced], tasks: [task(record, 2, T0 + 700, { attempt: 2 })] }),
        )
        expect(result).toStrictEqual({ _tag: "Committed", revision: 1 })
        const snap = await snapshot(record.id)
        expect(snap.journal[0]).toStrictEqual(replaced)
        expect("input" in snap.journal[0]!).toBe(false)
        expect(snap.tasks).toStrictEqual([{ runId: record.id, seq: 2, queue: record.queue, kind: "step", attempt: 2, visibleAt: T0 + 700 }])
        // the old claim is gone with the replaced task
        expect(await run((s) => s.heartbeat(refOf(claimed), T0 + 6, T0 + 2000))).toBe(false)
      })

      describe("rejections write nothing", () => {
        const expectRejected = async (record: RunRecord, commit: Commit, reason: string) => {
          const before = await snapshot(record.id)
          const result = await run((s) => s.commit(commit))
          expect(result).toStrictEqual({ _tag: "Rejected", reason })
          expect(await snapshot(record.id)).toStrictEqual(before)
        }

        it("stale_claim when the task was re-claimed by another owner", async () => {
          const { record, claimed } = await setupClaimed()
          await claimOne(record.queue, "owner-b", T0 + 1000, T0 + 3000)
          await expectRejected(record, bigCommit(record, T0 + 1500, refOf(claimed), 0), "stale_claim")
          // stale wins over a revision conflict
          await expectRejected(record, bigCommit(record, T0 + 1500, refOf(claimed), 9), "stale_claim")
        })

        it("stale_claim with a wrong token or claim id, or a task that does not exist", async () => {
          const { record, claimed } = await setupClaimed()
          await expectRejected(record, bigCommit(record, T0 + 10, { ...refOf(claimed), token: "wrong-token" }, 0), "stale_claim")
          await expectRejected(record, bigCommit(record, T0 + 10, { ...refOf(claimed), claimId: "wrong-claim" }, 0), "stale_claim")
          await expectRejected(record, bigCommit(record, T0 + 10, { ...refOf(claimed), seq: 2 }, 0), "stale_claim")
          await expectRejected(record, bigCommit(record, T0 + 10, { ...refOf(claimed), seq: 99 }, 0), "stale_claim")
        })

        it("expired_claim when the lease has run out (at the lease end exactly)", async () => {
          const { record, claimed } = await setupClaimed()
          await expectRejected(record, bigCommit(record, T0 + 1000, refOf(claimed), 0), "expired_claim")
          await expectRejected(record, bigCommit(record, T0 + 5000, refOf(claimed), 0), "expired_claim")
          // expired wins over a revision conflict
          await expectRejected(record, bigCommit(record, T0 + 5000, refOf(claimed), 3), "expired_claim")
          // one millisecond before the end the same commit goes through
          expect(await run((s) => s.commit(bigCommit(record, T0 + 999, refOf(claimed), 0)))).toStrictEqual({ _tag: "Committed", revision: 1 })
        })

        it("revision_conflict when the expected revision is not the stored one", async () => {
          const { record, claimed } = await setupClaimed()
          await expectRejected(record, bigCommit(record, T0 + 10, refOf(claimed), 1), "revision_conflict")
          await expectRejected(record, { ...emptyCommit(record.id, T0 + 10), expectedRevision: -1, append: [pendingStep(3)] }, "revision_conflict")
        })

        it("terminal_run once the run is finished, before any fence check", async () => {
          const { record, claimed } = await setupClaimed()
          expect(await run((s) => s.commit({ ...emptyCommit(record.id, T0 + 10), expectedRevision: 0, run: { status: "cancelled" } }))).toStrictEqual({
            _tag: "Committed",
            revision: 1,
          })
          await expectRejected(record, bigCommit(record, T0 + 20, refOf(claimed), 1), "terminal_run")
          await expectRejected(record, { ...emptyCommit(record.id, T0 + 20), run: { status: "running" } }, "terminal_run")
          await expectRejected(record, bigCommit(record, T0 + 20, { ...refOf(claimed), token: "wrong" }, 7), "terminal_run")
        })

        it("run_not_found for an unknown run", async () => {
          const { record, claimed } = await setupClaimed()
          const unknown = makeRun({ queue: record.queue })
          expect(await run((s) => s.commit(bigCommit(unknown, T0 + 10, undefined, 0)))).toStrictEqual({ _tag: "Rejected", reason: "run_not_found" })
          expect(await run((s) => s.commit(emptyCommit("not-a-uuid", T0)))).toStrictEqual({ _tag: "Rejected", reason: "run_not_found" })
          expect(await snapshot(unknown.id)).toStrictEqual({ run: undefined, journal: [], tasks: [], attempts: [] })
          // the claim used as a fence of another run does not make it exist
          await expectRejected(record, { ...bigCommit(unknown, T0 + 10, refOf(claimed), 0) }, "run_not_found")
        })
      })

      it("a Retry disposition reschedules the task: new attempt, new visibility, claim cleared", async () => {
        const { record, claimed } = await setupClaimed()
        const now = T0 + 200
        const failed: AttemptRecord = {
          seq: 1,
          attempt: 1,
          status: "failed",
          error: errorInfo,
          owner: "owner-a",
          startedAt: T0 + 1,
          finishedAt: now,
          retryAt: T0 + 5000,
        }
        const result = await run((s) =>
          s.commit({
            ...emptyCommit(record.id, now),
            fence: refOf(claimed),
            task: { _tag: "Retry", attempt: 2, visibleAt: T0 + 5000 },
            expectedRevision: 0,
            resolve: [pendingStep(1, { attempts: 1 })],
            attempts: [failed],
          }),
        )
        expect(result).toStrictEqual({ _tag: "Committed", revision: 1 })
        const snap = await snapshot(record.id)
        expect(snap.attempts).toStrictEqual([failed])
        expect(snap.journal[0]).toStrictEqual(pendingStep(1, { attempts: 1 }))
        expect(snap.tasks[0]).toStrictEqual({ runId: record.id, seq: 1, queue: record.queue, kind: "step", attempt: 2, visibleAt: T0 + 5000 })

        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 5000)
        expect(await run((s) => s.claim({ queue: record.queue, owner: "b", now: T0 + 4999, leaseUntil: T0 + 9000, limit: 5 }))).toStrictEqual([])
        // the old claim is dead
        expect(await run((s) => s.commit({ ...emptyCommit(record.id, T0 + 300), fence: refOf(claimed), task: { _tag: "Done" } }))).toStrictEqual({
          _tag: "Rejected",
          reason: "stale_claim",
        })
        const next = await claimOne(record.queue, "owner-b", T0 + 5000, T0 + 9000)
        expect([next.seq, next.attempt, next.visibleAt]).toStrictEqual([1, 2, T0 + 5000])
        const second: AttemptRecord = { seq: 1, attempt: 2, status: "completed", owner: "owner-b", startedAt: T0 + 5000, finishedAt: T0 + 5100 }
        await run((s) =>
          s.commit({ ...emptyCommit(record.id, T0 + 5100), fence: refOf(next), task: { _tag: "Done" }, expectedRevision: 1, attempts: [second] }),
        )
        expect(await run((s) => s.getAttempts(record.id))).toStrictEqual([failed, second])
      })

      it("a terminal run status withdraws all tasks and sets finishedAt", async () => {
        const { record } = await setupClaimed()
        const now = T0 + 300
        const result = await run((s) =>
          s.commit({
            ...emptyCommit(record.id, now),
            expectedRevision: 0,
            run: { status: "failed", error: errorInfo },
            tasks: [task(record, 3, now)],
          }),
        )
        expect(result).toStrictEqual({ _tag: "Committed", revision: 1 })
        const snap = await snapshot(record.id)
        expect(snap.tasks).toStrictEqual([])
        expect(snap.run).toStrictEqual({ ...record, status: "failed", error: errorInfo, revision: 1, updatedAt: now, finishedAt: now })
        expect(await run((s) => s.nextDueAt(record.queue))).toBeUndefined()
        expect(await run((s) => s.claim({ queue: record.queue, owner: "x", now: T0 + 100_000, leaseUntil: T0 + 200_000, limit: 10 }))).toStrictEqual([])
      })

      it("completing a run stores its output (null distinct from absent); a non-terminal status keeps finishedAt unset", async () => {
        const withNull = makeRun()
        const withValue = makeRun()
        await seed(withNull, [], [task(withNull, 1, T0)])
        await seed(withValue)
        // a non-terminal status change keeps the tasks
        await run((s) => s.commit({ ...emptyCommit(withNull.id, T0 + 1), run: { status: "running" } }))
        const mid = await snapshot(withNull.id)
        expect(mid.run).toStrictEqual({ ...withNull, updatedAt: T0 + 1 })
        expect(mid.tasks).toHaveLength(1)

        await run((s) => s.commit({ ...emptyCommit(withNull.id, T0 + 2), run: { status: "completed", output: null } }))
        await run((s) => s.commit({ ...emptyCommit(withValue.id, T0 + 3), run: { status: "completed", output: nested } }))
        const a = await run((s) => s.getRun(withNull.id))
        const b = await run((s) => s.getRun(withValue.id))
        expect(a).toStrictEqual({ ...withNull, status: "completed", output: null, updatedAt: T0 + 2, finishedAt: T0 + 2 })
        expect(b).toStrictEqual({ ...withValue, status: "completed", output: nested, updatedAt: T0 + 3, finishedAt: T0 + 3 })
        expect(await run((s) => s.getTasks(withNull.id))).toStrictEqual([])
      })
    })

    describe("heartbeat and release", () => {
      it("heartbeat extends the lease only for the current, live claim", async () => {
        const { record, claimed } = await setupClaimed()
        expect(await run((s) => s.heartbeat({ ...refOf(claimed), token: "wrong" }, T0 + 10, T0 + 9000))).toBe(false)
        expect(await run((s) => s.heartbeat({ ...refOf(claimed), claimId: "other" }, T0 + 10, T0 + 9000))).toBe(false)
        expect(await run((s) => s.heartbeat(refOf(claimed), T0 + 500, T0 + 2000))).toBe(true)
        expect((await run((s) => s.getTasks(record.id)))[0]!.leaseUntil).toBe(T0 + 2000)
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 2000)
        // the old lease end no longer frees the task
        expect(await run((s) => s.claim({ queue: record.queue, owner: "b", now: T0 + 1500, leaseUntil: T0 + 9000, limit: 5 }))).toStrictEqual([])
        // the extended lease keeps commits valid past the original end
        const ok = await run((s) => s.commit({ ...emptyCommit(record.id, T0 + 1500), fence: refOf(claimed) }))
        expect(ok).toStrictEqual({ _tag: "Committed", revision: 0 })
        // an expired claim cannot be revived
        expect(await run((s) => s.heartbeat(refOf(claimed), T0 + 2000, T0 + 9000))).toBe(false)
        expect((await run((s) => s.getTasks(record.id)))[0]!.leaseUntil).toBe(T0 + 2000)
        // once another owner holds it, the old claim's heartbeat does not touch the new lease
        const b = await claimOne(record.queue, "owner-b", T0 + 2000, T0 + 4000)
        expect(await run((s) => s.heartbeat(refOf(claimed), T0 + 2001, T0 + 9000))).toBe(false)
        const [t] = await run((s) => s.getTasks(record.id))
        expect([t!.owner, t!.claimId, t!.leaseUntil]).toStrictEqual(["owner-b", b.claimId, T0 + 4000])
        expect(await run((s) => s.heartbeat(refOf(b), T0 + 2001, T0 + 9000))).toBe(true)
      })

      it("release makes the task visible again at the given time and ends the claim", async () => {
        const { record, claimed } = await setupClaimed()
        expect(await run((s) => s.release({ ...refOf(claimed), token: "wrong" }, T0 + 100))).toBe(false)
        expect(await run((s) => s.release(refOf(claimed), T0 + 100))).toBe(true)
        expect((await run((s) => s.getTasks(record.id)))[0]).toStrictEqual({
          runId: record.id,
          seq: 1,
          queue: record.queue,
          kind: "step",
          attempt: 1,
          visibleAt: T0 + 100,
        })
        expect(await run((s) => s.release(refOf(claimed), T0 + 100))).toBe(false)
        expect(await run((s) => s.heartbeat(refOf(claimed), T0 + 10, T0 + 900))).toBe(false)
        expect(await run((s) => s.commit({ ...emptyCommit(record.id, T0 + 10), fence: refOf(claimed) }))).toStrictEqual({
          _tag: "Rejected",
          reason: "stale_claim",
        })
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 100)
        expect(await run((s) => s.claim({ queue: record.queue, owner: "b", now: T0 + 99, leaseUntil: T0 + 900, limit: 5 }))).toStrictEqual([])
        const again = await claimOne(record.queue, "owner-b", T0 + 100, T0 + 900)
        expect(again.seq).toBe(1)
      })
    })

    describe("nextDueAt", () => {
      it("is the earliest time a task of the queue becomes claimable", async () => {
        const record = makeRun()
        expect(await run((s) => s.nextDueAt(record.queue))).toBeUndefined()
        await seed(record, [pendingStep(1), pendingStep(2)], [task(record, 1, T0 + 300), task(record, 2, T0 + 200)])
        const other = makeRun()
        await seed(other, [pendingStep(1)], [task(other, 1, T0 - 5000)])
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 200)
        const c = await claimOne(record.queue, "a", T0 + 250, T0 + 10_000)
        expect(c.seq).toBe(2)
        // the claimed task now counts at its lease end
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 300)
        const d = await claimOne(record.queue, "a", T0 + 300, T0 + 20_000)
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 10_000)
        await run((s) => s.commit({ ...emptyCommit(record.id, T0 + 400), fence: refOf(c), task: { _tag: "Done" } }))
        expect(await run((s) => s.nextDueAt(record.queue))).toBe(T0 + 20_000)
        await run((s) => s.commit({ ...emptyCommit(record.id, T0 + 400), fence: refOf(d), task: { _tag: "Done" } }))
        expect(await run((s) => s.nextDueAt(record.queue))).toBeUndefined()
      })
    })

    describe("worker liveness", () => {
      it("records workers per queue and reads the one seen last; a record never moves the time back", async () => {
        const queue = `q-${uid()}`
        const other = `q-${uid()}`
        expect(await run((s) => s.lastWorkerSeen(queue))).toBeUndefined()
        await run((s) => s.recordWorker(queue, "w-a", T0 + 100))
        expect(await run((s) => s.lastWorkerSeen(queue))).toStrictEqual({ queue, owner: "w-a", lastSeen: T0 + 100 })
        await run((s) => s.recordWorker(queue, "w-b", T0 + 250))
        await run((s) => s.recordWorker(other, "w-c", T0 + 900))
        expect(await run((s) => s.lastWorkerSeen(queue))).toStrictEqual({ queue, owner: "w-b", lastSeen: T0 + 250 })
        // An upsert: w-a again, later than w-b.
        await run((s) => s.recordWorker(queue, "w-a", T0 + 300))
        expect(await run((s) => s.lastWorkerSeen(queue))).toStrictEqual({ queue, owner: "w-a", lastSeen: T0 + 300 })
        // A late, older record of w-a keeps its newer time.
        await run((s) => s.recordWorker(queue, "w-a", T0 + 50))
        expect(await run((s) => s.lastWorkerSeen(queue))).toStrictEqual({ queue, owner: "w-a", lastSeen: T0 + 300 })
        // Ties go to the smallest owner.
        await run((s) => s.recordWorker(queue, "w-0", T0 + 300))
        expect(await run((s) => s.lastWorkerSeen(queue))).toStrictEqual({ queue, owner: "w-0", lastSeen: T0 + 300 })
        expect(await run((s) => s.lastWorkerSeen(other))).toStrictEqual({ queue: other, owner: "w-c", lastSeen: T0 + 900 })
        expect(await run((s) => s.lastWorkerSeen(`q-${uid()}`))).toBeUndefined()
      })
    })

    describe("metrics reads", () => {
      it("queueDepths counts each queue's due, scheduled and claimed tasks at a time, in one read", async () => {
        const a = makeRun({ queue: `qa-${uid()}` })
        const b = makeRun({ queue: `qb-${uid()}` })
        await seed(
          a,
          [1, 2, 3, 4, 5].map((s) => pendingStep(s)),
          [
            task(a, 1, T0),
            task(a, 2, T0 + 100),
            task(a, 3, T0 + 10_000, { kind: "timer" }),
            task(a, 4, T0 + 20_000, { kind: "timer" }),
            task(a, 5, T0 + 30_000),
          ],
        )
        await seed(b, [pendingStep(1)], [task(b, 1, T0 + 5)])
        // Claimed: seq 1 under a live lease; seq 2 under one that runs out at T0 + 500.
        expect((await claimOne(a.queue, "w", T0 + 100, T0 + 60_000)).seq).toBe(1)
        expect((await claimOne(a.queue, "w", T0 + 100, T0 + 500)).seq).toBe(2)
        const depthsAt = async (now: number) => (await run((s) => s.queueDepths(now))).filter((d) => d.queue === a.queue || d.queue === b.queue)
        expect(await depthsAt(T0 + 200)).toStrictEqual([
          { queue: a.queue, due: 0, scheduled: 3, claimed: 2 },
          { queue: b.queue, due: 1, scheduled: 0, claimed: 0 },
        ])
        // Later: seq 2's lease ran out (due again), seq 3 became visible.
        expect(await depthsAt(T0 + 15_000)).toStrictEqual([
          { queue: a.queue, due: 2, scheduled: 2, claimed: 1 },
          { queue: b.queue, due: 1, scheduled: 0, claimed: 0 },
        ])
        expect((await run((s) => s.queueDepths(T0))).some((d) => d.queue === `q-${uid()}`)).toBe(false)
      })

      it("runCounts counts the runs of every status, zero included", async () => {
        const before = new Map((await run((s) => s.runCounts())).map((c) => [c.status, c.count]))
        expect([...before.keys()]).toStrictEqual(["running", "paused", "completed", "failed", "cancelled"])
        await seed(makeRun())
        await seed(makeRun())
        await seed(makeRun({ status: "paused" }))
        await seed(makeRun({ status: "failed", error: errorInfo, finishedAt: T0 + 1 }))
        const after = await run((s) => s.runCounts())
        expect(after.map((c) => [c.status, c.count - before.get(c.status)!])).toStrictEqual([
          ["running", 2],
          ["paused", 1],
          ["completed", 0],
          ["failed", 1],
          ["cancelled", 0],
        ])
      })

      it("workersSeen lists the workers seen since a time, by queue then owner", async () => {
        const q1 = `qa-${uid()}`
        const q2 = `qb-${uid()}`
        const far = T0 + 1_000_000_000
        await run((s) => s.recordWorker(q2, "w-b", far + 300))
        await run((s) => s.recordWorker(q1, "w-b", far + 200))
        await run((s) => s.recordWorker(q1, "w-a", far + 100))
        await run((s) => s.recordWorker(q1, "w-old", far - 5_000))
        const seen = (await run((s) => s.workersSeen(far))).filter((w) => w.queue === q1 || w.queue === q2)
        expect(seen).toStrictEqual([
          { queue: q1, owner: "w-a", lastSeen: far + 100 },
          { queue: q1, owner: "w-b", lastSeen: far + 200 },
          { queue: q2, owner: "w-b", lastSeen: far + 300 },
        ])
      })
    })

    listingContract(() => store)
    retentionContract(() => store)
  })
}
