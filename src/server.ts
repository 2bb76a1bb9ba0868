// Builds the Fastify server (HTTP settings, logger) around the app plugin, and runs it as a process:
// listen, drain on SIGTERM/SIGINT, exit.
import { randomUUID } from 'node:crypto'
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import closeWithGrace from 'close-with-grace'
import { OptionsSchema, resolveOptions, type Options } from './config/options.ts'
import { app } from './app.ts'
import { RequestLogController } from './logging/request-log.ts'
import { flushStdout, loggerOptions } from './logging/logger.ts'
import { makeClientErrorHandler, rejectRequest, requestRejection } from './http/client-error.ts'
import { MARKER_HEADER, markerValue, serverIdentity } from './echo/identity.ts'
import type { HealthState } from './routes/health.ts'
import { createStats, type Stats } from './transports/stats.ts'
import { loadTls, tlsServerOptions, type TlsMaterial } from './config/tls.ts'
import { loadDefaultResponse } from './config/default-response.ts'
import { setupTracing, tracingWanted } from './plugins/tracing.ts'
import { createHttpsListener, type HttpsListener, type RequestHandler, type WriteCoalescing } from './plugins/https-listener.ts'

declare module 'fastify' {
  interface FastifyInstance {
    echoscope: {
      options: Options
      state: HealthState
      /** WebSocket/TCP/UDP counters for logs and metrics */
      stats: Stats
      /** certificate and key when TLS is on (on --port, or on --https-port) */
      tls: TlsMaterial | null
      /** the handler for requests the router cannot match or decode */
      setFallback: (fn: (request: FastifyRequest, reply: FastifyReply) => unknown) => void
      /** ports the raw TCP/UDP echo listeners are bound to, in --tcp-port/--udp-port order (filled on ready) */
      transports: { tcp: number[], udp: number[] }
      /** port the separate --metrics-port listener is bound to (set on ready; undefined when metrics are on the main port) */
      metricsPort?: number
    }
  }
}

/**
 * A hop count trusts that many proxies counted back from this server, as Express does: the TCP peer is
 * hop 0. (Fastify itself refuses numbers now, since with no proxy in front a client could spoof the
 * address; the README says to use a CIDR list when the proxies' addresses are known.)
 */
function trustProxyOption (tp: Options['trustProxy']): boolean | string | ((addr: string, hop: number) => boolean) {
  if (typeof tp === 'number') return (_addr: string, hop: number) => hop < tp
  return tp
}

/**
 * HTTP/2 lets a client send any token as its method. Fastify cannot route a method it does not know, and
 * then logs two warnings with its whole route tree for each such request: a log flood any client could
 * start. Those requests get 501 (RFC 9110 §15.6.2) before they reach Fastify. (HTTP/1.1 needs no guard:
 * Node's parser only passes the methods the echo registers.) `known` is filled when the app is ready.
 */
