#!/usr/bin/env node
// Applies the upstream guard for postgres.js 3.4.x (porsager/postgres#1154, #1208; fix PRs
// #1176, #1209, unreleased): when a connection closes with a write still scheduled,
// `nextWrite` dereferences a null socket from a setImmediate and the uncatchable TypeError
// kills the process (seen here when Postgres restarts under load). The patch makes that write
// a no-op (the connection's queries were already rejected with CONNECTION_CLOSED) and nulls
// the timer on close so the connection can flush again. Idempotent; marked in the file.
// Run by `npm install` (postinstall) and by `squid-mesh doctor --fix-postgres`.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const MARK = "/* squid-mesh: nextWrite guard */"

/** Patches every connection.js of the postgres package resolvable from `from`; returns what it did. */
export const fixPostgresDriver = (from = fileURLToPath(import.meta.url)) => {
  let root
  try {
    root = join(dirname(createRequire(from).resolve("postgres")), "..", "..")
  } catch {
    return { status: "absent", files: [] }
  }
  const files = ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"].map((f) => join(root, f)).filter((f) => existsSync(f))
  const changed = []
  for (const file of files) {
    const text = readFileSync(file, "utf8")
    if (text.includes(MARK)) continue
    const guarded = text
      .replace(
        /function nextWrite\(fn\) \{\n(\s+)const x = socket\.write\(chunk, fn\)/,
        (_m, indent) =>
          `function nextWrite(fn) {\n${indent}if (!socket) { ${MARK} nextWriteTimer !== null && clearImmediate(nextWriteTimer); chunk = nextWriteTimer = null; return false }\n${indent}const x = socket.write(chunk, fn)`,
      )
      .replace(/\n(\s+)clearImmediate\(nextWriteTimer\)\n/g, (_m, indent) => `\n${indent}clearImmediate(nextWriteTimer)\n${indent}nextWriteTimer = null\n`)
    if (!guarded.includes(MARK)) throw new Error(`postgres driver layout not recognised in ${file}; patch not applied`)
    writeFileSync(file, guarded)
    changed.push(file)
  }
  return { status: changed.length > 0 ? "patched" : "already-patched", files: changed }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const result = fixPostgresDriver()
    if (result.status === "patched") console.error(`squid-mesh: applied the postgres.js nextWrite guard to ${result.files.length} file(s)`)
  } catch (error) {
    // Never fail an install over it; `squid-mesh doctor --fix-postgres` reports the problem.
    console.error(`squid-mesh: could not apply the postgres.js nextWrite guard: ${error instanceof Error ? error.message : error}`)
  }
}
