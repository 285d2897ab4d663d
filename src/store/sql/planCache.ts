/**
 * Plan generations for the batch statements. They stay prepared (planning them costs about as
 * much as running them), but their text carries a plan generation that changes every minute,
 * so each connection re-prepares them with the tables' current sizes. A plan cached while the
 * tables were tiny (sequential scans) would otherwise outlive their growth until the next
 * ANALYZE.
 */

/** How long one plan generation lasts. */
export const PLAN_GENERATION_MS = 60_000

/** A statement's text for the current plan generation. */
export type Planned = (text: string) => string

/**
 * A plan cache, owned by one store: the text of each statement for the current generation,
 * built once per generation. `now` is the wall clock (epoch milliseconds).
 */
export const makePlanCache = (now: () => number = Date.now, generationMs: number = PLAN_GENERATION_MS): Planned => {
  const cache = new Map<string, { readonly generation: number; readonly text: string }>()
  return (text) => {
    const generation = Math.floor(now() / generationMs)
    const hit = cache.get(text)
    if (hit && hit.generation === generation) return hit.text
    const planned = `${text}\n-- plan generation ${generation}`
    cache.set(text, { generation, text: planned })
    return planned
  }
}
