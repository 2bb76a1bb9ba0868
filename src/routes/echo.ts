// The catch-all echo: every method on every path of this plugin's scope answers with what arrived.
import { METHODS, STATUS_CODES } from 'node:http'
import { constants as http2, type Http2ServerRequest } from 'node:http2'
import { parse as parseQuery } from 'node:querystring'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { buildEcho, echoAnalyses, serializeEcho, type EchoAnalyses } from '../echo/build.ts'
import { describeCertificate } from '../echo/certificate.ts'
import { parseBody, parseBodySync, type BodyLimits } from '../echo/body.ts'
import { readControls, type Controls, type ControlLimits } from '../echo/controls.ts'
import { negotiate, type Format } from '../echo/negotiate.ts'
import { BODY_ABORTED, collectBody, hasBody } from '../echo/read-body.ts'
import { sseEcho } from '../echo/sse.ts'
import { formatText } from '../echo/formats/text.ts'
import { formatHtml, HTML_CSP } from '../echo/formats/html.ts'
import { formatHar } from '../echo/formats/har.ts'
import { formatGatewayApi } from '../echo/formats/gateway-api.ts'
import type { GatewayContext } from '../echo/identity.ts'
import type { HistoryStore } from '../stores/history.ts'
import type { FaultCounter } from '../stores/faults.ts'
import { bodyEnded, bodyStarted, rejectedByParser } from '../http/client-error.ts'
import type { WebSocket } from 'ws'
import type { Echo, ParsedBody, RequestSnapshot, ServerIdentity, TlsInfo } from '../echo/types.ts'
import { ECHO_GET_ROUTE, ECHO_ROUTE } from '../schemas/echo.ts'
import type { DefaultResponse } from '../config/default-response.ts'
import { pathMatcher } from '../http/path-match.ts'

export interface EchoRouteOptions {
  bodyLimit: number
  maxDecodedSize: number
  maxDecodeRatio: number
  maxDelay: number
  noControls: boolean
  /** format of a request that asks for none; gateway-api also writes echo-basic's line per echoed request */
  defaultFormat: Exclude<Format, 'sse'>
  /** log a line for a request whose client went away mid-body (it gets no response, so no request line) */
  logRequests: boolean
  /** --log-bodies: keep the body on the request for its log line */
  logBodies: boolean
  maxStreams: number
  maxStreamSeconds: number
  identity: ServerIdentity
  gateway: GatewayContext
  /** --jwt-headers: the request headers whose JWTs the echo decodes, in this order */
  jwtHeaders: string[]
  /** recent requests for /requests and /inspect; null when off */
  history: HistoryStore | null
  /** attempt counters of x-echo-fail-times; null with --no-controls */
  faults: FaultCounter | null
  /** --response-*: what echo responses carry unless a control says otherwise; null when none is set */
  defaultResponse: DefaultResponse | null
  /** open SSE echoes, shared by every handler made from these options, each with its stop function */
  streams: Set<() => void>
  /** false with --cors: @fastify/cors routes OPTIONS itself, and hands the requests it does not answer to the echo */
  optionsRoutes?: boolean
}

/** Every method Node's HTTP parser accepts. CONNECT is left out: Node hands it to the 'connect' event, not to routes. */
export const ECHO_METHODS = METHODS.filter(m => m !== 'CONNECT') as HTTPMethods[]

const NO_BODY: ParsedBody = { body: null, bodyEncoding: 'none' }
const EMPTY = Buffer.alloc(0)
const DEFAULT_SSE_SECONDS = 5
const JSON_TYPE = 'application/json; charset=utf-8'

function tlsInfo (socket: TLSSocket): TlsInfo {
  const cipher = socket.getCipher?.()
  const info: TlsInfo = {
    servername: (socket as TLSSocket & { servername?: string | false }).servername || null,
    alpn: socket.alpnProtocol || null,
    cipher: cipher?.name ?? null,
    version: socket.getProtocol?.() ?? null
  }
  // Only asked for with --tls-ca; an empty object means the client sent none.
  const peer = socket.getPeerX509Certificate?.()
  if (peer !== undefined) {
    const err = (socket as TLSSocket & { authorizationError?: Error | string }).authorizationError
    info.clientCertificate = {
      ...describeCertificate(peer),
      authorized: socket.authorized === true,
      authorizationError: err === undefined || err === null ? null : String(err),
      pem: peer.toString()
    }
  }
  return info
}

