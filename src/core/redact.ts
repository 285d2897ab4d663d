/**
 * Secret redaction (invariant 9: nothing secret is persisted). Everything the engine writes
 * or prints that a user or operator typed (log lines, failure reasons and details, error codes
 * and messages, notes, metadata, signal payloads) passes through a `Redactor` first. Run
 * inputs and step outputs are business data and are not redacted.
 *
 * Two kinds of rules:
 * - structured keys: a field whose name looks secret (`password`, `clientSecret`, `x-api-key`,
 *   `aws_secret_access_key`...) has its whole value replaced;
 * - text shapes: `key=value` / `key: value` / `"key":"value"` pairs with a secret key, bearer
 *   and basic credentials, URL credentials, JWTs, PEM private keys and the well-known token
 *   formats of AWS, GitHub, Slack, Stripe, Google, OpenAI, npm... are replaced in free text.
 *
 * Rules are compiled once per engine (`makeRedactor`), with the host's extra patterns and key
 * names; there is no module-level mutable state. Redaction is idempotent.
 */
export const REDACTED = "[REDACTED]"

/** A host's additions to the built-in rules (`EngineConfig.redaction`). */
export interface RedactionOptions {
  /**
   * Extra secret shapes for free text. A RegExp's whole match is replaced, or only its named
   * group `secret` when it has one (e.g. `/ssn (?<secret>\d{3}-\d{2}-\d{4})/`). A string is a
   * literal secret value to scrub wherever it appears (e.g. the host's own `process.env` keys).
   */
  readonly patterns?: ReadonlyArray<RegExp | string>
  /**
   * Extra secret key names. A string matches a field whose name ends with it (case, `_` and `-`
   * ignored: `"pin"` matches `pin`, `cardPin`, `card_pin`), and `key=value` pairs in text; a
   * RegExp is tested against field names only.
   */
  readonly keys?: ReadonlyArray<string | RegExp>
}

/** Redaction rules compiled for one engine. */
export interface Redactor {
  /** Scrubs secrets from free text; the length is kept as is (log lines, payload strings). */
  readonly scrub: (text: string) => string
  /** Scrubs secrets from a message, note or reason and bounds its length (500 characters). */
  readonly text: (text: string) => string
  /** Deep copy with secret-named fields replaced and strings `text`-scrubbed (metadata, details). */
  readonly value: (value: unknown) => unknown
  /** Deep copy with secret-named fields replaced and strings `scrub`bed, sizes kept (signal payloads). */
  readonly fields: (value: unknown) => unknown
  /** True when a field name looks secret. */
  readonly isSecretKey: (key: string) => boolean
}

const MAX_MESSAGE = 500

// Secret key endings, with `_`/`-` removed and lowercased ("clientSecret" → "clientsecret").
const KEY_ENDINGS = [
  "password",
  "passwords",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "secrets",
  "token",
  "apikey",
  "accesskey",
  "secretkey",
  "privatekey",
  "signingkey",
  "encryptionkey",
  "masterkey",
  "clientkey",
  "accountkey",
  "credential",
  "credentials",
  "authorization",
  "cookie",
  "cookies",
  "sessionid",
  "amzsignature",
]
// Field names that are secret on their own but too generic as endings.
const KEY_EXACT = new Set(["auth", "pass", "pin", "otp", "cvv", "cvc"])

// The same endings for `key=value` text (separators allowed inside).
const TEXT_KEY =
  String.raw`(?:pass(?:word|wd)s?|pwd|passphrase|secrets?|token|` +
  String.raw`(?:api|access|secret|private|signing|encryption|master|client|account)[_-]?key|apikey|` +
  String.raw`credentials?|authorization|cookies?|session[_-]?id|amz-signature)`

// Names whose secret may follow after a plain space ("client_secret abc123"): only when the
// value looks opaque (letters and digits), so "token bucket" or "password reset" stay.
const SPACE_KEY = String.raw`(?:pass(?:word|wd)|passphrase|(?:client[_-]?)?secret|(?:access|refresh|auth|api|bearer)?[_-]?token|api[_-]?key|apikey|private[_-]?key)`

