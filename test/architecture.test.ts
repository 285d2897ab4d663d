/**
 * The import direction of DESIGN.md §6, enforced: src/core ← dsl ← runtime ← src (surface),
 * and src/core ← src/store ← runtime (the port only). dsl/ and runtime/ never read the wall
 * clock or Math.random; they use Effect's Clock/Random or journaled commands. No file imports
 * another that imports it back, directly or through others (type-only imports count too).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative, resolve, dirname } from "node:path"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "..")

const files = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : []
  })

/** Every import of a file, resolved to a repository path (packages keep their name). */
const importsOf = (file: string): Array<string> => {
  const text = readFileSync(join(root, file), "utf8")
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+["']([^"']+)["']/g),
    ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!)
  return specs.map((s) => (s.startsWith(".") ? relative(root, resolve(dirname(join(root, file)), s)).replace(/\.js$/, ".ts") : s))
}

const allowed: Record<string, (target: string) => boolean> = {
  "src/core": (t) => t === "effect" || t.startsWith("effect/") || t.startsWith("node:") || t.startsWith("src/core/"),
  dsl: (t) => t === "effect" || t === "cron-parser" || t.startsWith("dsl/") || t.startsWith("src/core/"),
  runtime: (t) =>
    t === "effect" || t === "cron-parser" || t.startsWith("runtime/") || t.startsWith("dsl/") || t.startsWith("src/core/") || t === "src/store/Store.ts",
  "src/store": (t) => (!t.startsWith("runtime/") && !t.startsWith("dsl/") && !t.startsWith("src/")) || t.startsWith("src/store/") || t.startsWith("src/core/"),
}

/** The import graph among `files`: each file's imports of other files in the set. */
const importGraph = (paths: ReadonlyArray<string>, importsOfFile: (f: string) => ReadonlyArray<string>): Map<string, ReadonlyArray<string>> => {
  const known = new Set(paths)
  return new Map(paths.map((f) => [f, [...new Set(importsOfFile(f))].filter((t) => known.has(t))]))
}

/** Edges "a -> b" that lie on a circle: both ends in one strongly connected component (Tarjan), or a self-import. */
const circleEdges = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<string> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const component = new Map<string, number>()
  const stack: Array<string> = []
  let counter = 0
  let components = 0
  const visit = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (!component.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) component.set(w, components)
      components++
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return [...graph].flatMap(([a, targets]) => targets.filter((b) => a === b || component.get(a) === component.get(b)).map((b) => `${a} -> ${b}`)).sort()
}

describe("architecture", () => {
  for (const [dir, ok] of Object.entries(allowed)) {
    it(`${dir}/ imports only what the layering allows`, () => {
      const bad = files(dir).flatMap((f) =>
        importsOf(f)
          .filter((t) => !ok(t))
          .map((t) => `${f} -> ${t}`),
      )
      expect(bad).toEqual([])
    })
  }

  it("dsl/ and runtime/ never import a concrete store or a database driver", () => {
    const bad = [...files("dsl"), ...files("runtime")].flatMap((f) =>
      importsOf(f)
        .filter((t) => /^(postgres|@electric-sql\/pglite)/.test(t) || (t.startsWith("src/store/") && t !== "src/store/Store.ts"))
        .map((t) => `${f} -> ${t}`),
    )
    expect(bad).toEqual([])
  })

  it("dsl/ and runtime/ never call Date.now, new Date or Math.random", () => {
    const bad = [...files("dsl"), ...files("runtime")].flatMap((f) =>
      readFileSync(join(root, f), "utf8")
        .split("\n")
        .map((line, i) => ({ line: line.replace(/\/\/.*$/, ""), i }))
        .filter(({ line }) => !/^\s*\*/.test(line) && /Date\.now\(|new Date\(|Math\.random\(/.test(line))
        .map(({ i }) => `${f}:${i + 1}`),
    )
    expect(bad).toEqual([])
  })

  it("keeps every source file under about 600 lines", () => {
    const long = ["src", "dsl", "runtime"].flatMap(files).filter((f) => readFileSync(join(root, f), "utf8").split("\n").length > 620)
    expect(long).toEqual([])
  })

  it("no import circles among src/, dsl/ and runtime/", () => {
    expect(circleEdges(importGraph(["src", "dsl", "runtime"].flatMap(files), importsOf))).toEqual([])
  })

  it("the circle check finds circles, including through type-only imports", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts", "d.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["d.ts"]],
      ["e.ts", ["a.ts"]],
    ])
    expect(circleEdges(graph)).toEqual(["a.ts -> b.ts", "b.ts -> c.ts", "c.ts -> a.ts", "d.ts -> d.ts"])
    expect(importsOf("dsl/Command.ts")).toContain("dsl/StepOptions.ts") // an `import type`
  })

  it("the checks above see real files (a broken glob cannot pass silently)", () => {
    expect(files("runtime").length).toBeGreaterThan(5)
    expect(importsOf("runtime/execute.ts")).toContain("src/store/Store.ts")
  })
})
