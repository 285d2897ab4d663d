/**
 * The `squid-mesh` command line. `main` runs one command and resolves to its exit code; the
 * executable (src/bin.ts) only calls it, so the CLI works through npm's .bin symlink, npx, a
 * global install or `node dist/src/bin.js` alike. Every failure is one line on stderr and an
 * exit code (see `EXIT` and `squid-mesh --help`); help goes to stdout.
 */
import { checkReplayCommand } from "./checkReplay.js"
import { decideCommand, reasonedCommand, rerunCommand, signalCommand } from "./controls.js"
import { dashboardCommand } from "./dashboard.js"
import { doctorCommand } from "./doctor.js"
import { CliError, errorLine, EXIT, exitCodeOf, type ExitCode, usageError } from "./errors.js"
import { migrateCommand, migrationsCommand } from "./migrations.js"
import { purgeCommand, purgesCommand } from "./purge.js"
import { runsCommand } from "./runs.js"
import { schedulesCommand } from "./schedules.js"
import { helpFor, USAGE } from "./usage.js"
import { workerCommand } from "./worker.js"

export { describeUrl } from "./store.js"
export { EXIT, type ExitCode } from "./errors.js"
export { USAGE } from "./usage.js"

/** Commands with subcommands: their help is looked up with the subcommand (`runs list --help`). */
const FAMILIES = new Set(["runs", "purges", "schedules", "migrations"])

/** Dispatches one command (`words` start after the command's name). */
const dispatch = (command: string, words: ReadonlyArray<string>): ExitCode | Promise<ExitCode> => {
  switch (command) {
    case "runs":
      return runsCommand(words)
    case "approve":
    case "reject":
      return decideCommand(command, words)
    case "resume":
    case "cancel":
      return reasonedCommand(command, words)
    case "rerun":
      return rerunCommand(words)
    case "signal":
      return signalCommand(words)
    case "purge":
      return purgeCommand(words)
    case "purges":
      return purgesCommand(words)
    case "worker":
      return workerCommand(words)
    case "schedules":
      return schedulesCommand(words)
    case "migrate":
      return migrateCommand(words)
    case "migrations":
      return migrationsCommand(words)
    case "doctor":
      return doctorCommand(words)
    case "check-replay":
      return checkReplayCommand(words)
    case "dashboard":
      return dashboardCommand(words)
    default:
      throw usageError(`unknown command "${command}"`, USAGE)
  }
}

/** Runs the CLI with its arguments (without the node and script paths); resolves to the exit code. */
export const main = async (args: ReadonlyArray<string>): Promise<ExitCode> => {
  const [command, ...words] = args
  try {
    if (command === undefined) throw usageError("give a command", USAGE)
    if (command === "help" || command === "--help" || command === "-h") {
      console.log(words[0] === undefined ? USAGE : helpFor(words[0], words[1]))
      return EXIT.ok
    }
    if (words.includes("--help") || words.includes("-h")) {
      const sub = FAMILIES.has(command) && words[0] !== undefined && !words[0].startsWith("-") ? words[0] : undefined
      if (helpFor(command) === USAGE && command !== "help") throw usageError(`unknown command "${command}"`, USAGE)
      console.log(helpFor(command, sub))
      return EXIT.ok
    }
    return await dispatch(command, words)
  } catch (error) {
    console.error(errorLine(error))
    if (error instanceof CliError && error.help !== undefined) console.error(error.help)
    return exitCodeOf(error)
  }
}
