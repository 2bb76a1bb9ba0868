// The whole echoscope application as one Fastify plugin. Plugins are registered in a fixed, visible order.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Options } from './config/options.ts'
import errorHandler from './plugins/error-handler.ts'
import transports from './plugins/transports.ts'
import httpsListener, { type HttpsListener } from './plugins/https-listener.ts'
import websocketPlugin, { type WebsocketPluginOptions } from './plugins/websocket.ts'
import metrics from './plugins/metrics.ts'
import openapi from './plugins/openapi.ts'
import rateLimit, { type RateLimitOptions } from './plugins/rate-limit.ts'
import type { TransportStats } from './transports/stats.ts'
import type { Tracer } from '@opentelemetry/api'
import history from './plugins/history.ts'
import { adminAuth } from './plugins/admin-auth.ts'
import { requestsRoutes } from './routes/requests.ts'
import { inspectRoutes } from './routes/inspect.ts'
import type { HistoryStore } from './stores/history.ts'
import { memoryFaults, type FaultCounter } from './stores/faults.ts'
import faults from './plugins/faults.ts'
import { healthRoutes, type HealthState } from './routes/health.ts'
import { ECHO_METHODS, echoRoutes, makeEchoHandler, type EchoRouteOptions } from './routes/echo.ts'
import { gatewayContext, markerValue, serverIdentity } from './echo/identity.ts'
import { loadDefaultResponse, type DefaultResponse } from './config/default-response.ts'

export interface AppOptions extends Options {
  state: HealthState
  /** set when OTEL_* configures tracing: WebSocket messages get spans too */
  tracer: Tracer | null
  /** the --https-port server, made beside the main one (null without --https-port) */
  httpsListener: HttpsListener | null
  /** --response-*, read at start (null when none is set) */
  defaultResponse: DefaultResponse | null
}

export function websocketOptions (opts: Options, stats: TransportStats, tracer: Tracer | null = null): WebsocketPluginOptions {
  return {
    maxMessageSize: opts.wsMaxMessageSize,
    maxConnections: opts.wsMaxConnections,
    maxBufferedBytes: opts.wsMaxBufferedBytes,
    maxMessageRate: opts.wsMaxMessageRate,
    idleTimeout: opts.wsIdleTimeout,
    pingInterval: opts.wsPingInterval,
    allowedOrigins: opts.wsAllowedOrigins,
    stats,
    marker: markerValue(serverIdentity(opts.instance).instance),
    tracer
  }
}

export function rateLimitOptions (opts: Options): RateLimitOptions {
  return {
    rateLimitMax: opts.rateLimitMax,
    rateLimitWindow: opts.rateLimitWindow,
    rateLimitKey: opts.rateLimitKey,
    rateLimitAllow: opts.rateLimitAllow,
    rateLimitHeaders: opts.rateLimitHeaders,
    redisUrl: opts.redisUrl
  }
}

export function echoRouteOptions (
  opts: Options,
  history: HistoryStore | null = null,
  faults: FaultCounter | null = opts.noControls ? null : memoryFaults(),
  defaultResponse: DefaultResponse | null = loadDefaultResponse(opts)
): EchoRouteOptions {
  const identity = serverIdentity(opts.instance, opts.echoEnv)
  return {
    bodyLimit: opts.bodyLimit,
    maxDecodedSize: opts.maxDecodedSize,
    maxDecodeRatio: opts.maxDecodeRatio,
    maxDelay: opts.maxDelay,
    noControls: opts.noControls,
    defaultFormat: opts.defaultFormat,
    logRequests: opts.logRequests,
    logBodies: opts.logBodies,
    maxStreams: opts.maxStreams,
    maxStreamSeconds: opts.maxStreamSeconds,
    identity,
    gateway: gatewayContext(identity),
    jwtHeaders: opts.jwtHeaders,
    history,
    faults,
    defaultResponse,
    streams: new Set()
  }
}

