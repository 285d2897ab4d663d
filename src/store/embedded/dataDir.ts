/**
 * Where the default embedded store lives. Not the cwd: an app started from another folder
 * would silently get a new, empty store. The same project finds the same store however it is
 * started (npm scripts, an IDE, a service manager, the CLI from a subfolder).
 */
import { existsSync, realpathSync } from "node:fs"
import { dirname, join, resolve, sep } from "node:path"

/** The environment variable naming the embedded data directory itself. */
export const DATA_DIR_ENV = "SQUID_MESH_DATA_DIR"

/** The folder name of the default store inside the project root. */
export const DEFAULT_FOLDER = ".squid-mesh"

const insideNodeModules = (path: string): boolean => path.split(sep).includes("node_modules")

/** The nearest folder at or above `start` holding a package.json that is not under node_modules. */
export const findProjectRoot = (start: string): string | undefined => {
  let dir = resolve(start)
  for (;;) {
    if (!insideNodeModules(dir) && existsSync(join(dir, "package.json"))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** Inputs of `resolveDataDir`, defaulting to this process's. */
export interface DataDirContext {
  readonly env?: Readonly<Record<string, string | undefined>>
  /** The entry script (`process.argv[1]`). */
  readonly entry?: string | undefined
  readonly cwd?: string
}

/**
 * The default data directory, as an absolute path:
 * 1. `$SQUID_MESH_DATA_DIR` (the directory itself; relative to the cwd);
 * 2. `.squid-mesh/` in the project root: the nearest package.json not under node_modules,
 *    looked for from the entry script's real location, then from the cwd. An entry script
 *    inside node_modules (a CLI, vitest) is skipped: it is not the app;
 * 3. `.squid-mesh/` in the cwd.
 */
export const resolveDataDir = (context: DataDirContext = {}): string => {
  const env = context.env ?? process.env
  const cwd = context.cwd ?? process.cwd()
  const fromEnv = env[DATA_DIR_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== "") return resolve(cwd, fromEnv)
  const entry = "entry" in context ? context.entry : process.argv[1]
  const starts: Array<string> = []
  if (entry !== undefined && entry !== "") {
    try {
      const real = realpathSync(resolve(cwd, entry))
      if (!insideNodeModules(real)) starts.push(dirname(real))
    } catch {
      // `node -e`, a REPL, or a deleted script: no entry to start from
    }
  }
  starts.push(cwd)
  for (const start of starts) {
    const root = findProjectRoot(start)
    if (root !== undefined) return join(root, DEFAULT_FOLDER)
  }
  return join(resolve(cwd), DEFAULT_FOLDER)
}
