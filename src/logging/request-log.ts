// One log line per request, with its request id, written when the response is done. Fastify calls its
// log controller at that moment anyway, so overriding it costs no extra hook on the hot path. Other
// per-response work (the metrics histogram) rides on the same call through `observe`, for the same reason.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { isRejectedRequest } from '../http/client-error.ts'

/** A batch of log bytes a line can be encoded straight into (log-destination.ts's BatchedDestination). */
export interface LineBatch {
  /** room for up to `max` bytes from `end`, or null when more than a batch holds */
  reserve: (max: number) => Buffer | null
  readonly end: number
  commit: (end: number) => void
  write: (line: string) => unknown
}

/** Where the request line can be written directly, as pino would write it (see RequestLogController). */
export interface DirectLines {
  dest: LineBatch
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
type LineLevel = keyof typeof LEVEL_NUMBERS

// The request line's constant parts, encoded once.
const HEADS = {
  debug: Buffer.from('{"level":20,"time":'),
  info: Buffer.from('{"level":30,"time":'),
  error: Buffer.from('{"level":50,"time":')
}
const METHOD = Buffer.from(',"method":')
const URL_KEY = Buffer.from(',"url":')
const STATUS = Buffer.from(',"statusCode":')
const IP = Buffer.from(',"ip":')
const RESPONSE_TIME = Buffer.from(',"responseTime":')
const TAIL = Buffer.from(',"msg":"request"}\n')
/** Every constant part, the longest time and status, a response time and some slack. */
const FIXED_BYTES = 256
/** A JSON-escaped UTF-16 unit takes at most 6 bytes (\u001f). */
const MAX_BYTES_PER_UNIT = 6

export class RequestLogController extends LogController {
  #opts: RequestLogOptions
  #observers: ResponseObserver[] = []
  #dest: LineBatch | null
  /** `,"pid":…,"hostname":…,"reqId":`: the part of every line after the time that never changes */
  #afterTime: string
  #afterTimeBytes: Buffer
  #quiet: string[]
  #time = new EpochDigits()

