// What the proxies in front of us said about the request: the RFC 7239 / X-Forwarded-* chain, Via,
// the original URL before a rewrite, which gateways left fingerprints, and the inconsistencies that
// usually explain a "wrong client IP", "wrong redirect" or "spoofed address" bug.

import { isIP } from 'node:net'
import parseForwardedHeader from 'forwarded-parse'
import type { ForwardedInfo, ProxyAnalysis, ProxyHop, RemoteAddress } from './types.ts'

// Header kinds. Plain numbers so the per-header switch stays a cheap integer compare.
const FORWARDED = 1
const XFF = 2
const XF_HOST = 3
const XF_PROTO = 4
const XF_PORT = 5
const XF_PREFIX = 6
const X_REAL_IP = 7
const VIA = 8
const HOST = 9
const ORIGINAL_URL = 10
const CDN_LOOP = 11
const XF_SERVER = 12
/** proxy-related, only its presence matters (X-Forwarded-Ssl, True-Client-IP, …) */
const PROXY_OTHER = 13
/** tracing/mTLS headers that hint at Istio next to Envoy, but that apps send themselves too */
const ISTIO_HINT = 14
/** a gateway fingerprint and nothing else */
const FINGERPRINT = 15

// Output order of `gateways` is this table's order, not arrival order, so diffs between runs stay stable.
const GATEWAY_NAMES = [
  'envoy', 'istio', 'kong', 'traefik', 'nginx', 'haproxy', 'varnish',
  'aws', 'cloudfront', 'cloudflare', 'gcp', 'azure', 'fastly', 'akamai'
]
const ENVOY = 0
const ISTIO = 1
const KONG = 2
const TRAEFIK = 3
const NGINX = 4
const HAPROXY = 5
const VARNISH = 6
const AWS = 7
const CLOUDFRONT = 8
const CLOUDFLARE = 9
const GCP = 10
const AZURE = 11
const FASTLY = 12
const AKAMAI = 13

interface HeaderRule { kind: number, gateway: number }

function rule (kind: number, gateway = -1): HeaderRule {
  return { kind, gateway }
}

const EXACT = new Map<string, HeaderRule>([
  ['forwarded', rule(FORWARDED)],
  ['x-forwarded-for', rule(XFF)],
  ['x-forwarded-host', rule(XF_HOST)],
  ['x-forwarded-proto', rule(XF_PROTO)],
  ['x-forwarded-port', rule(XF_PORT)],
  ['x-forwarded-prefix', rule(XF_PREFIX)],
  ['x-forwarded-server', rule(XF_SERVER)],
  ['x-real-ip', rule(X_REAL_IP)],
  ['via', rule(VIA)],
  ['host', rule(HOST)],
  ['cdn-loop', rule(CDN_LOOP)],
  ['x-original-uri', rule(ORIGINAL_URL)],
  ['x-original-url', rule(ORIGINAL_URL)],
  ['x-forwarded-uri', rule(ORIGINAL_URL)],
  ['x-rewrite-url', rule(ORIGINAL_URL)],
  ['x-envoy-original-path', rule(ORIGINAL_URL, ENVOY)],
  ['x-envoy-peer-metadata', rule(ISTIO_HINT, ENVOY)],
  ['x-envoy-peer-metadata-id', rule(ISTIO_HINT, ENVOY)],
  ['x-forwarded-client-cert', rule(ISTIO_HINT)],
  ['b3', rule(ISTIO_HINT)],
  // ingress-nginx keeps the incoming chain here when it rewrites X-Forwarded-For
  ['x-original-forwarded-for', rule(PROXY_OTHER)],
  ['true-client-ip', rule(PROXY_OTHER)],
  ['x-client-ip', rule(PROXY_OTHER)],
  ['x-cluster-client-ip', rule(PROXY_OTHER)],
  ['x-cloud-trace-context', rule(FINGERPRINT, GCP)],
  ['x-amz-cf-id', rule(FINGERPRINT, CLOUDFRONT)],
  ['x-amz-cf-pop', rule(FINGERPRINT, CLOUDFRONT)],
  ['x-varnish', rule(FINGERPRINT, VARNISH)]
])

interface PrefixRule extends HeaderRule { prefix: string }

