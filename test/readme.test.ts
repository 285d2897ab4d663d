/**
 * Every TypeScript block of the README compiles: each ```ts block is written out as its own
 * module (importing the package by its name, as a user would) and type-checked with the
 * project's compiler options. A block may declare what it assumes (`declare const psp: …`);
 * one whose first line is a file name comment (`// workflows.ts`) is written under that name,
 * so later blocks can import it (`./workflows.js`).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "..")
const dir = join(root, "test", ".readme-blocks")

/** The ```ts blocks of a markdown text, with the line each starts on. */
const tsBlocks = (markdown: string): Array<{ readonly line: number; readonly code: string }> => {
  const blocks: Array<{ line: number; code: string }> = []
  const lines = markdown.split("\n")
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```ts") continue
    const start = i + 1
    while (i + 1 < lines.length && lines[i + 1]!.trim() !== "```") i++
    blocks.push({ line: start + 1, code: lines.slice(start, i + 1).join("\n") })
    i++
  }
  return blocks
}

describe("README", () => {
  it("every ```ts block type-checks against the package", () => {
    const blocks = tsBlocks(readFileSync(join(root, "README.md"), "utf8"))
    expect(blocks.length).toBeGreaterThan(5)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    // `export {}` makes each block a module, so blocks never see each other's names.
    const files = blocks.map((b) => {
      const named = /^\/\/ ([\w.-]+)\.ts\s*$/.exec(b.code.split("\n")[0]!)
      const file = join(dir, named ? `${named[1]}.ts` : `block-L${b.line}.ts`)
      writeFileSync(file, `${b.code}\nexport {}\n`)
      return file
    })
    const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!
    const program = ts.createProgram(files, { ...config.options, noEmit: true })
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(resolve(d.file.fileName)))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        const block = blocks[files.indexOf(resolve(d.file!.fileName))]!.line
        return `README.md:${block + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    rmSync(dir, { recursive: true, force: true })
    expect(problems).toEqual([])
  })
})
