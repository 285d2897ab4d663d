/**
 * Record sets: a batch of rows sent as one JSON-text parameter and read in SQL as a table with
 * `jsonb_to_recordset($n::text::jsonb) AS alias(column type, ...)`. One statement then writes
 * any number of rows, so a batch costs one round trip whatever its size.
 *
 * A record set is declared once, as its columns and their SQL types. The declaration gives the
 * SQL column list and the TypeScript type of a row, so the two cannot drift apart; a statement
 * that needs the rows tagged with a batch key (the run id, the index of a commit in its batch)
 * adds the key with `keyedBy` instead of editing the column list.
 */

/** The SQL types a record set column can have. */
export type SqlType = "int" | "bigint" | "float8" | "text" | "uuid" | "bool"

/** A record set's columns: name to SQL type, in the order they are listed. */
export type Columns = Readonly<Record<string, SqlType>>

/** The JS value sent for a column of SQL type `T` (times are float8 epoch milliseconds, JSON is text). */
type ValueOf<T extends SqlType> = T extends "int" | "bigint" | "float8" ? number : T extends "bool" ? boolean : string

/** One row of a record set: every declared column, `null` for SQL NULL. */
export type RecordOf<C extends Columns> = { readonly [K in keyof C]: ValueOf<C[K]> | null }

/** A declared record set. */
export interface RecordSet<C extends Columns> {
  readonly columns: C
  /** The FROM item `jsonb_to_recordset($param::text::jsonb) AS alias(column type, ...)`. */
  readonly from: (param: number, alias: string) => string
  /** The same record set with the `key` columns listed first. */
  readonly keyedBy: <K extends Columns>(key: K) => RecordSet<K & C>
  /** The parameter value for `from`: the rows as JSON text. */
  readonly param: (rows: ReadonlyArray<RecordOf<C>>) => string
}

/** Declares a record set by its columns. */
export const recordSet = <C extends Columns>(columns: C): RecordSet<C> => {
  const list = Object.entries(columns)
    .map(([name, type]) => `${name} ${type}`)
    .join(", ")
  return {
    columns,
    from: (param, alias) => `jsonb_to_recordset($${param}::text::jsonb) AS ${alias}(${list})`,
    keyedBy: <K extends Columns>(key: K) => recordSet<K & C>({ ...key, ...columns }),
    param: (rows) => JSON.stringify(rows),
  }
}