// Indexed by the name's first character code: most request headers (accept, user-agent, …) then
// cost one array read and no string comparison at all.
const PREFIXES: (PrefixRule[] | undefined)[] = []
for (const [prefix, kind, gateway] of [
  ['x-envoy-', FINGERPRINT, ENVOY],
  ['x-b3-', ISTIO_HINT, -1],
  ['x-kong-', FINGERPRINT, KONG],
  ['x-amzn-', FINGERPRINT, AWS],
  ['x-goog-', FINGERPRINT, GCP],
  ['x-appengine-', FINGERPRINT, GCP],
  ['x-ms-', FINGERPRINT, AZURE],
  ['x-azure-', FINGERPRINT, AZURE],
  ['x-arr-', FINGERPRINT, AZURE],
  ['x-appgw-', FINGERPRINT, AZURE],
  ['x-fastly-', FINGERPRINT, FASTLY],
  ['x-akamai-', FINGERPRINT, AKAMAI],
  ['x-forwarded-', PROXY_OTHER, -1],
  ['cf-', FINGERPRINT, CLOUDFLARE],
  ['cloudfront-', FINGERPRINT, CLOUDFRONT],
  ['fastly-', FINGERPRINT, FASTLY],
  ['akamai-', FINGERPRINT, AKAMAI]
] as const) {
  const code = prefix.charCodeAt(0)
  ;(PREFIXES[code] ??= []).push({ prefix, kind, gateway })
}

// Substrings of a lower-cased Via / CDN-Loop value that name the product which added it.
const VIA_MARKS: [string, number][] = [
  ['envoy', ENVOY], ['kong', KONG], ['nginx', NGINX], ['haproxy', HAPROXY], ['varnish', VARNISH],
  ['cloudfront', CLOUDFRONT], ['google', GCP]
]
const CDN_LOOP_MARKS: [string, number][] = [
  ['cloudflare', CLOUDFLARE], ['fastly', FASTLY], ['akamai', AKAMAI]
]

// First characters (lower-cased with | 0x20) of every name in EXACT and PREFIXES.
const RELEVANT_FIRST: boolean[] = []
for (const name of EXACT.keys()) RELEVANT_FIRST[name.charCodeAt(0)] = true
for (let code = 0; code < PREFIXES.length; code++) if (PREFIXES[code] !== undefined) RELEVANT_FIRST[code] = true

const PORT_RE = /^\d{1,5}$/
const MAPPED_HEX_RE = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/
/** longest header value quoted verbatim in a warning; a spoofed header can be kilobytes */
const MAX_QUOTE = 120

/** Everything the second pass over rawHeaders collects. */
interface Scan {
  forwarded?: string[]
  xff?: string[]
  xfHost?: string[]
  xfProto?: string[]
  xfPort?: string[]
  xfPrefix?: string[]
  xfServer: boolean
  xRealIp?: string[]
  via?: string[]
  cdnLoop?: string[]
  hosts?: string[]
  originalUrl?: { header: string, value: string }[]
  evidence: (string[] | undefined)[]
  istioHints?: string[]
}

export type ProxyResult = Readonly<{ forwarded?: ForwardedInfo, proxy?: ProxyAnalysis }>

const NOTHING: ProxyResult = Object.freeze({})

/**
 * The analysis is a function of the proxy headers alone (each name and value, in arrival order) and the
 * peer's address, and what a gateway or a load test sends repeats request after request: the result is
 * remembered per key. Bounded in entries and key length, and emptied when full, so clients sending ever
 * new values only make it miss. Results are shared between echoes: callers must not change them.
 */
const RESULTS = new Map<string, ProxyResult>()
const RESULTS_MAX = 1024
const RESULT_KEY_MAX = 4096

/** How many analyses are remembered now (for tests). */
export function rememberedAnalyses (): number {
  return RESULTS.size
}

