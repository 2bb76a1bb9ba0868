import type { Static } from 'typebox'
import type { EchoResponse } from '../schemas/echo.ts'

// Shapes shared by the pure request → echo mapping. Nothing in src/echo/ touches Fastify or sockets:
// the route collects a RequestSnapshot and these modules turn it into the echo the client sees.

/** Everything the echo needs to know about one request, collected once by the route. */
export interface RequestSnapshot {
  method: string
  /** request target exactly as received (path + raw query) */
  url: string
  httpVersion: Echo['httpVersion']
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

// The echo's JSON, and its parts, as the schema in src/schemas/echo.ts documents them: one definition for
// the OpenAPI document and for the code that builds the echo.

/** The echo response (JSON format). */
export type Echo = Static<typeof EchoResponse>

export type BodyEncoding = Echo['bodyEncoding']
export type RemoteAddress = Echo['remote']
export type ForwardedInfo = NonNullable<Echo['forwarded']>
export type JwtInfo = NonNullable<Echo['jwt']>
export type TraceInfo = NonNullable<Echo['trace']>
export type TlsInfo = NonNullable<Echo['tls']>
export type ProxyAnalysis = NonNullable<Echo['proxy']>
export type ProxyHop = ProxyAnalysis['hops'][number]
export type ServerIdentity = Echo['server']
