import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { Step, Trigger, Workflow } from "../../dsl/index.js"
import { Replayer, type Decision, type Env } from "../../runtime/Interpreter.js"
import { StepFailedError } from "../../src/core/errors.js"
import type { Entry } from "../../src/core/model.js"
import { Nondeterministic, Order } from "../fixtures/workflows.js"

const env = (now: number, seed = 1): Env => {
  let s = seed
  return { now, random: () => (s = (s * 16807) % 2147483647) / 2147483647 }
}
const input = { orderId: "o1", cents: 500 }
const complete = (e: Entry, output: unknown, at = 0): Entry => ({ ...e, status: "completed", output: output as never, attempts: 1, resolvedAt: at })

/** Drives a run the warm way (one Replayer, results fed in), returning the journal it builds. */
const driveWarm = (outputs: Record<string, unknown>) => {
  const r = new Replayer("run-1", Order, input)
  const journal: Array<Entry> = []
  let d: Decision = r.advance(env(0))
  const decisions = [d]
  for (let i = 0; i < 20 && d.outcome._tag === "Blocked"; i++) {
    journal.push(...d.entries)
    for (const e of journal.filter((x) => x.status === "pending")) {
      const done = complete(e, e.kind === "sleep" ? undefined : outputs[e.name], 1000 * (i + 1))
      journal[e.seq - 1] = done
      r.resolve(done)
    }
    d = r.advance(env(1000 * (i + 1)))
    decisions.push(d)
  }
  journal.push(...d.entries)
  return { journal, decisions, final: d }
}

const outputs = { reserve: { reservation: "r-o1" }, charge: { chargeId: "ch-o1", cents: 500 }, ship: { tracking: "T-o1" }, email: "sent" }