/** What the echo needs of a request, read once. */
export function snapshot (request: FastifyRequest, query: Record<string, string | string[]>, body: Buffer | null, receivedAt: Date): RequestSnapshot {
  const raw = request.raw
  const socket = raw.socket
  const encrypted = (socket as TLSSocket).encrypted === true
  return {
    method: raw.method ?? 'GET',
    url: raw.url ?? '/',
    // Node's parser refuses every version but 1.0 and 1.1 (0.9 too), and its HTTP/2 server reports 2.0.
    httpVersion: raw.httpVersion as RequestSnapshot['httpVersion'],
    rawHeaders: raw.rawHeaders,
    headers: raw.headers,
    query,
    protocol: encrypted ? 'https' : 'http',
    remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily ?? '' },
    ip: request.ip,
    body,
    tls: encrypted ? tlsInfo(socket as TLSSocket) : undefined,
    requestId: request.id,
    receivedAt
  }
}

const INFO_VALUES = new Set(['1', 'true', 'yes'])

/** `?info=1` on an upgrade: the echo of the upgrade request, plus what the WebSocket handshake offered. */
export function upgradeInfo (request: FastifyRequest, ws: WebSocket, identity: ServerIdentity, analyses: EchoAnalyses): string | undefined {
  const query = request.query as Record<string, string | string[]>
  const info = query.info
  if (typeof info !== 'string' || !INFO_VALUES.has(info)) return undefined
  const echo = buildEcho(snapshot(request, query, null, new Date()), NO_BODY, identity, analyses)
  const h = request.headers
  const offered = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v ?? '').split(',').map(p => p.trim()).filter(p => p !== '')
  return JSON.stringify({
    ...echo,
    websocket: {
      protocols: offered(h['sec-websocket-protocol']),
      protocol: ws.protocol === '' ? null : ws.protocol,
      extensions: offered(h['sec-websocket-extensions']),
      version: h['sec-websocket-version'] ?? null
    }
  })
}

