// Reads the request body straight from the socket stream, byte-exact, for every method (GET and custom
// methods included) and whatever the Content-Type says. Fastify's parsers would reject some inputs an echo
// server must show (a malformed media type, QUERY without Content-Type), so the echo owns this step.
import type { IncomingMessage } from 'node:http'

export class HttpError extends Error {
  statusCode: number
  code: string
  /** body bytes read before the error */
  bytesReceived: number
  constructor (statusCode: number, code: string, message: string, bytesReceived = 0) {
    super(message)
    this.statusCode = statusCode
    this.code = code
    this.bytesReceived = bytesReceived
  }
}

/** The code of the error for a body the client stopped sending (it closed the connection). */
export const BODY_ABORTED = 'ECHOSCOPE_BODY_ABORTED'

export const bodyTooLarge = (limit: number) =>
  new HttpError(413, 'FST_ERR_CTP_BODY_TOO_LARGE', `Request body is larger than the limit of ${limit} bytes (--body-limit)`)

/** True when the request carries a body to read (RFC 9112 §6.3). Cheap: two header lookups. */
export function hasBody (req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding']
  if (te !== undefined) return true
  const cl = req.headers['content-length']
  return cl !== undefined && cl !== '0'
}

/**
 * Collects the body, never holding more than `limit` bytes: a declared Content-Length over the limit is
 * refused before reading; a chunked body is cut off as soon as it passes the limit. `done` is called once.
 */
export function collectBody (req: IncomingMessage, limit: number, done: (err: HttpError | null, body: Buffer) => void): void {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) {
    done(bodyTooLarge(limit), EMPTY)
    return
  }
  const chunks: Buffer[] = []
  let received = 0
  // Listeners are never removed on the way to 'end' (the request object dies with them): `settled` makes
  // sure `done` runs once. A client that goes away mid-body destroys the request with an "aborted" error,
  // so 'error' covers that too.
  let settled = false
  const onData = (chunk: Buffer) => {
    if (settled) return
    received += chunk.length
    if (received > limit) {
      settled = true
      req.removeListener('data', onData)
      done(bodyTooLarge(limit), EMPTY)
      return
    }
    chunks.push(chunk)
  }
  req.on('data', onData)
  req.on('end', () => {
    if (settled) return
    settled = true
    done(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received))
  })
  req.on('error', (err: Error) => {
    if (settled) return
    settled = true
    done(new HttpError(400, BODY_ABORTED, `request body could not be read: ${err.message}`, received), EMPTY)
  })
}

const EMPTY = Buffer.alloc(0)
