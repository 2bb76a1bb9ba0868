// One log line per request, with its request id, written by pino through request.log when the response is
// done. Fastify calls its log controller (a documented option) at that moment anyway, so replacing its
// two lines (incoming, completed) with this one costs no extra hook on the hot path.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { isRejectedRequest } from '../http/client-error.ts'

export interface RequestLogOptions {
  logRequests: boolean
  logHeaders: boolean
  /** paths logged at debug instead of info: probes would drown everything else */
  quietPaths: ReadonlySet<string>
}

type LineLevel = 'debug' | 'info' | 'error'

export class RequestLogController extends LogController {
  #opts: RequestLogOptions
  #quiet: string[]

  constructor (opts: RequestLogOptions) {
    // Fastify's other lines (errors, 404s) keep their default behaviour.
    super({ disableRequestLogging: false })
    this.#opts = opts
    this.#quiet = [...opts.quietPaths]
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
    const level: LineLevel = err != null || reply.statusCode >= 500 ? 'error' : this.#isQuiet(url) ? 'debug' : 'info'
    const log = request.log
    // Health probes at the default level: no line, so no fields gathered for one.
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
    if (this.#opts.logHeaders) line.headers = raw.headers
    log[level](line, 'request')
  }

  /** Whether the target's path is a quiet one (`/healthz?x` too), without cutting the query off. */
  #isQuiet (url: string): boolean {
    for (const path of this.#quiet) {
      if (url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 0x3f)) return true
    }
    return false
  }
}
