/**
 * A strict little parser of the Prometheus text format for tests: every sample line must belong
 * to a family declared by `# HELP` and `# TYPE` lines before it; label values are unescaped.
 */

/** One parsed sample. */
export interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** Parsed exposition: families (name → type) and samples in order. */
export interface Exposition {
  readonly types: ReadonlyMap<string, string>
  readonly samples: ReadonlyArray<Sample>
  /** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
  readonly value: (name: string, labels?: Record<string, string>) => number | undefined
  /** The samples named `name` whose labels include `labels`. */
  readonly find: (name: string, labels?: Record<string, string>) => ReadonlyArray<Sample>
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy

const unescapeLabel = (v: string) => v.replace(/\\(n|\\|")/g, (_, c: string) => (c === "n" ? "\n" : c))

/** Parses `text`, throwing on anything malformed. */
export const parseExposition = (text: string): Exposition => {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline")
  const types = new Map<string, string>()
  const helped = new Set<string>()
  const samples: Array<Sample> = []
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP (\S+) (.*)$/.exec(line)
    if (help) {
      helped.add(help[1]!)
      continue
    }
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line)
    if (type) {
      if (!helped.has(type[1]!)) throw new Error(`TYPE before HELP: ${line}`)
      types.set(type[1]!, type[2]!)
      continue
    }
    const m = LINE.exec(line)
    if (!m) throw new Error(`malformed line: ${JSON.stringify(line)}`)
    const [, name, labelText, raw] = m
    const family = [...types.keys()].find(
      (f) => name === f || (types.get(f) === "histogram" && /^_(bucket|sum|count)$/.test(name!.slice(f.length)) && name!.startsWith(f)),
    )
    if (!family) throw new Error(`sample of an undeclared family: ${line}`)
    const labels: Record<string, string> = {}
    if (labelText) {
      LABEL.lastIndex = 0
      let consumed = 0
      for (let l = LABEL.exec(labelText); l; l = LABEL.exec(labelText)) {
        labels[l[1]!] = unescapeLabel(l[2]!)
        consumed = LABEL.lastIndex
      }
      if (consumed !== labelText.length) throw new Error(`malformed labels: ${line}`)
    }
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw)
    if (Number.isNaN(value) && raw !== "NaN") throw new Error(`malformed value: ${line}`)
    samples.push({ name: name!, labels, value })
  }
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return {
    types,
    samples,
    find,
    value: (name, labels) => {
      const found = find(name, labels)
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
      return found[0]?.value
    },
  }
}
