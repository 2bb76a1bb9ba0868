// --cors: the echo answers browsers on other origins, with @fastify/cors. app.ts imports this module only
// when --cors is given, and registers it in the echo's own scope, so the system routes never get its hook.
//
// The plugin answers preflights from its hook and gives OPTIONS a wildcard route of its own, the echo's
// OPTIONS routes left out (echo.ts). An OPTIONS that is not a preflight gets the CORS headers and goes
// from that route to the not-found handler, which in echoscope is the echo: every OPTIONS a gateway sends
// is still echoed.
import fp from 'fastify-plugin'
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

export interface CorsPluginOptions {
  /** --cors: `['*']`, or the origins allowed */
  origins: string[]
  /** --system-prefix: paths under it that are system paths get no CORS headers */
  systemPrefix: string
  /** the methods the echo answers: a preflight asking for one of them is told that one */
  methods: readonly string[]
}

/** Response headers of echoscope's own that a script may read (others than these are CORS-safelisted). */
export const EXPOSED_HEADERS = ['x-request-id', 'x-echo-attempt']

/** Seconds a browser may keep a preflight's answer (Chromium keeps at most 7200). */
export const PREFLIGHT_MAX_AGE = 600

/** The system paths under --system-prefix; a path below one of them (`/requests/:id`, `/docs/static/…`) too. */
const SYSTEM_PATHS = ['/healthz', '/readyz', '/metrics', '/docs', '/openapi.json', '/openapi.yaml', '/requests', '/inspect']

/**
 * Whether a request target is a system path. Decoded first, as the router matches: `/%68ealthz` is routed
 * to /healthz, so its preflight must not open PUT /healthz to a page on another origin.
 */
export function isSystemPath (url: string, prefix: string): boolean {
  const q = url.indexOf('?')
  let path = q === -1 ? url : url.slice(0, q)
  try {
    path = decodeURIComponent(path)
  } catch {
    // The router cannot decode it either: it reaches the echo as an unroutable target.
  }
  if (!path.startsWith(prefix)) return false
  const rest = path.slice(prefix.length)
  return SYSTEM_PATHS.some(p => rest === p || rest.startsWith(p + '/'))
}

/**
 * The options @fastify/cors is registered with, chosen per request by its delegator: CORS headers only for
 * an allowed Origin on an echo path (the plugin itself would add Allow-Credentials and Expose-Headers for
 * any origin), preflights only as the Fetch standard defines them (OPTIONS with Origin and
 * Access-Control-Request-Method), and every other OPTIONS left to the echo.
 */
export function corsOptions (opts: CorsPluginOptions): FastifyCorsOptions {
  const any = opts.origins.length === 1 && opts.origins[0] === '*'
  const allowed = new Set(opts.origins)
  const common = {
    // An array, even of one, so that only a listed origin is reflected.
    origin: any ? '*' : opts.origins,
    // Cookies and HTTP authentication only for origins named one by one: browsers refuse them with `*`.
    credentials: !any,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE
  }
  const echoed = { ...common, preflight: false }
  const off = { origin: false }
  const methods = new Set(opts.methods)
  const allMethods = opts.methods.join(', ')
  return {
    // After the rate limiter's onRequest hook, so preflights count too: two headers must not lift the limit.
    hook: 'preHandler',
    delegator: (request, callback) => {
      const origin = request.headers.origin
      if (origin === undefined || (!any && !allowed.has(origin)) || isSystemPath(request.url, opts.systemPrefix)) return callback(null, off)
      const asked = request.headers['access-control-request-method']
      if (request.raw.method !== 'OPTIONS' || asked === undefined) return callback(null, echoed)
      // Without allowedHeaders the plugin answers with the headers the preflight asks for.
      callback(null, { ...common, methods: methods.has(asked) ? asked : allMethods })
    }
  }
}

async function corsPlugin (app: FastifyInstance, opts: CorsPluginOptions) {
  await app.register(cors, corsOptions(opts))
}

export default fp(corsPlugin, { fastify: '5.x', name: 'echoscope-cors' })
