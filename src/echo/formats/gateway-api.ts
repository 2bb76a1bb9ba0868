// ?format=gateway-api — the JSON of the Kubernetes Gateway API conformance echo server (echo-basic,
// kubernetes-sigs/gateway-api conformance/echo-basic/echo-basic.go, `RequestAssertions`), so suites written
// against it (the Gateway API conformance roundtripper, ingress-controller-conformance) run unchanged.
//
// Go's server hands the handler `r.Header`, which is not the wire: names are canonicalised
// (textproto.CanonicalMIMEHeaderKey) and duplicates become one list per name, Host is removed (it is in
// r.Host), and net/http rewrites a few fields while reading the request. Those rewrites are reproduced
// here so a suite sees exactly the map echo-basic would have produced.
import type { Echo, TlsInfo } from '../types.ts'

export interface GatewayApiContext {
  namespace: string
  ingress: string
  service: string
  pod: string
  /** the local port that accepted the request, as a string (echo-basic's HTTP_PORT) */
  httpPort?: string
}

/** echo-basic's TLSAssertions */
export interface GatewayApiTls {
  version: string
  peerCertificates?: string[]
  serverName: string
  negotiatedProtocol?: string
  cipherSuite: string
}

/**
 * echo-basic's RequestAssertions, key order as Go marshals it. Current echo-basic has `httpPort`; releases
 * from 2024 had `sni` instead. Both are sent (Go's decoder ignores unknown fields), so either generation
 * of the suite reads what it expects.
 */
export interface GatewayApiEcho {
  path: string
  host: string
  method: string
  proto: string
  headers: Record<string, string[]>
  httpPort: string
  namespace: string
  ingress: string
  service: string
  pod: string
  tls?: GatewayApiTls
  sni: string
}

// RFC 9110 tchar by char code; Go leaves a name containing anything else (e.g. a space) uncanonicalised
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1

/** Go's textproto.CanonicalMIMEHeaderKey: `x-forwarded-FOR` → `X-Forwarded-For`. */
export function canonicalHeaderKey (name: string): string {
  let out = ''
  let changed = false
  let upper = true
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i)
    if (c > 127 || TCHAR[c] === 0) return name
    if (upper && c >= 97 && c <= 122) {
      c -= 32
      changed = true
    } else if (!upper && c >= 65 && c <= 90) {
      c += 32
      changed = true
    }
    out += String.fromCharCode(c)
    upper = c === 45 /* - */
  }
  // hand back the caller's string when it was already canonical, as most senders write it
  return changed ? out : name
}

type GoHeader = Map<string, string[]>

function goHeader (echo: Echo, http2: boolean): GoHeader {
  const h: GoHeader = new Map()
  for (const [name, value] of echo.rawHeaders) {
    // HTTP/2 pseudo-headers become r.Method, r.Host, r.RequestURI, never r.Header
    if (http2 && name.charCodeAt(0) === 58 /* : */) continue
    const key = canonicalHeaderKey(name)
    const list = h.get(key)
    if (list === undefined) h.set(key, [value])
    else list.push(value)
  }
  return h
}

/** What net/http's HTTP/1 server (readRequest, readTransfer) does to the map before the handler runs. */
function fixHttp1 (h: GoHeader, http11: boolean): void {
  h.delete('Host')
  if (h.has('Transfer-Encoding')) {
    h.delete('Transfer-Encoding')
    // Go ignores Transfer-Encoding on HTTP/1.0; on 1.1 it is chunked (anything else is refused), and a
    // chunked request loses Content-Length and Trailer
    if (http11) {
      h.delete('Content-Length')
      h.delete('Trailer')
    }
  }
  const cl = h.get('Content-Length')
  if (cl !== undefined && cl.length > 1) h.set('Content-Length', [cl[0].trim()]) // identical duplicates collapse
  const pragma = h.get('Pragma')
  if (pragma !== undefined && pragma[0] === 'no-cache' && !h.has('Cache-Control')) h.set('Cache-Control', ['no-cache'])
}

/** What golang.org/x/net/http2's server does (newWriterAndRequest). */
function fixHttp2 (h: GoHeader): void {
  const expect = h.get('Expect')
  if (expect !== undefined && expect[0].toLowerCase() === '100-continue') h.delete('Expect')
  const cookies = h.get('Cookie')
  if (cookies !== undefined && cookies.length > 1) h.set('Cookie', [cookies.join('; ')])
  h.delete('Trailer')
}

function headerObject (h: GoHeader): Record<string, string[]> {
  // encoding/json writes map keys sorted
  const keys = [...h.keys()].sort()
  const out: Record<string, string[]> = {}
  for (const key of keys) {
    const values = h.get(key) as string[]
    // a plain object would take "__proto__" as its prototype instead of a key
    if (key === '__proto__') Object.defineProperty(out, key, { value: values, enumerable: true, writable: true, configurable: true })
    else out[key] = values
  }
  return out
}