export function makeEchoHandler (opts: EchoRouteOptions) {
  const bodyLimits: BodyLimits = { maxDecodedSize: opts.maxDecodedSize, maxDecodeRatio: opts.maxDecodeRatio }
  const controlLimits: ControlLimits = { maxDelay: opts.maxDelay, maxStreamSeconds: opts.maxStreamSeconds, env: opts.identity.env ?? {} }
  const defaults = opts.defaultResponse
  // --response-path: where the default response applies; null (every echo path) without it.
  const defaultsAt = defaults === null ? null : pathMatcher(defaults.paths)
  const streams = opts.streams
  const history = opts.history
  const echoBasicLog = opts.defaultFormat === 'gateway-api'
  const analyses = echoAnalyses(opts.jwtHeaders)

  // No promise on the common paths: a request without a body is answered synchronously, one with a body from
  // the body's 'end' callback (parsed synchronously unless it has a content coding or is multipart). Fastify
  // then has no promise to track, and the handler answers as soon as the bytes are in.
  // It returns nothing: a returned reply is a thenable Fastify would wait on (end-of-stream listeners per
  // request); errors reach Fastify's error handler through reply.send (settle) instead of a throw.
  return function echoHandler (request: FastifyRequest, reply: FastifyReply): void {
    const receivedAt = new Date()
    reply.header('x-request-id', request.id)
    const raw = request.raw
    // Fastify leaves query null for a target its router could not decode; node:querystring copes with those.
    const query = (request.query ?? parseQuery(queryPart(raw.url ?? ''))) as Record<string, string | string[]>
    const controls: Controls | null = opts.noControls ? null : readControls(raw.rawHeaders, query, controlLimits)
    if (controls?.failTimes !== undefined && opts.faults !== null) {
      const key = controls.failKey ?? defaultFaultKey(request)
      const attempt = opts.faults.attempt(key)
      if (typeof attempt === 'number') {
        if (!fault(request, reply, controls, key, attempt)) receive(request, reply, query, controls, receivedAt)
      } else {
        attempt.then(n => { if (!fault(request, reply, controls, key, n)) receive(request, reply, query, controls, receivedAt) },
          (err: Error) => reply.send(err))
      }
      return
    }
    receive(request, reply, query, controls, receivedAt)
  }

  function receive (request: FastifyRequest, reply: FastifyReply, query: Record<string, string | string[]>, controls: Controls | null, receivedAt: Date): void {
    const raw = request.raw
    if (!hasBody(raw)) {
      settle(reply, () => respond(request, reply, query, controls, null, NO_BODY, receivedAt))
      return
    }
    // (so a client closing mid-body is told from a request the parser rejected: client-error.ts)
    bodyStarted(raw.socket)
    collectBody(raw, opts.bodyLimit, (err, body) => {
      bodyEnded(raw.socket)
      if (err !== null) {
        // Nothing can be answered to a client that went away, so Fastify never reports the request done and
        // the request line never comes: this line stands in for it (what arrived, and how much of the body).
        // Not so when the server did answer: the parser rejected the rest of the request (a bad chunk, CL+TE)
        // and that answer has its own line, or a response went out before the body ended.
        if (err.code === BODY_ABORTED && opts.logRequests && !reply.sent && !rejectedByParser(raw.socket)) {
          request.log.info({ method: raw.method, url: raw.url, ip: request.ip, bodyBytes: err.bytesReceived }, 'request aborted by the client')
        }
        reply.send(err)
        return
      }
      if (opts.logBodies) request.echoscopeBody = body
      const parsed = parseBodySync(body, raw.headers)
      if (parsed === undefined) {
        parseBody(body, raw.headers, bodyLimits).then(
          decoded => settle(reply, () => respond(request, reply, query, controls, body, decoded, receivedAt)),
          (err: Error) => reply.send(err))
        return
      }
      settle(reply, () => respond(request, reply, query, controls, body, parsed, receivedAt))
    })
  }

  /**
   * Answers a failing attempt of x-echo-fail-times and returns true, or returns false for an attempt past
   * the count, which is echoed as usual. x-echo-status is the failing attempts' status, not the echo's.
   */
  function fault (request: FastifyRequest, reply: FastifyReply, controls: Controls, key: string, attempt: number): boolean {
    const failTimes = controls.failTimes ?? 0
    const failing = attempt <= failTimes
    const status = controls.status ?? 503
    controls.status = undefined
    reply.header('x-echo-attempt', String(attempt))
    if (!failing) return false
    const detail = { key, attempt, failTimes }
    if (controls.failMode === 'reset') {
      // Nothing is sent, so there is no request line: this one says what happened.
      request.log.info({ method: request.raw.method, url: request.raw.url, ip: request.ip, fault: detail }, 'reset by x-echo-fail-mode')
      if (request.raw.httpVersion === '2.0') (request.raw as unknown as Http2ServerRequest).stream.close(http2.NGHTTP2_INTERNAL_ERROR)
      else request.raw.socket.resetAndDestroy()
      return true
    }
    reply.code(status).type(JSON_TYPE).send(JSON.stringify({
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: `attempt ${attempt} of ${failTimes} failing for fail key ${JSON.stringify(key)} (x-echo-fail-times)`,
      fault: detail
    }))
    return true
  }

  function respond (request: FastifyRequest, reply: FastifyReply, query: Record<string, string | string[]>, controls: Controls | null, body: Buffer | null, parsed: ParsedBody, receivedAt: Date): unknown {
    const echo = buildEcho(snapshot(request, query, body, receivedAt), parsed, opts.identity, analyses)
    const asked = controls?.format ?? query.format
    const format = negotiate(asked, request.raw.headers.accept, opts.defaultFormat)
    const d = defaults !== null && (defaultsAt === null || defaultsAt(request.raw.url ?? '/')) ? defaults : null
    // A format asked for by name shows the echo (or the body) even where a default body is set: that is how a
    // caller still sees what arrived. Accept does not count: a browser would never see the default body.
    const defaultBody = d?.body !== undefined && typeof asked !== 'string' ? d.body : undefined
    if (echoBasicLog) logLikeEchoBasic(request)
    // Status and headers first, so that the echo tells what is being sent (its `response`).
    prepare(reply, format, controls, d, defaultBody, request)
    echo.response = { status: reply.statusCode, headers: sentHeaders(reply) }
    // Serialised once: the JSON response and the history entry are the same bytes.
    const json = history !== null || (format === 'json' && controls?.body === undefined && defaultBody === undefined) ? serializeEcho(echo) : ''
    if (history !== null) history.add(echo, json, reply.statusCode)
    if (controls?.delay !== undefined && controls.delay > 0) {
      return sleep(controls.delay).then(() => send(reply, format, controls, defaultBody, body, echo, json, request))
    }
    return send(reply, format, controls, defaultBody, body, echo, json, request)
  }

  /** The answer's status and headers: the default response first, so that every control given with the request overrides it. */
  function prepare (reply: FastifyReply, format: Format, controls: Controls | null, d: DefaultResponse | null, defaultBody: Buffer | undefined, request: FastifyRequest): void {
    if (d !== null) {
      if (d.status !== 0) reply.code(d.status)
      if (d.headers.length > 0) applyHeaders(reply, d.headers)
    }
    if (controls !== null) {
      if (controls.status !== undefined) reply.code(controls.status)
      if (controls.headers.length > 0) applyHeaders(reply, controls.headers)
      if (controls.headers.length > 0 || controls.body !== undefined || controls.contentType !== undefined) {
        // Request-controlled bytes never run as a page: the browser may not sniff them and gets a sandbox.
        reply.header('x-content-type-options', 'nosniff')
        reply.header('content-security-policy', 'sandbox')
      }
      if (controls.body !== undefined) {
        // reply.header, not reply.type: the type is sent exactly as asked, without an added charset.
        reply.header('content-type', controls.contentType ?? 'text/plain; charset=utf-8')
        return
      }
      if (controls.contentType !== undefined) reply.header('content-type', controls.contentType)
    }
    if (defaultBody !== undefined) {
      if (!reply.hasHeader('content-type')) reply.header('content-type', d?.contentType ?? 'text/plain; charset=utf-8')
      return
    }
    switch (format) {
      case 'json':
      case 'har':
        if (!reply.hasHeader('content-type')) reply.type(JSON_TYPE)
        return
      case 'text':
        if (!reply.hasHeader('content-type')) reply.type('text/plain; charset=utf-8')
        return
      case 'html':
        if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', HTML_CSP).header('x-content-type-options', 'nosniff')
        if (!reply.hasHeader('content-type')) reply.type('text/html; charset=utf-8')
        return
      case 'gateway-api':
        // Exactly application/json: the Gateway API conformance client ignores bodies of any other type.
        if (!reply.hasHeader('content-type')) reply.header('content-type', 'application/json')
        return
      case 'sse':
        reply.header('cache-control', 'no-cache')
        reply.type('text/event-stream; charset=utf-8')
        return
      case 'body':
        // The bytes as they arrived (before any content decoding), for webhook signature checks.
        reply.header('x-content-type-options', 'nosniff').header('content-security-policy', 'sandbox')
        if (!reply.hasHeader('content-type')) reply.header('content-type', request.raw.headers['content-type'] ?? 'application/octet-stream')
    }
  }

  function send (reply: FastifyReply, format: Format, controls: Controls | null, defaultBody: Buffer | undefined,
    body: Buffer | null, echo: Echo, json: string, request: FastifyRequest): unknown {
    // A Buffer, because Fastify appends a charset to JSON-like types given with a string.
    if (controls?.body !== undefined) return reply.send(Buffer.from(controls.body))
    if (defaultBody !== undefined) return reply.send(defaultBody)
    switch (format) {
      case 'json':
        return reply.send(json)
      case 'text':
        return reply.send(formatText(echo, body))
      case 'html':
        return reply.send(formatHtml(echo))
      case 'har':
        return reply.send(JSON.stringify(formatHar(echo, body)))
      case 'gateway-api':
        return reply.send(Buffer.from(JSON.stringify(formatGatewayApi(echo, { ...opts.gateway, httpPort: String(request.raw.socket.localPort ?? '') }))))
      case 'sse':
        return sendSse(echo, controls, reply)
      case 'body':
        return reply.send(body ?? EMPTY)
    }
  }

  function sendSse (echo: Echo, controls: Controls | null, reply: FastifyReply) {
    if (streams.size >= opts.maxStreams) {
      reply.code(503).header('retry-after', '5').removeHeader('cache-control').type(JSON_TYPE)
      return reply.send({ statusCode: 503, error: 'Service Unavailable', message: `too many concurrent SSE streams (limit ${opts.maxStreams}, --max-streams)` })
    }
    const seconds = Math.min(controls?.stream ?? DEFAULT_SSE_SECONDS, opts.maxStreamSeconds)
    const { stream, stop } = sseEcho(serializeEcho(echo), seconds, () => { streams.delete(stop) })
    streams.add(stop)
    reply.raw.on('close', stop)
    return reply.send(stream)
  }
}

