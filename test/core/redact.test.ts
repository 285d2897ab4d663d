import { describe, expect, it } from "vitest"
import { redactText, redactValue } from "../../src/core/redact.js"
import { errorInfo, toCode } from "../../runtime/errorInfo.js"
import { StepFailedError } from "../../src/core/errors.js"

describe("redaction", () => {
  it.each([
    ["PSP 503 (api_key=sk_live_abc12345)", "PSP 503 (api_key=[REDACTED])"],
    ['{"password":"hunter2","user":"ada"}', '{"password":[REDACTED],"user":"ada"}'],
    ["Authorization: Bearer abcdefghijklmnop", "Authorization: [REDACTED]"],
    ["connect postgres://app:s3cret@db:5432/x failed", "connect postgres://[REDACTED]@db:5432/x failed"],
    ["token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.abc leaked", "token [REDACTED] leaked"],
    ["nothing secret here", "nothing secret here"],
  ])("scrubs %s", (input, expected) => {
    expect(redactText(input)).toBe(expected)
  })

  it("replaces secret-looking keys deeply and bounds long text", () => {
    expect(redactValue({ a: { apiKey: "x", list: [{ refresh_token: "y", ok: 1 }] }, Authorization: "z" })).toEqual({
      a: { apiKey: "[REDACTED]", list: [{ refresh_token: "[REDACTED]", ok: 1 }] },
      Authorization: "[REDACTED]",
    })
    expect(redactText("x".repeat(2000)).length).toBeLessThanOrEqual(501)
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
})
