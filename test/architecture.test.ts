/**
 * The import direction of DESIGN.md §6, enforced: src/core ← dsl ← runtime ← src (surface),
 * and src/core ← src/store ← runtime (the port only). dsl/ and runtime/ never read the wall
 * clock or Math.random; they use Effect's Clock/Random or journaled commands.
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
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']/g), ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!)
  return specs.map((s) => (s.startsWith(".") ? relative(root, resolve(dirname(join(root, file)), s)).replace(/\.js$/, ".ts") : s))
}

const allowed: Record<string, (target: string) => boolean> = {
  "src/core": (t) => t === "effect" || t.startsWith("effect/") || t.startsWith("node:") || t.startsWith("src/core/"),
  dsl: (t) => t === "effect" || t === "cron-parser" || t.startsWith("dsl/") || t.startsWith("src/core/"),
  runtime: (t) => t === "effect" || t === "cron-parser" || t.startsWith("runtime/") || t.startsWith("dsl/") || t.startsWith("src/core/") || t === "src/store/Store.ts",
  "src/store": (t) => !t.startsWith("runtime/") && !t.startsWith("dsl/") && !t.startsWith("src/") || t.startsWith("src/store/") || t.startsWith("src/core/"),
}

describe("architecture", () => {
  for (const [dir, ok] of Object.entries(allowed)) {
    it(`${dir}/ imports only what the layering allows`, () => {
      const bad = files(dir).flatMap((f) => importsOf(f).filter((t) => !ok(t)).map((t) => `${f} -> ${t}`))
      expect(bad).toEqual([])
    })
  }

  it("dsl/ and runtime/ never import a concrete store or a database driver", () => {
    const bad = [...files("dsl"), ...files("runtime")].flatMap((f) =>
      importsOf(f).filter((t) => /^(postgres|@electric-sql\/pglite)/.test(t) || (t.startsWith("src/store/") && t !== "src/store/Store.ts")).map((t) => `${f} -> ${t}`),
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

  it("the checks above see real files (a broken glob cannot pass silently)", () => {
    expect(files("runtime").length).toBeGreaterThan(5)
    expect(importsOf("runtime/execute.ts")).toContain("src/store/Store.ts")
  })
})