function firstHeader (echo: Echo, name: string): string | undefined {
  const v = echo.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** r.Host: the absolute-form or CONNECT target's authority wins over the Host header (RFC 9112 §3.2.2). */
function goHost (echo: Echo, http2: boolean): string {
  const url = echo.url
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (echo.method === 'CONNECT' && !http2) return url
    const scheme = url.indexOf('://')
    if (scheme !== -1) {
      let end = url.length
      for (const c of ['/', '?', '#']) {
        const i = url.indexOf(c, scheme + 3)
        if (i !== -1 && i < end) end = i
      }
      const authority = url.slice(scheme + 3, end)
      const host = authority.slice(authority.lastIndexOf('@') + 1)
      if (host !== '') return host
    }
  }
  if (http2) return firstHeader(echo, ':authority') ?? firstHeader(echo, 'host') ?? ''
  return firstHeader(echo, 'host') ?? ''
}

// Go's names: tls.VersionName style "TLSv1.x"; Node says "TLSv1" for 1.0
const TLS_VERSIONS: Record<string, string> = {
  TLSv1: 'TLSv1.0',
  'TLSv1.0': 'TLSv1.0',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3'
}

// Go's tls.CipherSuiteName gives IANA names; Node's cipher.name is OpenSSL's for TLS ≤ 1.2
const IANA_CIPHERS: Record<string, string> = {
  'ECDHE-RSA-AES128-GCM-SHA256': 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256': 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384': 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'ECDHE-ECDSA-AES256-GCM-SHA384': 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305': 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305': 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'ECDHE-RSA-AES128-SHA256': 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'ECDHE-ECDSA-AES128-SHA256': 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'ECDHE-RSA-AES128-SHA': 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'ECDHE-ECDSA-AES128-SHA': 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'ECDHE-RSA-AES256-SHA': 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'ECDHE-ECDSA-AES256-SHA': 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'AES128-GCM-SHA256': 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  'AES256-GCM-SHA384': 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  'AES128-SHA256': 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  'AES128-SHA': 'TLS_RSA_WITH_AES_128_CBC_SHA',
  'AES256-SHA': 'TLS_RSA_WITH_AES_256_CBC_SHA'
}

/** Go's pem.Encode of a DER certificate: 64-column base64 between the armour lines. */
function derToPem (der: Buffer): string {
  const b64 = der.toString('base64')
  let out = '-----BEGIN CERTIFICATE-----\n'
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n'
  return out + '-----END CERTIFICATE-----\n'
}

/** echo-basic lists the client's certificate chain as PEM; we have the leaf, as `pem` or DER `raw`. */
function peerCertificates (cert: Record<string, unknown> | undefined): string[] | undefined {
  if (cert === undefined) return undefined
  if (typeof cert.pem === 'string') return [cert.pem]
  const raw = cert.raw
  if (Buffer.isBuffer(raw)) return [derToPem(raw)]
  if (raw instanceof Uint8Array) return [derToPem(Buffer.from(raw))]
  if (typeof raw === 'string' && raw !== '') return [derToPem(Buffer.from(raw, 'base64'))]
  return undefined
}

function goTls (tls: TlsInfo): GatewayApiTls {
  // omitempty fields are added only when set, in Go's field order
  const out: GatewayApiTls = { version: TLS_VERSIONS[tls.version ?? ''] ?? '' } as GatewayApiTls
  const peers = peerCertificates(tls.clientCertificate as Record<string, unknown> | undefined)
  if (peers !== undefined) out.peerCertificates = peers
  out.serverName = tls.servername ?? ''
  if (tls.alpn !== null && tls.alpn !== '') out.negotiatedProtocol = tls.alpn
  out.cipherSuite = tls.cipher === null ? '' : IANA_CIPHERS[tls.cipher] ?? tls.cipher
  return out
}

/** The echo in echo-basic's shape; `ctx` is the Kubernetes context echo-basic reads from its env. */
export function formatGatewayApi (echo: Echo, ctx: GatewayApiContext): GatewayApiEcho {
  const http2 = echo.httpVersion.charCodeAt(0) === 50 /* 2 */
  const h = goHeader(echo, http2)
  if (http2) fixHttp2(h)
  else fixHttp1(h, echo.httpVersion === '1.1')
  const tls = echo.tls
  return {
    path: echo.url,
    host: goHost(echo, http2),
    method: echo.method,
    proto: 'HTTP/' + echo.httpVersion,
    headers: headerObject(h),
    httpPort: ctx.httpPort ?? '',
    namespace: ctx.namespace,
    ingress: ctx.ingress,
    service: ctx.service,
    pod: ctx.pod,
    // omitempty in Go: absent on plain HTTP
    ...(tls === undefined ? undefined : { tls: goTls(tls) }),
    sni: tls?.servername ?? ''
  }
}
