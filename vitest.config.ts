import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["squid-mesh-source"] },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/postgres.ts"],
    // Generous: a test does a fixed amount of work and must pass on a loaded 2-core machine;
    // the time it takes is measured by the benchmarks, never asserted here.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
