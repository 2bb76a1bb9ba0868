// Each probe of `echoscope probe`: the requests it sends and how an answer is read. A response with the
// x-echoscope marker was made by echoscope; without it, by whatever stands in front (the gateway).
import { buildRequest, exchange, type Target, type WireRequest, type WireResponse } from '../diff/wire.ts'
import { fromEchoscope, isEcho } from '../diff/compare.ts'
import type { Echo } from '../echo/types.ts'
import { bisect, type Bisection, type Outcome } from './bisect.ts'

const KiB = 1024
const MiB = 1024 * KiB

/** Who refused, and how. */
export interface Refusal {
  by: 'gateway' | 'echoscope' | 'connection'
  status?: number
  /** the connection error, or why an answer did not count as passing */
  detail?: string
}

export interface LimitReport {
  /** the largest size that passed, in bytes; null when even the first try was refused */
  bytes: number | null
  /** the smallest size refused; null when nothing up to `max` was */
  refusedAt: number | null
  refusedBy: Refusal | null
  /** the search's cap, in bytes */
  max: number
  /** the refusal came from echoscope itself: the limit found is echoscope's, and this server flag raises it */
  echoscopeLimit?: string
  requests: number
}

/** A limit on a number of things (header lines) rather than bytes. */
export type CountReport = Omit<LimitReport, 'bytes'> & { count: number | null }

export interface StreamingReport {
  buffered: boolean | null
  /** when each SSE event was complete, ms after the request was sent */
  eventsAtMs: number[]
  detail?: string
}

export interface TimeoutReport {
  /** the longest delay answered by echoscope, in ms */
  ms: number | null
  /** the delay the gateway gave up at; null when nothing up to maxMs was */
  refusedAtMs: number | null
  refusedBy: Refusal | null
  maxMs: number
  /** echoscope's --max-delay capped the delay below the search's cap */
  echoscopeLimit?: string
  requests: number
}

export interface WebSocketReport { passes: boolean, status: number | null, detail: string }

export interface VersionsReport {
  /** the status line's version the client got */
  client: string | null
  /** what echoscope saw: the request's HTTP version and http or https */
  upstream: { httpVersion: string, protocol: string } | null
}

type Attempt = { res: WireResponse, echo: Echo | null, ms: number } | { error: Error, ms: number }

/** One request; a failure to connect or read is a result here, not an exception. */
async function attempt (target: Target, req: WireRequest, websocket = false, onBody?: (soFar: Buffer) => void): Promise<Attempt> {
  const start = performance.now()
  try {
    const res = await exchange(target, req, websocket, onBody)
    let echo: Echo | null = null
    try {
      const parsed: unknown = JSON.parse(res.body.toString('utf8'))
      if (isEcho(parsed)) echo = parsed
    } catch {}
    return { res, echo, ms: performance.now() - start }
  } catch (err) {
    return { error: err as Error, ms: performance.now() - start }
  }
}

/** The target with a query parameter added (kept after the user's own). */
export function withQuery (url: URL, params: Record<string, string>): URL {
  const u = new URL(url)
  for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v)
  return u
}

/** Passing means echoscope answered 2xx and `arrived` holds; anything else names who refused. */
function judge (a: Attempt, arrived: (echo: Echo | null) => boolean = () => true): Outcome<Refusal> {
  if ('error' in a) {
    const code = (a.error as NodeJS.ErrnoException).code
    return { ok: false, evidence: { by: 'connection', detail: code === 'ECONNRESET' || code === 'EPIPE' ? 'connection reset' : a.error.message } }
  }
  const { res } = a
  if (!fromEchoscope(res.headers)) return { ok: false, evidence: { by: 'gateway', status: res.status } }
  if (res.status < 200 || res.status > 299) return { ok: false, evidence: { by: 'echoscope', status: res.status } }
  if (!arrived(a.echo)) return { ok: false, evidence: { by: 'gateway', status: res.status, detail: 'echoscope answered, but what it received was cut or changed' } }
  return { ok: true, evidence: { by: 'echoscope', status: res.status } }
}

// Sizes cost bytes, so they are narrowed to 0.5%; a delay costs its own length, so the timeout stops at 2%.
const PRECISION = 0.005
const TIMEOUT_PRECISION = 0.02
const MAX_TRIES = 30

async function limit (test: (n: number) => Promise<Outcome<Refusal>>, start: number, max: number, flag: string, precision = PRECISION): Promise<LimitReport> {
  const r: Bisection<Refusal> = await bisect(test, { start, max, precision, maxTries: MAX_TRIES })
  return {
    bytes: r.passed,
    refusedAt: r.refused,
    refusedBy: r.evidence,
    max,
    ...(r.evidence?.by === 'echoscope' ? { echoscopeLimit: flag } : {}),
    requests: r.tries
  }
}

