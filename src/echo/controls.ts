// Response controls: request headers / query parameters that shape the response. Each control has one
// canonical header and query name plus the names other echo servers use, so their tests drop in unchanged.
import { FIELD_VALUE, FRAMING_HEADERS, MEDIA_TYPE, TOKEN } from '../http/syntax.ts'
import { FORMAT_NAMES } from './negotiate.ts'

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
  /** x-echo-format: the format the request asks for, as ?format= takes it */
  format?: string
}

/** A control with an unusable value: 400 naming the control. */
export class ControlError extends Error {
  statusCode = 400
  code = 'ECHOSCOPE_INVALID_CONTROL'
  constructor (control: string, value: string, why: string) {
    super(`invalid ${control} ${JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)}: ${why}`)
  }
}

export type ControlName = 'status' | 'delay' | 'wait' | 'header' | 'body' | 'contentType' | 'stream' | 'failTimes' | 'failKey' | 'failMode' | 'format' | 'bodyOnly' | 'envBody'

/**
 * lower-cased request header → control. Aliases: mendhak (x-set-response-*), ealen (x-echo-code/time/env-body),
 * Gateway API echo (x-echo-set-header).
 */
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
  ['x-echo-fail-mode', 'failMode'],
  ['x-echo-format', 'format'],
  ['x-echo-env-body', 'envBody']
])

/** query parameter → control: echoscope's echo_* names, and the query forms the other tools accept. */
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
  ['echo_fail_mode', 'failMode'],
  ['echo_env_body', 'envBody'],
  // mendhak/http-https-echo takes its headers' names as query parameters too, and response_body_only=true.
  ['x-set-response-status-code', 'status'],
  ['x-set-response-delay-ms', 'delay'],
  ['x-set-response-content-type', 'contentType'],
  ['response_body_only', 'bodyOnly'],
  // traefik/whoami: a Go duration (100ms, 1.5s, 1m30s).
  ['wait', 'wait']
])

export const CONTROL_HEADER_NAMES = [...HEADER_CONTROLS.keys()]
export const CONTROL_QUERY_NAMES = [...QUERY_CONTROLS.keys()]

// Headers that would break message framing or switch off the sandbox that request-controlled output needs.
const FORBIDDEN_RESPONSE_HEADERS = new Set([...FRAMING_HEADERS, 'content-security-policy', 'x-content-type-options'])
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

/**
 * `503`, `500:0.2,200:0.8` (weights need not sum to 1; a code without weight counts 1), or ealen's
 * `404-300` (one of the list, each as likely).
 */
export function parseStatus (control: string, raw: string, random: () => number = Math.random): number {
  const v = raw.trim()
  if (/^\d{3}(-\d{3})+$/.test(v)) {
    const codes = v.split('-').map(code => parseStatusCode(control, raw, code))
    return codes[Math.floor(random() * codes.length)]
  }
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
  if (!FIELD_VALUE.test(v) || !MEDIA_TYPE.test(v)) {
    throw new ControlError(control, raw, 'must be a media type like text/plain; charset=utf-8')
  }
  return v
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 }
const GO_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy

/** A Go duration as whoami's ?wait= takes it: `100ms`, `1.5s`, `1m30s`; milliseconds, rounded up, capped. */
export function parseGoDuration (control: string, raw: string, maxDelay: number): number {
  const v = raw.trim()
  let ms = 0
  let end = 0
  GO_PART.lastIndex = 0
  for (let m = GO_PART.exec(v); m !== null; m = GO_PART.exec(v)) {
    ms += Number(m[1]) * GO_UNITS[m[2]]
    end = GO_PART.lastIndex
  }
  if (v === '' || end !== v.length || !Number.isFinite(ms)) throw new ControlError(control, raw, 'must be a duration like 100ms, 1.5s or 1m30s')
  return Math.min(Math.ceil(ms), maxDelay)
}

function parseFormat (control: string, raw: string): string {
  const v = raw.trim().toLowerCase()
  if (!FORMAT_NAMES.has(v)) throw new ControlError(control, raw, `must be one of: ${[...FORMAT_NAMES].join(', ')}`)
  return v
}

/** response_body_only=true asks for the body; false (or empty) asks for nothing. */
function parseBodyOnly (control: string, raw: string): boolean {
  const v = raw.trim().toLowerCase()
  if (v === 'true' || v === '1' || v === 'yes') return true
  if (v === 'false' || v === '0' || v === 'no' || v === '') return false
  throw new ControlError(control, raw, 'must be true or false')
}

/** ealen's echo_env_body=NAME: the variable's value is the body, for the names --echo-env allows only. */
function envBody (control: string, raw: string, env: Readonly<Record<string, string>>): string {
  const name = raw.trim()
  if (!Object.hasOwn(env, name)) throw new ControlError(control, raw, 'not an environment variable --echo-env allows (or it is not set)')
  return env[name]
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

export interface ControlLimits {
  maxDelay: number
  maxStreamSeconds: number
  /** the --echo-env variables (name → value) that echo_env_body may serve; no other is ever read */
  env: Readonly<Record<string, string>>
}

function apply (c: Controls, kind: ControlName, control: string, raw: string, limits: ControlLimits): void {
  switch (kind) {
    case 'status': c.status = parseStatus(control, raw); break
    case 'delay': c.delay = parseDelay(control, raw, limits.maxDelay); break
    case 'wait': c.delay = parseGoDuration(control, raw, limits.maxDelay); break
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
    case 'format': c.format = parseFormat(control, raw); break
    case 'bodyOnly': if (parseBodyOnly(control, raw)) c.format = 'body'; break
    case 'envBody': c.body = envBody(control, raw, limits.env); break
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
