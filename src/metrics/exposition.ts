/**
 * The Prometheus text exposition format (version 0.0.4, which OpenMetrics scrapers read too):
 * metric families with `# HELP` and `# TYPE` lines, then one line per sample, label values
 * escaped. Written by hand: no client library needed.
 */
import type { Histogram } from "../../runtime/histogram.js"

/** A sample's labels, in the order they are printed. */
export type Labels = Readonly<Record<string, string>>

/** One metric family, ready to print. */
export type Family =
  | {
      readonly type: "counter" | "gauge"
      readonly name: string
      readonly help: string
      readonly samples: ReadonlyArray<{ readonly labels: Labels; readonly value: number }>
    }
  | {
      readonly type: "histogram"
      readonly name: string
      readonly help: string
      readonly samples: ReadonlyArray<{ readonly labels: Labels; readonly histogram: Histogram }>
    }

/** The content type of the exposition. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
const escapeHelp = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A number as the format writes it (`+Inf`, `-Inf`, `NaN`, or JavaScript's shortest form). */
const num = (value: number): string => (Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value))

const labelText = (labels: Labels): string => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`
}

/** The lines of one family: HELP, TYPE, then its samples (a histogram: its buckets, `_sum` and `_count`). */
const familyLines = (family: Family): Array<string> => {
  const head = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`]
  if (family.type !== "histogram") return [...head, ...family.samples.map((s) => `${family.name}${labelText(s.labels)} ${num(s.value)}`)]
  return [
    ...head,
    ...family.samples.flatMap(({ labels, histogram }) => {
      const cumulative = histogram.cumulative()
      const bounds = [...histogram.bounds.map(num), "+Inf"]
      return [
        ...bounds.map((le, i) => `${family.name}_bucket${labelText({ ...labels, le })} ${cumulative[i]}`),
        `${family.name}_sum${labelText(labels)} ${num(histogram.sum)}`,
        `${family.name}_count${labelText(labels)} ${histogram.count}`,
      ]
    }),
  ]
}

/** The exposition text of `families`, each family once, in order; ends with a newline. */
export const render = (families: ReadonlyArray<Family>): string => `${families.flatMap(familyLines).join("\n")}\n`