describe("Replayer", () => {
  it("records a pending step and its task, then blocks", () => {
    const d = new Replayer("run-1", Order, input).advance(env(42))
    expect(d.outcome._tag).toBe("Blocked")
    expect(d.entries).toEqual([{ seq: 1, kind: "step", name: "reserve", status: "pending", input, attempts: 0, createdAt: 42, irreversible: false }])
    expect(d.tasks).toEqual([{ seq: 1, kind: "step", visibleAt: 42 }])
  })

  it("drives a run to completion warm, with a durable timer and a parallel join", () => {
    const { journal, final } = driveWarm(outputs)
    expect(final.outcome).toEqual({ _tag: "Completed", output: { reservation: "r-o1", chargeId: "ch-o1", tracking: "T-o1", email: "sent" } })
    expect(journal.map((e) => `${e.seq}:${e.kind}:${e.name}`)).toEqual(["1:step:reserve", "2:step:charge", "3:sleep:cool-off", "4:step:ship", "5:step:email"])
    const sleep = journal[2]!
    expect(sleep.input).toEqual({ until: 2000 + 30 * 86_400_000 })
  })

  it("replaying the same journal from scratch reaches the same outcome", () => {
    const { journal, final } = driveWarm(outputs)
    const cold = new Replayer("run-1", Order, input).load(journal).advance(env(999_999, 7))
    expect(cold).toEqual({ ...final, entries: [], tasks: [], logs: [], cancelled: [] })
  })

  it("a cold replay at every intermediate journal reaches the same blocked point as the warm run", () => {
    const { decisions } = driveWarm(outputs)
    const journal: Array<Entry> = []
    for (const d of decisions.slice(0, -1)) {
      journal.push(...d.entries)
      const cold = new Replayer("run-1", Order, input).load(journal)
      const replayed = cold.advance(env(5))
      expect(replayed.outcome._tag).toBe("Blocked")
      expect(replayed.entries).toEqual([])
      for (const e of journal.filter((x) => x.status === "pending")) expect(cold.commandAt(e.seq)).toBeDefined()
      for (const [i, e] of journal.entries()) if (e.status === "pending") journal[i] = complete(e, (outputs as Record<string, unknown>)[e.name])
    }
  })

  it("journals now/random/uuid so replay returns the recorded values, not new ones", () => {
    const warm = new Replayer("r", Nondeterministic, {})
    const first = warm.advance(env(1_000, 3))
    expect(first.logs).toHaveLength(1)
    const journal = [...first.entries]
    const sleep = journal.find((e) => e.kind === "sleep")!
    const woke = complete(sleep, undefined, 90_000_000)
    journal[sleep.seq - 1] = woke
    warm.resolve(woke)
    const end = warm.advance(env(90_000_000, 3))
    journal.push(...end.entries)
    const cold = new Replayer("r", Nondeterministic, {}).load(journal).advance(env(5, 12345))
    expect(cold.outcome).toEqual(end.outcome)
    expect(cold.logs).toEqual([]) // logs are emitted once, not on replay
    const out = (end.outcome as unknown as { output: { t1: number; r: number; id: string; t2: number } }).output
    expect(out.t1).toBe(1_000)
    expect(out.t2).toBe(90_000_000)
    expect(out.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it("reports non-determinism with the seq, the journal's entry and what the code yielded", () => {
    const { journal } = driveWarm(outputs)
    const Changed = Workflow.make({
      name: "order",
      triggers: Order.triggers,
      *run(i) {
        yield* Step.make("reserve", { run: (_: unknown) => null })(i)
        yield* Step.make("refund", { run: (_: unknown) => null })(i)
      },
    })
    const d = new Replayer("run-1", Changed, input).load(journal).advance(env(0))
    expect(d.outcome._tag).toBe("NonDeterminism")
    const error = (d.outcome as Extract<Decision["outcome"], { _tag: "NonDeterminism" }>).error
    expect(error).toMatchObject({
      _tag: "NonDeterminismError",
      runId: "run-1",
      seq: 2,
      expected: { kind: "step", name: "charge" },
      actual: { kind: "step", name: "refund" },
    })
    expect(error.message).toContain("seq 2")
  })

  it("reports non-determinism when the code finishes before the journal does", () => {
    const { journal } = driveWarm(outputs)
    const Shorter = Workflow.make({
      name: "order",
      triggers: Order.triggers,
      *run(i) {
        return yield* Step.make("reserve", { run: (_: unknown) => null })(i)
      },
    })
    const d = new Replayer("run-1", Shorter, input).load(journal).advance(env(0))
    expect(d.outcome).toMatchObject({ _tag: "NonDeterminism", error: { seq: 2, expected: { name: "charge" }, actual: null } })
  })

  it("throws a failed step into the generator as a typed StepFailedError", () => {
    const A = Step.make("a", { run: () => 1 })
    const B = Step.make("b", { run: () => 2 })
    const seen: Array<unknown> = []
    const Wf = Workflow.make({
      name: "catcher",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
      *run() {
        try {
          yield* A()
        } catch (e) {
          seen.push(e)
          return yield* B()
        }
      },
    })
    const r = new Replayer("x", Wf, {})
    const [a] = r.advance(env(0)).entries
    r.resolve({ ...a!, status: "failed", attempts: 3, error: { code: "boom", message: "no" } })
    const d = r.advance(env(1))
    expect(seen[0]).toBeInstanceOf(StepFailedError)
    expect(seen[0]).toMatchObject({ step: "a", seq: 1, attempts: 3, error: { code: "boom" } })
    expect(d.entries.map((e) => e.name)).toEqual(["b"])
  })

  it("fails the run when a step failure is not caught", () => {
    const r = new Replayer("x", Order, input)
    const [reserve] = r.advance(env(0)).entries
    r.resolve({ ...reserve!, status: "failed", attempts: 1, error: { code: "out_of_stock", message: "none left" } })
    expect(r.advance(env(1)).outcome).toEqual({ _tag: "Failed", error: { code: "out_of_stock", message: "none left", step: "reserve", seq: 1 } })
  })

  it("fails a parallel group fast and cancels the siblings still pending", () => {
    const r = new Replayer("x", Order, input)
    let d = r.advance(env(0))
    const journal = [...d.entries]
    for (const name of ["reserve", "charge", "cool-off"]) {
      const e = journal.find((x) => x.name === name)!
      r.resolve(complete(e, (outputs as Record<string, unknown>)[name]))
      d = r.advance(env(1))
      journal.push(...d.entries)
    }
    expect(d.entries.map((e) => e.name)).toEqual(["ship", "email"])
    const [ship, email] = d.entries
    r.resolve({ ...email!, status: "failed", attempts: 1, error: { code: "smtp", message: "down" } })
    d = r.advance(env(2))
    expect(d.cancelled).toEqual([{ ...ship!, status: "cancelled", resolvedAt: 2 }])
    expect(d.outcome).toMatchObject({ _tag: "Failed", error: { code: "smtp", step: "email" } })
  })

  it("names the wait it blocks on: the command behind a pending entry, a gate, a signal", () => {
    const Paid = Schema.Struct({ cents: Schema.Number })
    const Wf = Workflow.make({
      name: "waits",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
      *run() {
        yield* Step.make("a", { run: () => 1 })()
        yield* Workflow.approval("review")
        return yield* Workflow.signal("paid", { schema: Paid })
      },
    })
    const r = new Replayer("x", Wf, {})
    const [a] = r.advance(env(0)).entries
    const command = r.commandAt(1)
    expect(command?._tag === "Step" ? command.step.stepName : command).toBe("a")
    expect(r.pendingGate()).toBeUndefined()
    r.resolve(complete(a!, 1))
    const gate = r.advance(env(1))
    expect(gate.paused).toBe(true)
    expect(r.commandAt(1)).toBeUndefined() // consumed
    expect(r.entryAt(1)).toBeUndefined()
    expect(r.pendingGate()).toMatchObject({ seq: 2, kind: "approval", name: "review" })
    expect(r.pendingSignal("paid")).toBeUndefined()
    r.resolve(complete(gate.entries[0]!, { approved: true, actor: "ann", at: 2 }))
    const wait = r.advance(env(2))
    expect(wait.paused).toBe(false)
    expect(r.pendingGate()).toBeUndefined()
    expect(r.pendingSignal("paid")).toMatchObject({ entry: { seq: 3, kind: "signal", status: "pending" }, schema: Paid })
    expect(r.pendingSignal("other")).toBeUndefined()
  })

  it("a signal delivered while the run does not wait for it is taken by the next wait", () => {
    const Wf = Workflow.make({
      name: "early",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
      *run() {
        yield* Workflow.sleep("nap", "1 hour")
        return yield* Workflow.signal("go", { schema: Schema.Number })
      },
    })
    const r = new Replayer("x", Wf, {})
    const [nap] = r.advance(env(0)).entries
    r.deliver({ id: 9, name: "go", payload: 5, receivedAt: 10 })
    r.resolve(complete(nap!, undefined))
    const d = r.advance(env(3_600_000))
    expect(d.consumed).toEqual([{ id: 9, seq: 2 }])
    expect(d.outcome).toEqual({ _tag: "Completed", output: { _tag: "Received", payload: 5, at: 10 } })
  })

  it("fails the run with workflow_failed when the code calls Workflow.fail", () => {
    const Wf = Workflow.make({
      name: "quitter",
      triggers: { manual: Trigger.manual({ payload: Schema.Struct({}) }) },
      *run() {
        return yield* Workflow.fail("rejected by policy")
      },
    })
    expect(new Replayer("x", Wf, {}).advance(env(0)).outcome).toEqual({ _tag: "Failed", error: { code: "workflow_failed", message: "rejected by policy" } })
  })
})
