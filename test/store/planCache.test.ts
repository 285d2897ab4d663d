/** Plan generations: a statement's text is stable within a generation and changes with it, per store. */
import { describe, expect, it } from "vitest"
import { makePlanCache, PLAN_GENERATION_MS } from "../../src/store/sql/planCache.js"

describe("makePlanCache", () => {
  it("tags a statement with the current generation, once per generation", () => {
    let now = 5 * PLAN_GENERATION_MS + 1
    const planned = makePlanCache(() => now)
    const first = planned("SELECT 1")
    expect(first).toBe("SELECT 1\n-- plan generation 5")
    now += PLAN_GENERATION_MS - 2
    expect(planned("SELECT 1")).toBe(first)
    now += 1
    expect(planned("SELECT 1")).toBe("SELECT 1\n-- plan generation 6")
    expect(planned("SELECT 2")).toBe("SELECT 2\n-- plan generation 6")
  })

  it("belongs to its store: caches with different clocks do not share entries", () => {
    const a = makePlanCache(() => 0, 1_000)
    const b = makePlanCache(() => 3_500, 1_000)
    expect(a("SELECT 1")).toBe("SELECT 1\n-- plan generation 0")
    expect(b("SELECT 1")).toBe("SELECT 1\n-- plan generation 3")
    expect(a("SELECT 1")).toBe("SELECT 1\n-- plan generation 0")
  })
})
