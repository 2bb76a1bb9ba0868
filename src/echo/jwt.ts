// Decodes (never verifies) a Bearer JWT so a user can see which claims a gateway forwarded.
// The signature is not checked: echoscope has no keys, and `verified: false` says so in every echo.

// The two decoders only, by jose's own subpath exports: the whole library would stay in memory for them.
import { decodeJwt } from 'jose/jwt/decode'
import { decodeProtectedHeader } from 'jose/decode/protected_header'
import type { JwtInfo } from './types.ts'

// Date's range is ±8.64e15 ms; a claim outside it would make toISOString throw.
const MAX_SECONDS = 8.64e12

export function decodeBearerJwt (authorization: string | undefined, now: Date): JwtInfo | undefined {
  const token = bearerToken(authorization)
  if (token === undefined) return undefined
  let header: Record<string, unknown>
  let payload: Record<string, unknown>
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>
    payload = decodeJwt(token) as Record<string, unknown>
  } catch {
    return undefined
  }
  const info: JwtInfo = { header, payload, verified: false }
  const issuedAt = isoDate(payload.iat)
  if (issuedAt !== undefined) info.issuedAt = issuedAt
  const notBefore = isoDate(payload.nbf)
  if (notBefore !== undefined) info.notBefore = notBefore
  if (isNumericDate(payload.exp)) {
    const expiresAt = isoDate(payload.exp)
    if (expiresAt !== undefined) info.expiresAt = expiresAt
    // RFC 7519 4.1.4: the token must not be accepted on or after exp.
    info.expired = now.getTime() >= payload.exp * 1000
  }
  return info
}

function bearerToken (authorization: string | undefined): string | undefined {
  // Cheap rejections first: most requests have no Authorization, and Basic is common.
  if (authorization === undefined || authorization.length < 8) return undefined
  const space = authorization.charCodeAt(6)
  if (space !== 32 && space !== 9) return undefined
  if (authorization.slice(0, 6).toLowerCase() !== 'bearer') return undefined
  const token = authorization.slice(7).trim()
  // A compact JWS has exactly two dots; opaque tokens are turned away without a decode attempt.
  const first = token.indexOf('.')
  if (first <= 0) return undefined
  const second = token.indexOf('.', first + 1)
  if (second === -1 || token.indexOf('.', second + 1) !== -1) return undefined
  return token
}

function isNumericDate (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isoDate (value: unknown): string | undefined {
  if (!isNumericDate(value) || Math.abs(value) > MAX_SECONDS) return undefined
  return new Date(value * 1000).toISOString()
}