export async function app (fastify: FastifyInstance, opts: AppOptions) {
  const prefix = opts.systemPrefix
  await fastify.register(errorHandler)
  // Raw TCP/UDP echo listeners (only when --tcp-port/--udp-port are given): opened on ready, closed on close.
  await fastify.register(transports, { ...opts, stats: fastify.echoscope.stats, tls: fastify.echoscope.tls })
  // HTTPS on its own port when --https-port is given beside the plain --port.
  if (opts.httpsListener !== null) await fastify.register(httpsListener, { listener: opts.httpsListener, host: opts.host, port: opts.httpsPort, marker: markerValue(serverIdentity(opts.instance).instance) })

  // Recent requests (memory, or shared through Redis) for /requests and /inspect.
  await fastify.register(history, { historySize: opts.historySize, historyBodyLimit: opts.historyBodyLimit, redactHeaders: opts.redactHeaders, redisUrl: opts.redisUrl })
  // Attempt counters of the x-echo-fail-times control (memory, or shared through Redis).
  await fastify.register(faults, { noControls: opts.noControls, redisUrl: opts.redisUrl })
  const echoOpts = echoRouteOptions(opts, fastify.echoscopeHistory, fastify.echoscopeFaults, opts.defaultResponse)
  // WebSocket support at the root, so an upgrade on a system path is refused rather than left open.
  await fastify.register(websocketPlugin, websocketOptions(opts, fastify.echoscope.stats.ws, opts.tracer))

  // Metrics and the OpenAPI document watch every route registered after them.
  await fastify.register(metrics, {
    metrics: opts.metrics,
    metricsPort: opts.metricsPort,
    host: opts.host,
    systemPrefix: prefix,
    adminToken: opts.adminToken,
    stats: fastify.echoscope.stats
  })
  await fastify.register(openapi, { systemPrefix: opts.systemPrefix })

  // System paths first, all under --system-prefix, and before the rate limiter: they are exempt.
  await fastify.register(healthRoutes, { prefix, state: opts.state, auth: adminAuth(opts.adminToken), instance: serverIdentity(opts.instance).instance })
  if (fastify.echoscopeHistory !== null) {
    await fastify.register(requestsRoutes, { prefix, history: fastify.echoscopeHistory, auth: adminAuth(opts.adminToken), maxStreams: opts.maxStreams })
    await fastify.register(inspectRoutes, { prefix, auth: adminAuth(opts.adminToken) })
  }

  // Routes registered after this are limited: the echo (HTTP and WebSocket upgrades).
  await fastify.register(rateLimit, rateLimitOptions(opts))

  // The echo last: it answers everything the system paths do not, including request targets the
  // router cannot match (absolute-form, `*`, over-long paths), through the not-found handler.
  if (opts.cors.length === 0) {
    await fastify.register(echoRoutes, echoOpts)
  } else {
    // Loaded only with --cors. The plugin's hook is for the echo alone: both live in a scope of their own.
    const { default: cors } = await import('./plugins/cors.ts')
    await fastify.register(async function corsEcho (scope) {
      await scope.register(cors, { origins: opts.cors, systemPrefix: prefix, methods: ECHO_METHODS })
      await scope.register(echoRoutes, { ...echoOpts, optionsRoutes: false })
    })
  }
  // Requests the router cannot match reach the echo through the not-found handler, and targets Fastify
  // cannot decode (`/%zz`, over-long parameters) through frameworkErrors: no route hook reaches either, so
  // the limiter runs here, as its hook (the plugin's `rateLimit()`, one budget with the routes).
  const echo = makeEchoHandler(echoOpts)
  const limit = fastify.hasDecorator('rateLimit') ? fastify.rateLimit() : null
  const fallback = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      if (limit !== null) {
        await limit.call(fastify, request, reply)
        fastify.echoscopeRateLimit.finishHeaders(reply)
      }
      echo(request, reply)
    } catch (err) {
      // A 429, or a bad control: frameworkErrors has no error handling of its own.
      reply.send(err)
    }
    // The echo may answer later (a body still arriving): Fastify waits for the reply.
    return reply
  }
  fastify.setNotFoundHandler(fallback)
  const { observeUnrouted } = fastify.echoscopeMetrics
  fastify.echoscope.setFallback((request, reply) => {
    // Fastify runs no hooks for these, so the metrics plugin's onResponse hook cannot time them.
    observeUnrouted(request, reply)
    return fallback(request, reply)
  })
}
