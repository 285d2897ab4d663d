/**
 * Size limits on what a run stores: start payloads, step results and signal bodies. A value
 * over its limit is refused with a tagged error before anything is written, so one runaway
 * payload cannot bloat the journal that every replay reads.
 */
import { InvalidOptionError, PayloadTooLargeError, showValue } from "../src/core/errors.js"

/** Byte limits of stored JSON (UTF-8). */
export interface Limits {
  /** A start payload, after defaults. Default 1 MiB. */
  readonly payloadBytes: number
  /** A step's recorded result. Default 1 MiB. */
  readonly outputBytes: number
  /** A signal's body. Default 256 KiB. */
  readonly signalBytes: number
}

/** The limits an engine uses when none are configured. */
export const DEFAULT_LIMITS: Limits = { payloadBytes: 1024 * 1024, outputBytes: 1024 * 1024, signalBytes: 256 * 1024 }

/** The configured limits over the defaults; a limit that is not a positive integer is an InvalidOptionError. */
export const resolveLimits = (config: Partial<Limits> | undefined): Limits | InvalidOptionError => {
  const limits = { ...DEFAULT_LIMITS, ...config }
  for (const key of Object.keys(limits) as Array<keyof Limits>) {
    if (!(key in DEFAULT_LIMITS))
      return new InvalidOptionError({ option: `limits.${key}`, reason: `unknown limit (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})` })
    const value = limits[key]
    if (!Number.isInteger(value) || value < 1)
      return new InvalidOptionError({ option: `limits.${key}`, value: showValue(value), reason: "expected a positive integer number of bytes" })
  }
  return limits
}

/** A PayloadTooLargeError when `value`'s JSON is over `limit` bytes. */
export const oversized = (what: PayloadTooLargeError["what"], value: unknown, limit: number): PayloadTooLargeError | undefined => {
  const text = JSON.stringify(value) ?? ""
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long texts need an exact count.
  if (text.length * 3 <= limit) return undefined
  const bytes = Buffer.byteLength(text)
  return bytes > limit ? new PayloadTooLargeError({ what, bytes, limit }) : undefined
}
