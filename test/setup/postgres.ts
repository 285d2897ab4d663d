/**
 * Vitest global setup: provides `databaseUrl` to tests. Uses DATABASE_URL when set;
 * otherwise starts a throwaway cluster for the run and stops it afterwards.
 */
import type { TestProject } from "vitest/node"
import { startCluster } from "../support/pgCluster.js"

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string
  }
}

export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide("databaseUrl", process.env.DATABASE_URL)
    return
  }
  const cluster = await startCluster()
  project.provide("databaseUrl", cluster.url)
  return () => cluster.stop()
}
