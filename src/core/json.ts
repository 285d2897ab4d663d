/**
 * JSON values as the journal stores them. Everything a step returns or a
 * workflow receives crosses this boundary, so warm (cached) and cold
 * (replayed) executions see exactly the same values.
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Round-trips a value through JSON. `undefined` stays `undefined` (stored as SQL NULL). */
export const toJson = (value: unknown): Json | undefined => {
  if (value === undefined) return undefined
  const text = JSON.stringify(value)
  return text === undefined ? undefined : (JSON.parse(text) as Json)
}

/** Stable JSON text (object keys sorted) used for hashing and equality of requests. */
export const canonicalJson = (value: unknown): string => {
  if (value === undefined) return "null"
  return JSON.stringify(sortKeys(value))
}

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key])
    return out
  }
  return value
}
