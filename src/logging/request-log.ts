// One log line per request, with its request id, written by pino through request.log when the response is
// done. Fastify calls its log controller (a documented option) at that moment anyway, so replacing its
// two lines (incoming, completed) with this one costs no extra hook on the hot path.
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { isRejectedRequest } from '../http/client-error.ts'
import { pathMatcher } from '../http/path-match.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** the request body as read by the echo, kept for the log line with --log-bodies only (else null) */
    echoscopeBody: Buffer | null
  }
}

export interface RequestLogOptions {
  logRequests: boolean
  logHeaders: boolean
  /** --log-bodies: headers and body in the line */
  logBodies: boolean
  /** --log-body-limit: most body bytes in a line */
  logBodyLimit: number
  /** --log-ignore-paths, resolved: paths that get no line unless their answer is a 5xx (probes would drown everything else) */
  ignorePaths: readonly string[]
}

/** The body fields of a --log-bodies line: UTF-8 as text, anything else as base64, cut at `limit` bytes. */
export function bodyFields (body: Buffer, limit: number): Record<string, unknown> {
  const utf8 = isUtf8(body)
  let end = Math.min(body.length, limit)
  // Cut at a character boundary, so the text never ends in half a character.
  if (utf8) while (end > 0 && end < body.length && (body[end] & 0xc0) === 0x80) end--
  const part = body.subarray(0, end)
  const fields: Record<string, unknown> = {
    body: utf8 ? part.toString('utf8') : part.toString('base64'),
    bodyEncoding: utf8 ? 'utf8' : 'base64',
    bodyBytes: body.length,
    bodySha256: createHash('sha256').update(body).digest('hex')
  }
  if (end < body.length) fields.bodyTruncated = true
  return fields
}

type LineLevel = 'info' | 'error'

export class RequestLogController extends LogController {
  #opts: RequestLogOptions
  #ignored: ((url: string) => boolean) | null

  constructor (opts: RequestLogOptions) {
    // Fastify's other lines (errors, 404s) keep their default behaviour.
    super({ disableRequestLogging: false })
    this.#opts = opts
    this.#ignored = pathMatcher(opts.ignorePaths)
  }

  override incomingRequest (): void {}

  override requestCompleted (err: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    this.#completed(err, request, reply, reply.elapsedTime)
  }

  /**
   * The same for a request Fastify does not track: targets its router cannot decode (`/%zz`) reach the
   * echo through frameworkErrors, where no response listener is set up and elapsedTime stays 0.
   */
  trackFallback (request: FastifyRequest, reply: FastifyReply): void {
    if (!this.#opts.logRequests) return
    const start = performance.now()
    reply.raw.once('finish', () => this.#completed(null, request, reply, performance.now() - start))
  }

  #completed (err: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, elapsedMs: number): void {
    if (!this.#opts.logRequests) return
    const raw = request.raw
    // A request refused before routing has its own line (client-error.ts), written whatever --log-requests says.
    if (reply.statusCode === 400 && isRejectedRequest(raw)) return
    const url = raw.url ?? ''
    const failed = err != null || reply.statusCode >= 500
    if (!failed && this.#ignored?.(url) === true) return
    const level: LineLevel = failed ? 'error' : 'info'
    const log = request.log
    // No line at this level, so no fields gathered for one.
    if (!(log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.(level)) return
    // Flat fields of primitive values: the cheapest line pino can write, and the easiest to grep.
    // (pino leaves out a field whose value is undefined: the address of a socket already gone is.)
    const line: Record<string, unknown> = {
      method: raw.method,
      url,
      statusCode: reply.statusCode,
      ip: request.ip,
      responseTime: Math.round(elapsedMs * 100) / 100
    }
    if (err != null) line.err = err
    // Values of the secret headers are replaced by pino's redaction (logger.ts).
    if (this.#opts.logHeaders || this.#opts.logBodies) line.headers = raw.headers
    if (this.#opts.logBodies && request.echoscopeBody !== null) Object.assign(line, bodyFields(request.echoscopeBody, this.#opts.logBodyLimit))
    log[level](line, 'request')
  }
}
