#!/usr/bin/env node
/**
 * The `squid-mesh` executable. It runs the CLI unconditionally, so it works however it is
 * started: npm's .bin symlink, npx, a global install, or `node dist/src/bin.js`.
 */
import { main } from "./cli/main.js"

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // main reports every failure itself; this is a last resort, still one line.
    console.error(`squid-mesh: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
    process.exitCode = 1
  },
)
