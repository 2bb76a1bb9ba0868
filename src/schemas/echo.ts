// The echo in the OpenAPI document: the response schema (every field of the echo, and the source of its
// TypeScript type, `Echo` in src/echo/types.ts) and the documentation of the catch-all routes. The routes
// carry only tags, summary and description, so Fastify compiles no validator or serializer for them and
// the echo keeps accepting anything at no extra cost; the parameters, body and responses are attached by
// the OpenAPI plugin's transform, through echoDocumentation() below.
import { Type, type TSchema } from 'typebox'
import type { FastifySchema } from 'fastify'
import { FORMATS } from '../echo/negotiate.ts'
import { CONTROL_HEADERS, CONTROL_QUERY } from './controls.ts'
import { errorResponse } from './error.ts'

export const ECHO_ID = 'Echo'

const Str = (description: string, examples?: string[]) => Type.String({ description, ...(examples !== undefined ? { examples } : {}) })
const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema)
const NullableStr = (description: string) => Type.Union([Type.String(), Type.Null()], { description })
const StrMap = (description: string) => Type.Record(Type.String(), Type.String(), { description })
const StrOrList = Type.Union([Type.String(), Type.Array(Type.String())])
function StrEnum<T extends string> (values: readonly T[], description: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], description })
}

const CertificateFields = {
  subject: Str('distinguished name, one line'),
  issuer: Str('issuer distinguished name, one line'),
  subjectAltName: NullableStr('subject alternative names'),
  validFrom: Str('ISO-8601 date'),
  validTo: Str('ISO-8601 date'),
  expired: Type.Boolean(),
  fingerprint256: Str('SHA-256 fingerprint'),
  serialNumber: Str('serial number (hex)')
}

/** A decoded token, in `jwt` and in each of `jwts`. */
const JwtFields = {
  source: Str('the lower-cased request header the token came from', ['authorization']),
  header: Type.Record(Type.String(), Type.Unknown(), { description: 'the JOSE header, decoded and not verified' }),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'the claims, decoded and not verified' }),
  verified: Type.Literal(false, { description: 'never verified: this is for looking, not for trusting' }),
  issuedAt: Opt(Str('iat as an ISO-8601 date')),
  notBefore: Opt(Str('nbf as an ISO-8601 date')),
  expiresAt: Opt(Str('exp as an ISO-8601 date')),
  expired: Opt(Type.Boolean({ description: 'whether exp has passed; absent without exp' }))
}

const ECHO_EXAMPLE = {
  method: 'POST',
  url: '/orders?x=1',
  path: '/orders',
  query: { x: '1' },
  headers: { host: 'localhost:8080', 'content-type': 'application/json', 'content-length': '8' },
  rawHeaders: [['Host', 'localhost:8080'], ['Content-Type', 'application/json'], ['Content-Length', '8']],
  body: { id: 7 },
  bodyEncoding: 'json',
  bodyBytes: 8,
  bodySha256: 'a3c90e3b7448d23d9eacebd0ebf15cae100e21f9b2c688f3f9d238edcd26d67f',
  httpVersion: '1.1',
  protocol: 'http',
  remote: { address: '192.0.2.10', port: 51514, family: 'IPv4' },
  ip: '192.0.2.10',
  cookies: {},
  server: { hostname: 'web-1', instance: 'web-1', version: '1.0.0' },
  requestId: '6f0c5c1e-3f0e-4d5c-9a57-1f1c2a3b4c5d',
  receivedAt: '2026-01-02T03:04:05.678Z',
  response: { status: 200, headers: { 'x-echoscope': 'web-1', 'x-request-id': '6f0c5c1e-3f0e-4d5c-9a57-1f1c2a3b4c5d', 'content-type': 'application/json; charset=utf-8' } }
}

