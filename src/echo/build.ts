// The pure request → echo mapping. Each optional analysis runs only when its headers are present, so
// a plain request pays for little more than copying its headers.
import { createHash, hash } from 'node:crypto'
import { parse as parseCookie } from 'cookie'
import { analyzeProxy } from './proxy.ts'
import { parseTrace, TRACE_HEADERS } from './trace.ts'
import { decodeHeaderJwts } from './jwt.ts'
import { CERTIFICATE_HEADERS, forwardedClientCertificates } from './certificate.ts'
import type { Echo, ParsedBody, RequestSnapshot, ServerIdentity } from './types.ts'

const EMPTY_SHA256 = createHash('sha256').digest('hex')

export function sha256Hex (buf: Buffer | null): string {
  // crypto.hash: one call, no Hash object per request (about 1 µs less per body on a 2-vCPU VM)
  return buf === null || buf.length === 0 ? EMPTY_SHA256 : hash('sha256', buf, 'hex')
}

const TRACE = 1
const CERTIFICATES = 2
const JWT = 4

/**
 * What one server's echo looks for beyond the basics, from its options: which header names call for
 * which optional analysis, and the --jwt-headers in their order (lower-case, each once). Made once per
 * server, not per request.
 */
export interface EchoAnalyses {
  byHeader: ReadonlyMap<string, number>
  jwtHeaders: readonly string[]
}

export function echoAnalyses (jwtHeaders: readonly string[]): EchoAnalyses {
  const names = [...new Set(jwtHeaders.map(h => h.toLowerCase()))]
  const byHeader = new Map<string, number>([
    ...TRACE_HEADERS.map((name): [string, number] => [name, TRACE]),
    ...CERTIFICATE_HEADERS.map((name): [string, number] => [name, CERTIFICATES])
  ])
  for (const name of names) byHeader.set(name, (byHeader.get(name) ?? 0) | JWT)
  return { byHeader, jwtHeaders: names }
}

/**
 * Which optional analyses the request's headers call for, from one look at each header it has: most
 * requests carry none of the dozen names those analyses read, and a look-up of a name an object lacks
 * is the slow kind when every request's headers object has a different shape.
 */
function optionalAnalyses (headers: RequestSnapshot['headers'], byHeader: ReadonlyMap<string, number>): number {
  let wanted = 0
  for (const name in headers) wanted |= byHeader.get(name) ?? 0
  return wanted
}

export function pairHeaders (raw: string[]): [string, string][] {
  const out: [string, string][] = new Array(raw.length >> 1)
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) out[j] = [raw[i], raw[i + 1]]
  return out
}

export function buildEcho (snap: RequestSnapshot, parsed: ParsedBody, server: ServerIdentity, analyses: EchoAnalyses): Echo {
  const url = snap.url
  const q = url.indexOf('?')
  const headers = snap.headers
  const analysis = analyzeProxy(snap.rawHeaders, snap.remote)
  const forwarded = analysis.forwarded
  let proxy = analysis.proxy
  const wanted = optionalAnalyses(headers, analyses.byHeader)
  const certs = (wanted & CERTIFICATES) === 0 ? undefined : forwardedClientCertificates(headers, snap.receivedAt)
  if (certs !== undefined) {
    // A copy: analyzeProxy's results are shared between requests.
    proxy = proxy === undefined
      ? { hops: [{ source: 'peer', address: snap.remote.address }], gateways: [], warnings: [], clientCertificates: certs }
      : { ...proxy, clientCertificates: certs }
  }
  const cookieHeader = headers.cookie
  const jwts = (wanted & JWT) === 0 ? undefined : decodeHeaderJwts(snap.rawHeaders, analyses.jwtHeaders, snap.receivedAt)

  const echo: Echo = {
    method: snap.method,
    url,
    path: q === -1 ? url : url.slice(0, q),
    query: snap.query,
    // Node's header type allows undefined for the names it declares; it never stores one.
    headers: headers as Echo['headers'],
    rawHeaders: pairHeaders(snap.rawHeaders),
    body: parsed.body,
    bodyEncoding: parsed.bodyEncoding,
    bodyBytes: snap.body === null ? 0 : snap.body.length,
    bodySha256: sha256Hex(snap.body),
    decodedBytes: parsed.decodedBytes,
    bodyError: parsed.bodyError,
    httpVersion: snap.httpVersion,
    protocol: snap.protocol,
    remote: snap.remote,
    ip: snap.ip,
    forwarded,
    cookies: typeof cookieHeader === 'string' ? parseCookies(cookieHeader) : {},
    jwt: jwts?.[0],
    jwts,
    trace: (wanted & TRACE) === 0 ? undefined : parseTrace(headers),
    tls: snap.tls,
    proxy,
    server,
    requestId: snap.requestId,
    receivedAt: isoString(snap.receivedAt),
    // Set by the route once the answer's status and headers are (and in the echo's shape from the start).
    response: undefined
  }
  return echo
}

