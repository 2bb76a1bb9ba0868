// One log line per request, with its request id, written when the response is done. Fastify calls its
// log controller at that moment anyway, so overriding it costs no extra hook on the hot path. Other
// per-response work (the metrics histogram) rides on the same call through `observe`, for the same reason.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'

export interface RequestLogOptions {
  logRequests: boolean
  logHeaders: boolean
  /** paths logged at debug instead of info: probes would drown everything else */
  quietPaths: ReadonlySet<string>
}

/** Called once per finished response, after it was sent, with the ms it took; must not throw. */
export type ResponseObserver = (request: FastifyRequest, reply: FastifyReply, elapsedMs: number) => void

export class RequestLogController extends LogController {
  #opts: RequestLogOptions
  #observers: ResponseObserver[] = []

  constructor (opts: RequestLogOptions) {
    super({ disableRequestLogging: false })
    this.#opts = opts
  }

  override incomingRequest (): void {}

  /** Runs `fn` for every response Fastify completes (errors and 404s too), whether requests are logged or not. */
  observe (fn: ResponseObserver): void {
    this.#observers.push(fn)
  }

  override requestCompleted (err: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    this.#completed(err, request, reply, reply.elapsedTime)
  }

  /**
   * The same for a request Fastify does not track: targets its router cannot decode (`/%zz`) reach the
   * echo through frameworkErrors, where no response listener is set up and elapsedTime stays 0.
   */
  trackFallback (request: FastifyRequest, reply: FastifyReply): void {
    const start = performance.now()
    reply.raw.once('finish', () => this.#completed(null, request, reply, performance.now() - start))
  }

  #completed (err: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, elapsedMs: number): void {
    for (const fn of this.#observers) fn(request, reply, elapsedMs)
    if (!this.#opts.logRequests) return
    const raw = request.raw
    const url = raw.url ?? ''
    const q = url.indexOf('?')
    const level = err != null || reply.statusCode >= 500
      ? 'error'
      : this.#opts.quietPaths.has(q === -1 ? url : url.slice(0, q)) ? 'debug' : 'info'
    const log = request.log as unknown as Logger
    if (typeof log.isLevelEnabled !== 'function' || !log.isLevelEnabled(level)) return
    // Flat fields of primitive values: the cheapest line pino can write, and the easiest to grep.
    const line: Record<string, unknown> = {
      method: raw.method,
      url,
      statusCode: reply.statusCode,
      ip: request.ip,
      responseTime: Math.round(elapsedMs * 100) / 100
    }
    if (err != null) line.err = err
    // Values of the secret headers are replaced by pino's redaction (server.ts).
    if (this.#opts.logHeaders) line.headers = raw.headers
    log[level](line, 'request')
  }
}