export function analyzeProxy (rawHeaders: string[], remote: RemoteAddress): ProxyResult {
  // First pass: the key, and whether anything is worth analysing; nothing is allocated but the key.
  // Each record is "name\nvalue\n": neither may contain a line feed (HTTP forbids it in both).
  let key = ''
  let relevant = false
  let firstHost: string | undefined
  let hosts = 0
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]
    // Most request headers (user-agent, sec-*, origin, referer, …) are rejected on their first character.
    if (!RELEVANT_FIRST[raw.charCodeAt(0) | 0x20]) continue
    const hit = lookup(raw)
    if (hit === null) continue
    const value = rawHeaders[i + 1]
    const found = hit.rule
    if (found.kind === HOST) {
      // Every request has one Host; it matters only when another follows (the duplicate-Host warning).
      if (hosts++ === 0) {
        firstHost = value
        continue
      }
      relevant = true
    } else if (isEvidence(found)) {
      relevant = true
    }
    key += hit.name + '\n' + value + '\n'
  }
  if (!relevant) return NOTHING
  if (hosts > 1) key = 'host\n' + firstHost + '\n' + key
  key += remote.address
  if (key.length > RESULT_KEY_MAX) return build(scanHeaders(rawHeaders), remote)
  let result = RESULTS.get(key)
  if (result === undefined) {
    result = build(scanHeaders(rawHeaders), remote)
    if (RESULTS.size >= RESULTS_MAX) RESULTS.clear()
    RESULTS.set(key, result)
  }
  return result
}

/** A b3 or client-cert header alone is what apps and meshes send everywhere: not proxy evidence. */
function isEvidence (found: HeaderRule): boolean {
  return found.kind !== ISTIO_HINT || found.gateway !== -1
}

/**
 * Second pass, only when the result is not remembered: every proxy header, sorted by kind. (The same filter
 * as the first pass, written out in both: a shared iterator would cost a call per header on the hot path.)
 */
function scanHeaders (rawHeaders: string[]): Scan {
  const scan = newScan()
  let firstHost: string | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]
    if (!RELEVANT_FIRST[raw.charCodeAt(0) | 0x20]) continue
    const hit = lookup(raw)
    if (hit === null) continue
    const value = rawHeaders[i + 1]
    if (hit.rule.kind === HOST) {
      if (firstHost === undefined) firstHost = value
      else (scan.hosts ??= [firstHost]).push(value)
      continue
    }
    record(scan, hit.rule, hit.name, value)
  }
  return scan
}

interface Lookup { name: string, rule: HeaderRule }

// Clients send the same few spellings ("Accept-Encoding", "accept-encoding") over and over, so the
// lower-casing and table lookups are remembered per spelling; bounded so random names cannot grow it.
const LOOKUP_CACHE = new Map<string, Lookup | null>()
const LOOKUP_CACHE_MAX = 2048

function lookup (raw: string): Lookup | null {
  let hit = LOOKUP_CACHE.get(raw)
  if (hit !== undefined) return hit
  const name = raw.toLowerCase()
  const rule = EXACT.get(name) ?? matchPrefix(name)
  hit = rule === undefined ? null : { name, rule }
  if (LOOKUP_CACHE.size < LOOKUP_CACHE_MAX) LOOKUP_CACHE.set(raw, hit)
  return hit
}

function matchPrefix (name: string): HeaderRule | undefined {
  const candidates = PREFIXES[name.charCodeAt(0)]
  if (candidates === undefined) return undefined
  for (const candidate of candidates) {
    if (name.startsWith(candidate.prefix)) return candidate
  }
  return undefined
}

function newScan (): Scan {
  return { xfServer: false, evidence: [] }
}

function record (scan: Scan, found: HeaderRule, name: string, value: string): void {
  switch (found.kind) {
    case FORWARDED: (scan.forwarded ??= []).push(value); break
    case XFF: (scan.xff ??= []).push(value); break
    case XF_HOST: (scan.xfHost ??= []).push(value); break
    case XF_PROTO: (scan.xfProto ??= []).push(value); break
    case XF_PORT: (scan.xfPort ??= []).push(value); break
    case XF_PREFIX:
      (scan.xfPrefix ??= []).push(value)
      ;(scan.originalUrl ??= []).push({ header: name, value })
      break
    case XF_SERVER: scan.xfServer = true; break
    case X_REAL_IP: (scan.xRealIp ??= []).push(value); break
    case VIA: (scan.via ??= []).push(value); break
    case CDN_LOOP: (scan.cdnLoop ??= []).push(value); break
    case ORIGINAL_URL: (scan.originalUrl ??= []).push({ header: name, value }); break
    case ISTIO_HINT: addOnce(scan.istioHints ??= [], name); break
  }
  if (found.gateway !== -1) addOnce(scan.evidence[found.gateway] ??= [], name)
}

function addOnce (list: string[], item: string): void {
  if (!list.includes(item)) list.push(item)
}

