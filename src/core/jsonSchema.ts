/**
 * JSON Schema kept in the journal, so a process without a workflow's code can check what it
 * sends: a signal wait journals its schema as JSON Schema (draft-07, as Effect's `JSONSchema.make`
 * writes it), and a signal sent from such a process is validated against it before anything is
 * written. The validator covers the keywords Effect emits: type, enum, const, properties,
 * required, additionalProperties, items (list and tuple), additionalItems, min/maxItems,
 * anyOf, oneOf, allOf, $ref into $defs, min/maxLength, pattern, minimum, maximum, their
 * exclusive forms and multipleOf. Refinements Effect cannot describe (custom filters) are
 * checked when the run resumes, by the wait's own schema.
 */
import { JSONSchema, type Schema } from "effect"
import type { Json } from "./json.js"

/** A JSON Schema document (an object; `true`/`false` schemas appear only inside one). */
export type JsonSchema = { readonly [key: string]: Json }

const documents = new WeakMap<object, JsonSchema | null>()

/** The JSON Schema of `schema`'s encoded side, or undefined when Effect cannot describe it (cached per schema). */
export const jsonSchemaOf = (schema: Schema.Schema<any, any, never>): JsonSchema | undefined => {
  let document = documents.get(schema)
  if (document === undefined) {
    try {
      document = JSON.parse(JSON.stringify(JSONSchema.make(schema))) as JsonSchema
    } catch {
      document = null
    }
    documents.set(schema, document)
  }
  return document ?? undefined
}

/** One reason a value does not fit its schema: where (a JSON path like `$.items[2].name`) and why. */
export interface SchemaIssue {
  readonly path: string
  readonly message: string
}

/** Every issue of `value` against `schema` (empty when it fits). */
export const validateJson = (value: Json, schema: JsonSchema): ReadonlyArray<SchemaIssue> => {
  const issues: Array<SchemaIssue> = []
  check(value, schema, "$", schema, issues, 0)
  return issues
}

const MAX_DEPTH = 64

const typeOf = (value: Json): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "number" && Number.isInteger(value) ? "integer" : typeof value

const fitsType = (value: Json, type: string): boolean => {
  const actual = typeOf(value)
  return actual === type || (type === "number" && actual === "integer")
}

const same = (a: Json, b: Json): boolean => JSON.stringify(a) === JSON.stringify(b)

const isSchema = (value: Json | undefined): value is JsonSchema => typeof value === "object" && value !== null && !Array.isArray(value)

const resolveRef = (ref: string, root: JsonSchema): Json | undefined => {
  if (!ref.startsWith("#/")) return undefined
  let node: Json | undefined = root
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~")
    node = isSchema(node) ? node[key] : undefined
  }
  return node
}

function check(value: Json, schema: Json, path: string, root: JsonSchema, issues: Array<SchemaIssue>, depth: number): void {
  if (schema === true || depth > MAX_DEPTH) return
  if (schema === false) {
    issues.push({ path, message: "no value is allowed here" })
    return
  }
  if (!isSchema(schema)) return
  const fail = (message: string): void => {
    issues.push({ path, message })
  }
  if (typeof schema.$ref === "string") {
    const target = resolveRef(schema.$ref, root)
    if (target === undefined) fail(`unresolvable $ref ${schema.$ref}`)
    else check(value, target, path, root, issues, depth + 1)
  }
  const type = schema.type
  const typeMismatch =
    typeof type === "string" && !fitsType(value, type)
      ? type
      : Array.isArray(type) && !type.some((t) => typeof t === "string" && fitsType(value, t))
        ? type.join(" or ")
        : undefined
  if (typeMismatch !== undefined) {
    fail(`expected ${typeMismatch}, got ${typeOf(value)}`)
    return
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => same(option, value))) {
    fail(`expected one of ${schema.enum.map((option) => JSON.stringify(option)).join(", ")}`)
  }
  if ("const" in schema && !same(schema.const as Json, value)) fail(`expected ${JSON.stringify(schema.const)}`)
  const branches = (key: "anyOf" | "oneOf") => {
    const list = schema[key]
    if (!Array.isArray(list)) return
    const fitting = list.filter((branch) => {
      const inner: Array<SchemaIssue> = []
      check(value, branch, path, root, inner, depth + 1)
      return inner.length === 0
    }).length
    if (key === "anyOf" ? fitting === 0 : fitting !== 1)
      fail(key === "anyOf" ? "matches none of the allowed shapes" : `matches ${fitting} of the shapes, not exactly one`)
  }
  branches("anyOf")
  branches("oneOf")
  if (Array.isArray(schema.allOf)) for (const branch of schema.allOf) check(value, branch, path, root, issues, depth + 1)
  if (typeof value === "string") checkString(value, schema, fail)
  if (typeof value === "number") checkNumber(value, schema, fail)
  if (Array.isArray(value)) checkArray(value, schema, path, root, issues, depth, fail)
  else if (isSchema(value)) checkObject(value, schema, path, root, issues, depth)
}

