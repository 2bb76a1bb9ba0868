import type { CertificateInfo, ForwardedCertificate } from './certificate.ts'

// Shapes shared by the pure request → echo mapping. Nothing in src/echo/ touches Fastify or sockets:
// the route collects a RequestSnapshot and these modules turn it into the echo the client sees.

/** Everything the echo needs to know about one request, collected once by the route. */
export interface RequestSnapshot {
  method: string
  /** request target exactly as received (path + raw query) */
  url: string
  httpVersion: string
  /** Node's flat rawHeaders array: name, value, name, value… in arrival order, original case */
  rawHeaders: string[]
  /** Node's joined, lower-cased headers */
  headers: Record<string, string | string[] | undefined>
  /** parsed query string (a string per name, an array when a name repeats) */
  query: Record<string, string | string[]>
  protocol: 'http' | 'https'
  remote: RemoteAddress
  /** client address after --trust-proxy rules */
  ip: string
  /** wire bytes of the body (after transfer decoding, before content decoding); null when none */
  body: Buffer | null
  tls?: TlsInfo
  requestId: string
  receivedAt: Date
}

export interface RemoteAddress {
  address: string
  port: number
  family: string
}

export interface TlsInfo {
  servername: string | null
  alpn: string | null
  cipher: string | null
  version: string | null
  /** the certificate the client presented (mTLS), whether or not it verified against --tls-ca */
  clientCertificate?: CertificateInfo & { authorized: boolean, authorizationError: string | null, pem: string }
}

export interface ServerIdentity {
  hostname: string
  instance: string
  version: string
  pod?: string
  namespace?: string
  node?: string
}

export type BodyEncoding = 'json' | 'form' | 'multipart' | 'text' | 'base64' | 'none'

export interface MultipartFile {
  field: string
  filename: string
  type: string
  size: number
  sha256: string
}

/** What the body decoder/parser produces for the echo. */
export interface ParsedBody {
  body: unknown
  bodyEncoding: BodyEncoding
  bodyError?: string
  /** size after Content-Encoding decoding, only when a content coding was applied */
  decodedBytes?: number
}

export interface ForwardedInfo {
  /** RFC 7239 Forwarded elements in order, each { for, by, host, proto, ... } */
  forwarded?: Array<Record<string, string>>
  /** X-Forwarded-For split into the address list, left-most first */
  xForwardedFor?: string[]
  xForwardedHost?: string
  xForwardedProto?: string
  xForwardedPort?: string
  xForwardedPrefix?: string
  xRealIp?: string
}

export interface ProxyHop {
  /** where the hop was learnt: 'forwarded' | 'x-forwarded-for' | 'via' | 'x-real-ip' | 'peer' */
  source: string
  address?: string
  by?: string
  proto?: string
  host?: string
  /** Via: protocol and pseudonym, e.g. "1.1 nginx" */
  via?: string
}

export interface ProxyAnalysis {
  /** client → … → this server, as far as the headers tell, with the TCP peer last */
  hops: ProxyHop[]
  /** original URL a gateway reported (X-Original-URI, X-Forwarded-Uri, X-Forwarded-Prefix, X-Envoy-Original-Path) */
  originalUrl?: { header: string, value: string }[]
  /** gateways recognised by their fingerprint headers: e.g. { name: 'envoy', evidence: ['x-envoy-expected-rq-timeout-ms'] } */
  gateways: { name: string, evidence: string[] }[]
  warnings: string[]
  /** client certificates a gateway forwarded in headers (XFCC, nginx, Traefik), decoded */
  clientCertificates?: ForwardedCertificate[]
}

export interface TraceInfo {
  traceparent?: { version: string, traceId: string, parentId: string, flags: string, sampled: boolean, valid: boolean }
  tracestate?: Record<string, string>
  b3?: Record<string, string>
  requestId?: string
  amznTraceId?: Record<string, string>
}

export interface JwtInfo {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  verified: false
  /** iat/nbf/exp as ISO dates when present */
  issuedAt?: string
  notBefore?: string
  expiresAt?: string
  expired?: boolean
}

/** The echo response (JSON format). Field order here is the order clients see. */
export interface Echo {
  method: string
  url: string
  path: string
  query: Record<string, string | string[]>
  headers: Record<string, string | string[] | undefined>
  rawHeaders: [string, string][]
  body: unknown
  bodyEncoding: BodyEncoding
  bodyBytes: number
  bodySha256: string
  decodedBytes?: number
  bodyError?: string
  httpVersion: string
  protocol: 'http' | 'https'
  remote: RemoteAddress
  ip: string
  forwarded?: ForwardedInfo
  cookies: Record<string, string>
  jwt?: JwtInfo
  trace?: TraceInfo
  tls?: TlsInfo
  proxy?: ProxyAnalysis
  server: ServerIdentity
  requestId: string
  receivedAt: string
}
