// Requests that never become a request: Node's HTTP parser rejects them (garbage, a NUL in a header,
// Content-Length with Transfer-Encoding, a bad chunk size, a head over --max-header-size) and node:http
// hands them to the server's 'clientError' listener, which is Fastify's clientErrorHandler option. They
// get the right status with Fastify's JSON error shape naming the parser's reason, one log line, and a
// close that lets the answer arrive. Two checks node:http makes in the request path (an HTTP/1.1 request
// without Host, an HTTP/0.9 request line) get the same answer and line from an onRequest hook.
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { MARKER_HEADER } from '../echo/identity.ts'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** What node:http passes to 'clientError': llhttp's code and reason, and the bytes it was parsing. */
export interface ParserError extends Error {
  code?: string
  reason?: string
  rawPacket?: unknown
}

export const REJECTED_MESSAGE = 'request rejected by the HTTP parser'

/** How long a rejected connection's input is still read (and dropped) after the answer, at most. */
export const LINGER_MS = 2000

/** Bytes of the rejected input shown in the log line. */
const RAW_CAP = 200

/**
 * llhttp's codes in plain words. Some codes cover several mistakes; those look at llhttp's reason (the
 * same code means CL+TE on one Node and a duplicate Content-Length on another).
 */
const REASONS: Record<string, string | ((reason: string) => string)> = {
  HPE_INVALID_METHOD: 'invalid request method (is this HTTP at all?)',
  HPE_INVALID_URL: 'invalid character in the request target',
  HPE_INVALID_VERSION: 'invalid HTTP version',
  HPE_INVALID_CONSTANT: 'invalid request line (expected "HTTP/" and a version)',
  HPE_INVALID_HEADER_TOKEN: reason => /whitespace/i.test(reason)
    ? 'invalid header line (whitespace or an obsolete line folding)'
    : /value/i.test(reason) ? 'invalid header value' : 'invalid header name',
  HPE_UNEXPECTED_CONTENT_LENGTH: reason => /duplicate/i.test(reason)
    ? 'more than one Content-Length'
    : 'both Content-Length and Transfer-Encoding',
  HPE_INVALID_TRANSFER_ENCODING: reason => /content-length/i.test(reason)
    ? 'both Content-Length and Transfer-Encoding'
    : 'invalid Transfer-Encoding (chunked must be the last coding)',
  HPE_INVALID_CONTENT_LENGTH: 'invalid Content-Length',
  HPE_INVALID_CHUNK_SIZE: 'invalid chunk size in a chunked body',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'chunk extensions too large',
  HPE_HEADER_OVERFLOW: 'request head larger than --max-header-size',
  HPE_LF_EXPECTED: 'line feed expected after a carriage return',
  HPE_CR_EXPECTED: 'carriage return expected (lines end with CRLF)',
  HPE_STRICT: reason => `malformed request: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`,
  HPE_INVALID_EOF_STATE: 'connection closed before the request was complete',
  HPE_CLOSED_CONNECTION: 'data after a request with Connection: close',
  ERR_HTTP_REQUEST_TIMEOUT: 'request not received in time (--headers-timeout, --request-timeout)'
}

const STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  // node:http's own answer for it: a body limit of the parser's
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408
}

/** The status and message a rejected request gets: `plain reason (CODE)`. */
export function describeClientError (err: ParserError): { statusCode: number, reason: string, message: string } {
  const code = err.code ?? 'UNKNOWN'
  const known = REASONS[code]
  const parserReason = typeof err.reason === 'string' && err.reason !== '' ? err.reason : ''
  const reason = typeof known === 'function' ? known(parserReason) : known ?? (parserReason !== '' ? parserReason : err.message)
  return { statusCode: STATUS[code] ?? 400, reason, message: `${reason} (${code})` }
}

/** The client's bytes for a log line: printable ASCII as it is, anything else escaped, at most `cap` bytes. */
export function escapeBytes (buf: Buffer, cap = RAW_CAP): string {
  let out = ''
  const end = Math.min(buf.length, cap)
  for (let i = 0; i < end; i++) {
    const b = buf[i]
    if (b === 0x5c) out += '\\\\'
    else if (b === 0x0d) out += '\\r'
    else if (b === 0x0a) out += '\\n'
    else if (b === 0x09) out += '\\t'
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b)
    else out += '\\x' + b.toString(16).padStart(2, '0')
  }
  return buf.length > cap ? out + '…' : out
}

function errorBody (statusCode: number, message: string): string {
  return JSON.stringify({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message })
}

/** Connections whose request body the echo is reading (routes/echo.ts marks them). */
const bodiesInProgress = new WeakSet<Socket>()

export function bodyStarted (socket: Socket): void {
  bodiesInProgress.add(socket)
}

