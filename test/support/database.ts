/** Per-test-file databases on the shared throwaway cluster, so suites never see each other's rows. */
import postgres from "postgres"

let counter = 0

/** Creates a fresh, empty database and returns its URL plus a drop function. */
export const freshDatabase = async (baseUrl: string, prefix = "t"): Promise<{ url: string; drop: () => Promise<void> }> => {
  const name = `${prefix}_${process.pid}_${++counter}_${Math.floor(performance.now())}`
  const admin = postgres(baseUrl, { max: 1, onnotice: () => undefined })
  await admin.unsafe(`CREATE DATABASE "${name}"`)
  await admin.end()
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(baseUrl, { max: 1, onnotice: () => undefined })
      await again.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await again.end()
    },
  }
}
