/**
 * Contract cases for the retention of what runs leave behind: cron schedule events
 * (`purgeScheduleEvents`: the age cut-off, the newest events each schedule keeps, batches)
 * and stored specs (`purgeSpecs`: never one a stored run references), their counts for a dry
 * run (`countPurgeable`) and their audit rows (`listPurges`). Registered inside the Store
 * contract of each backend (storeContract.ts); cases isolate themselves with fresh workflow
 * and spec names (every purge is limited to its own).
 */
import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { RunRecord } from "../../src/core/model.js"
import type { ScheduleEvent } from "../../src/core/schedule.js"
import type { StoreService, StoredSpec } from "../../src/store/Store.js"

const T0 = 1_700_000_000_123

const uid = () => randomUUID().slice(0, 8)

/** Registers the retention cases; `store` gives the backend under test once it is built. */
export const retentionContract = (store: () => StoreService): void => {
  const run = <A>(f: (s: StoreService) => Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(f(store()))
  const lastPurge = async () => (await run((s) => s.listPurges(1)))[0]

  describe("purgeScheduleEvents", () => {
    const event = (workflow: string, trigger: string, at: number): ScheduleEvent => ({ workflow, trigger, kind: "skipped", from: at, at })
    const remaining = async (workflow: string, trigger: string) => (await run((s) => s.listScheduleEvents(workflow, trigger, 1000))).map((e) => e.at)
    const purge = (workflow: string, before: number, keep: number, extra: { limit?: number; after?: number } = {}) =>
      run((s) => s.purgeScheduleEvents({ before, keep, workflow, limit: extra.limit ?? 100, now: T0 + 5_000, reason: { test: workflow }, ...extra }))

    it("deletes events older than the cut-off but the newest `keep` of each schedule, only of the workflow, and audits the batch", async () => {
      const wf = `wf-${uid()}`
      const other = `wf-${uid()}`
      // Schedule a: 6 old events, 2 recent; schedule b: 2 old events only; another workflow: old events.
      await run((s) =>
        s.appendScheduleEvents([
          ...[1, 2, 3, 4, 5, 6].map((i) => event(wf, "a", T0 + i)),
          event(wf, "b", T0 + 7),
          event(wf, "b", T0 + 8),
          ...[1, 2, 3].map((i) => event(other, "a", T0 + i)),
          event(wf, "a", T0 + 2000),
          event(wf, "a", T0 + 2001),
        ]),
      )
      const before = await lastPurge()
      expect(await run((s) => s.countPurgeable({ before: T0 + 1000, keep: 3, workflow: wf }))).toStrictEqual({ scheduleEvents: 5, specs: 0 })
      const result = await purge(wf, T0 + 1000, 3)
      expect(result).toStrictEqual({ deleted: 5 })
      // a keeps its 3 newest (one old, two recent); b has fewer than 3 events: all kept.
      expect(await remaining(wf, "a")).toStrictEqual([T0 + 2001, T0 + 2000, T0 + 6])
      expect(await remaining(wf, "b")).toStrictEqual([T0 + 8, T0 + 7])
      expect(await remaining(other, "a")).toStrictEqual([T0 + 3, T0 + 2, T0 + 1])
      const audit = await lastPurge()
      expect(audit!.id).not.toBe(before?.id)
      expect(audit).toMatchObject({ at: T0 + 5_000, reason: { test: wf }, purged: 0, scheduleEvents: 5, specs: 0 })
      expect(audit!.firstRunId).toBeUndefined()
      expect(audit!.lastRunId).toBeUndefined()
      expect(await purge(wf, T0 + 1000, 3)).toStrictEqual({ deleted: 0 })
      expect((await lastPurge())!.id).toBe(audit!.id) // nothing deleted, nothing audited
      expect(await run((s) => s.countPurgeable({ before: T0 + 1000, keep: 3, workflow: wf }))).toStrictEqual({ scheduleEvents: 0, specs: 0 })
    })

    it("keeps every event recorded after the cut-off, whatever `keep`", async () => {
      const wf = `wf-${uid()}`
      await run((s) => s.appendScheduleEvents([10, 20, 30].map((i) => event(wf, "a", T0 + i))))
      expect(await purge(wf, T0 + 15, 0)).toStrictEqual({ deleted: 1 })
      expect(await remaining(wf, "a")).toStrictEqual([T0 + 30, T0 + 20])
    })

    it("deletes in batches of `limit`, continuing after `next` until none is left", async () => {
      const wf = `wf-${uid()}`
      await run((s) => s.appendScheduleEvents([1, 2, 3, 4, 5].map((i) => event(wf, "a", T0 + i))))
      let deleted = 0
      let batches = 0
      let after: number | undefined
      for (;;) {
        const r = await purge(wf, T0 + 100, 1, { limit: 2, ...(after !== undefined ? { after } : {}) })
        expect(r.deleted).toBeLessThanOrEqual(2)
        deleted += r.deleted
        batches++
        if (r.next === undefined) break
        after = r.next
      }
      expect(deleted).toBe(4)
      expect(batches).toBeGreaterThanOrEqual(2)
      expect(await remaining(wf, "a")).toStrictEqual([T0 + 5])
    })
  })

  describe("purgeSpecs", () => {
    const spec = (name: string, version: number): StoredSpec => ({
      fingerprint: `${uid()}${"f".repeat(56)}`,
      name,
      text: JSON.stringify({ name, version }),
    })
    const specRun = (s: StoredSpec, createdAt: number, finishedAt?: number): RunRecord => ({
      id: randomUUID(),
      workflow: `spec:${s.name}`,
      trigger: "manual",
      queue: `q-${uid()}`,
      status: finishedAt === undefined ? "running" : "completed",
      input: {},
      revision: 0,
      requestHash: "a".repeat(64),
      definitionHash: s.fingerprint,
      createdAt,
      updatedAt: finishedAt ?? createdAt,
      ...(finishedAt !== undefined ? { output: 1, finishedAt } : {}),
    })
    const create = (s: StoredSpec, r: RunRecord) => run((st) => st.createRun({ run: r, entries: [], tasks: [], spec: s }))
    const purge = (name: string, createdBefore: number) =>
      run((s) => s.purgeSpecs({ createdBefore, name, limit: 100, now: T0 + 9_000, reason: { test: name } }))
    const stored = async (s: StoredSpec) => (await run((st) => st.getSpec(s.fingerprint)))?.text

    it("deletes the old specs no stored run references, never a referenced or younger one, and audits the batch", async () => {
      const name = `spec-${uid()}`
      const [v1, v2, v3, v4] = [spec(name, 1), spec(name, 2), spec(name, 3), spec(name, 4)]
      const r1 = specRun(v1!, T0, T0 + 1) // v1: its run finished; purged below
      const r2 = specRun(v2!, T0) // v2: its run still runs
      const r3 = specRun(v3!, T0 + 5_000) // v3: stored after the cut-off
      const r4 = specRun(v4!, T0, T0 + 1)
      for (const [s, r] of [
        [v1!, r1],
        [v2!, r2],
        [v3!, r3],
        [v4!, r4],
      ] as const)
        expect((await create(s, r))._tag).toBe("Created")
      // Every spec is referenced: nothing to delete.
      expect(await run((s) => s.countPurgeable({ before: T0 + 1000, keep: 1, workflow: `spec:${name}` }))).toStrictEqual({ scheduleEvents: 0, specs: 0 })
      expect(await purge(name, T0 + 1000)).toStrictEqual({ deleted: 0 })
      // r1 and r3 go (runs purge): v1 is now unreferenced and old, v3 unreferenced but young.
      const purged = await run((s) =>
        s.purgeRuns({ finishedBefore: T0 + 10, statuses: ["completed"], workflow: `spec:${name}`, limit: 10, now: T0, reason: {} }),
      )
      expect(purged.purged).toBe(2) // r1 and r4
      const audit = await lastPurge()
      expect(await run((s) => s.countPurgeable({ before: T0 + 1000, keep: 1, workflow: `spec:${name}` }))).toStrictEqual({ scheduleEvents: 0, specs: 2 })
      expect(await run((s) => s.countPurgeable({ before: T0 + 1000, keep: 1, workflow: "not-a-spec" }))).toStrictEqual({ scheduleEvents: 0, specs: 0 })
      expect(await purge(name, T0 + 1000)).toStrictEqual({ deleted: 2 })
      expect(await stored(v1!)).toBeUndefined()
      expect(await stored(v4!)).toBeUndefined()
      expect(await stored(v2!)).toBe(v2!.text) // r2 still needs it
      expect(await stored(v3!)).toBe(v3!.text) // younger than the cut-off
      const specAudit = await lastPurge()
      expect(specAudit!.id).not.toBe(audit!.id)
      expect(specAudit).toMatchObject({ at: T0 + 9_000, reason: { test: name }, purged: 0, scheduleEvents: 0, specs: 2 })
      expect(specAudit!.firstRunId).toBeUndefined()
      expect(await purge(name, T0 + 1000)).toStrictEqual({ deleted: 0 })
      expect((await lastPurge())!.id).toBe(specAudit!.id)
    })

    it("a new run of a purged spec version stores the spec again", async () => {
      const name = `spec-${uid()}`
      const v1 = spec(name, 1)
      await create(v1, specRun(v1, T0, T0 + 1))
      await run((s) => s.purgeRuns({ finishedBefore: T0 + 10, statuses: ["completed"], workflow: `spec:${name}`, limit: 10, now: T0, reason: {} }))
      expect(await purge(name, T0 + 1000)).toStrictEqual({ deleted: 1 })
      expect(await stored(v1)).toBeUndefined()
      expect((await create(v1, specRun(v1, T0 + 2000)))._tag).toBe("Created")
      expect(await stored(v1)).toBe(v1.text)
    })

    it("deletes in batches of `limit`, in fingerprint order after `after`", async () => {
      const name = `spec-${uid()}`
      const versions = [1, 2, 3].map((v) => spec(name, v))
      for (const v of versions) await create(v, specRun(v, T0, T0 + 1))
      await run((s) => s.purgeRuns({ finishedBefore: T0 + 10, statuses: ["completed"], workflow: `spec:${name}`, limit: 10, now: T0, reason: {} }))
      const sorted = versions.map((v) => v.fingerprint).sort()
      const first = await run((s) => s.purgeSpecs({ createdBefore: T0 + 1000, name, limit: 2, now: T0, reason: {} }))
      expect(first).toStrictEqual({ deleted: 2, next: sorted[1] })
      const second = await run((s) => s.purgeSpecs({ createdBefore: T0 + 1000, name, limit: 2, after: first.next!, now: T0, reason: {} }))
      expect(second).toStrictEqual({ deleted: 1 })
      for (const v of versions) expect(await stored(v)).toBeUndefined()
    })
  })
}
