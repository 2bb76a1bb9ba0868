// Decodes (never verifies) the JWTs a request carries (Authorization: Bearer, and the headers gateways forward
// identity tokens in) so a user can see which claims a gateway forwarded.
// The signature is not checked: echoscope has no keys, and `verified: false` says so in every echo.

// The two decoders only, by jose's own subpath exports: the whole library would stay in memory for them.
import { decodeJwt } from 'jose/jwt/decode'
import { decodeProtectedHeader } from 'jose/decode/protected_header'
import type { JwtInfo } from './types.ts'

// Date's range is ±8.64e15 ms; a claim outside it would make toISOString throw.
const MAX_SECONDS = 8.64e12

/** A decoded token before it is told which header it came from. */
export type DecodedJwt = Omit<JwtInfo, 'source'>

export function decodeBearerJwt (authorization: string | undefined, now: Date): DecodedJwt | undefined {
  const token = bearerToken(authorization)
  return token === undefined ? undefined : decodeToken(token, now)
}

/**
 * Every JWT in the named headers (lower-case), in the order of `names`, then in arrival order: each line of a
 * repeated header, and each element of a comma-joined one. Authorization takes `Bearer <token>`; the other
 * headers the bare token or `Bearer <token>`. Undefined when none decodes.
 */
export function decodeHeaderJwts (rawHeaders: readonly string[], names: readonly string[], now: Date): JwtInfo[] | undefined {
  let out: JwtInfo[] | undefined
  for (const name of names) {
    const bearerOnly = name === 'authorization'
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const raw = rawHeaders[i]
      if (raw.length !== name.length || raw.toLowerCase() !== name) continue
      const value = rawHeaders[i + 1]
      // RFC 9110 5.3: a proxy may join repeated lines with commas; a JWT has none.
      if (value.indexOf(',') === -1) {
        out = addDecoded(out, name, value, bearerOnly, now)
      } else {
        for (const part of value.split(',')) out = addDecoded(out, name, part.trim(), bearerOnly, now)
      }
    }
  }
  return out
}

function addDecoded (out: JwtInfo[] | undefined, source: string, value: string, bearerOnly: boolean, now: Date): JwtInfo[] | undefined {
  const token = bearerOnly ? bearerToken(value) : bareOrBearerToken(value)
  const decoded = token === undefined ? undefined : decodeToken(token, now)
  if (decoded === undefined) return out
  out ??= []
  out.push({ source, ...decoded })
  return out
}

function decodeToken (token: string, now: Date): DecodedJwt | undefined {
  let header: Record<string, unknown>
  let payload: Record<string, unknown>
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>
    payload = decodeJwt(token) as Record<string, unknown>
  } catch {
    return undefined
  }
  const info: DecodedJwt = { header, payload, verified: false }
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
  return compactJws(authorization.slice(7).trim())
}

function bareOrBearerToken (value: string): string | undefined {
  // A bare JWS has no space; `Bearer <token>` has one after the scheme.
  const space = value.charCodeAt(6)
  return space === 32 || space === 9 ? bearerToken(value) : compactJws(value)
}

/** The token when it has the shape of a compact JWS (exactly two dots): opaque tokens get no decode attempt. */
function compactJws (token: string): string | undefined {
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
