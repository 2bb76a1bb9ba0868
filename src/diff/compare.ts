// What changed between the request echoscope diff sent and the echo the server saw. Pure: no I/O.
import { createHash } from 'node:crypto'
import type { Echo, ProxyAnalysis, ServerIdentity } from '../echo/types.ts'
import type { WireRequest } from './wire.ts'
import { MARKER_HEADER } from '../echo/identity.ts'

export interface HeaderChange {
  sent: string
  received: string
  /** same value, only the name's letter case differs (sentName/receivedName show it) */
  caseOnly?: true
  sentName?: string
  receivedName?: string
  /** each line when the number of lines differs (a header split or merged) */
  sentLines?: string[]
  receivedLines?: string[]
}

export interface DiffResult {
  status: number
  method: { sent: string, received: string }
  path: { sent: string, received: string }
  query: { sent: string, received: string }
  headers: {
    added: Record<string, string>
    removed: Record<string, string>
    changed: Record<string, HeaderChange>
    /**
     * Only when the gateway changed the order: the names that arrived on both sides, lower-cased, in the order
     * each side had them (a name's first line counts; added and removed headers are left out).
     */
    reordered?: { sent: string[], received: string[] }
  }
  body: { same: boolean, sentBytes: number, receivedBytes: number }
  server: ServerIdentity
  proxy?: ProxyAnalysis
  /** The way back: what echoscope sent against what the client received (absent for a server without it). */
  response?: ResponseDiff
}

export interface ResponseDiff {
  status: { sent: number, received: number }
  headers: { added: Record<string, string>, removed: Record<string, string>, changed: Record<string, { sent: string, received: string }> }
}

/** A response that echoscope did not make: the gateway answered itself (its own 404, 413, 502, 504…). */
export interface GatewayAnswer {
  answeredBy: 'gateway'
  status: number
  headers: Record<string, string>
  /** the first bytes of the body, as text (invalid UTF-8 replaced) */
  bodyStart: string
  bodyBytes: number
}

/**
 * Headers the server's HTTP stack writes on its own (Node: date, connection, keep-alive; Fastify: content-length
 * once the body is serialised) or that only frame the body: echoscope cannot list them in its echo, and a
 * gateway re-framing the body (compressing it, chunking it) changes them without changing what was meant.
 */
export const STACK_HEADERS: ReadonlySet<string> = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

/** What the gateway added, removed or changed on the way back. */
export function compareResponse (sent: NonNullable<Echo['response']>, status: number, received: [string, string][]): ResponseDiff {
  const r = group(received)
  const added: Record<string, string> = {}
  const removed: Record<string, string> = {}
  const changed: Record<string, { sent: string, received: string }> = {}
  const sentNames = new Set<string>()
  for (const [name, value] of Object.entries(sent.headers)) {
    const lower = name.toLowerCase()
    sentNames.add(lower)
    if (STACK_HEADERS.has(lower)) continue
    const s = Array.isArray(value) ? value : [value]
    const lines = r.get(lower)
    if (lines === undefined) {
      removed[lower] = s.join(', ')
      continue
    }
    const rv = lines.map(([, v]) => v)
    if (rv.length !== s.length ? rv.join(', ') !== s.join(', ') : rv.some((v, i) => v !== s[i])) changed[lower] = { sent: s.join(', '), received: rv.join(', ') }
  }
  for (const [name, lines] of r) {
    if (!sentNames.has(name) && !STACK_HEADERS.has(name)) added[name] = joined(lines)
  }
  return { status: { sent: sent.status, received: status }, headers: { added, removed, changed } }
}

const BODY_START = 200

/** The gateway's own answer, as far as a report needs it. */
export function gatewayAnswer (status: number, headers: [string, string][], body: Buffer): GatewayAnswer {
  const h: Record<string, string> = {}
  for (const [name, lines] of group(headers)) h[name] = joined(lines)
  return { answeredBy: 'gateway', status, headers: h, bodyStart: body.subarray(0, BODY_START).toString('utf8'), bodyBytes: body.length }
}

/** True when the response carries the x-echoscope marker: echoscope made it, whatever its body. */
export function fromEchoscope (headers: [string, string][]): boolean {
  return headers.some(([n]) => n.toLowerCase() === MARKER_HEADER)
}