function build (scan: Scan, remote: RemoteAddress): { forwarded?: ForwardedInfo, proxy: ProxyAnalysis } {
  const warnings: string[] = []
  const info: ForwardedInfo = {}

  const elements = scan.forwarded === undefined ? undefined : parseForwardedLines(scan.forwarded, warnings)
  if (elements !== undefined && elements.length > 0) info.forwarded = elements
  const xff = scan.xff === undefined ? undefined : splitList(scan.xff)
  if (xff !== undefined && xff.length > 0) info.xForwardedFor = xff
  if (scan.xfHost !== undefined) info.xForwardedHost = scan.xfHost.join(', ')
  if (scan.xfProto !== undefined) info.xForwardedProto = scan.xfProto.join(', ')
  if (scan.xfPort !== undefined) info.xForwardedPort = scan.xfPort.join(', ')
  if (scan.xfPrefix !== undefined) info.xForwardedPrefix = scan.xfPrefix.join(', ')
  if (scan.xRealIp !== undefined) info.xRealIp = scan.xRealIp.join(', ')

  const forwardedFor = elements?.map(element => element.for ?? '')
  checkChains(scan, forwardedFor, xff, info.xRealIp, warnings)
  checkDuplicates(scan, info, warnings)

  const hops = buildHops(elements, xff, info.xRealIp, scan.via, remote)
  const gateways = detectGateways(scan)
  // Documented key order (hops, originalUrl, gateways, warnings) is the order clients see.
  const proxy: ProxyAnalysis = scan.originalUrl === undefined
    ? { hops, gateways, warnings }
    : { hops, originalUrl: scan.originalUrl, gateways, warnings }
  return Object.keys(info).length > 0 ? { forwarded: info, proxy } : { proxy }
}

/** Each line on its own, so one broken proxy's line does not hide what the others wrote. */
function parseForwardedLines (lines: string[], warnings: string[]): Record<string, string>[] {
  const elements: Record<string, string>[] = []
  for (const line of lines) {
    try {
      for (const element of parseForwardedHeader(line)) elements.push(element)
    } catch (err) {
      warnings.push(`Forwarded value ${quote(line)} is not valid RFC 7239 (${(err as Error).message}) ` +
        'and was ignored; a port or IPv6 address must be quoted, as in for="[2001:db8::1]:4711".')
    }
  }
  return elements
}

function splitList (lines: string[]): string[] {
  const out: string[] = []
  for (const line of lines) {
    // one address per line is the common case and needs no split
    if (!line.includes(',')) {
      const item = line.trim()
      if (item !== '') out.push(item)
      continue
    }
    for (const part of line.split(',')) {
      const item = part.trim()
      if (item !== '') out.push(item)
    }
  }
  return out
}