export const EchoResponse = Type.Object({
  method: Str('the method as received, any token (PURGE, PROPFIND, QUERY… included)', ['POST']),
  url: Str('the request target exactly as received: path and raw query', ['/orders?x=1']),
  path: Str('the path part of the target, not decoded', ['/orders']),
  query: Type.Record(Type.String(), StrOrList, { description: 'the parsed query: a string per name, an array when a name repeats' }),
  headers: Type.Record(Type.String(), StrOrList, { description: 'lower-cased name → value as Node joins them (duplicates joined with ", "; set-cookie stays a list)' }),
  // A pair as minItems/maxItems: OpenAPI 3.1 has no `items` array, which is how TypeBox writes a tuple.
  rawHeaders: Type.Array(Type.Unsafe<[string, string]>(Type.Array(Type.String(), { minItems: 2, maxItems: 2 })), {
    description: '[name, value] pairs in arrival order, original case, duplicates kept'
  }),
  body: Type.Unknown({
    description: 'the body: the parsed JSON value, a form object (an array for a repeated name), ' +
      '`{ fields, files: [{ field, filename, type, size, sha256 }] }` for multipart, UTF-8 text, or base64 — see bodyEncoding; null when empty'
  }),
  bodyEncoding: StrEnum(['json', 'form', 'multipart', 'text', 'base64', 'none'] as const, 'how `body` is given'),
  bodyBytes: Type.Integer({ minimum: 0, description: 'exact byte count received (after transfer decoding, before content decoding)' }),
  bodySha256: Str('hex SHA-256 of those bytes'),
  decodedBytes: Opt(Type.Integer({ minimum: 0, description: 'size after Content-Encoding (gzip, deflate, br) decoding, when the body was compressed' })),
  bodyError: Opt(Str('why the body did not parse as its Content-Type declared; `body` then holds it raw')),
  httpVersion: StrEnum(['1.0', '1.1', '2.0'] as const, 'HTTP version of the request'),
  protocol: StrEnum(['http', 'https'] as const, 'as seen by this server'),
  remote: Type.Object({
    address: Str('IP address of the TCP peer'),
    port: Type.Integer({ description: 'its port' }),
    family: Str('IPv4 or IPv6')
  }, { description: 'the TCP peer (the last proxy, if any)' }),
  ip: Str('the client address after the --trust-proxy rules (the TCP peer unless proxies are trusted)'),
  forwarded: Opt(Type.Object({
    forwarded: Opt(Type.Array(StrMap('one element: for, by, host, proto, …'), { description: 'RFC 7239 Forwarded elements, in order' })),
    xForwardedFor: Opt(Type.Array(Type.String(), { description: 'X-Forwarded-For split into addresses, left-most first' })),
    xForwardedHost: Opt(Type.String()),
    xForwardedProto: Opt(Type.String()),
    xForwardedPort: Opt(Type.String()),
    xForwardedPrefix: Opt(Type.String()),
    xRealIp: Opt(Type.String())
  }, { description: 'parsed Forwarded and X-Forwarded-* headers; absent when none arrived' })),
  cookies: StrMap('the parsed Cookie header, {} when none'),
  jwt: Opt(Type.Object(JwtFields, {
    description: 'the first of `jwts`: by default the `Authorization: Bearer` JWT when it decodes; decoded and not verified'
  })),
  jwts: Opt(Type.Array(Type.Object(JwtFields), {
    description: 'every JWT decoded from the --jwt-headers, in that order and then in arrival order (each value of a repeated header), ' +
      'decoded and not verified; absent when none decoded'
  })),
  trace: Opt(Type.Object({
    traceparent: Opt(Type.Object({
      version: Type.String(),
      traceId: Type.String(),
      parentId: Type.String(),
      flags: Type.String(),
      sampled: Type.Boolean(),
      valid: Type.Boolean({ description: 'false when the header is malformed' })
    }, { description: 'W3C traceparent' })),
    tracestate: Opt(StrMap('W3C tracestate entries')),
    b3: Opt(StrMap('B3 single or multi headers')),
    requestId: Opt(Str('an incoming x-request-id')),
    amznTraceId: Opt(StrMap('x-amzn-trace-id fields'))
  }, { description: 'trace headers, parsed; absent when none arrived' })),
  tls: Opt(Type.Object({
    servername: NullableStr('SNI server name'),
    alpn: NullableStr('negotiated ALPN protocol'),
    cipher: NullableStr('cipher suite'),
    version: NullableStr('TLS version'),
    clientCertificate: Opt(Type.Object({
      ...CertificateFields,
      authorized: Type.Boolean({ description: 'whether it verified against --tls-ca' }),
      authorizationError: NullableStr('why it did not'),
      pem: Str('the certificate, PEM')
    }, { description: 'the certificate the client presented (mTLS)' }))
  }, { description: 'TLS details; absent on plain HTTP' })),
  proxy: Opt(Type.Object({
    hops: Type.Array(Type.Object({
      source: Str('where the hop was learnt: forwarded, x-forwarded-for, via, x-real-ip or peer'),
      address: Opt(Type.String()),
      by: Opt(Type.String()),
      proto: Opt(Type.String()),
      host: Opt(Type.String()),
      via: Opt(Str('Via protocol and pseudonym, e.g. "1.1 nginx"'))
    }), { description: 'client → … → this server, as far as the headers tell, the TCP peer last' }),
    originalUrl: Opt(Type.Array(Type.Object({ header: Type.String(), value: Type.String() }), {
      description: 'the original URL a gateway reported (X-Original-URI, X-Forwarded-Uri, X-Forwarded-Prefix, X-Envoy-Original-Path, …)'
    })),
    gateways: Type.Array(Type.Object({ name: Type.String(), evidence: Type.Array(Type.String()) }), {
      description: 'gateways recognised by their headers (envoy, kong, traefik, nginx, aws, cloudflare, gcp, azure, …) with the headers that told'
    }),
    warnings: Type.Array(Type.String(), { description: 'e.g. a client-controlled left-most X-Forwarded-For' }),
    clientCertificates: Opt(Type.Array(Type.Object({ ...CertificateFields, header: Str('the header it came from') }), {
      description: 'client certificates a gateway forwarded in headers (XFCC, nginx, Traefik), decoded'
    }))
  }, { description: 'the proxy chain and what gateways changed; absent when no proxy header arrived' })),
  server: Type.Object({
    hostname: Type.String(),
    instance: Str('--instance, default the host name'),
    version: Str('echoscope version'),
    pod: Opt(Str('POD_NAME (Kubernetes downward API)')),
    namespace: Opt(Str('POD_NAMESPACE or NAMESPACE')),
    node: Opt(Str('NODE_NAME')),
    env: Opt(Type.Record(Type.String(), Type.String(), { description: 'the environment variables named by --echo-env that are set; present only with --echo-env' }))
  }, { description: 'which replica answered' }),
  requestId: Str('this server\'s id for the request, also the x-request-id response header'),
  receivedAt: Type.String({ format: 'date-time', description: 'when the request arrived, ISO-8601' }),
  response: Opt(Type.Object({
    status: Type.Integer({ description: 'the status this server is answering with' }),
    headers: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]), {
      description: 'the headers this server is sending, lower-cased, repeated ones (set-cookie) as a list; ' +
        'without the ones Node adds when it writes the answer (content-length, date, connection, keep-alive, transfer-encoding)'
    })
  }, { description: 'what this server is sending back, so that a client can tell what a gateway changed on the way back; absent in the echo of a WebSocket upgrade' }))
}, { description: 'What arrived, as this server saw it.', examples: [ECHO_EXAMPLE] })

