// One log line per request, with its request id, written when the response is done. Fastify calls its
// log controller at that moment anyway, so overriding it costs no extra hook on the hot path. Other
// per-response work (the metrics histogram) rides on the same call through `observe`, for the same reason.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'

/** Where the request line can be written directly, as pino would write it (see RequestLogController). */
export interface DirectLines {
  write: (line: string) => unknown
  /** pino's `base` fields, as the JSON pino puts after `time` (`,"pid":1,"hostname":"h"`) */
  base: { pid: number, hostname: string }
}

export interface RequestLogOptions {
  logRequests: boolean
  logHeaders: boolean
  /** set when logs are pino's plain JSON on stdout: the request line is then formatted here */
  direct?: DirectLines
  /** paths logged at debug instead of info: probes would drown everything else */
  quietPaths: ReadonlySet<string>
}

/** Called once per finished response, after it was sent, with the ms it took; must not throw. */
export type ResponseObserver = (request: FastifyRequest, reply: FastifyReply, elapsedMs: number) => void

/** pino's numbers for the levels a request line uses. */
const LEVEL_NUMBERS = { debug: 20, info: 30, error: 50 } as const

export class RequestLogController extends LogController {
  #opts: RequestLogOptions
  #observers: ResponseObserver[] = []
  #write: ((line: string) => unknown) | null
  /** `,"pid":…,"hostname":…,"reqId":`: the part of every line after the time that never changes */
  #afterTime: string

  constructor (opts: RequestLogOptions) {
    super({ disableRequestLogging: false })
    this.#opts = opts
    const direct = opts.logHeaders ? undefined : opts.direct
    this.#write = direct === undefined ? null : direct.write
    this.#afterTime = direct === undefined ? '' : `,"pid":${direct.base.pid},"hostname":${JSON.stringify(direct.base.hostname)},"reqId":`
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
    const responseTime = Math.round(elapsedMs * 100) / 100
    const ip = request.ip
    // (pino leaves out a field whose value is undefined: the address of a socket already gone is)
    if (err == null && this.#write !== null && typeof ip === 'string') {
      // The line pino would write for log[level]({ method, url, statusCode, ip, responseTime }, 'request'),
      // byte for byte (a test compares them), built as one string: pino's generic path (its child logger's
      // bindings, a field loop with a type switch per value, then its destination) cost ~3 µs per request
      // on the development VM, a tenth of a whole echo.
      this.#write(`{"level":${LEVEL_NUMBERS[level]},"time":${Date.now()}${this.#afterTime}${JSON.stringify(String(request.id))},"method":${JSON.stringify(raw.method)},"url":${JSON.stringify(url)},"statusCode":${reply.statusCode},"ip":${JSON.stringify(ip)},"responseTime":${responseTime},"msg":"request"}\n`)
      return
    }
    // Flat fields of primitive values: the cheapest line pino can write, and the easiest to grep.
    const line: Record<string, unknown> = {
      method: raw.method,
      url,
      statusCode: reply.statusCode,
      ip,
      responseTime
    }
    if (err != null) line.err = err
    // Values of the secret headers are replaced by pino's redaction (server.ts).
    if (this.#opts.logHeaders) line.headers = raw.headers
    log[level](line, 'request')
  }
}
