/**
 * Record sets: the SQL column list comes from one declaration, a key is added without editing
 * it, and rows sent as the JSON parameter come back as typed SQL values (checked on PGlite).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { PGlite } from "@electric-sql/pglite"
import { openMemory } from "../../src/store/embedded/open.js"
import { recordSet } from "../../src/store/sql/recordSet.js"
import { ENTRY_RECORD, TASK_RECORD } from "../../src/store/sql/records.js"

const PAIR = recordSet({ n: "int", label: "text", at: "float8" })

describe("recordSet", () => {
  it("renders the FROM item with the columns in declared order", () => {
    expect(PAIR.from(3, "p")).toBe("jsonb_to_recordset($3::text::jsonb) AS p(n int, label text, at float8)")
    expect(ENTRY_RECORD.from(2, "e")).toBe(
      "jsonb_to_recordset($2::text::jsonb) AS e(seq int, kind text, name text, status text, input text, output text, error text, attempts int, created_at float8, resolved_at float8, deadline text, irreversible bool)",
    )
  })

  it("keyedBy lists the key columns first and leaves the declaration as it was", () => {
    expect(TASK_RECORD.keyedBy({ run_id: "uuid" }).from(3, "n")).toBe(
      "jsonb_to_recordset($3::text::jsonb) AS n(run_id uuid, seq int, queue text, kind text, attempt int, visible_at float8, claim_id text, token_hash text, owner text, lease_until float8)",
    )
    expect(TASK_RECORD.keyedBy({ i: "int" }).from(4, "n")).toMatch(/AS n\(i int, seq int, /)
    expect(TASK_RECORD.from(1, "n")).toMatch(/AS n\(seq int, /)
  })

  it("param is the rows as JSON text", () => {
    expect(PAIR.param([{ n: 1, label: null, at: 2.5 }])).toBe('[{"n":1,"label":null,"at":2.5}]')
  })

  describe("on PGlite", () => {
    let db: PGlite
    beforeAll(async () => {
      db = await openMemory()
    })
    afterAll(() => db.close())

    it("reads the rows back with their SQL types, nulls and all", async () => {
      const keyed = PAIR.keyedBy({ id: "uuid" })
      const rows = [
        { id: "11111111-1111-4111-8111-111111111111", n: 7, label: 'héllo "🦑"', at: 1_700_000_000_123.5 },
        { id: "22222222-2222-4222-8222-222222222222", n: null, label: null, at: null },
      ]
      const result = await db.query<Record<string, unknown>>(
        `SELECT x.id::text AS id, x.n, pg_typeof(x.n)::text AS n_type, x.label, x.at, pg_typeof(x.at)::text AS at_type FROM ${keyed.from(1, "x")}`,
        [keyed.param(rows)],
      )
      expect(result.rows).toStrictEqual([
        { ...rows[0], n_type: "integer", at_type: "double precision" },
        { ...rows[1], n_type: "integer", at_type: "double precision" },
      ])
    })
  })
})
