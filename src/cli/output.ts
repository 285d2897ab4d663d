/**
 * What the CLI prints on stdout: aligned tables and `key: value` blocks for people (times as
 * ISO UTC, durations as `2d 3h`), or one stable JSON document for scripts (`--json`: the API's
 * own value, times in epoch ms). Diagnostics go to stderr (`note`).
 */
import { showDuration } from "../read/explain.js"

/** An epoch-ms time as ISO 8601 UTC, to the second (`2026-01-31T12:00:00Z`); "-" when absent. */
export const iso = (ms: number | undefined): string => (ms === undefined ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"))

/** A duration for people (`2d 3h`, `4m 10s`, `250ms`); "-" when absent. */
export const human = (ms: number | undefined): string => (ms === undefined ? "-" : showDuration(ms))

/** JSON on one line, cut to `max` characters. */
export const compact = (value: unknown, max = 60): string => {
  const text = value === undefined ? "-" : typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Prints one JSON document on stdout. */
export const printJson = (value: unknown): void => console.log(JSON.stringify(value, null, 2))

/** Prints a line on stdout. */
export const print = (line = ""): void => console.log(line)

/** Prints a diagnostic line on stderr, prefixed `squid-mesh: `. */
export const note = (line: string): void => console.error(`squid-mesh: ${line}`)

/** Prints rows under a header with aligned columns (the last column is not padded); "(none)" when empty. */
export const printTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, empty = "(none)"): void => {
  if (rows.length === 0) {
    print(empty)
    return
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  print(line(headers))
  for (const row of rows) print(line(row))
}

/** Prints `key: value` lines with the values aligned; pairs whose value is undefined are left out. */
export const printFields = (pairs: ReadonlyArray<readonly [string, string | undefined]>): void => {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined)
  const width = Math.max(0, ...shown.map(([k]) => k.length)) + 1
  for (const [key, value] of shown) print(`${`${key}:`.padEnd(width)} ${value}`)
}

const TIME_KEY = /(At|Until|^now|^at|^since)$/
const DURATION_KEY = /Ms$/

/**
 * Prints a JSON value as an indented outline for people: objects as `key: value` lines, arrays
 * as `- item`, epoch-ms fields named like times (`dueAt`, `now`, `leaseUntil`) as ISO UTC,
 * millisecond fields (`waitedMs`) as durations.
 */
export const printOutline = (value: unknown, indent = ""): void => {
  const scalar = (key: string, v: unknown): string =>
    typeof v === "number" && TIME_KEY.test(key) ? iso(v) : typeof v === "number" && DURATION_KEY.test(key) ? human(v) : compact(v, 200)
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === "object" && item !== null) {
        print(`${indent}-`)
        printOutline(item, `${indent}  `)
      } else print(`${indent}- ${scalar("", item)}`)
    }
    return
  }
  if (typeof value !== "object" || value === null) {
    print(`${indent}${scalar("", value)}`)
    return
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "object" && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
      print(`${indent}${key}:`)
      printOutline(v, `${indent}  `)
    } else print(`${indent}${key}: ${scalar(key, v)}`)
  }
}
