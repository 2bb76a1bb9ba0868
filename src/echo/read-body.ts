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

/** Longest a refused body is read and dropped before its 413 goes out. */
export const DRAIN_MS = 2000
/** Most bytes of a refused body read and dropped before its 413 goes out. */
export const DRAIN_BYTES = 64 * 1024 * 1024

/**
 * Reads and drops the rest of a body that will not be echoed, then calls `done`: at its end, or after
 * DRAIN_BYTES or DRAIN_MS, whichever comes first.
 *
 * Why: the 413 closes the connection, and closing a socket with unread input in the kernel's buffer sends
 * a TCP reset, which makes the client's kernel throw away an answer its application has not read yet. A
 * client that writes its whole body before reading (most HTTP libraries without Expect: 100-continue)
 * would see ECONNRESET or EPIPE instead of the 413. Drained, the connection ends with a FIN after the
 * answer. Nothing is kept: memory stays bounded, and the bounds cap what one client can make us read.
 */
function drainThen (req: IncomingMessage, received: number, done: () => void): void {
  let dropped = received
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    clearTimeout(timer)
    req.removeListener('data', onData)
    req.pause()
    done()
  }
  const onData = (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > DRAIN_BYTES) finish()
  }
  const timer = setTimeout(finish, DRAIN_MS)
  req.on('data', onData)
  req.once('end', finish)
  req.once('error', finish)
  req.once('close', finish)
  req.resume()
}

/**
 * Collects the body, never holding more than `limit` bytes: a declared Content-Length over the limit is
 * refused without keeping any of it; a chunked body is cut off as soon as it passes the limit. Either way
 * the rest is drained (drainThen) before the 413. `done` is called once.
 */
export function collectBody (req: IncomingMessage, limit: number, done: (err: HttpError | null, body: Buffer) => void): void {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) {
    drainThen(req, 0, () => done(bodyTooLarge(limit), EMPTY))
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
      chunks.length = 0
      drainThen(req, received, () => done(bodyTooLarge(limit), EMPTY))
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
