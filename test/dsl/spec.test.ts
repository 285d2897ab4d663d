/**
 * The editor API of runtime-authored specs, pure (no store): validateSpec reports every problem
 * at its JSON path (shape, graph, actions, params, size); the published JSON Schema validates
 * the example specs; previewGraph draws a draft; diffSpecs says what an edit changed.
 */
import { describe, expect, it } from "vitest"
import { validateJson } from "../../src/core/jsonSchema.js"
import type { Json } from "../../src/core/json.js"
import { diffSpecs, MAX_SPEC_BYTES, previewGraph, specJsonSchema, validateSpec, type WorkflowSpec } from "../../src/index.js"
import { actions, joinSpec, orderSpec, orderSpecV2 } from "../fixtures/specs.js"

const problemsOf = (json: unknown, withActions = true) => {
  const result = validateSpec(json, withActions ? { actions } : {})
  return result.ok ? [] : result.problems
}
const valid = (json: unknown): WorkflowSpec => {
  const result = validateSpec(json, { actions })
  if (!result.ok) throw new Error(JSON.stringify(result.problems))
  return result.spec
}

describe("validateSpec", () => {
  it("accepts the example specs, as values or JSON text, with or without the registry", () => {
    for (const spec of [orderSpec, joinSpec, orderSpecV2]) {
      expect(problemsOf(spec)).toEqual([])
      expect(problemsOf(spec, false)).toEqual([])
      expect(problemsOf(JSON.stringify(spec))).toEqual([])
      expect(valid(spec)).toEqual(JSON.parse(JSON.stringify(spec)))
    }
  })

  it("reports every problem of a malformed spec at its JSON path", () => {
    const broken = {
      ...orderSpec,
      version: 2,
      colour: "blue",
      triggers: { manual: { type: "manual" }, nightly: { type: "cron", expression: "61 * * * *", timeZone: "Mars/Olympus" } },
      steps: {
        ...orderSpec.steps,
        reserve: { action: "inventory.reserv", output: "1st" },
        charge: { ...orderSpec.steps.charge, params: { cents: "12" }, retry: { maxAttempts: 0, backoff: { type: "fixed", delay: "soon" } } },
        review: { approval: { deadline: "1 day", onDeadline: "shrug" }, output: "review" },
        ship: { sleep: "1 second", log: "both" },
      },
    }
    expect(problemsOf(broken).map((p) => p.at)).toEqual([
      "colour",
      "version",
      "steps.reserve.output",
      "steps.reserve.action",
      "steps.charge.retry.maxAttempts",
      "steps.charge.retry.backoff.delay",
      "steps.charge.params.cents",
      "steps.review.approval",
      "steps.review.approval.onDeadline",
      "steps.ship",
      "triggers.nightly.timeZone",
      "triggers.nightly.expression",
    ])
    const result = validateSpec(broken, { actions })
    expect(!result.ok && result.unknownActions).toEqual([{ at: "steps.reserve.action", action: "inventory.reserv" }])
  })

  it("reports the graph's problems: unknown targets, cycles, unreachable nodes, missing routes, dependency cycles", () => {
    const routes = {
      ...orderSpec,
      transitions: [
        { from: "reserve", on: "ok", to: "charge" },
        { from: "charge", on: "ok", to: "reserve" },
        { from: "charge", on: "error", to: "nowhere" },
        { from: "review", on: "ok", to: "ship" },
      ],
    }
    expect(problemsOf(routes)).toEqual([{ at: "transitions[2].to", message: 'unknown node "nowhere" (or "complete")' }])
    const cyclic = { ...routes, transitions: routes.transitions.filter((_, i) => i !== 2) }
    expect(problemsOf(cyclic).map((p) => `${p.at}: ${p.message}`)).toEqual(
      expect.arrayContaining([expect.stringContaining("transitions: expected exactly one entry node")]),
    )
    const joinCycle = { ...joinSpec, steps: { ...joinSpec.steps, a: { ...joinSpec.steps.a, after: ["done"] } } }
    expect(problemsOf(joinCycle)).toEqual([{ at: "steps.a.after", message: "dependency cycle: a → done → sum → nap → a" }])
    const unknownDep = { ...joinSpec, steps: { ...joinSpec.steps, sum: { ...joinSpec.steps.sum, after: ["b", "ghost"] } } }
    expect(problemsOf(unknownDep)).toEqual([{ at: "steps.sum.after[1]", message: 'unknown node "ghost"' }])
    // A malformed node does not hide the graph's problems elsewhere.
    const both = { ...unknownDep, steps: { ...unknownDep.steps, a: { ...joinSpec.steps.a, params: { by: "x" } } } }
    expect(problemsOf(both).map((p) => p.at)).toEqual(["steps.a.params.by", "steps.sum.after[1]"])
  })

  it("refuses a spec over 256 KiB whole, and text that is not JSON", () => {
    const huge = { ...orderSpec, description: "x".repeat(MAX_SPEC_BYTES) }
    expect(problemsOf(huge)).toEqual([{ at: "", message: expect.stringContaining(`at most ${MAX_SPEC_BYTES}`) }])
    expect(problemsOf("{ not json")).toEqual([{ at: "", message: expect.stringContaining("not JSON") }])
    expect(problemsOf(42)[0]!.at).toBe("")
  })
})