export function bodyEnded (socket: Socket): void {
  bodiesInProgress.delete(socket)
}

/** Connections already answered: node:http reports the failed parser again for every later read. */
const rejectedSockets = new WeakSet<Socket>()

/** Whether this connection's input was rejected by the parser (its request, if any, was answered so). */
export function rejectedByParser (socket: Socket | null | undefined): boolean {
  return socket != null && rejectedSockets.has(socket)
}

/**
 * Fastify's `clientErrorHandler` (and the --https-port listener's 'clientError'), bound to the Fastify
 * instance. With --coalesce-writes, write-coalescing.ts's listener runs before it (prepended), so responses
 * answered earlier in the same read have gone to the socket first and this answer comes after them.
 */
export function makeClientErrorHandler (marker: string): (this: FastifyInstance, err: ParserError, socket: Socket) => void {
  // Written by hand below, so the marker header is part of the bytes here.
  const markerLine = `${MARKER_HEADER}: ${marker}\r\n`
  return function clientErrorHandler (this: FastifyInstance, err: ParserError, socket: Socket): void {
    answerClientError(this, err, socket, markerLine)
  }
}

function answerClientError (app: FastifyInstance, err: ParserError, socket: Socket, markerLine: string): void {
  // A reset: the client is gone and nothing can be answered.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  if (rejectedSockets.has(socket)) return
  // The client closed in the middle of a body the echo is reading: not a request the parser rejected, but
  // one whose client went away, and the echo logs it so ("request aborted by the client"). A client that
  // only half-closed can still read the 400.
  const goneMidBody = err.code === 'HPE_INVALID_EOF_STATE' && bodiesInProgress.has(socket)
  if (!goneMidBody) rejectedSockets.add(socket)
  const { statusCode, reason, message } = describeClientError(err)
  const raw = err.rawPacket
  // Rejections are logged whatever --log-requests says: they are rare, and nothing else tells of them.
  if (!goneMidBody) {
    app.log.warn({
      code: err.code,
      reason,
      statusCode,
      ip: socket.remoteAddress,
      port: socket.remotePort,
      ...(Buffer.isBuffer(raw) ? { rawPacket: escapeBytes(raw), rawBytes: raw.length } : {})
    }, REJECTED_MESSAGE)
  }
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = errorBody(statusCode, message)
  socket.end(`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${markerLine}Connection: close\r\n\r\n${body}`)
  linger(socket)
}

/**
 * A lingering close: the answer is sent with end(), and the client's further input is still read and
 * dropped until it closes or LINGER_MS pass. Destroying at once, with unread input in the kernel's buffer,
 * sends a TCP reset, and a reset makes the client's kernel throw away an answer its application has not
 * read yet. node:http's own data listener keeps reading: its parser, failed, drops each chunk, so memory
 * stays bounded.
 */
function linger (socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  socket.once('end', () => socket.destroy())
  socket.once('close', () => clearTimeout(timer))
}

/** Requests answered by rejectRequest: their own request line is left out (the rejection line stands for it). */
const rejectedRequests = new WeakSet<IncomingMessage>()

export function isRejectedRequest (raw: IncomingMessage): boolean {
  return rejectedRequests.has(raw)
}

/**
 * The request-path checks, as an onRequest hook: HTTP/1.1 requires Host (RFC 9112 §3.2; node:http's
 * requireHostHeader would answer a bare 400 itself, so it is off and this answers instead), and llhttp
 * takes a request line without a version as HTTP/0.9, which has no headers and no status line to answer.
 */
export function requestRejection (raw: IncomingMessage): { code: string, reason: string } | null {
  if (raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1 && raw.headers.host === undefined) {
    return { code: 'HOST_MISSING', reason: 'HTTP/1.1 request without a Host header' }
  }
  if (raw.httpVersionMajor === 0) return { code: 'HTTP_09', reason: 'HTTP/0.9 request (no HTTP version in the request line)' }
  return null
}

/** Answers a request requestRejection refused: 400, the JSON error, Connection: close, one log line. */
export function rejectRequest (request: FastifyRequest, reply: FastifyReply, rejection: { code: string, reason: string }): void {
  const raw = request.raw
  rejectedRequests.add(raw)
  const log = request.log as FastifyBaseLogger
  log.warn({
    code: rejection.code,
    reason: rejection.reason,
    statusCode: 400,
    ip: raw.socket.remoteAddress,
    port: raw.socket.remotePort,
    method: raw.method,
    url: raw.url
  }, REJECTED_MESSAGE)
  reply.code(400).header('connection', 'close').type('application/json; charset=utf-8')
    .send(errorBody(400, `${rejection.reason} (${rejection.code})`))
}