function checkChains (
  scan: Scan,
  forwardedFor: string[] | undefined,
  xff: string[] | undefined,
  xRealIp: string | undefined,
  warnings: string[]
): void {
  const chainsDisagree = forwardedFor !== undefined && forwardedFor.length > 0 &&
    xff !== undefined && xff.length > 0 && !sameChain(forwardedFor, xff)

  if (xff !== undefined && xff.length > 1) {
    warnings.push(`X-Forwarded-For ${quote(xff.join(', '))} has ${xff.length} entries: the left-most address ` +
      `${show(xff[0])} is whatever the client sent and can be spoofed; trust only the right-most entries your own proxies appended.`)
  }
  // When both chains agree one spoofing warning says it all.
  if (forwardedFor !== undefined && forwardedFor.length > 1 && (xff === undefined || chainsDisagree)) {
    warnings.push(`Forwarded has ${forwardedFor.length} elements: the left-most for=${show(forwardedFor[0])} is whatever ` +
      'the client sent and can be spoofed; trust only the right-most elements your own proxies appended.')
  }
  if (scan.xff !== undefined && scan.xff.length > 1) {
    warnings.push(`X-Forwarded-For arrived on ${scan.xff.length} separate header lines ` +
      `(${scan.xff.map(quote).join(', ')}); proxies and frameworks disagree whether to read the first, the last or all of them.`)
  }

  if (xff !== undefined) {
    const notIp: string[] = []
    const withPort: string[] = []
    for (const entry of xff) {
      const parsed = parseAddress(entry)
      if (parsed === undefined) notIp.push(entry)
      else if (parsed.port !== undefined) withPort.push(entry)
    }
    if (notIp.length === 1) {
      warnings.push(`X-Forwarded-For entry ${quote(notIp[0])} is not an IP address, so code that reads the chain may reject it or take it for the client.`)
    } else if (notIp.length > 1) {
      warnings.push(`X-Forwarded-For entries ${quoteSome(notIp)} are not IP addresses, so code that reads the chain may reject them or take them for the client.`)
    }
    if (withPort.length > 0) {
      const subject = withPort.length === 1 ? 'entry' : 'entries'
      const verb = withPort.length === 1 ? 'carries' : 'carry'
      warnings.push(`X-Forwarded-For ${subject} ${quoteSome(withPort)} ${verb} a port (Azure Application Gateway ` +
        'does this), which many frameworks cannot match against their trusted proxies.')
    }
  }
  if (forwardedFor !== undefined) {
    // RFC 7239 allows "unknown" and "_obfuscated" identifiers, so only anything else is suspicious.
    const bad = forwardedFor.filter(value => value !== '' && value.toLowerCase() !== 'unknown' &&
      value.charCodeAt(0) !== 95 && parseAddress(value) === undefined)
    if (bad.length > 0) {
      warnings.push(`Forwarded for=${quoteSome(bad)} is neither an IP address nor an RFC 7239 obfuscated identifier ("unknown" or "_name").`)
    }
  }
  if (chainsDisagree) {
    warnings.push(`Forwarded says for=${quote(forwardedFor.join(', '))} but X-Forwarded-For says ${quote(xff.join(', '))}; ` +
      'a proxy updated one header and not the other, so apps reading different headers see different clients.')
  }
  if (xRealIp !== undefined) {
    if (parseAddress(xRealIp) === undefined) {
      warnings.push(`X-Real-IP ${quote(xRealIp)} is not an IP address.`)
    } else if (xff !== undefined && xff.length > 0 && !sameAddress(xRealIp, xff[xff.length - 1])) {
      warnings.push(`X-Real-IP ${xRealIp} is not the right-most X-Forwarded-For entry ${show(xff[xff.length - 1])}, ` +
        'so the proxies in front disagree about the client address; check which header your app trusts.')
    }
  }
}

function checkDuplicates (scan: Scan, info: ForwardedInfo, warnings: string[]): void {
  if (scan.hosts !== undefined) {
    warnings.push(`Host arrived ${scan.hosts.length} times (${quoteSome(scan.hosts)}); servers, proxies and caches ` +
      'pick different ones, which enables cache poisoning and routing bypasses.')
  }
  if (scan.xfHost !== undefined && scan.xfHost.length > 1) {
    warnings.push(`X-Forwarded-Host arrived ${scan.xfHost.length} times (${quoteSome(scan.xfHost)}); frameworks pick ` +
      'different ones, so generated redirects and links may point at the wrong host.')
  }
  if (info.xForwardedProto !== undefined && info.xForwardedProto.includes(',')) {
    warnings.push(`X-Forwarded-Proto ${quote(info.xForwardedProto)} holds several values; most frameworks expect ` +
      'exactly one and may build http:// links behind HTTPS.')
  }
  if (info.xForwardedPort !== undefined && !PORT_RE.test(info.xForwardedPort)) {
    warnings.push(`X-Forwarded-Port ${quote(info.xForwardedPort)} is not a single port number.`)
  }
}

function buildHops (
  elements: Record<string, string>[] | undefined,
  xff: string[] | undefined,
  xRealIp: string | undefined,
  via: string[] | undefined,
  remote: RemoteAddress
): ProxyHop[] {
  const hops: ProxyHop[] = []
  if (elements !== undefined && elements.length > 0) {
    for (const element of elements) {
      const hop: ProxyHop = { source: 'forwarded' }
      if (element.for !== undefined) hop.address = element.for
      if (element.by !== undefined) hop.by = element.by
      if (element.proto !== undefined) hop.proto = element.proto
      if (element.host !== undefined) hop.host = element.host
      hops.push(hop)
    }
  } else if (xff !== undefined && xff.length > 0) {
    for (const address of xff) hops.push({ source: 'x-forwarded-for', address })
  } else if (xRealIp !== undefined) {
    hops.push({ source: 'x-real-ip', address: xRealIp })
  }
  // Via names the proxies themselves, in the order they were passed; it cannot be paired with
  // the addresses above, so those hops come after the address hops.
  if (via !== undefined) {
    for (const line of via) {
      for (const entry of splitVia(line)) hops.push({ source: 'via', via: entry })
    }
  }
  hops.push(remote.address ? { source: 'peer', address: remote.address } : { source: 'peer' })
  return hops
}