describe("specJsonSchema", () => {
  it("validates the example specs and points at what is wrong in a bad one", () => {
    const schema = specJsonSchema()
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#")
    for (const spec of [orderSpec, joinSpec, orderSpecV2]) expect(validateJson(spec as unknown as Json, schema)).toEqual([])
    const bad = { ...orderSpec, steps: { ...orderSpec.steps, charge: { ...orderSpec.steps.charge, retry: { maxAttempts: "3" } } } }
    const issues = validateJson(bad as unknown as Json, schema)
    expect(issues.length).toBeGreaterThan(0)
    expect(validateJson({ ...orderSpec, version: 2 } as unknown as Json, schema).map((i) => i.path)).toContain("$.version")
    expect(validateJson({ ...orderSpec, extra: true } as unknown as Json, schema).map((i) => i.path)).toContain("$.extra")
  })
})

describe("previewGraph", () => {
  it("draws a valid spec's nodes (not reached) and labelled transitions, and a dependency spec's edges", () => {
    const order = previewGraph(orderSpec)
    expect(order).toMatchObject({ structure: "draft", mode: "transitions", entry: "reserve", problems: [] })
    expect(order.nodes.map((n) => `${n.id}:${n.kind}:${n.status}`)).toEqual([
      "node-reserve:step:not_reached",
      "node-charge:step:not_reached",
      "node-review:approval:not_reached",
      "node-ship:step:not_reached",
      "node-cancelled:step:not_reached",
    ])
    expect(order.edges.map((e) => `${e.id} [${e.label}]`)).toEqual([
      "transition:reserve-ok-charge [ok]",
      "transition:charge-ok-review [ok]",
      "transition:charge-error-cancelled [error · undo]",
      "transition:review-ok-ship [ok]",
      "transition:review-error-cancelled [error · undo]",
    ])
    const join = previewGraph(JSON.stringify(joinSpec))
    expect(join.mode).toBe("dependencies")
    expect(join.edges.map((e) => `${e.id}:${e.kind}`)).toEqual(["after:a-nap:sequence", "after:b-sum:join", "after:nap-sum:join", "after:sum-done:sequence"])
  })

  it("draws what it can of a spec with problems, and lists them", () => {
    const draft = previewGraph({ ...orderSpec, transitions: [...orderSpec.transitions, { from: "ship", on: "ok", to: "ghost" }] })
    expect(draft.problems.map((p) => p.at)).toContain("transitions[7].to")
    expect(draft.nodes).toHaveLength(5)
    expect(draft.edges).toHaveLength(5) // those to "complete" and to the unknown node are not drawn
    expect(draft.mode).toBeUndefined()
  })
})

describe("diffSpecs", () => {
  it("lists nodes added, removed and changed (by field), transitions added and removed", () => {
    const edited = { ...orderSpecV2, steps: { ...orderSpecV2.steps, charge: { ...orderSpecV2.steps.charge, params: { cents: 900 } } } }
    const d = diffSpecs(valid(orderSpec), valid(edited))
    expect(d.steps).toEqual({ added: ["audit"], removed: ["review"], changed: [{ name: "charge", fields: ["params"] }] })
    expect(d.transitions.added).toEqual([
      { from: "charge", on: "ok", to: "audit" },
      { from: "audit", on: "ok", to: "ship" },
    ])
    expect(d.transitions.removed.map((t) => `${t.from}-${t.on}-${t.to}`)).toEqual(["charge-ok-review", "review-ok-ship", "review-error-cancelled"])
    expect(d.same).toBe(false)
    expect(diffSpecs(valid(orderSpec), valid(JSON.parse(JSON.stringify(orderSpec))))).toMatchObject({ same: true })
  })
})
