/**
 * Secret redaction. Applied before anything is persisted or printed: attempt error
 * messages, command metadata and run errors. Keys that look secret are replaced whole;
 * free text is scrubbed of `key=value` pairs, bearer tokens and URL credentials.
 */
export const REDACTED = "[REDACTED]"

const SECRET_KEY = /(pass(word|wd)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie|session)/i

/** True when a metadata key names something secret. */
export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key)

/** Deep copy of a value with every secret-looking key's value replaced by `[REDACTED]`. */
export const redactValue = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(redactValue)
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) out[key] = isSecretKey(key) ? REDACTED : redactValue(inner)
    return out
  }
  return typeof value === "string" ? redactText(value) : value
}

const TEXT_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  // key=value, key: value, "key":"value"
  [/("?(?:pass(?:word|wd)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie)"?\s*[:=]\s*)((?:bearer|basic)\s+[^\s,;&})\]]+|"[^"]*"|'[^']*'|[^\s,;&})\]]+)/gi, `$1${REDACTED}`],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  [/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, `$1${REDACTED}@`],
  // long opaque tokens (JWTs, API keys)
  [/\b(?:eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*|sk_(?:live|test)_[A-Za-z0-9]{8,})\b/g, REDACTED],
]

const MAX_MESSAGE = 500

/** Scrubs secrets from free text and bounds its length. */
export const redactText = (text: string): string => {
  let out = text
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement)
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out
}
