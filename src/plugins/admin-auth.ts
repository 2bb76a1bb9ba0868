// Bearer-token protection for the admin paths (/metrics, /requests, /inspect), as an onRequest hook
// their routes add: `app.get(path, { onRequest: adminAuth(opts.adminToken) }, handler)`.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'

const BEARER = /^bearer[ \t]+/i

/** Digests have one length whatever the token's, so the comparison leaks neither content nor length. */
function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const m = BEARER.exec(header)
  return m === null ? undefined : header.slice(m[0].length).trim()
}

/** True when the header carries exactly this token, compared in constant time. */
export function tokenMatches (header: string | undefined, expected: Buffer): boolean {
  const token = bearerToken(header)
  // The digest is computed for a missing token too, so its absence costs the same time as a wrong one.
  return timingSafeEqual(digest(token ?? ''), expected) && token !== undefined
}

/**
 * An onRequest hook that answers 401 (Fastify's JSON error shape, `WWW-Authenticate: Bearer`) unless the
 * request carries `Authorization: Bearer <token>`. An empty token means the paths are open: the result
 * is then undefined, which a route's `onRequest` option accepts, so open paths pay for no hook at all.
 */
export function adminAuth (token: string): onRequestHookHandler | undefined {
  if (token === '') return undefined
  const expected = digest(token)
  return function adminAuthHook (request: FastifyRequest, reply: FastifyReply, done: () => void) {
    if (tokenMatches(request.headers.authorization, expected)) {
      done()
      return
    }
    const given = request.headers.authorization !== undefined
    reply
      .code(401)
      .header('www-authenticate', given ? 'Bearer realm="echoscope", error="invalid_token"' : 'Bearer realm="echoscope"')
      .header('x-request-id', request.id)
      .send({
        statusCode: 401,
        code: 'ECHOSCOPE_UNAUTHORIZED',
        error: 'Unauthorized',
        message: given ? 'invalid admin token (--admin-token)' : 'this path needs Authorization: Bearer <admin token> (--admin-token)'
      })
  }
}
