// Response controls: request headers / query parameters that shape the response. Each control has one
// canonical header and query name plus the names other echo servers use, so their tests drop in unchanged.

export interface Controls {
  /** chosen status (weighted lists are resolved here) */
  status?: number
  /** delay in ms, already capped at --max-delay */
  delay?: number
  /** headers to add, in request order */
  headers: [string, string][]
  body?: string
  contentType?: string
  /** seconds an SSE echo keeps ticking */
  stream?: number
  /** the first failTimes requests of failKey fail */
  failTimes?: number
  failKey?: string
  /** status: an error answer; reset: the connection (HTTP/2: the stream) is reset */
  failMode?: 'status' | 'reset'
}

/** A control with an unusable value: 400 naming the control. */
export class ControlError extends Error {
  statusCode = 400
  code = 'ECHOSCOPE_INVALID_CONTROL'
  constructor (control: string, value: string, why: string) {
    super(`invalid ${control} ${JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)}: ${why}`)
  }
}

type ControlName = 'status' | 'delay' | 'header' | 'body' | 'contentType' | 'stream' | 'failTimes' | 'failKey' | 'failMode'

/** lower-cased request header → control. Aliases: mendhak (x-set-response-*), ealen (x-echo-code/time), Gateway API echo (x-echo-set-header). */
const HEADER_CONTROLS = new Map<string, ControlName>([
  ['x-echo-status', 'status'],
  ['x-set-response-status-code', 'status'],
  ['x-echo-code', 'status'],
  ['x-echo-delay', 'delay'],
  ['x-set-response-delay-ms', 'delay'],
  ['x-echo-time', 'delay'],
  ['x-echo-header', 'header'],
  ['x-echo-set-header', 'header'],
  ['x-echo-body', 'body'],
  ['x-echo-content-type', 'contentType'],
  ['x-set-response-content-type', 'contentType'],
  ['x-echo-stream', 'stream'],
  ['x-echo-fail-times', 'failTimes'],
  ['x-echo-fail-key', 'failKey'],
  ['x-echo-fail-mode', 'failMode']
])

const QUERY_CONTROLS = new Map<string, ControlName>([
  ['echo_status', 'status'],
  ['echo_code', 'status'],
  ['echo_delay', 'delay'],
  ['echo_time', 'delay'],
  ['echo_header', 'header'],
  ['echo_body', 'body'],
  ['echo_content_type', 'contentType'],
  ['echo_stream', 'stream'],
  ['echo_fail_times', 'failTimes'],
  ['echo_fail_key', 'failKey'],
  ['echo_fail_mode', 'failMode']
])