function refusingUnknownMethods (handler: RequestHandler, known: ReadonlySet<string>): RequestHandler {
  return (req, res) => {
    if (known.has(req.method ?? '')) {
      handler(req, res)
      return
    }
    const body = JSON.stringify({
      statusCode: 501,
      error: 'Not Implemented',
      message: `method ${JSON.stringify(req.method)} is not one echoscope can route; it echoes the methods Node's HTTP/1.1 parser knows`
    })
    res.writeHead(501, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
}

/**
 * --coalesce-writes: write-coalescing.ts overrides an internal method of node:http's ServerResponse, so it
 * is loaded only when asked for; without it the servers use node:http's own ServerResponse.
 */
async function writeCoalescing (opts: Options): Promise<WriteCoalescing | null> {
  if (!opts.coalesceWrites) return null
  const { coalesceServer, coalescingResponse } = await import('./perf/write-coalescing.ts')
  return { ServerResponse: coalescingResponse, coalesceServer }
}

/** Settings Fastify applies to the servers it makes itself; it has resolved them in the options it hands serverFactory. */
interface FastifyServerSettings {
  keepAliveTimeout: number
  requestTimeout: number
  http2SessionTimeout: number
}

/**
 * The server on --port: plain HTTP, HTTPS when a certificate is given and no --https-port, HTTP/2 with
 * HTTP/1.1 fallback by ALPN with --http2. Fastify's own settings for its servers are applied as it would.
 */
function mainServer (opts: Options, tls: TlsMaterial | null, coalescing: WriteCoalescing | null, handler: RequestHandler, fastifyOpts: FastifyServerSettings): Server | HttpsServer | Http2SecureServer {
  // A request without Host is refused by an onRequest hook (client-error.ts), with the JSON error and a log
  // line; node:http's own check would answer a bare 400 before Fastify sees the request.
  const httpOptions = { maxHeaderSize: opts.maxHeaderSize, headersTimeout: opts.headersTimeout, requireHostHeader: false }
  // TLS on --port itself unless --https-port puts it on a listener of its own (plugins/https-listener.ts).
  const tlsHere = tls !== null && opts.httpsPort === 0
  if (tlsHere && opts.http2) {
    const h2 = createSecureServer({ ...tlsServerOptions(tls), ...httpOptions, allowHTTP1: true }, handler as never)
    // As Fastify does for the HTTP/2 servers it makes: an idle session is closed after http2SessionTimeout.
    h2.on('session', session => session.setTimeout(fastifyOpts.http2SessionTimeout, () => session.close()))
    return h2
  }
  // With --coalesce-writes, responses finished in one event-loop turn are written together at its end.
  const h1Options = coalescing !== null ? { ...httpOptions, ServerResponse: coalescing.ServerResponse } : httpOptions
  const h1 = tlsHere ? createHttpsServer({ ...tlsServerOptions(tls), ...h1Options }, handler) : createHttpServer(h1Options, handler)
  h1.keepAliveTimeout = fastifyOpts.keepAliveTimeout
  h1.requestTimeout = fastifyOpts.requestTimeout
  coalescing?.coalesceServer(h1)
  return h1
}

/** --log-ignore-paths as given, except that its default, the health paths, follows --system-prefix. */
function logIgnorePaths (opts: Options): string[] {
  const given = opts.logIgnorePaths
  const def = (OptionsSchema.properties.logIgnorePaths as unknown as { default: string[] }).default
  const isDefault = given.length === def.length && given.every((p, i) => p === def[i])
  return isDefault ? def.map(p => opts.systemPrefix + p) : given
}

/** What an incoming request id may be: short, and nothing that needs escaping in a header, a log line or a URL path. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:;/+=@~-]{1,200}$/

/** Fastify's genReqId: the caller's id from `header` when there is exactly one and it is sane, else a fresh UUID. */
export function requestIdGenerator (header: string): (req: { headers: IncomingHttpHeaders }) => string {
  const name = header.toLowerCase()
  if (name === '') return () => randomUUID()
  return (req) => {
    const given = req.headers[name]
    return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID()
  }
}

/** A ready-to-listen echoscope server. Options are validated here; a bad one throws ConfigError. */
export async function buildServer (input: Partial<Options> = {}): Promise<FastifyInstance> {
  const opts = resolveOptions(input)
  const state: HealthState = { draining: false }
  // Set by the app plugin once the echo handler exists; Fastify needs frameworkErrors at construction.
  const late: { echo: (request: FastifyRequest, reply: FastifyReply) => unknown } = {
    echo: (_request, reply) => reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'bad URL' })
  }
  const tls = await loadTls(opts)
  const defaultResponse = loadDefaultResponse(opts)
  const marker = markerValue(serverIdentity(opts.instance).instance)
  const coalescing = await writeCoalescing(opts)
  // The methods the HTTP/2 guard lets through, filled on ready when every method is registered.
  const knownMethods = new Set<string>()
  const made: { https: HttpsListener | null } = { https: null }
  const logController = new RequestLogController({
    logRequests: opts.logRequests,
    logHeaders: opts.logHeaders,
    logBodies: opts.logBodies,
    logBodyLimit: opts.logBodyLimit,
    ignorePaths: logIgnorePaths(opts)
  })
  const fastify = Fastify({
    // The servers are made here (main and --https-port), so both serve with Fastify's own handler.
    serverFactory: (handler: RequestHandler, fastifyOpts: Record<string, unknown>) => {
      const h = tls !== null && opts.http2 ? refusingUnknownMethods(handler, knownMethods) : handler
      const main = mainServer(opts, tls, coalescing, h, fastifyOpts as unknown as FastifyServerSettings)
      if (tls !== null && opts.httpsPort > 0) {
        made.https = createHttpsListener({
          tls,
          http2: opts.http2,
          maxHeaderSize: opts.maxHeaderSize,
          headersTimeout: opts.headersTimeout,
          requestTimeout: opts.requestTimeout,
          keepAliveTimeout: opts.keepAliveTimeout,
          coalescing
        }, h, main)
      }
      return main
    },
    // Only for Fastify's "Server listening at https://…" line: the factory above makes the servers.
    ...(tls !== null && opts.httpsPort === 0 ? { https: true } : {}),
    logger: loggerOptions(opts),
    // Fastify's two lines per request become one, written where Fastify already reports completion
    // (no extra hook on the hot path).
    logController,
    // Fastify's own requestIdHeader would keep any value; this keeps only a sane one (requestIdOf).
    genReqId: requestIdGenerator(opts.requestIdHeader),
    requestIdHeader: false,
    // A hop count is valid for proxy-addr (Fastify passes it through) though Fastify's types omit it.
    trustProxy: trustProxyOption(opts.trustProxy),
    bodyLimit: opts.bodyLimit,
    keepAliveTimeout: opts.keepAliveTimeout,
    requestTimeout: opts.requestTimeout,
    forceCloseConnections: 'idle',
    // A target the router cannot decode (`/%zz`) is still a request to echo, not a 400.
    frameworkErrors: (err, request, reply) => {
      const fallback = err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      if (!fallback) return (reply as FastifyReply).send(err)
      // No onRequest hook runs for these: the marker and the request-path checks are set and made here.
      ;(reply as FastifyReply).header(MARKER_HEADER, marker)
      const rejection = requestRejection(request.raw)
      if (rejection !== null) return rejectRequest(request, reply, rejection)
      logController.trackFallback(request, reply)
      return late.echo(request, reply)
    },
    // What Node's HTTP parser rejects gets the parser's reason, a log line and a lingering close.
    clientErrorHandler: makeClientErrorHandler(marker),
    return503OnClosing: true
  } as FastifyServerOptions) as unknown as FastifyInstance
  // The echo reads bodies itself for every method (GET with a body too), so Fastify's parsing step,
  // which would refuse some inputs an echo must show, is switched off for all methods.
  for (const m of fastify.supportedMethods) fastify.addHttpMethod(m, { hasBody: false, overrideExisting: true })
  // Where the echo leaves the body for the log line (--log-bodies); null (and unused) otherwise.
  fastify.decorateRequest('echoscopeBody', null)
  // First of all hooks: every answer from here on carries the marker (errors, 404s and 429s too), and a
  // request refused here reaches neither the rate limiter nor a route.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(MARKER_HEADER, marker)
    const rejection = requestRejection(request.raw)
    if (rejection === null) done()
    else rejectRequest(request, reply, rejection)
  })
  // Lines still in the log batch are written when the server closes (and at exit: logger.ts).
  fastify.addHook('onClose', (_instance, done) => { flushStdout(); done() })
  if (tls !== null && opts.http2) {
    fastify.addHook('onReady', async () => { for (const m of fastify.supportedMethods) knownMethods.add(m) })
  }
  fastify.decorate('echoscope', { options: opts, state, stats: createStats(), setFallback: (fn) => { late.echo = fn }, tls, transports: { tcp: [], udp: [] } })
  const tracing = tracingWanted(process.env) ? await setupTracing() : null
  if (tracing !== null) {
    await fastify.register(tracing.plugin)
    fastify.addHook('onClose', async () => { await tracing.shutdown() })
  }
  await fastify.register(app, { ...opts, state, tracer: tracing?.tracer ?? null, httpsListener: made.https, defaultResponse })
  return fastify
}

/** Runs echoscope as a process until SIGTERM/SIGINT. */
export async function startServer (opts: Options): Promise<FastifyInstance> {
  const fastify = await buildServer(opts)
  const { state } = fastify.echoscope
  closeWithGrace({ delay: opts.shutdownTimeout > 0 ? opts.shutdownDelay + opts.shutdownTimeout : false }, async ({ signal, err }) => {
    if (err !== undefined) fastify.log.error({ err }, 'uncaught error, shutting down')
    else fastify.log.info({ signal }, 'shutting down: finishing in-flight requests')
    state.draining = true
    if (opts.shutdownDelay > 0) await new Promise(resolve => setTimeout(resolve, opts.shutdownDelay))
    // Keep-alive connections that finish their last request during the drain would otherwise stay open
    // until the keep-alive timeout; close each one as soon as it goes idle.
    const sweep = setInterval(() => fastify.server.closeIdleConnections(), 50)
    try {
      await fastify.close()
    } finally {
      clearInterval(sweep)
    }
  })
  await fastify.listen({ port: opts.port, host: opts.host })
  return fastify
}