/**
 * echo-basic prints this line for every request it echoes (r.RequestURI, r.RemoteAddr as host:port), and the
 * Gateway API mirror tests find mirrored requests by grepping the pod's log for it, so it is the message
 * verbatim: in JSON logs it is the `msg` field, in pretty logs the line's text.
 */
function logLikeEchoBasic (request: FastifyRequest): void {
  const socket = request.raw.socket
  const address = socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress ?? ''}]` : socket.remoteAddress ?? ''
  request.log.info(`Echoing back request made to ${request.raw.url ?? '/'} to client (${address}:${socket.remotePort ?? 0})`)
}

/**
 * Runs `answer` outside Fastify's handler call (from a body callback): an error it throws or rejects with
 * becomes the error response, as it would had the handler thrown.
 */
function settle (reply: FastifyReply, answer: () => unknown): void {
  try {
    const result = answer()
    if (result instanceof Promise) result.catch((err: Error) => reply.send(err))
  } catch (err) {
    reply.send(err as Error)
  }
}

/** Without x-echo-fail-key: one budget per method, path (without the query) and client address. */
function defaultFaultKey (request: FastifyRequest): string {
  const url = request.raw.url ?? '/'
  const q = url.indexOf('?')
  return `${request.raw.method ?? 'GET'} ${q === -1 ? url : url.slice(0, q)} ${request.ip}`
}

function queryPart (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q + 1)
}

function applyHeaders (reply: FastifyReply, headers: [string, string][]) {
  // Repeated names (several Set-Cookie) become several header lines, not one joined value.
  const grouped = new Map<string, string[]>()
  for (const [name, value] of headers) {
    const list = grouped.get(name.toLowerCase())
    if (list === undefined) grouped.set(name.toLowerCase(), [value])
    else list.push(value)
  }
  for (const [name, values] of grouped) reply.header(name, values.length === 1 ? values[0] : values)
}

/**
 * The echo as a plugin: catch-all routes for every method under the plugin's prefix. Bodies are read by
 * the handler, so Fastify's own parsers are replaced here with one that leaves the stream untouched.
 */
export async function echoRoutes (app: FastifyInstance, opts: EchoRouteOptions) {
  for (const m of ECHO_METHODS) {
    if (!app.supportedMethods.includes(m)) app.addHttpMethod(m)
  }
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', function (_req, _payload, done) { done(null) })
  // The WebSocket echo comes from plugins/websocket.ts, registered before these routes (app.ts, index.ts).
  if (!app.hasDecorator('echoscopeWs')) throw new Error('the echo routes need the echoscope websocket plugin registered first')
  // Open SSE echoes end when the server closes, so a drain never waits for their last tick.
  app.addHook('preClose', async () => { for (const stop of [...opts.streams]) stop() })
  const ws = app.echoscopeWs
  const handler = makeEchoHandler(opts)
  const analyses = echoAnalyses(opts.jwtHeaders)
  const wsHandler = (socket: WebSocket, request: FastifyRequest) => ws.handler(socket, request, upgradeInfo(request, socket, opts.identity, analyses))
  // @fastify/websocket takes upgrades on GET routes only, so GET (and its HEAD) is a route of its own.
  const others = ECHO_METHODS.filter(m => m !== 'GET' && m !== 'HEAD' && (m !== 'OPTIONS' || opts.optionsRoutes !== false))
  for (const url of ['/', '/*']) {
    // Documentation only (no validation, no serializer): the OpenAPI plugin attaches the parameters.
    app.route({ method: 'GET', url, handler, wsHandler, onRequest: ws.beforeUpgrade, schema: ECHO_GET_ROUTE })
    app.route({ method: others, url, handler, schema: ECHO_ROUTE })
  }
}

/**
 * The headers set on the reply so far, as the echo's `response.headers`. Node adds its own when it writes
 * the head (date, connection, keep-alive) and Fastify the content-length once the body is serialised: those
 * are not known here, and a client compares without them.
 */
function sentHeaders (reply: FastifyReply): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const all = reply.getHeaders()
  for (const name in all) {
    const value = all[name]
    if (value !== undefined) out[name] = typeof value === 'number' ? String(value) : value
  }
  return out
}
