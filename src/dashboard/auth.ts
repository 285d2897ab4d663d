/**
 * Who may use the dashboard. Three checks, in order:
 * - **Host**: bound to a loopback address, it answers only requests addressed to a loopback
 *   name (`127.0.0.1`, `localhost`, `[::1]`), so a web page that rebinds its DNS name to
 *   127.0.0.1 cannot read it (DNS rebinding).
 * - **Token** (when one is set): `Authorization: Bearer <token>`, or the session cookie. Opening
 *   any page with `?token=<token>` sets that cookie (HttpOnly, SameSite=Strict) and redirects to
 *   the same address without the token, so it leaves the address bar.
 * - **Actions** (POST): a request authenticated by its bearer header needs nothing more (no
 *   ambient credential, no CSRF). Any other must come from the dashboard's own page: an
 *   `Origin` equal to its own origin, and the `X-Squid-Mesh-CSRF` header with the per-server
 *   secret that `GET /api/config` tells only same-origin readers.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"

/** The session cookie's name. */
export const SESSION_COOKIE = "squid_mesh_dashboard"

/** The header carrying the CSRF secret on actions. */
export const CSRF_HEADER = "x-squid-mesh-csrf"

/** What the checks need: the token (if any), whether the server listens on loopback only, and the per-server CSRF secret. */
export interface AuthConfig {
  readonly token: string | undefined
  readonly loopback: boolean
  readonly csrf: string
}

/** The outcome of checking a request. */
export type AuthDecision =
  | { readonly _tag: "Allowed"; readonly viaBearer: boolean }
  | { readonly _tag: "SetSession"; readonly location: string; readonly cookie: string }
  | { readonly _tag: "Refused"; readonly status: 401 | 403 | 421; readonly reason: string }

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"])

/** True for host names and addresses that only this machine reaches. */
export const isLoopback = (host: string): boolean => LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host)

/** A fresh per-server secret for the CSRF header. */
export const newCsrfSecret = (): string => randomBytes(32).toString("base64url")

/** The session cookie's value for a token: derived from it, so the cookie is not the bearer token itself. */
const sessionValue = (token: string): string => createHmac("sha256", token).update("squid-mesh-dashboard-session").digest("base64url")

/** Compares two secrets in constant time (over their sha256, so lengths may differ). */
export const sameSecret = (given: string, expected: string): boolean => {
  const a = createHmac("sha256", "compare").update(given).digest()
  const b = createHmac("sha256", "compare").update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The host name of a Host header (`127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `[::1]`). */
const hostName = (header: string): string => {
  if (header.startsWith("[")) return header.slice(0, header.indexOf("]") + 1)
  const colon = header.lastIndexOf(":")
  return colon === -1 ? header : header.slice(0, colon)
}

const cookieOf = (req: IncomingMessage, name: string): string | undefined => {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Checks the Host header, then the token (bearer header, `?token=`, or session cookie). */
export const authenticate = (req: IncomingMessage, url: URL, config: AuthConfig): AuthDecision => {
  const host = req.headers.host ?? ""
  if (config.loopback && !isLoopback(hostName(host)))
    return { _tag: "Refused", status: 421, reason: `this dashboard answers only on a loopback address, not "${host}"` }
  const token = config.token
  if (token === undefined) return { _tag: "Allowed", viaBearer: false }
  const authorization = req.headers.authorization ?? ""
  if (/^Bearer /i.test(authorization)) {
    return sameSecret(authorization.slice(7).trim(), token) ? { _tag: "Allowed", viaBearer: true } : { _tag: "Refused", status: 401, reason: "wrong token" }
  }
  const query = url.searchParams.get("token")
  if (query !== null && req.method === "GET") {
    if (!sameSecret(query, token)) return { _tag: "Refused", status: 401, reason: "wrong token" }
    const clean = new URL(url)
    clean.searchParams.delete("token")
    return {
      _tag: "SetSession",
      location: `${clean.pathname}${clean.search}`,
      cookie: `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`,
    }
  }
  const session = cookieOf(req, SESSION_COOKIE)
  if (session !== undefined && sameSecret(session, sessionValue(token))) return { _tag: "Allowed", viaBearer: false }
  return {
    _tag: "Refused",
    status: 401,
    reason: "a token is required: send Authorization: Bearer <token>, or open the dashboard's address with ?token=<token>",
  }
}

/**
 * Checks that an action comes from the dashboard's own page (or carries the bearer token):
 * its Origin is this server's, and it carries the CSRF secret. Returns why not, if not.
 */
export const actionRefusal = (req: IncomingMessage, viaBearer: boolean, config: AuthConfig): string | undefined => {
  if (viaBearer) return undefined
  const origin = req.headers.origin
  const own = `http://${req.headers.host ?? ""}`
  if (origin === undefined) return "actions need the Origin header of the dashboard's own page (or the bearer token)"
  if (origin !== own) return `cross-origin action refused: Origin ${origin} is not ${own}`
  const site = req.headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin") return `cross-site action refused (Sec-Fetch-Site: ${String(site)})`
  const csrf = req.headers[CSRF_HEADER]
  if (typeof csrf !== "string" || !sameSecret(csrf, config.csrf)) return `actions need the ${CSRF_HEADER} header from GET /api/config`
  return undefined
}