function checkString(value: string, schema: JsonSchema, fail: (message: string) => void): void {
  const length = [...value].length
  if (typeof schema.minLength === "number" && length < schema.minLength) fail(`expected at least ${schema.minLength} character(s)`)
  if (typeof schema.maxLength === "number" && length > schema.maxLength) fail(`expected at most ${schema.maxLength} character(s)`)
  if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) fail(`expected to match ${schema.pattern}`)
}

function checkNumber(value: number, schema: JsonSchema, fail: (message: string) => void): void {
  if (typeof schema.minimum === "number" && value < schema.minimum) fail(`expected at least ${schema.minimum}`)
  if (typeof schema.maximum === "number" && value > schema.maximum) fail(`expected at most ${schema.maximum}`)
  if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) fail(`expected more than ${schema.exclusiveMinimum}`)
  if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) fail(`expected less than ${schema.exclusiveMaximum}`)
  if (typeof schema.multipleOf === "number" && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf)) {
    fail(`expected a multiple of ${schema.multipleOf}`)
  }
}

function checkArray(
  value: ReadonlyArray<Json>,
  schema: JsonSchema,
  path: string,
  root: JsonSchema,
  issues: Array<SchemaIssue>,
  depth: number,
  fail: (message: string) => void,
): void {
  if (typeof schema.minItems === "number" && value.length < schema.minItems) fail(`expected at least ${schema.minItems} item(s)`)
  if (typeof schema.maxItems === "number" && value.length > schema.maxItems) fail(`expected at most ${schema.maxItems} item(s)`)
  const items = schema.items
  if (Array.isArray(items)) {
    value.forEach((item, i) => {
      const itemSchema = i < items.length ? items[i]! : schema.additionalItems
      if (itemSchema !== undefined) check(item, itemSchema, `${path}[${i}]`, root, issues, depth + 1)
    })
  } else if (items !== undefined) {
    value.forEach((item, i) => check(item, items, `${path}[${i}]`, root, issues, depth + 1))
  }
}

function checkObject(
  value: { readonly [key: string]: Json },
  schema: JsonSchema,
  path: string,
  root: JsonSchema,
  issues: Array<SchemaIssue>,
  depth: number,
): void {
  const properties = isSchema(schema.properties) ? schema.properties : {}
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === "string" && !(key in value)) issues.push({ path: `${path}.${key}`, message: "is missing" })
    }
  }
  const patterns = isSchema(schema.patternProperties) ? Object.entries(schema.patternProperties).map(([p, s]) => [new RegExp(p, "u"), s] as const) : []
  for (const [key, item] of Object.entries(value)) {
    const at = `${path}.${key}`
    const matched = patterns.filter(([pattern]) => pattern.test(key))
    for (const [, s] of matched) check(item, s, at, root, issues, depth + 1)
    if (key in properties) check(item, properties[key]!, at, root, issues, depth + 1)
    else if (matched.length === 0 && schema.additionalProperties !== undefined) {
      if (schema.additionalProperties === false) issues.push({ path: at, message: "is not allowed" })
      else check(item, schema.additionalProperties, at, root, issues, depth + 1)
    }
  }
}