// Auth schemes kept in front of a redacted credential ("Authorization: Bearer [REDACTED]").
const SCHEME = String.raw`(?:bearer|basic|token|digest|negotiate)`
// An unquoted value ends at whitespace, a quote, a closing bracket, or a separator that starts
// the next pair ("&b=", ";Database=", ", ") — a "&" or "," inside a password is kept in it.
const BARE_VALUE = String.raw`(?:[^\s,;&"'<>)}\]]|[,;&](?![\s"']|[\w.-]+[=:]))+`

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const normalizeKey = (key: string): string => key.replace(/[-_\s]/g, "").toLowerCase()
/** A host key name for text, with any separator between its words: "pinCode" → `pin[_-]?code`. */
const textKeyOf = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map(escapeRegExp)
    .join("[_-]?")

/** A value after a scheme word is a credential only if it looks opaque, so "Basic information" stays. */
const looksOpaque = (value: string): boolean =>
  value.length >= 8 && (/\d/.test(value) || /[+/=_.~-]/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value)))

type Rule = readonly [RegExp, (match: string, ...groups: Array<any>) => string]

const whole = (): string => REDACTED

/** Built-in text rules, in order: multi-line and URL shapes first, then pairs, then bare tokens. */
const builtInRules = (textKey: string): ReadonlyArray<Rule> => [
  // PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, PGP ... BLOCK); a truncated block to the end.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g, whole],
  // scheme://user:password@host (the user has no ":", so there is one split: linear time)
  [/\b([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#@'":]*:[^\s/?#'"]*@/gi, (_m, scheme: string) => `${scheme}${REDACTED}@`],
  // Incoming webhooks: the path is the credential.
  [/\b(https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9/_-]+/g, (_m, base: string) => `${base}${REDACTED}`],
  [/\b(https:\/\/(?:discord|discordapp)\.com\/api\/webhooks\/)[0-9]+\/[A-Za-z0-9_-]+/g, (_m, base: string) => `${base}${REDACTED}`],
  // "key": "value" | key=value | key: value | <key>value</key>, with an optional auth scheme.
  [
    new RegExp(
      String.raw`(?<![\w.-])(["']?)([\w.-]*?${textKey})\1([ \t]*[:=][ \t]*)` +
        String.raw`(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|(?!(?:${SCHEME}[ \t]+)?\[REDACTED\])(${SCHEME}[ \t]+)?(${BARE_VALUE}))`,
      "gi",
    ),
    (match: string, q: string, key: string, sep: string, dq?: string, sq?: string, scheme?: string, bare?: string) => {
      if (dq !== undefined) return dq === REDACTED ? match : `${q}${key}${q}${sep}"${REDACTED}"`
      if (sq !== undefined) return sq === REDACTED ? match : `${q}${key}${q}${sep}'${REDACTED}'`
      if (bare === undefined) return match
      return `${q}${key}${q}${sep}${scheme ?? ""}${REDACTED}`
    },
  ],
  [new RegExp(String.raw`<([\w.-]*?${textKey})>(?!\[REDACTED\])[^<]+</\1>`, "gi"), (_m, key: string) => `<${key}>${REDACTED}</${key}>`],
  // Bearer / Basic credentials anywhere.
  [
    /\b(bearer|basic)([ \t]+)(?!\[REDACTED\])([A-Za-z0-9._~+/=-]+)/gi,
    (match: string, scheme: string, gap: string, value: string) => (looksOpaque(value) ? `${scheme}${gap}${REDACTED}` : match),
  ],
  // Well-known token formats.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, whole], // JWT
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b/g, whole], // AWS access key id
  [/\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b/g, whole], // GitHub
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, whole],
  [/\bglpat-[A-Za-z0-9_-]{20,}/g, whole], // GitLab
  [/\bxox[abposre]-[A-Za-z0-9-]{10,}/g, whole], // Slack
  [/\bxapp-\d+-[A-Za-z0-9-]{10,}/g, whole],
  [/\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}/g, whole], // Stripe secret and restricted keys
  [/\bwhsec_[A-Za-z0-9+/=]{16,}/g, whole], // Stripe webhook secret
  [/\bAIza[0-9A-Za-z_-]{35}/g, whole], // Google API key
  [/\bya29\.[0-9A-Za-z_-]{20,}/g, whole], // Google OAuth access token
  [/\bGOCSPX-[0-9A-Za-z_-]{20,}/g, whole], // Google OAuth client secret
  [/\bsk-(?:proj-|ant-(?:api\d+-)?)?[A-Za-z0-9_-]{20,}/g, whole], // OpenAI, Anthropic
  [/\bnpm_[A-Za-z0-9]{36}\b/g, whole], // npm
  [/\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g, whole], // SendGrid
  // "password hunter22", "client_secret abc123": a plain space, an opaque value with a digit.
  [
    new RegExp(String.raw`(?<![\w.-])(-{0,2}${SPACE_KEY})([ \t]+)(?=[^\s,;]*\d)(?=[^\s,;]*[A-Za-z])(?!\[REDACTED\])[A-Za-z0-9._~+/=!@#$%^*-]{6,}`, "gi"),
    (_m, key: string, gap: string) => `${key}${gap}${REDACTED}`,
  ],
]