/** True when the JSON looks like an echoscope echo (and not a page from something else). */
export function isEcho (value: unknown): value is Echo {
  const v = value as Partial<Echo> | null
  return typeof v === 'object' && v !== null && typeof v.method === 'string' && Array.isArray(v.rawHeaders) &&
    typeof v.bodySha256 === 'string' && typeof v.server === 'object' && v.server !== null && typeof v.requestId === 'string'
}

function split (target: string): [string, string] {
  const q = target.indexOf('?')
  return q === -1 ? [target, ''] : [target.slice(0, q), target.slice(q + 1)]
}

function group (lines: [string, string][]): Map<string, [string, string][]> {
  const m = new Map<string, [string, string][]>()
  for (const line of lines) {
    const key = line[0].toLowerCase()
    const list = m.get(key)
    if (list === undefined) m.set(key, [line])
    else list.push(line)
  }
  return m
}

const joined = (lines: [string, string][]) => lines.map(([, v]) => v).join(', ')

export function compare (sent: WireRequest, status: number, echo: Echo, received: [string, string][] = []): DiffResult {
  const [sentPath, sentQuery] = split(sent.target)
  const [, receivedQuery] = split(echo.url)
  const s = group(sent.headers)
  const r = group(echo.rawHeaders)
  const added: Record<string, string> = {}
  const removed: Record<string, string> = {}
  const changed: Record<string, HeaderChange> = {}
  for (const [name, lines] of r) {
    if (!s.has(name)) added[name] = joined(lines)
  }
  for (const [name, sl] of s) {
    const rl = r.get(name)
    if (rl === undefined) {
      removed[name] = joined(sl)
      continue
    }
    const sv = sl.map(([, v]) => v)
    const rv = rl.map(([, v]) => v)
    if (sv.length !== rv.length || sv.some((v, i) => v !== rv[i])) {
      const change: HeaderChange = { sent: joined(sl), received: joined(rl) }
      if (sv.length !== rv.length) {
        change.sentLines = sv
        change.receivedLines = rv
      }
      changed[name] = change
    } else if (sl.some(([n], i) => n !== rl[i][0])) {
      changed[name] = { sent: joined(sl), received: joined(rl), caseOnly: true, sentName: sl[0][0], receivedName: rl[0][0] }
    }
  }
  const sentDigest = createHash('sha256').update(sent.body).digest('hex')
  // Maps keep first-appearance order, so their keys are each side's header order.
  const sentOrder = [...s.keys()].filter(name => r.has(name))
  const receivedOrder = [...r.keys()].filter(name => s.has(name))
  const reordered = sentOrder.some((name, i) => name !== receivedOrder[i])
  return {
    status,
    method: { sent: sent.method, received: echo.method },
    path: { sent: sentPath, received: echo.path },
    query: { sent: sentQuery, received: receivedQuery },
    headers: { added, removed, changed, ...(reordered ? { reordered: { sent: sentOrder, received: receivedOrder } } : {}) },
    body: { same: sentDigest === echo.bodySha256, sentBytes: sent.body.length, receivedBytes: echo.bodyBytes },
    server: echo.server,
    ...(echo.proxy !== undefined ? { proxy: echo.proxy } : {}),
    ...(echo.response !== undefined ? { response: compareResponse(echo.response, status, received) } : {})
  }
}

export interface Expectation { kind: 'header' | 'no-header', name: string, value?: string }

/** `NAME` or `NAME=VALUE` → an expectation on the headers the server received. */
export function parseExpectation (kind: Expectation['kind'], raw: string): Expectation {
  const eq = raw.indexOf('=')
  if (kind === 'header' && eq > 0) return { kind, name: raw.slice(0, eq).trim(), value: raw.slice(eq + 1) }
  return { kind, name: raw.trim() }
}

/** Each unmet expectation as one sentence; empty when the gateway behaved. */
export function unmet (expectations: Expectation[], echo: Echo): string[] {
  const r = group(echo.rawHeaders)
  const out: string[] = []
  for (const e of expectations) {
    const lines = r.get(e.name.toLowerCase())
    if (e.kind === 'no-header') {
      if (lines !== undefined) out.push(`expected no ${e.name} header, but the server received "${joined(lines)}"`)
    } else if (lines === undefined) {
      out.push(`expected header ${e.name}${e.value !== undefined ? ` = "${e.value}"` : ''}, but the server received none`)
    } else if (e.value !== undefined && !lines.some(([, v]) => v === e.value) && joined(lines) !== e.value) {
      out.push(`expected ${e.name} = "${e.value}", but the server received "${joined(lines)}"`)
    }
  }
  return out
}
