/**
 * A small argument parser: `--flag value`, `--flag=value`, boolean switches, repeatable flags,
 * positionals, and `--` to end the flags. Every command declares its flags; an unknown flag, a
 * missing value or a malformed one is a usage error (exit 2) before anything runs.
 */
import { commandUsageError } from "./errors.js"

/** What a flag takes: one value, no value (a switch), or one value per use (repeatable, comma lists split). */
export type FlagKind = "string" | "boolean" | "list"

/** A command's flags, by name without the leading dashes. */
export type FlagSpec = Readonly<Record<string, FlagKind>>

/** The flags every command accepts. */
const COMMON: FlagSpec = { help: "boolean" }

/** Parsed arguments of one command, with typed, checked accessors. */
export class Args {
  constructor(
    /** The command as typed (`runs list`), for messages. */
    readonly command: string,
    readonly positionals: ReadonlyArray<string>,
    private readonly values: ReadonlyMap<string, ReadonlyArray<string>>,
  ) {}

  /** The value of a one-value flag, if given. */
  string(name: string): string | undefined {
    return this.values.get(name)?.at(-1)
  }

  /** The value of a flag that must be given. */
  required(name: string, what = "a value"): string {
    const value = this.string(name)
    if (value === undefined) throw this.usage(`give --${name} <${what}>`)
    return value
  }

  /** Whether a switch was given. */
  boolean(name: string): boolean {
    return this.values.has(name)
  }

  /** Every value of a repeatable flag, comma lists split, empty items dropped. */
  list(name: string): Array<string> {
    return (this.values.get(name) ?? [])
      .flatMap((v) => v.split(","))
      .map((v) => v.trim())
      .filter((v) => v !== "")
  }

  /** The positional argument at `index`, which must be given. */
  positional(index: number, what: string): string {
    const value = this.positionals[index]
    if (value === undefined) throw this.usage(`give the ${what}`)
    return value
  }

  /** Refuses positionals beyond the first `count`. */
  atMostPositionals(count: number): void {
    const extra = this.positionals[count]
    if (extra !== undefined) throw this.usage(`unexpected argument "${extra}"`)
  }

  /** An integer flag within [min, max], if given. */
  integer(name: string, min: number, max: number): number | undefined {
    const text = this.string(name)
    if (text === undefined) return undefined
    const n = Number(text)
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
      throw this.usage(`--${name} = "${text}": expected an integer from ${min} to ${max}`)
    return n
  }

  /** A time flag (ISO 8601 or epoch milliseconds) as epoch ms, if given. */
  time(name: string): number | undefined {
    const text = this.string(name)
    if (text === undefined) return undefined
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
    if (!Number.isFinite(ms)) throw this.usage(`--${name} = "${text}": expected an ISO time (2026-01-31T12:00:00Z) or epoch milliseconds`)
    return ms
  }

  /** Repeatable `key=value` pairs, as a record; undefined when none were given. */
  pairs(name: string): Record<string, string> | undefined {
    const raw = this.values.get(name) ?? []
    if (raw.length === 0) return undefined
    const pairs: Record<string, string> = {}
    for (const item of raw) {
      const eq = item.indexOf("=")
      if (eq <= 0) throw this.usage(`--${name} = "${item}": expected key=value`)
      pairs[item.slice(0, eq)] = item.slice(eq + 1)
    }
    return pairs
  }

  /** A usage error of this command (exit 2): one line, prefixed with its name, pointing at its help. */
  usage(message: string) {
    return commandUsageError(this.command, message)
  }
}

/**
 * Parses `args` (the words after the command) against `spec`. `--help` is always accepted
 * (`main` handles it before a command runs).
 */
export const parseArgs = (command: string, args: ReadonlyArray<string>, spec: FlagSpec): Args => {
  const flags: FlagSpec = { ...COMMON, ...spec }
  const values = new Map<string, Array<string>>()
  const positionals: Array<string> = []
  const fail = (message: string) => commandUsageError(command, message)
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!
    if (word === "--") {
      positionals.push(...args.slice(i + 1))
      break
    }
    if (word === "-h") values.set("help", [""])
    if (!word.startsWith("--")) {
      if (word !== "-h") positionals.push(word)
      continue
    }
    const eq = word.indexOf("=")
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq)
    const kind = flags[name]
    if (kind === undefined) throw fail(`unknown option --${name}`)
    if (kind === "boolean") {
      if (eq >= 0) throw fail(`--${name} takes no value`)
      values.set(name, [""])
      continue
    }
    let value: string | undefined
    if (eq >= 0) value = word.slice(eq + 1)
    else {
      value = args[i + 1]
      if (value === undefined || value.startsWith("--")) throw fail(`--${name} needs a value`)
      i++
    }
    values.set(name, kind === "list" ? [...(values.get(name) ?? []), value] : [value])
  }
  return new Args(command, positionals, values)
}