/** A host pattern as a global rule: the `secret` group if it has one, else the whole match. */
const hostRule = (pattern: RegExp | string): Rule => {
  if (typeof pattern === "string") return [new RegExp(escapeRegExp(pattern), "g"), whole]
  if (!(pattern instanceof RegExp)) throw new TypeError(`redaction.patterns: expected a RegExp or a string, got ${typeof pattern}`)
  const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`)
  return [
    global,
    (match: string, ...rest: Array<unknown>) => {
      const groups = rest[rest.length - 1]
      const secret = typeof groups === "object" && groups !== null ? (groups as Record<string, string | undefined>).secret : undefined
      if (secret === undefined || secret.length === 0) return REDACTED
      const at = match.indexOf(secret)
      return at < 0 ? REDACTED : `${match.slice(0, at)}${REDACTED}${match.slice(at + secret.length)}`
    },
  ]
}

/** Compiles the built-in rules plus a host's additions. Do it once per engine. */
export const makeRedactor = (options: RedactionOptions = {}): Redactor => {
  const hostKeys = (options.keys ?? []).filter((k): k is string => typeof k === "string" && k.length > 0)
  const hostKeyPatterns = (options.keys ?? []).filter((k): k is RegExp => k instanceof RegExp).map((k) => new RegExp(k.source, k.flags.replace(/[gy]/g, "")))
  const endings = [...KEY_ENDINGS, ...hostKeys.map(normalizeKey)]
  const textKey = hostKeys.length === 0 ? TEXT_KEY : `(?:${TEXT_KEY}|${hostKeys.map(textKeyOf).join("|")})`
  const rules: ReadonlyArray<Rule> = [...builtInRules(textKey), ...(options.patterns ?? []).filter((p) => p !== "").map(hostRule)]

  const isSecretKey = (key: string): boolean => {
    const k = normalizeKey(key)
    return KEY_EXACT.has(k) || endings.some((e) => k.endsWith(e)) || hostKeyPatterns.some((p) => p.test(key))
  }
  const scrub = (text: string): string => {
    let out = text
    for (const [pattern, replace] of rules) out = out.replace(pattern, replace)
    return out
  }
  const text = (input: string): string => {
    const out = scrub(input)
    return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out
  }
  const deep = (onString: (s: string) => string) => {
    const walk = (value: unknown): unknown => {
      if (typeof value === "string") return onString(value)
      if (Array.isArray(value)) return value.map(walk)
      // Dates and the like are stored as their JSON form; redact that, not their (empty) entries.
      if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function")
        return walk((value as { toJSON: () => unknown }).toJSON())
      if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {}
        for (const [key, inner] of Object.entries(value)) out[key] = isSecretKey(key) && inner !== null && inner !== undefined ? REDACTED : walk(inner)
        return out
      }
      return value
    }
    return walk
  }
  return { scrub, text, value: deep(text), fields: deep(scrub), isSecretKey }
}

/** The built-in rules only (tests, and callers outside an engine). */
export const defaultRedactor: Redactor = makeRedactor()

/** Scrubs secrets from free text with the built-in rules and bounds its length. */
export const redactText = (text: string): string => defaultRedactor.text(text)

/** `Redactor.value` with the built-in rules. */
export const redactValue = (value: unknown): unknown => defaultRedactor.value(value)

/** True when a field name looks secret under the built-in rules. */
export const isSecretKey = (key: string): boolean => defaultRedactor.isSecretKey(key)
