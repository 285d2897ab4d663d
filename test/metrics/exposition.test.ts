/** The text format: HELP and TYPE lines, escaped label values, cumulative histogram buckets with _sum and _count. */
import { describe, expect, it } from "vitest"
import { Histogram } from "../../runtime/histogram.js"
import { render } from "../../src/metrics/exposition.js"
import { parseExposition } from "../support/prometheus.js"

describe("exposition", () => {
  it("prints counters and gauges with escaped labels, and histograms as cumulative buckets", () => {
    const h = new Histogram([0.1, 1])
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v)
    const text = render([
      { type: "counter", name: "x_total", help: "Things.\nMore \\ things.", samples: [{ labels: { q: 'a"b\\c\nd' }, value: 3 }] },
      { type: "gauge", name: "y", help: "Y.", samples: [{ labels: {}, value: 1.5 }] },
      { type: "histogram", name: "z_seconds", help: "Z.", samples: [{ labels: { q: "a" }, histogram: h }] },
    ])
    expect(text).toBe(
      [
        "# HELP x_total Things.\\nMore \\\\ things.",
        "# TYPE x_total counter",
        'x_total{q="a\\"b\\\\c\\nd"} 3',
        "# HELP y Y.",
        "# TYPE y gauge",
        "y 1.5",
        "# HELP z_seconds Z.",
        "# TYPE z_seconds histogram",
        'z_seconds_bucket{q="a",le="0.1"} 2',
        'z_seconds_bucket{q="a",le="1"} 3',
        'z_seconds_bucket{q="a",le="+Inf"} 4',
        'z_seconds_sum{q="a"} 3.65',
        'z_seconds_count{q="a"} 4',
        "",
      ].join("\n"),
    )
    const parsed = parseExposition(text)
    expect(parsed.value("x_total", { q: 'a"b\\c\nd' })).toBe(3)
    expect(parsed.value("z_seconds_bucket", { le: "+Inf" })).toBe(4)
  })

  it("prints a family with no samples as its HELP and TYPE lines only", () => {
    expect(render([{ type: "counter", name: "n_total", help: "N.", samples: [] }])).toBe("# HELP n_total N.\n# TYPE n_total counter\n")
  })
})
