/**
 * The browser the dashboard's end-to-end test drives: Debian's Chromium, never a downloaded
 * build. Like the Postgres binaries (./pgCluster.ts), it is installed with apt-get when running
 * as root on a machine without it, so `npm test` works on a fresh machine.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

const CHROMIUM = "/usr/bin/chromium"

/** The path of Chromium, installing Debian's `chromium` as root if it is missing. */
export const ensureChromium = (): string => {
  if (existsSync(CHROMIUM)) return CHROMIUM
  const root = typeof process.getuid === "function" && process.getuid() === 0
  if (root && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0) {
    console.error("[chromium] not found; installing Debian's chromium (one time)")
    execFileSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null"], { stdio: "inherit" })
    if (existsSync(CHROMIUM)) return CHROMIUM
  }
  throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's \`chromium\` package (the dashboard test never downloads a browser)`)
}
