/** The CLI suite on Postgres: a fresh database on the test cluster, given with `--url`. */
import { inject } from "vitest"
import { createMesh, PostgresStore } from "../../src/index.js"
import { freshDatabase } from "../support/database.js"
import { cliSuite } from "./suite.js"

cliSuite("Postgres", async () => {
  const db = await freshDatabase(inject("databaseUrl"), "cli")
  return {
    args: ["--url", db.url],
    open: (workflows) => createMesh({ workflows, store: { kind: "layer", layer: PostgresStore.layer({ url: db.url, max: 4 }) } }),
    close: db.drop,
  }
})