/** The schema registered with `addSchema`: the document's `#/components/schemas/Echo`. */
export const EchoComponent = { ...EchoResponse, $id: ECHO_ID, title: ECHO_ID }

const EchoRef = Type.Ref(ECHO_ID)
const text = (description: string) => ({ schema: Type.String({ description }) })

const REQUEST_ID_HEADER = {
  'x-request-id': Str('this server\'s id for the request (the echo\'s `requestId`)'),
  'x-echoscope': Str('the instance that answered (the echo\'s `server.instance`); on every response of this server, so one without it was made by something in front')
}

const ECHO_CONTENT = {
  'application/json': { schema: EchoRef },
  'text/plain': text('the request rebuilt as raw HTTP/1.x text, headers in wire order (`?format=text`)'),
  'text/html': text('a readable page for browsers, every value escaped, no script'),
  'text/event-stream': text('an `echo` event, then a `tick` event a second for `echo_stream` seconds, then `end` (`?format=sse`)')
}

const ERRORS = {
  400: errorResponse('A control with an invalid value; the message names it.', {
    statusCode: 400, code: 'ECHOSCOPE_INVALID_CONTROL', error: 'Bad Request', message: 'invalid echo_status "99": must be a status code from 200 to 599'
  }),
  413: errorResponse('The body is over --body-limit (1 MiB), or decodes (gzip, deflate, br) to more than --max-decoded-size or --max-decode-ratio allow.', {
    statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'Request body is larger than the limit of 1048576 bytes (--body-limit)'
  }),
  429: errorResponse('Over the rate limit: --rate-limit-max requests per --rate-limit-window per client.', {
    statusCode: 429, error: 'Too Many Requests', message: 'rate limit exceeded: more than 6000 requests per 60 s from one client; retry in 12 s'
  }, {
    'retry-after': Str('seconds until a request will be served again'),
    'x-ratelimit-limit': Str('requests allowed per window'),
    'x-ratelimit-remaining': Str('requests left in this window'),
    'x-ratelimit-reset': Str('seconds until the window resets'),
    ratelimit: Str('the same as a structured field (draft-ietf-httpapi-ratelimit-headers), e.g. `"echo";r=0;t=12`')
  }),
  431: errorResponse('The request head is over --max-header-size (16 KiB).', {
    statusCode: 431, error: 'Request Header Fields Too Large', message: 'Exceeded maximum allowed HTTP header size'
  }),
  503: errorResponse('Too many concurrent streams (--max-streams) or WebSockets (--ws-max-connections), or the server is shutting down.', {
    statusCode: 503, error: 'Service Unavailable', message: 'too many concurrent SSE streams (limit 100, --max-streams)'
  })
}

