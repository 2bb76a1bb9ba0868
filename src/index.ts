// Public API: the echo as an embeddable Fastify plugin, and the whole server.
// First: keeps process.nextTick on V8's fast path in the host process too (see the module).
import './perf/pin-next-tick.ts'
import type { FastifyInstance } from 'fastify'
import { ConfigError, resolveOptions, type Options } from './config/options.ts'
import { echoRouteOptions, websocketOptions } from './app.ts'
import websocketPlugin from './plugins/websocket.ts'
import { echoRoutes } from './routes/echo.ts'
import { createStats } from './transports/stats.ts'
import { MARKER_HEADER, markerValue, serverIdentity } from './echo/identity.ts'

export { buildServer, startServer } from './server.ts'
export { loadOptions, resolveOptions, ConfigError, type Options } from './config/options.ts'
export type { Echo } from './echo/types.ts'

/**
 * Embedded mode: `app.register(echoscope, { prefix: '/debug', ...options })` echoes every method on every
 * path under the prefix. Options are the same as the CLI's (camelCase); unknown ones are an error.
 */
export default async function echoscope (app: FastifyInstance, input: Partial<Options> & { prefix?: string } = {}) {
  const { prefix: _prefix, ...rest } = input
  const opts = resolveOptions(rest, new Set(['logLevel']))
  // Silently echoing without the CORS headers asked for would look like a browser bug.
  if (opts.cors.length > 0) throw new ConfigError('invalid option cors: the embedded plugin adds no CORS headers; register @fastify/cors in the host app')
  // A host app that brought its own @fastify/websocket keeps it (the plugin uses it then).
  if (!app.hasDecorator('echoscopeWs')) await app.register(websocketPlugin, websocketOptions(opts, createStats().ws))
  // The echo's answers carry the marker here too (this plugin's scope only: the host's routes do not).
  const marker = markerValue(serverIdentity(opts.instance).instance)
  app.addHook('onRequest', (_request, reply, done) => { reply.header(MARKER_HEADER, marker); done() })
  await echoRoutes(app, echoRouteOptions(opts))
}
