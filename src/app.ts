// The whole echoscope application as one Fastify plugin. Plugins are registered in a fixed, visible order.
import type { FastifyInstance } from 'fastify'
import type { Options } from './config.ts'
import errorHandler from './plugins/error-handler.ts'
import transports from './plugins/transports.ts'
import httpsListener from './plugins/https-listener.ts'
import websocketPlugin from './plugins/websocket.ts'
import metrics from './plugins/metrics.ts'
import openapi from './plugins/openapi.ts'
import rateLimit from './plugins/rate-limit.ts'
import type { TransportStats } from './stats.ts'
import { healthRoutes, type HealthState } from './routes/health.ts'
import { echoRoutes, makeEchoHandler, type EchoRouteOptions } from './routes/echo.ts'
import { gatewayContext, serverIdentity } from './echo/identity.ts'

export interface AppOptions extends Options {
  state: HealthState
}

export function echoRouteOptions (opts: Options, stats: TransportStats): EchoRouteOptions {
  const identity = serverIdentity(opts.instance)
  return {
    ws: {
      maxMessageSize: opts.wsMaxMessageSize,
      maxConnections: opts.wsMaxConnections,
      maxBufferedBytes: opts.wsMaxBufferedBytes,
      maxMessageRate: opts.wsMaxMessageRate,
      idleTimeout: opts.wsIdleTimeout,
      pingInterval: opts.wsPingInterval,
      allowedOrigins: opts.wsAllowedOrigins,
      stats
    },
    bodyLimit: opts.bodyLimit,
    maxDecodedSize: opts.maxDecodedSize,
    maxDecodeRatio: opts.maxDecodeRatio,
    maxDelay: opts.maxDelay,
    noControls: opts.noControls,
    maxStreams: opts.maxStreams,
    maxStreamSeconds: opts.maxStreamSeconds,
    identity,
    gateway: gatewayContext(identity)
  }
}

export async function app (fastify: FastifyInstance, opts: AppOptions) {
  const prefix = opts.systemPrefix
  await fastify.register(errorHandler)
  // Raw TCP/UDP echo listeners (only when --tcp-port/--udp-port are given): opened on ready, closed on close.
  await fastify.register(transports)
  // HTTPS on its own port when --https-port is given beside the plain --port.
  await fastify.register(httpsListener)

  const echoOpts = echoRouteOptions(opts, fastify.echoscope.stats.ws)
  // WebSocket support at the root, so an upgrade on a system path is refused rather than left open.
  await fastify.register(websocketPlugin, echoOpts.ws)

  // Metrics and the OpenAPI document watch every route registered after them.
  await fastify.register(metrics)
  await fastify.register(openapi)

  // System paths first, all under --system-prefix, and before the rate limiter: they are exempt.
  await fastify.register(healthRoutes, { prefix, state: opts.state })

  // Routes registered after this are limited: the echo (HTTP and WebSocket upgrades).
  await fastify.register(rateLimit)

  // The echo last: it answers everything the system paths do not, including request targets the
  // router cannot match (absolute-form, `*`, over-long paths), through the not-found handler.
  await fastify.register(echoRoutes, echoOpts)
  const fallback = makeEchoHandler(echoOpts)
  fastify.setNotFoundHandler(fallback)
  fastify.echoscope.setFallback((request, reply) => fallback(request, reply).catch(err => reply.send(err)))
}
