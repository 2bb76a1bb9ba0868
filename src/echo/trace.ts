// Distributed-tracing context as it arrived: W3C Trace Context, Zipkin B3 (single and multi header),
// AWS X-Ray and the de-facto x-request-id. Shown, never generated: a missing or broken header here
// is exactly what a user debugging a lost trace wants to see.

import type { TraceInfo } from './types.ts'

type Headers = Record<string, string | string[] | undefined>

const HEX2_RE = /^[0-9a-f]{2}$/
const TRACE_ID_RE = /^[0-9a-f]{32}$/
const PARENT_ID_RE = /^[0-9a-f]{16}$/
const ALL_ZERO_RE = /^0+$/

// The multi-header B3 names and the key each gets in `b3`.
const B3_HEADERS: [string, string][] = [
  ['x-b3-traceid', 'traceId'],
  ['x-b3-spanid', 'spanId'],
  ['x-b3-parentspanid', 'parentSpanId'],
  ['x-b3-sampled', 'sampled'],
  ['x-b3-flags', 'flags']
]

/** Every header parseTrace reads: a request with none of them skips it. */
export const TRACE_HEADERS: readonly string[] = ['traceparent', 'tracestate', 'b3', 'x-request-id', 'x-amzn-trace-id', ...B3_HEADERS.map(([name]) => name)]

export function parseTrace (headers: Headers): TraceInfo | undefined {
  const traceparent = single(headers.traceparent)
  const tracestate = single(headers.tracestate)
  const b3 = parseB3(headers)
  const requestId = single(headers['x-request-id'])
  const amzn = single(headers['x-amzn-trace-id'])
  if (traceparent === undefined && tracestate === undefined && b3 === undefined &&
    requestId === undefined && amzn === undefined) return undefined

  const info: TraceInfo = {}
  if (traceparent !== undefined) info.traceparent = parseTraceparent(traceparent)
  if (tracestate !== undefined) info.tracestate = parseList(tracestate, ',')
  if (b3 !== undefined) info.b3 = b3
  if (requestId !== undefined) info.requestId = requestId
  if (amzn !== undefined) info.amznTraceId = parseList(amzn, ';')
  return info
}

// Node joins repeated headers with ", "; a repeated traceparent then fails validation, which is
// what W3C asks for (more than one traceparent is invalid).
function single (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(', ')
}

function parseTraceparent (value: string): NonNullable<TraceInfo['traceparent']> {
  const parts = value.trim().split('-')
  const version = parts[0] ?? ''
  const traceId = parts[1] ?? ''
  const parentId = parts[2] ?? ''
  const flags = parts[3] ?? ''
  const flagsOk = HEX2_RE.test(flags)
  const valid = HEX2_RE.test(version) && version !== 'ff' &&
    // version 00 has exactly four fields; later versions may append more
    (version === '00' ? parts.length === 4 : true) &&
    TRACE_ID_RE.test(traceId) && !ALL_ZERO_RE.test(traceId) &&
    PARENT_ID_RE.test(parentId) && !ALL_ZERO_RE.test(parentId) &&
    flagsOk
  const sampled = flagsOk && (parseInt(flags, 16) & 1) === 1
  return { version, traceId, parentId, flags, sampled, valid }
}

/** `b3: {traceId}-{spanId}-{sampled}-{parentSpanId}` or just the sampling state; it wins over x-b3-*. */
function parseB3 (headers: Headers): Record<string, string> | undefined {
  let b3: Record<string, string> | undefined
  for (const [header, key] of B3_HEADERS) {
    const value = single(headers[header])
    if (value !== undefined) (b3 ??= {})[key] = value
  }
  const compact = single(headers.b3)
  if (compact === undefined) return b3
  b3 ??= {}
  const parts = compact.trim().split('-')
  if (parts.length === 1) {
    b3.sampled = parts[0]
    return b3
  }
  b3.traceId = parts[0]
  b3.spanId = parts[1]
  if (parts[2] !== undefined && parts[2] !== '') b3.sampled = parts[2]
  if (parts[3] !== undefined && parts[3] !== '') b3.parentSpanId = parts[3]
  return b3
}

/** `k=v<sep>k=v`; the first occurrence of a key wins (in tracestate the left-most is the newest). */
function parseList (value: string, separator: string): Record<string, string> {
  const entries = new Map<string, string>()
  for (const member of value.split(separator)) {
    const eq = member.indexOf('=')
    if (eq <= 0) continue
    const key = member.slice(0, eq).trim()
    if (key !== '' && !entries.has(key)) entries.set(key, member.slice(eq + 1).trim())
  }
  // fromEntries defines own properties, so a "__proto__" key stays data instead of touching the prototype.
  return Object.fromEntries(entries)
}