  constructor (opts: RequestLogOptions) {
    super({ disableRequestLogging: false })
    this.#opts = opts
    this.#quiet = [...opts.quietPaths]
    const direct = opts.logHeaders ? undefined : opts.direct
    this.#dest = direct === undefined ? null : direct.dest
    this.#afterTime = direct === undefined ? '' : `,"pid":${direct.base.pid},"hostname":${JSON.stringify(direct.base.hostname)},"reqId":`
    this.#afterTimeBytes = Buffer.from(this.#afterTime)
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
    // A request refused before routing has its own line (client-error.ts), written whatever --log-requests says.
    if (reply.statusCode === 400 && isRejectedRequest(raw)) return
    const url = raw.url ?? ''
    const level = err != null || reply.statusCode >= 500 ? 'error' : this.#isQuiet(url) ? 'debug' : 'info'
    const log = request.log as unknown as Logger
    if (typeof log.isLevelEnabled !== 'function' || !log.isLevelEnabled(level)) return
    const hundredths = Math.round(elapsedMs * 100)
    const ip = request.ip
    // (pino leaves out a field whose value is undefined: the address of a socket already gone is)
    if (err == null && this.#dest !== null && typeof ip === 'string') {
      // The line pino would write for log[level]({ method, url, statusCode, ip, responseTime }, 'request'),
      // byte for byte (a test compares them), encoded straight into the log batch: pino's generic path (its
      // child logger's bindings, a field loop with a type switch per value, then its destination) cost ~3 µs
      // per request on a 2-vCPU VM, and a line built as a string ~2 µs more (its pieces, then
      // flattening and encoding them at the batch's write): together a tenth of a whole echo.
      const id = String(request.id)
      const method = raw.method ?? ''
      if (this.#encode(level, id, method, url, reply.statusCode, ip, hundredths)) return
      this.#dest.write(`{"level":${LEVEL_NUMBERS[level]},"time":${Date.now()}${this.#afterTime}${JSON.stringify(id)},"method":${JSON.stringify(method)},"url":${JSON.stringify(url)},"statusCode":${reply.statusCode},"ip":${JSON.stringify(ip)},"responseTime":${hundredths / 100},"msg":"request"}\n`)
      return
    }
    // Flat fields of primitive values: the cheapest line pino can write, and the easiest to grep.
    const line: Record<string, unknown> = {
      method: raw.method,
      url,
      statusCode: reply.statusCode,
      ip,
      responseTime: hundredths / 100
    }
    if (err != null) line.err = err
    // Values of the secret headers are replaced by pino's redaction (server.ts).
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

  /** Writes the request line into the log batch; false when it must take the string path (a huge target). */
  #encode (level: LineLevel, id: string, method: string, url: string, statusCode: number, ip: string, hundredths: number): boolean {
    const dest = this.#dest as LineBatch
    if (!Number.isSafeInteger(hundredths) || hundredths < 0 || !Number.isSafeInteger(statusCode) || statusCode < 0) return false
    const max = FIXED_BYTES + this.#afterTimeBytes.length + MAX_BYTES_PER_UNIT * (id.length + method.length + url.length + ip.length)
    const buf = dest.reserve(max)
    if (buf === null) return false
    let at = dest.end
    at = putBytes(buf, at, HEADS[level])
    at = this.#time.put(buf, at, Date.now())
    at = putBytes(buf, at, this.#afterTimeBytes)
    at = putJsonString(buf, at, id)
    at = putBytes(buf, at, METHOD)
    at = putJsonString(buf, at, method)
    at = putBytes(buf, at, URL_KEY)
    at = putJsonString(buf, at, url)
    at = putBytes(buf, at, STATUS)
    at = putUint(buf, at, statusCode)
    at = putBytes(buf, at, IP)
    at = putJsonString(buf, at, ip)
    at = putBytes(buf, at, RESPONSE_TIME)
    at = putHundredths(buf, at, hundredths)
    at = putBytes(buf, at, TAIL)
    dest.commit(at)
    return true
  }
}

/**
 * Epoch milliseconds as JavaScript prints them, the seconds' ten digits spelled once per second: a line's
 * time then costs three digits, not thirteen divisions.
 */
export class EpochDigits {
  #second = -1
  #digits = Buffer.alloc(0)

  put (buf: Buffer, at: number, ms: number): number {
    const second = Math.floor(ms / 1000)
    // Outside 2001-09-09 … 2286-11-20 the seconds are not ten digits; those are printed in full.
    if (second < 1e9 || second >= 1e10 || !Number.isSafeInteger(ms)) return putUint(buf, at, ms)
    if (second !== this.#second) {
      this.#second = second
      this.#digits = Buffer.from(String(second))
    }
    at = putBytes(buf, at, this.#digits)
    const milli = ms - second * 1000
    buf[at] = 48 + Math.floor(milli / 100)
    buf[at + 1] = 48 + Math.floor(milli / 10) % 10
    buf[at + 2] = 48 + milli % 10
    return at + 3
  }
}

function putBytes (buf: Buffer, at: number, bytes: Buffer): number {
  buf.set(bytes, at)
  return at + bytes.length
}

/** A non-negative safe integer in decimal, as JavaScript prints it. */
export function putUint (buf: Buffer, at: number, n: number): number {
  let digits = 1
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++
  let p = at + digits
  do {
    buf[--p] = 48 + (n % 10)
    n = Math.floor(n / 10)
  } while (n > 0)
  return at + digits
}

/** `hundredths / 100` as JavaScript prints it (12.5, 0.07, 3), without making the number or its string. */
export function putHundredths (buf: Buffer, at: number, hundredths: number): number {
  const whole = Math.floor(hundredths / 100)
  const frac = hundredths - whole * 100
  at = putUint(buf, at, whole)
  if (frac === 0) return at
  buf[at++] = 0x2e
  buf[at++] = 48 + Math.floor(frac / 10)
  if (frac % 10 !== 0) buf[at++] = 48 + (frac % 10)
  return at
}

/**
 * `s` as a JSON string: printable ASCII without quote or backslash is copied as it is (request ids, methods,
 * most targets and addresses), anything else goes through JSON.stringify, so the bytes are always what
 * pino writes. The caller reserved MAX_BYTES_PER_UNIT bytes per unit plus the quotes.
 */
export function putJsonString (buf: Buffer, at: number, s: string): number {
  buf[at] = 0x22
  let p = at + 1
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return at + buf.write(JSON.stringify(s), at)
    buf[p++] = c
  }
  buf[p] = 0x22
  return p + 1
}