/** Via entries are comma-separated, but a comment in parentheses may itself contain commas. */
function splitVia (value: string): string[] {
  const out: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code === 40) depth++
    else if (code === 41 && depth > 0) depth--
    else if (code === 44 && depth === 0) {
      const entry = value.slice(start, i).trim()
      if (entry !== '') out.push(entry)
      start = i + 1
    }
  }
  const last = value.slice(start).trim()
  if (last !== '') out.push(last)
  return out
}

function detectGateways (scan: Scan): { name: string, evidence: string[] }[] {
  const evidence = scan.evidence
  if (scan.via !== undefined) markByValue(evidence, scan.via, VIA_MARKS, 'via')
  if (scan.cdnLoop !== undefined) markByValue(evidence, scan.cdnLoop, CDN_LOOP_MARKS, 'cdn-loop')
  if (scan.xfServer && scan.xRealIp !== undefined) evidence[TRAEFIK] = ['x-forwarded-server', 'x-real-ip']
  // Istio is Envoy plus the mesh's tracing or client-certificate headers; either alone proves nothing.
  if (evidence[ENVOY] !== undefined && scan.istioHints !== undefined) evidence[ISTIO] = scan.istioHints

  const gateways: { name: string, evidence: string[] }[] = []
  for (let i = 0; i < GATEWAY_NAMES.length; i++) {
    const names = evidence[i]
    if (names !== undefined) gateways.push({ name: GATEWAY_NAMES[i], evidence: names })
  }
  return gateways
}

function markByValue (evidence: (string[] | undefined)[], values: string[], marks: [string, number][], header: string): void {
  const text = values.join(',').toLowerCase()
  for (const [mark, gateway] of marks) {
    if (text.includes(mark)) addOnce(evidence[gateway] ??= [], header)
  }
}

/** An address as proxies write it: bare IPv4/IPv6, `1.2.3.4:80`, or `[v6]:80`. */
function parseAddress (value: string): { ip: string, port?: string } | undefined {
  let ip = value
  let port: string | undefined
  if (value.charCodeAt(0) === 91) {
    const end = value.indexOf(']')
    if (end === -1) return undefined
    ip = value.slice(1, end)
    const rest = value.slice(end + 1)
    if (rest !== '') {
      if (rest.charCodeAt(0) !== 58) return undefined
      port = rest.slice(1)
    }
    if (isIP(ip) !== 6) return undefined
  } else {
    const colon = value.indexOf(':')
    if (colon !== -1 && colon === value.lastIndexOf(':')) {
      ip = value.slice(0, colon)
      port = value.slice(colon + 1)
      if (isIP(ip) !== 4) return undefined
    } else if (isIP(ip) === 0) {
      return undefined
    }
  }
  // RFC 7239 lets a proxy obfuscate the port as "_name".
  if (port !== undefined && !PORT_RE.test(port) && port.charCodeAt(0) !== 95) return undefined
  return port === undefined ? { ip } : { ip, port }
}

function canonicalIp (value: string): string {
  const parsed = parseAddress(value)
  if (parsed === undefined) return value.toLowerCase()
  let ip = parsed.ip.toLowerCase()
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) return ip.slice(7)
  if (isIP(ip) === 6) {
    try {
      ip = new URL(`http://[${ip}]/`).hostname.slice(1, -1)
    } catch {
      return ip // zone ids and the like: compare as written
    }
    const mapped = MAPPED_HEX_RE.exec(ip)
    if (mapped !== null) {
      const high = parseInt(mapped[1], 16)
      const low = parseInt(mapped[2], 16)
      return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
    }
  }
  return ip
}

function sameAddress (a: string, b: string): boolean {
  return a === b || canonicalIp(a) === canonicalIp(b)
}

function sameChain (a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (!sameAddress(a[i], b[i])) return false
  }
  return true
}

function quote (value: string): string {
  return JSON.stringify(value.length > MAX_QUOTE ? value.slice(0, MAX_QUOTE) + '…' : value)
}

/** Addresses read best bare; anything else is client-controlled text, so quote and shorten it. */
function show (value: string): string {
  return parseAddress(value) === undefined ? quote(value) : value
}

function quoteSome (values: string[]): string {
  const shown = values.slice(0, 5).map(quote).join(', ')
  return values.length > 5 ? `${shown} and ${values.length - 5} more` : shown
}