const ECHO_RESPONSES = {
  200: {
    description: 'What arrived. JSON by default; `?format=har` gives a HAR request object and `?format=gateway-api` the fields of the Kubernetes Gateway API echo server (both JSON). An `echo_body` control replaces the body.',
    headers: REQUEST_ID_HEADER,
    content: ECHO_CONTENT
  },
  ...ERRORS,
  default: {
    description: 'Any status from 200 to 599 asked for with `x-echo-status` / `echo_status`; the body is still the echo, or `echo_body`.',
    headers: REQUEST_ID_HEADER,
    content: ECHO_CONTENT
  }
}

/** Names of the echo's responses in the document's components, where its operations share them. */
export const ECHO_RESPONSE_NAMES: Record<string, string> = {
  101: 'WebSocketUpgrade',
  200: 'Echo',
  400: 'InvalidControl',
  413: 'BodyTooLarge',
  429: 'RateLimited',
  431: 'HeadTooLarge',
  503: 'Unavailable',
  default: 'EchoWithStatus'
}

const FORMAT = Type.Optional(Type.Unsafe<string>({
  type: 'string',
  enum: [...FORMATS, 'raw', 'gateway'],
  description: 'The output format; beats the Accept header (JSON by default, HTML for browsers, `text/plain` and `text/event-stream` when asked). ' +
    '`raw` is an alias of `text`, `gateway` of `gateway-api`; `body` sends the request body back as it arrived, with its content type. ' +
    'Any other value is ignored and echoed like any query parameter.',
  examples: ['text']
}))

const INFO = Type.Optional(Type.String({
  description: 'On a WebSocket upgrade: `1` (or `true`, `yes`) makes the first message the echo of the upgrade request plus `websocket: { protocols, protocol, extensions, version }`. On a plain GET it is echoed like any query parameter.',
  examples: ['1']
}))

const PATH_PARAMS = Type.Object({
  path: Type.String({
    description: 'Any path, slashes included (`orders/7`, `a/b/c`): every path that is not a system path echoes. Swagger UI percent-encodes a `/` typed here; curl sends it as it is.',
    examples: ['anything']
  })
})

const REQUEST_BODY = {
  content: {
    'application/json': { schema: Type.Unknown({ description: 'parsed: `body` is the JSON value', examples: [{ id: 7 }] }) },
    'application/x-www-form-urlencoded': { schema: Type.Record(Type.String(), Type.String(), { description: 'parsed: `body` is { name: value }' }) },
    'text/plain': text('echoed as text'),
    'application/octet-stream': { schema: Type.String({ format: 'binary', description: 'echoed as base64' }) }
  }
}

