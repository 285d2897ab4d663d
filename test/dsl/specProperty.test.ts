/**
 * A property of validateSpec: every generated valid spec (a chain of transitions, or a
 * dependency graph, of actions, sleeps, logs and approvals) is accepted, with and without the
 * registry; the same spec with one field broken is rejected with a problem at that field's
 * JSON path. Effect's FastCheck generates both.
 */
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { validateSpec } from "../../src/index.js"
import { actions } from "../fixtures/specs.js"

type Spec = { version: number; name: string; triggers: Record<string, any>; steps: Record<string, any>; transitions?: Array<any> }

const nodeArb = (withGates: boolean) =>
  fc.oneof(
    fc.record({
      action: fc.constant("math.add"),
      params: fc.record({ by: fc.integer({ min: -100, max: 100 }) }),
      retry: fc.option(
        fc.record({
          maxAttempts: fc.integer({ min: 1, max: 5 }),
          backoff: fc.record({ type: fc.constant("fixed"), delay: fc.integer({ min: 0, max: 60 }).map((n) => `${n} seconds`) }),
        }),
        { nil: undefined },
      ),
      timeout: fc.option(
        fc.integer({ min: 1, max: 90 }).map((n) => `${n} minutes`),
        { nil: undefined },
      ),
    }),
    fc.record({ sleep: fc.integer({ min: 1, max: 48 }).map((n) => `${n} hours`) }),
    fc.record({ log: fc.string({ minLength: 1, maxLength: 12 }), level: fc.constantFrom("debug", "info", "warning", "error") }),
    ...(withGates ? [fc.record({ approval: fc.constantFrom<true | { deadline: string }>(true, { deadline: "2 days" }) })] : []),
  )

const clean = (node: Record<string, unknown>) => Object.fromEntries(Object.entries(node).filter(([, v]) => v !== undefined))

/** A valid spec: a chain of transitions from the first node, or dependencies on earlier nodes. */
const specArb: fc.Arbitrary<Spec> = fc
  .record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
    names: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), { minLength: 2, maxLength: 7 }).filter((ns) => !ns.includes("complete")),
    mode: fc.constantFrom("transitions", "dependencies"),
    seed: fc.array(fc.nat(), { minLength: 7, maxLength: 7 }),
  })
  .chain(({ name, names, mode, seed }) =>
    fc.tuple(...names.map(() => nodeArb(mode === "transitions"))).map((nodes): Spec => {
      const steps: Record<string, any> = {}
      names.forEach((n, i) => {
        const after = mode === "dependencies" && i > 0 ? [names[seed[i]! % i]!] : undefined
        steps[n] = clean({ ...nodes[i]!, ...(after ? { after } : {}) })
      })
      const spec: Spec = {
        version: 1,
        name,
        triggers: { manual: { type: "manual", payload: { type: "object", properties: { n: { type: "integer" } } } } },
        steps,
      }
      if (mode === "transitions") {
        spec.transitions = names.flatMap((n, i) => {
          const next = names[i + 1] ?? "complete"
          const ok = { from: n, on: "ok", to: next }
          return "approval" in steps[n] ? [ok, { from: n, on: "error", to: "complete" }] : [ok]
        })
      }
      return spec
    }),
  )

/** One way to break a valid spec, and the path of the problem it must produce. */
type Mutation = (spec: Spec) => { readonly spec: Spec; readonly at: string } | undefined

const copy = (spec: Spec): Spec => JSON.parse(JSON.stringify(spec)) as Spec
const firstOf = (spec: Spec, has: (node: any) => boolean) => Object.keys(spec.steps).find((n) => has(spec.steps[n]))
const onNode =
  (has: (node: any) => boolean, field: string, value: unknown, path = field): Mutation =>
  (spec) => {
    const name = firstOf(spec, has)
    if (name === undefined) return undefined
    const out = copy(spec)
    const keys = field.split(".")
    let target = out.steps[name]
    for (const k of keys.slice(0, -1)) target = target[k] ??= {}
    target[keys[keys.length - 1]!] = value
    return { spec: out, at: `steps.${name}.${path}` }
  }
const isAction = (n: any) => "action" in n

const MUTATIONS: ReadonlyArray<Mutation> = [
  onNode(isAction, "retry.maxAttempts", 0),
  onNode(isAction, "retry.maxAttempts", "3"),
  onNode(isAction, "action", "no.such.action"),
  onNode(isAction, "params.by", "one"),
  onNode(isAction, "timeout", "-5 seconds"),
  onNode(isAction, "irreversible", "yes"),
  onNode((n) => "sleep" in n, "sleep", "soon"),
  onNode((n) => "log" in n, "level", "loud"),
  onNode(() => true, "output", "1bad"),
  onNode(() => true, "colour", "blue"),
  (spec) => ({ spec: { ...copy(spec), name: "9-starts-with-a-digit" }, at: "name" }),
  (spec) => ({ spec: { ...copy(spec), version: 2 }, at: "version" }),
  (spec) => {
    const out = copy(spec)
    out.triggers.manual.type = "webhook"
    return { spec: out, at: "triggers.manual" }
  },
  (spec) => {
    if (!spec.transitions) return undefined
    const out = copy(spec)
    out.transitions![0].to = "nowhere"
    return { spec: out, at: "transitions[0].to" }
  },
  (spec) => {
    if (!spec.transitions) return undefined
    const out = copy(spec)
    out.transitions![0].on = "maybe"
    return { spec: out, at: "transitions[0].on" }
  },
  (spec) => {
    const name = firstOf(spec, (n) => Array.isArray(n.after))
    if (name === undefined) return undefined
    const out = copy(spec)
    out.steps[name].after = ["ghost"]
    return { spec: out, at: `steps.${name}.after[0]` }
  },
]

describe("validateSpec (property)", () => {
  it("accepts every generated valid spec", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const withRegistry = validateSpec(spec, { actions })
        expect(withRegistry.ok ? [] : withRegistry.problems).toEqual([])
        expect(validateSpec(JSON.stringify(spec)).ok).toBe(true)
      }),
      { numRuns: 200 },
    )
  })

  it("rejects every broken one with a problem at the broken field", () => {
    fc.assert(
      fc.property(specArb, fc.nat(), (spec, pick) => {
        const applicable = MUTATIONS.map((m) => m(spec)).filter((m) => m !== undefined)
        const { spec: broken, at } = applicable[pick % applicable.length]!
        const result = validateSpec(broken, { actions })
        expect(result.ok).toBe(false)
        const paths = result.ok ? [] : result.problems.map((p) => p.at)
        expect(
          paths.some((p) => p === at || p.startsWith(`${at}.`) || p.startsWith(`${at}[`)),
          `${at} in ${JSON.stringify(paths)}`,
        ).toBe(true)
      }),
      { numRuns: 400 },
    )
  })
})
