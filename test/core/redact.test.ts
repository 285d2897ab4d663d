import { Effect, HashMap, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { defaultRedactor, makeRedactor, REDACTED, redactText, redactValue } from "../../src/core/redact.js"
import { errorInfo, toCode } from "../../runtime/errorInfo.js"
import { withRedactedLogs } from "../../runtime/logRedaction.js"
import { StepFailedError, WorkflowFailedError } from "../../src/core/errors.js"
import { HARMLESS, SECRET_SHAPES } from "../fixtures/secretShapes.js"

describe("redaction: secret shapes", () => {
  it("covers at least 30 shapes and 10 look-alikes", () => {
    expect(SECRET_SHAPES.length).toBeGreaterThanOrEqual(30)
    expect(HARMLESS.length).toBeGreaterThanOrEqual(10)
  })

  it.each(SECRET_SHAPES.map((s) => [s.name, s] as const))("redacts %s", (_name, { text, secret }) => {
    const out = redactText(text)
    expect(out).not.toContain(secret)
    expect(out).toContain(REDACTED)
    expect(redactText(out)).toBe(out) // idempotent: journaled text redacted again stays the same
  })

  it.each(HARMLESS.map((h) => [h]))("leaves %s unchanged", (text) => {
    expect(redactText(text)).toBe(text)
  })

  it.each([
    ["PSP 503 (api_key=sk_live_abc12345)", "PSP 503 (api_key=[REDACTED])"],
    ['{"password":"hunter2","user":"ada"}', '{"password":"[REDACTED]","user":"ada"}'],
    ["Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer [REDACTED]"],
    ["connect postgres://app:s3cret@db:5432/x failed", "connect postgres://[REDACTED]@db:5432/x failed"],
    ["token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.abc leaked", "token [REDACTED] leaked"],
    ["GET /cb?access_token=at-1234&state=ok", "GET /cb?access_token=[REDACTED]&state=ok"],
    ["Server=db;Password=p;w&d1;Database=app", "Server=db;Password=[REDACTED];Database=app"],
    ["a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb", "a\n[REDACTED]\nb"],
    ["cut -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "cut [REDACTED]"],
    ["hook https://hooks.slack.com/services/T1/B2/xyz done", "hook https://hooks.slack.com/services/[REDACTED] done"],
    ["nothing secret here", "nothing secret here"],
  ])("scrubs %j exactly", (input, expected) => {
    expect(redactText(input)).toBe(expected)
  })

  it("scrubs adversarial 200 KB inputs in linear time", () => {
    const fill = (unit: string) => unit.repeat(Math.ceil(200_000 / unit.length))
    const inputs = [
      fill("a."),
      fill("a-"),
      `http://${fill("a:")}`,
      fill("<a"),
      fill("xoxb-"),
      fill("sk-"),
      `password=${fill(",a")}`,
      fill("token "),
      fill("u:p@"),
      `"password":"${fill("\\a")}`,
    ]
    const started = performance.now()
    for (const input of inputs) defaultRedactor.scrub(input)
    expect(performance.now() - started).toBeLessThan(2_000) // a quadratic rule takes many seconds here
  })

  it("bounds messages but not scrubbed text", () => {
    expect(redactText("x".repeat(2000)).length).toBeLessThanOrEqual(501)
    expect(defaultRedactor.scrub("x".repeat(2000))).toHaveLength(2000)
  })
})

describe("redaction: structured values", () => {
  it("replaces secret-named fields deeply and scrubs strings", () => {
    expect(
      redactValue({
        a: { apiKey: "x", list: [{ refresh_token: "y", ok: 1 }] },
        Authorization: "z",
        "x-api-key": "k",
        clientSecret: { nested: 1 },
        note: "password=pw1",
      }),
    ).toEqual({
      a: { apiKey: REDACTED, list: [{ refresh_token: REDACTED, ok: 1 }] },
      Authorization: REDACTED,
      "x-api-key": REDACTED,
      clientSecret: REDACTED,
      note: "password=[REDACTED]",
    })
  })

  it("keeps fields whose names only contain a secret word", () => {
    const harmless = { passengers: 3, tokenCount: 4, maxTokens: 5, secretName: "db", tokenizer: "bpe", password_changed_at: 1, auth_method: "sso" }
    expect(redactValue(harmless)).toEqual(harmless)
  })

  it("fields() keeps long strings whole (signal payloads are data)", () => {
    const long = "y".repeat(900)
    expect(defaultRedactor.fields({ body: long, password: "p" })).toEqual({ body: long, password: REDACTED })
  })
})

describe("redaction: host configuration", () => {
  const r = makeRedactor({
    patterns: [/\bssn (?<secret>\d{3}-\d{2}-\d{4})\b/, /\bcust_[0-9a-z]{10}\b/, "literal-Zsecret-value"],
    keys: ["pinCode", /^x-internal-/i],
  })

  it("adds patterns (whole match, named `secret` group, literal strings)", () => {
    expect(r.text("ssn 123-45-6789 for cust_abcdefghij uses literal-Zsecret-value")).toBe(`ssn ${REDACTED} for ${REDACTED} uses ${REDACTED}`)
  })

  it("adds key names for fields and for key=value text", () => {
    expect(r.value({ pinCode: 1234, card_pin_code: 99, "X-Internal-Auth": "q", passengers: 2 })).toEqual({
      pinCode: REDACTED,
      card_pin_code: REDACTED,
      "X-Internal-Auth": REDACTED,
      passengers: 2,
    })
    expect(r.text("pin_code=4321 and pinCode: 8765")).toBe(`pin_code=${REDACTED} and pinCode: ${REDACTED}`)
  })

  it("is per engine: the default rules do not learn a host's additions", () => {
    expect(defaultRedactor.text("ssn 123-45-6789")).toBe("ssn 123-45-6789")
    expect(defaultRedactor.isSecretKey("pinCode")).toBe(false)
  })

  it("refuses a pattern that is neither a RegExp nor a string", () => {
    expect(() => makeRedactor({ patterns: [42 as unknown as RegExp] })).toThrow(TypeError)
  })
})

describe("error normalisation", () => {
  it("derives stable snake_case codes", () => {
    expect(toCode("PaymentDeclined")).toBe("payment_declined")
    expect(toCode("HTTP 503!")).toBe("http_503")
    expect(toCode("💥")).toBe("step_error")
    expect(toCode(42)).toBe("step_error")
  })

  it("keeps only code, redacted message and retryability", () => {
    const e = Object.assign(new Error("password=abc"), { code: "EAUTH", retryable: false, secretField: "x" })
    expect(errorInfo(e)).toEqual({ code: "eauth", message: "password=[REDACTED]", retryable: false })
    expect(errorInfo("plain")).toEqual({ code: "error", message: "plain" })
    const failed = new StepFailedError({ step: "s", seq: 4, attempts: 2, error: { code: "x", message: "m" } })
    expect(errorInfo(failed)).toEqual({ code: "x", message: "m", step: "s", seq: 4 })
  })

  it("redacts before deriving a code: token=abc123 never becomes token_abc123", () => {
    expect(errorInfo({ code: "token=abc123", message: "m" }).code).toBe("token_redacted")
    expect(errorInfo({ _tag: "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", message: "m" }).code).toBe("redacted")
  })

  it("redacts workflow failure reasons and details, and user-built StepFailedErrors", () => {
    const wf = errorInfo(new WorkflowFailedError({ reason: "gave up, token=tok-Z1", details: { apiKey: "k", why: "pwd=p1", n: 1 } }))
    expect(wf).toEqual({ code: "workflow_failed", message: "gave up, token=[REDACTED]", details: { apiKey: REDACTED, why: "pwd=[REDACTED]", n: 1 } })
    const built = new StepFailedError({ step: "s", seq: 1, attempts: 1, error: { code: "x", message: "secret=s1Z", details: { password: "p" } } })
    expect(errorInfo(built)).toEqual({ code: "x", message: "secret=[REDACTED]", details: { password: REDACTED }, step: "s", seq: 1 })
  })

  it("uses the engine's redactor when given one", () => {
    const r = makeRedactor({ keys: ["ssn"] })
    expect(errorInfo(new Error("ssn=123-45-6789"), r).message).toBe("ssn=[REDACTED]")
    expect(errorInfo(new Error("ssn=123-45-6789")).message).toBe("ssn=123-45-6789")
  })
})

describe("redaction: step log lines", () => {
  it("scrubs messages, errors and secret-named annotations; keeps other values as they are", async () => {
    const seen: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
    const capture = Logger.make(({ message, annotations }) => seen.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }))
    const when = new Date(0)
    const logged = Effect.logInfo("token=tok-Z123", new Error("password=pw-Z9"), { apiKey: "k", n: 1 }, when).pipe(
      Effect.annotateLogs({ password: "p", runId: "r-1" }),
    )
    await Effect.runPromise(withRedactedLogs(defaultRedactor, logged).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture))))
    const [line] = seen
    const [text, error, data, date] = line!.message as Array<unknown>
    expect(text).toBe("token=[REDACTED]")
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe("password=[REDACTED]")
    expect((error as Error).stack).not.toContain("pw-Z9")
    expect(data).toEqual({ apiKey: REDACTED, n: 1 })
    expect(date).toBe(when)
    expect(line!.annotations).toEqual({ password: REDACTED, runId: "r-1" })
  })

  it("stores dates in metadata as their JSON form", () => {
    expect(redactValue({ at: new Date(0), token: new Date(0) })).toEqual({ at: "1970-01-01T00:00:00.000Z", token: REDACTED })
  })
})