const GET_DESCRIPTION = [
  'Echoes what arrived, on every path that is not a system path (`/` here, any other path as `/{path}`). A body sent with GET is echoed too.',
  'The format follows `?format=` or the Accept header: JSON by default, `text/plain` for the request as raw HTTP text, `text/html` for a readable page, `text/event-stream` for a streamed echo.',
  '**WebSocket**: the same path with `Upgrade: websocket` (e.g. `/ws`) is a WebSocket echo: text and binary messages come back unchanged, in order. `?info=1` first sends the echo of the upgrade request.',
  '**Response controls** (the `x-echo-*` headers and `echo_*` query parameters below, with the names other echo servers use as aliases) shape the response; they are echoed like any other input. `--no-controls` turns them off.'
].join('\n\n')

const ANY_DESCRIPTION = [
  'The same echo for every method: PUT, POST, DELETE, OPTIONS, PATCH and TRACE here, and every other method Node\'s HTTP parser accepts, which OpenAPI 3.1 cannot list ' +
    '(PURGE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK, QUERY, SEARCH, REPORT, …). CONNECT is not echoed.',
  'The body may be anything up to --body-limit: JSON and forms are parsed, text is echoed as text, anything else as base64 (`bodyEncoding` says which); ' +
    'compressed bodies (Content-Encoding gzip, deflate, br) are decoded. A body that does not parse as declared is echoed raw with `bodyError`, never refused.',
  '**Response controls** (the `x-echo-*` headers and `echo_*` query parameters below, with the names other echo servers use as aliases) shape the response. `--no-controls` turns them off.'
].join('\n\n')

/** The echo's GET route (WebSocket upgrades too): documentation keywords only. */
export const ECHO_GET_ROUTE: FastifySchema = { tags: ['echo'], summary: 'Echo the request, or open a WebSocket echo', description: GET_DESCRIPTION }

/** The echo's route for every other method: documentation keywords only. */
export const ECHO_ROUTE: FastifySchema = { tags: ['echo'], summary: 'Echo the request', description: ANY_DESCRIPTION }

function documented (route: FastifySchema, extra: FastifySchema, withPath: boolean): FastifySchema {
  return { ...route, ...extra, ...(withPath ? { params: PATH_PARAMS } : {}) }
}

function variants (route: FastifySchema, extra: FastifySchema) {
  return { root: documented(route, extra, false), path: documented(route, extra, true) }
}

const HEADERS = Type.Object(CONTROL_HEADERS)

const DOCS = new Map<FastifySchema, Record<'root' | 'path', FastifySchema>>([
  [ECHO_GET_ROUTE, variants(ECHO_GET_ROUTE, {
    querystring: Type.Object({ format: FORMAT, info: INFO, ...CONTROL_QUERY }),
    headers: HEADERS,
    response: {
      ...ECHO_RESPONSES,
      101: { description: 'Switching Protocols: the WebSocket echo (with `Connection: Upgrade` and `Upgrade: websocket`).', type: 'null' }
    }
  })],
  [ECHO_ROUTE, variants(ECHO_ROUTE, {
    querystring: Type.Object({ format: FORMAT, ...CONTROL_QUERY }),
    headers: HEADERS,
    body: REQUEST_BODY,
    response: ECHO_RESPONSES
  })]
])

const HEAD_DOCS = variants({ tags: ['echo'], summary: 'Echo the request, headers only', description: 'What a GET would answer, without the body.' }, {
  querystring: Type.Object({ format: FORMAT, ...CONTROL_QUERY }),
  headers: HEADERS,
  response: {
    200: { description: 'The headers of the echo.', headers: REQUEST_ID_HEADER, type: 'null' },
    ...ERRORS
  }
})

/**
 * The full documentation of an echo route, for the OpenAPI transform: the wildcard `/*` becomes a
 * `{path}` parameter a reader understands. Undefined for any other route.
 */
export function echoDocumentation (schema: FastifySchema | undefined, method: string, url: string): { schema: FastifySchema, url: string } | undefined {
  const docs = schema === undefined ? undefined : DOCS.get(schema)
  if (docs === undefined) return undefined
  const wildcard = url.endsWith('*')
  const variant = method === 'HEAD' ? HEAD_DOCS : docs
  return wildcard ? { schema: variant.path, url: url.slice(0, -1) + '{path}' } : { schema: variant.root, url }
}
