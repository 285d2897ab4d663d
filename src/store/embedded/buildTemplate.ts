/**
 * Build step: writes the embedded store's template (template.ts) to `dist/template/`, or to
 * the folder given as the first argument. Run by `npm run build` after tsc:
 * `node dist/src/store/embedded/buildTemplate.js`.
 */
import { buildTemplate, templateDirs } from "./template.js"

const outDir = process.argv[2] ?? templateDirs()[0]!
const started = performance.now()
const info = await buildTemplate(outDir)
// stderr: `npm pack --json` runs this build and prints its JSON on stdout.
console.error(
  `squid-mesh: embedded store template (PGlite ${info.pglite}, migrations ${info.migrations.join(",")}) written to ${outDir} in ${Math.round(performance.now() - started)} ms`,
)