export const BODY_MAX = 64 * MiB
export const HEAD_MAX = 1 * MiB

/** The largest Content-Length body passed; echoscope answers a short `ok` so that the answer stays small. */
export function probeBody (target: Target): Promise<LimitReport> {
  const url = withQuery(target.url, { echo_body: 'ok' })
  return limit(async n => {
    const req = buildRequest(url, 'POST', [['Content-Type', 'application/octet-stream']], Buffer.alloc(n, 0x61), false)
    return judge(await attempt(target, req))
  }, 1 * KiB, BODY_MAX, '--body-limit')
}

const headBytes = (req: WireRequest) => Buffer.byteLength(`${req.method} ${req.target} HTTP/1.1\r\n` + req.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n', 'latin1')

const probeName = (i: number) => `X-Probe-${String(i).padStart(5, '0')}`

/** Lines of `X-Probe-00001: <value>` making up `room` bytes, each `line` bytes long (the last takes the rest). */
function probeLines (room: number, line: number): [string, string][] {
  const headers: [string, string][] = []
  // Each line is `X-Probe-00001: aaa…\r\n`: 17 bytes besides the value.
  while (room >= 18) {
    const size = room - line < 18 ? room : line
    headers.push([probeName(headers.length), 'a'.repeat(size - 17)])
    room -= size
  }
  return headers
}

const allArrived = (count: number) => (echo: Echo | null) => echo !== null && echo.rawHeaders.filter(([h]) => /^x-probe-\d{5}$/i.test(h)).length === count

/** The longest header line worth sending in a head probe: a 64 KiB line is already past any gateway's. */
export const LINE_MAX = 64 * KiB

/**
 * The largest request head (request line, headers, blank line) in bytes. It is made of as few lines as fit
 * the gateway's longest line (`lineMax`, from the single-header probe; half of it, so that two share a
 * buffer as nginx's large_client_header_buffers pack them), so that a limit on the number of header lines
 * (haproxy's tune.http.maxhdr) is not what refuses it: that is the header-lines probe's.
 */
export function probeHeaderBlock (target: Target, lineMax: number): Promise<LimitReport> {
  const line = Math.max(100, Math.min(LINE_MAX, Math.floor(lineMax / 2)))
  return limit(async n => {
    const base = buildRequest(target.url, 'GET', [], Buffer.alloc(0), false)
    const headers = probeLines(n - headBytes(base), line)
    const req = buildRequest(target.url, 'GET', headers, Buffer.alloc(0), false)
    return judge(await attempt(target, req), allArrived(headers.length))
  }, 4 * KiB, HEAD_MAX, '--max-header-size')
}

/** The search's cap for header lines: below the 2000 that Node (and so echoscope) keeps of a request. */
export const LINES_MAX = 1000

/** The most header lines passed, counting the request's own (Host, User-Agent…) and short `X-Probe-00001: a` lines. */
export async function probeHeaderLines (target: Target): Promise<CountReport> {
  const own = buildRequest(target.url, 'GET', [], Buffer.alloc(0), false).headers.length
  const { bytes, ...r } = await limit(async n => {
    const headers = probeLines(Math.max(0, n - own) * 18, 18)
    const req = buildRequest(target.url, 'GET', headers, Buffer.alloc(0), false)
    return judge(await attempt(target, req), allArrived(headers.length))
  }, 16, LINES_MAX, '--max-header-size', 0)
  return { count: bytes, ...r }
}

/** The largest value of one header line. */
export function probeHeaderValue (target: Target): Promise<LimitReport> {
  return limit(async n => {
    const req = buildRequest(target.url, 'GET', [['X-Probe-Value', 'a'.repeat(n)]], Buffer.alloc(0), false)
    return judge(await attempt(target, req), echo => {
      const line = echo?.rawHeaders.find(([h]) => h.toLowerCase() === 'x-probe-value')
      return line !== undefined && line[1].length === n
    })
  }, 1 * KiB, HEAD_MAX, '--max-header-size')
}

/** The longest request target (path and query) passed; the length is made up by a `pad` query parameter. */
export function probeUrl (target: Target): Promise<LimitReport> {
  return limit(async n => {
    const plain = target.url.pathname + target.url.search
    const prefix = plain + (target.url.search === '' ? '?' : '&') + 'pad='
    const pad = Math.max(0, n - prefix.length)
    const req = buildRequest(new URL(prefix + 'a'.repeat(pad), target.url), 'GET', [], Buffer.alloc(0), false)
    return judge(await attempt(target, req), echo => {
      const got = echo?.query.pad
      return (Array.isArray(got) ? got.at(-1) : got)?.length === pad
    })
  }, 1 * KiB, HEAD_MAX, '--max-header-size')
}

export const STREAM_SECONDS = 2

/**
 * An SSE echo that ticks once a second: streamed, its events arrive spread over the seconds; buffered by
 * the gateway, they arrive together at the end.
 */
export async function probeStreaming (target: Target): Promise<StreamingReport> {
  const url = withQuery(target.url, { echo_stream: String(STREAM_SECONDS) })
  const req = buildRequest(url, 'GET', [['Accept', 'text/event-stream']], Buffer.alloc(0), false)
  const times: number[] = []
  const start = performance.now()
  const a = await attempt({ ...target, timeoutMs: target.timeoutMs + STREAM_SECONDS * 1000 }, req, false, soFar => {
    const complete = soFar.toString('utf8').split('\n\n').length - 1
    while (times.length < complete) times.push(Math.round(performance.now() - start))
  })
  if ('error' in a) return { buffered: null, eventsAtMs: times, detail: a.error.message }
  const type = a.res.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? ''
  if (!fromEchoscope(a.res.headers) || !type.startsWith('text/event-stream')) {
    return { buffered: null, eventsAtMs: times, detail: `${a.res.status} ${type || 'without a content type'} from ${fromEchoscope(a.res.headers) ? 'echoscope' : 'the gateway'}, not an SSE echo` }
  }
  if (times.length < 2) return { buffered: null, eventsAtMs: times, detail: `${times.length} SSE event arrived` }
  // Ticks are a second apart; together within half the stream's length means held back and sent at once.
  return { buffered: times.at(-1)! - times[0] < STREAM_SECONDS * 500, eventsAtMs: times }
}

/**
 * The gateway's upstream read timeout: one request delayed by the whole `maxMs`; when the gateway gives up
 * first, the time it took says where to look, and one more request just below confirms it.
 */
export async function probeTimeout (target: Target, maxMs: number): Promise<TimeoutReport> {
  let echoscopeCap: number | null = null
  const test = async (ms: number): Promise<Outcome<Refusal> & { elapsed: number }> => {
    const url = withQuery(target.url, { echo_delay: String(ms), echo_body: 'ok' })
    const a = await attempt({ ...target, timeoutMs: target.timeoutMs + ms }, buildRequest(url, 'GET', [], Buffer.alloc(0), false))
    const o = judge(a)
    // An answer well before the delay asked for: echoscope capped it at its --max-delay.
    if (o.ok && a.ms < ms * 0.9) echoscopeCap = Math.round(a.ms)
    return { ...o, elapsed: a.ms }
  }
  const first = await test(maxMs)
  if (first.ok) {
    return echoscopeCap !== null
      ? { ms: echoscopeCap, refusedAtMs: null, refusedBy: null, maxMs, echoscopeLimit: '--max-delay', requests: 1 }
      : { ms: maxMs, refusedAtMs: null, refusedBy: null, maxMs, requests: 1 }
  }
  const seen = Math.min(Math.round(first.elapsed), maxMs)
  const r = await bisect(test, { start: 0, max: maxMs, precision: TIMEOUT_PRECISION, maxTries: 8, guess: Math.floor(seen * 0.985), refused: { value: seen, evidence: first.evidence } })
  return {
    ms: r.passed,
    refusedAtMs: r.refused,
    refusedBy: r.evidence,
    maxMs,
    ...(r.evidence?.by === 'echoscope' ? { echoscopeLimit: '--max-delay' } : {}),
    requests: r.tries + 1
  }
}

export async function probeWebSocket (target: Target): Promise<WebSocketReport> {
  const a = await attempt(target, buildRequest(target.url, 'GET', [], Buffer.alloc(0), true), true)
  if ('error' in a) return { passes: false, status: null, detail: a.error.message }
  const marked = fromEchoscope(a.res.headers)
  if (a.res.status === 101 && marked) return { passes: true, status: 101, detail: '101 from echoscope' }
  return { passes: false, status: a.res.status, detail: `${a.res.status} from ${marked ? 'echoscope: the upgrade did not reach it as one' : 'the gateway'}` }
}

/** A plain GET: the first request, so that an unreachable target or a route that is not echoscope's shows at once. */
export async function probeVersions (target: Target): Promise<{ report: VersionsReport, refusal: Refusal | null }> {
  const a = await attempt(target, buildRequest(target.url, 'GET', [], Buffer.alloc(0), false))
  if ('error' in a) return { report: { client: null, upstream: null }, refusal: { by: 'connection', detail: a.error.message } }
  const o = judge(a, echo => echo !== null)
  const report = { client: a.res.version ?? null, upstream: a.echo !== null ? { httpVersion: a.echo.httpVersion, protocol: a.echo.protocol } : null }
  return { report, refusal: o.ok ? null : o.evidence }
}