let isoSecond = NaN
let isoPrefix = ''

/**
 * `date.toISOString()`, with the part up to the seconds formatted once per second: V8 formats ISO dates
 * through a printf-style routine, a measurable share of an echo when thousands are answered per second.
 */
export function isoString (date: Date): string {
  const ms = date.getTime()
  const second = Math.floor(ms / 1000)
  if (second !== isoSecond) {
    const full = date.toISOString()
    // Years outside 0000-9999 print longer (+010000-…); those are not cached.
    if (full.length !== 24) return full
    isoSecond = second
    isoPrefix = full.slice(0, 20)
  }
  const milli = ms - second * 1000
  return isoPrefix + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z'
}

function parseCookies (header: string): Record<string, string> {
  // cookie.parse returns a null-prototype object with undefined for names it drops; copy into a plain one.
  const parsed = parseCookie(header)
  const out: Record<string, string> = {}
  for (const k in parsed) {
    const v = parsed[k]
    if (v !== undefined) out[k] = v
  }
  return out
}

/** Per shared proxy analysis (or per identity when there is none): its JSON with the identity's after it. */
const tails = new WeakMap<object, { server: ServerIdentity, json: string }>()

function tailOf (proxy: Echo['proxy'], server: ServerIdentity): string {
  const serverJson = `,"server":${JSON.stringify(server)},"requestId":`
  return proxy === undefined ? serverJson : `,"proxy":${JSON.stringify(proxy)}${serverJson}`
}

/**
 * `JSON.stringify(echo)`, with the end of the echo (`proxy` and `server`, the same objects for every request
 * from one route through one chain of proxies) serialised once and reused: those nested objects were a fifth
 * of the time V8 spent serialising a forwarded GET. The result is only a few pieces long, so writing it costs
 * no more than writing one string.
 */
export function serializeEcho (echo: Echo): string {
  const { proxy, server, requestId, receivedAt, response } = echo
  // A proxy result with certificates is a per-request copy (buildEcho): nothing to reuse.
  const key = proxy === undefined ? server : proxy.clientCertificates === undefined ? proxy : null
  let tail: string
  if (key === null) {
    tail = tailOf(proxy, server)
  } else {
    const known = tails.get(key)
    if (known !== undefined && known.server === server) {
      tail = known.json
    } else {
      tail = tailOf(proxy, server)
      tails.set(key, { server, json: tail })
    }
  }
  // The trailing fields are hidden (undefined, which JSON leaves out) rather than copied into a second
  // object: the echo keeps its shape, and restoring them costs a few stores.
  echo.proxy = undefined
  ;(echo as { server?: ServerIdentity }).server = undefined
  ;(echo as { requestId?: string }).requestId = undefined
  ;(echo as { receivedAt?: string }).receivedAt = undefined
  echo.response = undefined
  let head: string
  try {
    head = JSON.stringify(echo)
  } finally {
    echo.proxy = proxy
    echo.server = server
    echo.requestId = requestId
    echo.receivedAt = receivedAt
    echo.response = response
  }
  return head.slice(0, -1) + tail + jsonString(requestId) + ',"receivedAt":"' + receivedAt + '"' +
    (response === undefined ? '}' : ',"response":' + JSON.stringify(response) + '}')
}

/** JSON.stringify for a string, without its call into V8's runtime (~0.13 µs) when nothing needs escaping. */
function jsonString (s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s)
  }
  return '"' + s + '"'
}
