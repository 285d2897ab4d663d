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

type JsonPrimitive = string | number | boolean | null

/**
 * The type a value has after the journal's JSON round trip, which is what a step's result is
 * when the workflow receives it, live and on replay: a `Date` becomes a `string` (its
 * `toJSON`), functions and symbols disappear, a `Map` or `Set` becomes `{}`, `bigint` cannot
 * be stored (`never`). Types that are already JSON come back unchanged. Declare a step's
 * `output` Schema to get richer types back instead.
 */
export type Jsonify<T, Depth extends ReadonlyArray<unknown> = []> = Depth["length"] extends 10
  ? T
  : 0 extends 1 & T
    ? T
    : unknown extends T
      ? T
      : T extends JsonPrimitive | undefined | void
        ? T
        : T extends { toJSON(...args: ReadonlyArray<any>): infer J }
          ? Jsonify<J, [...Depth, 0]>
          : T extends bigint
            ? never
            : T extends Function | symbol
              ? undefined
              : T extends ReadonlyArray<unknown>
                ? { -readonly [K in keyof T]: T[K] extends Function | symbol | undefined ? null : Jsonify<T[K], [...Depth, 0]> }
                : T extends ReadonlyMap<any, any> | ReadonlySet<any> | WeakMap<any, any> | WeakSet<any> | RegExp
                  ? {}
                  : T extends object
                    ? { [K in keyof T as K extends symbol ? never : T[K] extends Function | symbol ? never : K]: Jsonify<T[K], [...Depth, 0]> }
                    : never
