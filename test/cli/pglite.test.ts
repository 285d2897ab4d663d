/**
 * The CLI suite on an embedded (PGlite) store. The test process holds the data directory, as
 * an app would, so every CLI process reaches it through the holder's socket.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createMesh } from "../../src/index.js"
import { cliSuite } from "./suite.js"

cliSuite("an embedded store held by the app", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "squid-mesh-cli-pglite-"))
  return {
    args: ["--data-dir", dataDir],
    open: (workflows) => createMesh({ workflows, store: { kind: "pglite", dataDir } }),
    close: async () => rmSync(dataDir, { recursive: true, force: true }),
  }
})