export const CONTROL_HEADER_NAMES = [...HEADER_CONTROLS.keys()]
export const CONTROL_QUERY_NAMES = [...QUERY_CONTROLS.keys()]

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// Field values may hold visible ASCII, spaces/tabs and obs-text; CR, LF and NUL would split or end the head.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
// Headers that would break message framing or switch off the sandbox that request-controlled output needs.
const FORBIDDEN_RESPONSE_HEADERS = new Set([
  'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te',
  'content-security-policy', 'x-content-type-options'
])
// A comma followed by `Name:` starts the next header in the list forms (`A: 1, B: 2`); commas inside values
// (dates in Set-Cookie, lists) are not followed by a token and a colon.
const HEADER_LIST_SPLIT = /,\s*(?=[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*:)/

function parseDelay (control: string, raw: string, maxDelay: number): number {
  const v = raw.trim()
  if (!/^\d{1,9}$/.test(v)) throw new ControlError(control, raw, 'must be a whole number of milliseconds')
  return Math.min(Number(v), maxDelay)
}

function parseStatusCode (control: string, raw: string, text: string): number {
  if (!/^\d{3}$/.test(text)) throw new ControlError(control, raw, 'must be a status code from 200 to 599, or a weighted list like 500:0.2,200:0.8')
  const code = Number(text)
  if (code < 200 || code > 599) throw new ControlError(control, raw, 'must be a status code from 200 to 599')
  return code
}

/** `503` or `500:0.2,200:0.8` (weights need not sum to 1; a code without weight counts 1). */
export function parseStatus (control: string, raw: string, random: () => number = Math.random): number {
  const v = raw.trim()
  if (!v.includes(',') && !v.includes(':')) return parseStatusCode(control, raw, v)
  const choices: [number, number][] = []
  let total = 0
  for (const part of v.split(',')) {
    const [codeText, weightText, extra] = part.trim().split(':')
    if (extra !== undefined) throw new ControlError(control, raw, 'each entry must be CODE or CODE:WEIGHT')
    const code = parseStatusCode(control, raw, codeText.trim())
    const weight = weightText === undefined ? 1 : Number(weightText.trim())
    if (!Number.isFinite(weight) || weight < 0 || weightText?.trim() === '') throw new ControlError(control, raw, 'weights must be non-negative numbers')
    choices.push([code, weight])
    total += weight
  }
  if (total <= 0) throw new ControlError(control, raw, 'at least one weight must be above 0')
  let pick = random() * total
  for (const [code, weight] of choices) {
    if (pick < weight) return code
    pick -= weight
  }
  return choices[choices.length - 1][0]
}

function parseHeaderLine (control: string, line: string, out: [string, string][]): void {
  const colon = line.indexOf(':')
  if (colon <= 0) throw new ControlError(control, line, 'must be "Name: value"')
  const name = line.slice(0, colon).trim()
  const value = line.slice(colon + 1).trim()
  if (!TOKEN.test(name)) throw new ControlError(control, line, 'the header name is not a valid HTTP token')
  if (!FIELD_VALUE.test(value)) throw new ControlError(control, line, 'the header value contains a control character (CR, LF, NUL…)')
  if (FORBIDDEN_RESPONSE_HEADERS.has(name.toLowerCase())) throw new ControlError(control, line, `${name} cannot be set by a control`)
  out.push([name, value])
}

function parseHeaders (control: string, raw: string, out: [string, string][]): void {
  if (!FIELD_VALUE.test(raw)) throw new ControlError(control, raw, 'contains a control character (CR, LF, NUL…)')
  for (const line of raw.split(HEADER_LIST_SPLIT)) {
    if (line.trim() !== '') parseHeaderLine(control, line, out)
  }
}

function parseContentType (control: string, raw: string): string {
  const v = raw.trim()
  if (!FIELD_VALUE.test(v) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/.test(v)) {
    throw new ControlError(control, raw, 'must be a media type like text/plain; charset=utf-8')
  }
  return v
}

function parseStream (control: string, raw: string, maxSeconds: number): number {
  const v = raw.trim()
  if (!/^\d{1,6}$/.test(v)) throw new ControlError(control, raw, 'must be a whole number of seconds')
  return Math.min(Number(v), maxSeconds)
}

export const MAX_FAIL_TIMES = 1000000
const FAIL_KEY = /^[\x21-\x7e]{1,200}$/

function parseFailTimes (control: string, raw: string): number {
  const v = raw.trim()
  if (!/^\d{1,7}$/.test(v) || Number(v) > MAX_FAIL_TIMES) throw new ControlError(control, raw, `must be a whole number of requests from 0 to ${MAX_FAIL_TIMES}`)
  return Number(v)
}

function parseFailKey (control: string, raw: string): string {
  const v = raw.trim()
  if (!FAIL_KEY.test(v)) throw new ControlError(control, raw, 'must be 1 to 200 visible ASCII characters, no spaces')
  return v
}

function parseFailMode (control: string, raw: string): 'status' | 'reset' {
  const v = raw.trim().toLowerCase()
  if (v !== 'status' && v !== 'reset') throw new ControlError(control, raw, 'must be status or reset')
  return v
}

export interface ControlLimits { maxDelay: number, maxStreamSeconds: number }

function apply (c: Controls, kind: ControlName, control: string, raw: string, limits: ControlLimits): void {
  switch (kind) {
    case 'status': c.status = parseStatus(control, raw); break
    case 'delay': c.delay = parseDelay(control, raw, limits.maxDelay); break
    case 'header': parseHeaders(control, raw, c.headers); break
    case 'body':
      if (!FIELD_VALUE.test(raw) && control.startsWith('x-')) throw new ControlError(control, raw, 'contains a control character')
      c.body = raw
      break
    case 'contentType': c.contentType = parseContentType(control, raw); break
    case 'stream': c.stream = parseStream(control, raw, limits.maxStreamSeconds); break
    case 'failTimes': c.failTimes = parseFailTimes(control, raw); break
    case 'failKey': c.failKey = parseFailKey(control, raw); break
    case 'failMode': c.failMode = parseFailMode(control, raw); break
  }
}

/**
 * Reads every control from the raw headers (each occurrence of a repeatable header counts) and the
 * query. Returns null when the request has none — the common case, kept allocation-free.
 */
export function readControls (rawHeaders: string[], query: Record<string, string | string[]>, limits: ControlLimits): Controls | null {
  let c: Controls | null = null
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]
    // Every control header starts with x-; skip the rest without lower-casing them.
    if (name.length < 11 || (name.charCodeAt(0) | 0x20) !== 0x78) continue
    const lower = name.toLowerCase()
    const kind = HEADER_CONTROLS.get(lower)
    if (kind === undefined) continue
    c ??= { headers: [] }
    apply(c, kind, lower, rawHeaders[i + 1], limits)
  }
  for (const key in query) {
    if (key.charCodeAt(0) !== 0x65 /* e */) continue
    const kind = QUERY_CONTROLS.get(key)
    if (kind === undefined) continue
    c ??= { headers: [] }
    const value = query[key]
    if (Array.isArray(value)) {
      for (const v of value) apply(c, kind, key, v, limits)
    } else {
      apply(c, kind, key, value, limits)
    }
  }
  // A key or mode without a count would silently do nothing: say so instead.
  if (c !== null && c.failTimes === undefined && (c.failKey !== undefined || c.failMode !== undefined)) {
    const [control, value] = c.failKey !== undefined ? ['x-echo-fail-key', c.failKey] : ['x-echo-fail-mode', c.failMode ?? '']
    throw new ControlError(control, value, 'needs x-echo-fail-times (or echo_fail_times), the number of requests to fail')
  }
  return c
}
