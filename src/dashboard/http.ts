/**
 * The dashboard's HTTP plumbing: responses with the security headers every answer carries
 * (a strict Content-Security-Policy, no framing, no sniffing, no caching of API data), JSON
 * and text bodies, and reading a bounded JSON request body.
 */
import type { IncomingMessage, ServerResponse } from "node:http"

/**
 * The Content-Security-Policy of every response: scripts, styles and fetches from the
 * dashboard's own origin only, no inline script or style, no framing. Together with building
 * the page from text nodes (never HTML strings), a run's payload cannot become markup.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The largest request body read (an action's actor and note). */
export const MAX_BODY_BYTES = 64 * 1024

/** Sets the headers every dashboard response carries. */
export const securityHeaders = (res: ServerResponse): void => {
  res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
  res.setHeader("X-Content-Type-Options", "nosniff")
  res.setHeader("X-Frame-Options", "DENY")
  res.setHeader("Referrer-Policy", "no-referrer")
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin")
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin")
}

/** Sends a JSON body (never cached: it is live data). */
export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers })
  res.end(text)
}

/** Sends a JSON error: `{ error: { _tag, message, ...fields } }`. */
export const sendError = (res: ServerResponse, status: number, tag: string, message: string, headers: Readonly<Record<string, string>> = {}): void =>
  sendJson(res, status, { error: { _tag: tag, message } }, headers)

/** Sends a text body of the given type. */
export const sendText = (res: ServerResponse, status: number, contentType: string, body: string, headers: Readonly<Record<string, string>> = {}): void => {
  res.writeHead(status, { "Content-Type": contentType, "Cache-Control": "no-cache", ...headers })
  res.end(body)
}

/** A request body that could not be read as a JSON object. */
export interface BodyProblem {
  readonly status: 400 | 413 | 415
  readonly message: string
}

/** Reads a request body as a JSON object (`application/json`, at most `MAX_BODY_BYTES`). */
export const readJsonBody = async (req: IncomingMessage): Promise<{ readonly body: Record<string, unknown> } | BodyProblem> => {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  if (type !== "application/json") {
    req.resume()
    return { status: 415, message: "expected Content-Type: application/json" }
  }
  const chunks: Array<Buffer> = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) return { status: 413, message: `the body is over ${MAX_BODY_BYTES} bytes` }
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString("utf8")
  try {
    const parsed: unknown = text.length === 0 ? {} : JSON.parse(text)
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { status: 400, message: "expected a JSON object" }
    return { body: parsed as Record<string, unknown> }
  } catch {
    return { status: 400, message: "the body is not valid JSON" }
  }
}
