/**
 * The JSON Schema validator used for signals sent without the workflow's code: every value
 * Effect's own Arbitrary draws from a schema's encoded side fits that schema's JSON Schema, and
 * values that break it are refused with the path and reason.
 */
import { Arbitrary, FastCheck, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { jsonSchemaOf, validateJson } from "../../src/core/jsonSchema.js"
import type { Json } from "../../src/core/json.js"

class Address extends Schema.Class<Address>("Address")({ city: Schema.String, zip: Schema.String.pipe(Schema.pattern(/^[0-9]{5}$/)) }) {}

const schemas = {
  struct: Schema.Struct({ word: Schema.String.pipe(Schema.minLength(2), Schema.maxLength(8)), n: Schema.optional(Schema.Int.pipe(Schema.between(1, 9))) }),
  literals: Schema.Struct({ tag: Schema.Literal("a", "b"), flag: Schema.Boolean, none: Schema.Null }),
  arrays: Schema.Struct({ list: Schema.Array(Schema.Number).pipe(Schema.maxItems(4)), pair: Schema.Tuple(Schema.String, Schema.Number) }),
  records: Schema.Record({ key: Schema.String, value: Schema.Struct({ on: Schema.Boolean }) }),
  unions: Schema.Union(Schema.Struct({ kind: Schema.Literal("x"), x: Schema.Number }), Schema.Struct({ kind: Schema.Literal("y"), y: Schema.String })),
  transformed: Schema.Struct({ when: Schema.Date, amount: Schema.NumberFromString, address: Address }),
  nested: Schema.Struct({ items: Schema.Array(Schema.Struct({ id: Schema.UUID, qty: Schema.Positive })) }),
}

describe("validateJson against jsonSchemaOf", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it(`accepts every value Effect draws for ${name}`, () => {
      const document = jsonSchemaOf(schema as Schema.Schema<any, any, never>)!
      expect(document).toBeDefined()
      const values = FastCheck.sample(Arbitrary.make(Schema.encodedBoundSchema(schema as Schema.Schema<any, any, never>)), { numRuns: 200, seed: 7 })
      // Non-finite numbers have no JSON form (they would be sent as null): not a payload anyone can send.
      const sendable = values.filter(
        (value) => !JSON.stringify(value, (_key, x) => (typeof x === "number" && !Number.isFinite(x) ? "NOT-JSON" : x)).includes("NOT-JSON"),
      )
      expect(sendable.length).toBeGreaterThan(100)
      for (const value of sendable) expect(validateJson(JSON.parse(JSON.stringify(value)) as Json, document)).toEqual([])
    })
  }

  it("refuses what breaks a schema, with the path and why", () => {
    const check = (schema: Schema.Schema<any, any, never>, value: Json) => validateJson(value, jsonSchemaOf(schema)!)
    expect(check(schemas.struct, { word: "a", n: 12, more: 1 })).toEqual([
      { path: "$.word", message: "expected at least 2 character(s)" },
      { path: "$.n", message: "expected at most 9" },
      { path: "$.more", message: "is not allowed" },
    ])
    expect(check(schemas.struct, { n: 1.5 })).toEqual([
      { path: "$.word", message: "is missing" },
      { path: "$.n", message: "expected integer, got number" },
    ])
    expect(check(schemas.literals, { tag: "c", flag: "yes", none: 0 })).toEqual([
      { path: "$.tag", message: 'expected one of "a", "b"' },
      { path: "$.flag", message: "expected boolean, got string" },
      { path: "$.none", message: "expected null, got integer" },
    ])
    expect(check(schemas.arrays, { list: [1, 2, 3, 4, 5], pair: ["a", "b", 3] })).toEqual([
      { path: "$.list", message: "expected at most 4 item(s)" },
      { path: "$.pair[1]", message: "expected number, got string" },
      { path: "$.pair[2]", message: "no value is allowed here" },
    ])
    expect(check(schemas.records, { k: { on: 1 } })).toEqual([{ path: "$.k.on", message: "expected boolean, got integer" }])
    expect(check(schemas.unions, { kind: "y", y: 1 })).toEqual([{ path: "$", message: "matches none of the allowed shapes" }])
    expect(check(schemas.transformed, { when: 3, amount: "1", address: { city: "X", zip: "1234" } })).toEqual([
      { path: "$.when", message: "expected string, got integer" },
      { path: "$.address.zip", message: "expected to match ^[0-9]{5}$" },
    ])
    expect(check(schemas.nested, { items: [{ id: "nope", qty: 0 }] })).toEqual([
      { path: "$.items[0].id", message: expect.stringContaining("expected to match") },
      { path: "$.items[0].qty", message: "expected more than 0" },
    ])
  })

  it("has no JSON Schema for a schema Effect cannot describe", () => {
    expect(jsonSchemaOf(Schema.BigIntFromSelf)).toBeUndefined()
  })
})
