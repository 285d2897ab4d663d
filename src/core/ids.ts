import { createHash, randomBytes, randomUUID } from "node:crypto"

/** A fresh random run id (UUID v4). */
export const newRunId = (): string => randomUUID()

/** Lowercase hex sha256 of a string. Claim tokens are only ever stored as this hash. */
export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex")

/** A random claim token (32 bytes, base64url). It lives only in the worker that holds the claim. */
export const newClaimToken = (): string => randomBytes(32).toString("base64url")

/** A fresh claim: its public id, the raw token (kept by the worker) and the token's sha256 (stored). */
export const newClaim = (): { readonly claimId: string; readonly token: string; readonly tokenHash: string } => {
  const token = newClaimToken()
  return { claimId: newClaimToken().slice(0, 22), token, tokenHash: sha256Hex(token) }
}

/**
 * A deterministic UUID (version 5 layout, sha256-based) from length-prefixed parts, so that
 * `("a|b", "c")` and `("a", "b|c")` never collide. Used for idempotent starts: the same
 * workflow, trigger and key always name the same run.
 */
export const deterministicUuid = (...parts: ReadonlyArray<string>): string => {
  const encoded = parts.map((p) => `${Buffer.byteLength(p)}:${p}`).join("|")
  const bytes = createHash("sha256").update(encoded).digest().subarray(0, 16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x50
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True when the string is a UUID in canonical text form. */
export const isUuid = (value: string): boolean => UUID_RE.test(value)
