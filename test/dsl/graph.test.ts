/**
 * Graph definitions are checked as a whole when they are made: every problem is reported at
 * once, each with the path of the field at fault, in one InvalidDefinitionError.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { InvalidDefinitionError, Trigger, Workflow } from "../../src/index.js"

const triggers = { manual: Trigger.manual({ payload: Schema.Struct({ orderId: Schema.String }) }) }
const ok = () => "ok"

/** The problems `Workflow.graph` refuses a definition with. */
const problemsOf = (options: Omit<Parameters<typeof Workflow.graph>[0], "name" | "triggers">) => {
  try {
    Workflow.graph({ name: "g", triggers, ...options })
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDefinitionError)
    return (error as InvalidDefinitionError).problems
  }
  throw new Error("the graph was accepted")
}

describe("Workflow.graph checks", () => {
  it("reports every problem of a transition graph at once, each where it is", () => {
    expect(
      problemsOf({
        steps: {
          load: { run: ok, output: "order", retry: { maxAttempts: 0 } },
          review: { approval: { onDeadline: "later" as never } },
          pay: { run: ok, input: ["order", "coupon"], compensate: ok, irreversible: true },
          lost: { run: ok },
          both: { run: ok, pause: true } as never,
          hold: { pause: true, input: ["orderId"] } as never,
        },
        transitions: [
          { from: "load", on: "ok", to: "review" },
          { from: "review", on: "ok", to: "pay" },
          { from: "pay", on: "ok", to: "nowhere" },
          { from: "pay", on: "maybe" as never, to: "complete" },
          { from: "load", on: "ok", to: "review" },
          { from: "review", on: "ok", to: "complete", when: { path: ["x"], equals: 1 } },
          { from: "lost", on: "ok", to: "complete", recovery: "undo" },
          { from: "ghost", on: "ok", to: "complete" },
        ],
      }),
    ).toEqual([
      { at: "steps.load", message: "retry.maxAttempts: expected an integer of at least 1 (the first attempt counts)" },
      { at: "steps.review.approval.onDeadline", message: 'expected "reject", "fail" or "none"' },
      { at: "steps.pay.compensate", message: "an irreversible step cannot be compensated" },
      { at: "steps.both", message: "declares `run` and `pause`: a node is exactly one of them" },
      { at: "steps.hold.input", message: "only a step (a node with `run`) takes `input`" },
      { at: "transitions[2].to", message: 'unknown node "nowhere" (or "complete")' },
      { at: "transitions[3].on", message: 'expected "ok" or "error"' },
      { at: "transitions[4]", message: "duplicate of transitions[0]: the same node, outcome and condition" },
      { at: "transitions[5].when", message: "a transition from an approval or a pause cannot have a condition" },
      { at: "transitions[6].recovery", message: "only an error transition can undo" },
      { at: "transitions[7].from", message: 'unknown node "ghost"' },
    ])
  })

  it("finds a missing entry, unreachable nodes, cycles, missing routes and inputs no one provides", () => {
    expect(
      problemsOf({
        steps: { a: { run: ok }, b: { run: ok }, c: { run: ok } },
        transitions: [
          { from: "a", on: "ok", to: "b" },
          { from: "b", on: "ok", to: "a" },
          { from: "c", on: "ok", to: "b" },
        ],
      }),
    ).toEqual([{ at: "transitions", message: "transition cycle: b → a → b" }])
    expect(
      problemsOf({
        steps: { start: { run: ok }, island: { run: ok }, review: { approval: true }, pay: { run: ok, input: { total: ["order", "total"], id: ["orderId"] } } },
        transitions: [
          { from: "start", on: "ok", to: "review" },
          { from: "review", on: "ok", to: "pay" },
          { from: "pay", on: "ok", to: "complete" },
          { from: "island", on: "ok", to: "island" },
        ],
      }),
    ).toEqual([
      { at: "steps.island", message: 'unreachable from the entry node "start"' },
      { at: "steps.review", message: 'an approval needs an "error" transition too (where a rejection goes)' },
    ])
    expect(
      problemsOf({
        steps: { first: { run: ok, output: "first" }, second: { run: ok, input: ["first", "orderId", "coupon"] } },
        transitions: [
          { from: "first", on: "ok", to: "second" },
          { from: "second", on: "ok", to: "complete" },
        ],
      }),
    ).toEqual([{ at: "steps.second.input[2]", message: '"coupon" is neither a payload field nor the output of an earlier node' }])
  })

  it("checks dependency graphs: unknown and self dependencies, cycles, gates, transitions", () => {
    expect(
      problemsOf({
        steps: {
          a: { run: ok, after: ["a"] },
          b: { run: ok, after: ["ghost"] },
          hold: { pause: true, after: ["b"] },
        },
        transitions: [{ from: "a", on: "ok", to: "complete" }],
      }),
    ).toEqual([
      { at: "steps.a.after[0]", message: "a node cannot depend on itself" },
      { at: "steps.b.after[0]", message: 'unknown node "ghost"' },
      { at: "transitions[0]", message: "a workflow whose nodes declare `after` runs by dependencies: it cannot also declare transitions" },
      { at: "steps.hold", message: "a pause cannot run in a dependency workflow (nodes with `after`)" },
    ])
    expect(problemsOf({ steps: { a: { run: ok, after: ["b"] }, b: { run: ok, after: ["c"] }, c: { run: ok, after: ["a"] } } })).toEqual([
      { at: "steps.a.after", message: "dependency cycle: a → b → c → a" },
    ])
  })

  it("gives a valid graph its static form: entry or phases", () => {
    const g = Workflow.graph({
      name: "phased",
      triggers,
      steps: {
        a: { run: ok },
        b: { run: ok },
        c: { run: ok, after: ["a", "b"] },
        d: { sleep: "1 minute", after: ["a"] },
        e: { log: "done", after: ["c", "d"] },
      },
    })
    expect(g.graph).toMatchObject({ mode: "dependencies", phases: [["a", "b"], ["c", "d"], ["e"]] })
    expect(g.definitionHash).toMatch(/^[0-9a-f]{64}$/)
    const message = (() => {
      try {
        Workflow.graph({ name: "bad", triggers, steps: {} })
      } catch (error) {
        return (error as Error).message
      }
    })()
    expect(message).toBe('invalid workflow "bad": 1 problem(s):\n- steps: expected at least one node')
  })
})
