// Prometheus metrics (prom-client) at <system prefix>/metrics, or on their own listener with --metrics-port.
// Each app gets its own Registry, so several servers in one process (tests, embedding) never collide.
//
// fastify-metrics sets up the registry's process and Node metrics. Its own request
// timing is switched off: it adds an onRequest and an onResponse hook, a WeakMap entry, an hrtime closure
// and three route-option objects to every request, measured at about 8 µs of a 40 µs request here (a fifth
// of the HTTP benchmark's budget). The same histogram (name, labels, buckets) is fed instead from the call
// Fastify already makes when a response is done (app.echoscope.observeResponses), with the duration
// Fastify already measured (reply.elapsedTime) and a label child bound once per route, method and status
// class. The transport counters are plain numbers in app.echoscope.stats, read only when Prometheus scrapes.
import { METHODS } from 'node:http'
import fp from 'fastify-plugin'
import Fastify, { LogController, type FastifyPluginAsync, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteShorthandOptions } from 'fastify'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import fastifyMetricsModule from 'fastify-metrics'
import { adminAuth } from './admin-auth.ts'
import { formatAddress } from '../transports/tcp.ts'
import type { Stats, Transport, TransportStats } from '../transports/stats.ts'

/** Something to count. prom-client's Counter is one; so is the no-op used when metrics are off. */
export interface CounterLike {
  inc: (value?: number) => void
}

/**
 * Counters that other plugins feed. Always decorated, whether --metrics is on or not, so callers need no
 * check. Not decorated in embedded mode (the echo plugin alone): use `app.hasDecorator('echoscopeMetrics')`.
 *
 *   app.echoscopeMetrics.rateLimited.inc()   // a request or upgrade refused with 429
 *   app.echoscopeMetrics.redisErrors.inc()   // a Redis command failed (the limiter failed open)
 */
export interface EchoscopeMetrics {
  /** echoscope_rate_limited_total */
  rateLimited: CounterLike
  /** echoscope_redis_errors_total */
  redisErrors: CounterLike
  /** the app's own registry, for a plugin that brings metrics of its own (undefined with --metrics false) */
  registry: Registry | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    echoscopeMetrics: EchoscopeMetrics
  }
}

/** Route label of requests no route matched or the router could not decode (`/%zz`), all in one series. */
export const UNMATCHED_ROUTE = '__unmatched__'

/** Seconds. Echoes take well under a millisecond; the delay control reaches 30 s. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

const TRANSPORTS: Transport[] = ['ws', 'tcp', 'udp']

/** Node's parser only passes these, but HTTP/2 passes any token: the rest share one label value. */
const KNOWN_METHODS = new Set(METHODS)

export function methodLabel (method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'OTHER'
}

/**
 * Close label: TCP reasons are a fixed set of words; WebSocket close codes come from the peer, so the
 * application ranges (3000–4999) collapse to `3xxx`/`4xxx`.
 */
export function closeLabel (key: string): string {
  if (key.length === 4 && (key[0] === '3' || key[0] === '4')) return key[0] + 'xxx'
  return key
}

function transportCounter (registry: Registry, stats: Stats, name: string, help: string, read: (s: TransportStats) => number) {
  return new Counter({
    name,
    help,
    labelNames: ['transport'],
    registers: [registry],
    collect () {
      this.reset()
      for (const t of TRANSPORTS) this.inc({ transport: t }, read(stats[t]))
    }
  })
}

function mapCounter (registry: Registry, stats: Stats, name: string, help: string, label: string, pick: (s: TransportStats) => Map<string, number>, relabel: (key: string) => string) {
  return new Counter({
    name,
    help,
    labelNames: ['transport', label],
    registers: [registry],
    collect () {
      this.reset()
      for (const t of TRANSPORTS) {
        for (const [key, n] of pick(stats[t])) this.inc({ transport: t, [label]: relabel(key) }, n)
      }
    }
  })
}

/** The transport counters, read from the plain numbers in `stats` at scrape time only. */
export function registerTransportMetrics (registry: Registry, stats: Stats): void {
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'echoscope_connections_open',
    help: 'connections open now (udp: source addresses tracked by the rate limiter)',
    labelNames: ['transport'],
    registers: [registry],
    collect () {
      for (const t of TRANSPORTS) this.set({ transport: t }, stats[t].open)
    }
  })
  transportCounter(registry, stats, 'echoscope_connections_accepted_total', 'connections accepted', s => s.accepted)
  transportCounter(registry, stats, 'echoscope_messages_received_total', 'messages (WebSocket messages, TCP chunks or frames, UDP datagrams) received', s => s.messagesIn)
  transportCounter(registry, stats, 'echoscope_messages_sent_total', 'messages sent back', s => s.messagesOut)
  transportCounter(registry, stats, 'echoscope_received_bytes_total', 'payload bytes received', s => s.bytesIn)
  transportCounter(registry, stats, 'echoscope_sent_bytes_total', 'payload bytes sent back', s => s.bytesOut)
  mapCounter(registry, stats, 'echoscope_connections_closed_total', 'connections closed, by WebSocket close code or TCP reason', 'reason', s => s.closes, closeLabel)
  mapCounter(registry, stats, 'echoscope_limit_hits_total', 'times a limit refused or closed something, by limit', 'limit', s => s.limitHits, key => key)
}

const NOOP: CounterLike = { inc () {} }

/** Status classes as fastify-metrics' groupStatusCodes writes them; clients pick any code with x-echo-status. */
const STATUS_CLASSES = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx']

type Observe = (method: string | undefined, route: string, statusCode: number, elapsedMs: number) => void

interface Series {
  labels: Record<string, string>
  /** observations per bucket (not cumulative); the last slot is above the highest bound */
  counts: Float64Array
  sum: number
  count: number
}

/**
 * The request histogram. prom-client's own observe() cost about 1 µs per request: it validates the labels,
 * hashes them into a string, and finds the bucket by turning each bound into a property name. Here each
 * label set's series is found once (by method, route and status class, all bounded) and an observation is a
 * few array writes; the series are handed to prom-client when it is scraped (`collect`), so the exposition
 * (bucket order, cumulative counts, +Inf, _sum, _count) is prom-client's own.
 */
export class DurationHistogram extends Histogram<'method' | 'route' | 'status_code'> {
  #bounds: number[]
  #series = new Map<string, Array<Series | undefined>>()

  constructor (name: string, help: string, buckets: number[], registry: Registry) {
    super({
      name,
      help,
      labelNames: ['method', 'route', 'status_code'],
      buckets,
      registers: [registry],
      collect () { (this as DurationHistogram).#publish() }
    })
    this.#bounds = [...buckets].sort((a, b) => a - b)
  }

  /** One finished request: `elapsedMs` milliseconds, by method, route pattern and status class. */
  record: Observe = (method, route, statusCode, elapsedMs) => {
    const m = methodLabel(method)
    const key = m + ' ' + route
    let byClass = this.#series.get(key)
    if (byClass === undefined) {
      byClass = []
      this.#series.set(key, byClass)
    }
    const cls = Math.min(5, Math.max(1, Math.floor(statusCode / 100)))
    let series = byClass[cls]
    if (series === undefined) {
      series = { labels: { method: m, route, status_code: STATUS_CLASSES[cls] }, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 }
      byClass[cls] = series
    }
    const seconds = elapsedMs / 1000
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]) i++
    series.counts[i]++
    series.sum += seconds
    series.count++
  }

  // prom-client keeps a histogram's series in `hashMap` (hash → labels, per-bound counts, sum, count) and
  // exports whatever is there; `reset()` empties it. The hash keys only need to be distinct.
  #publish (): void {
    this.reset()
    const map = (this as unknown as { hashMap: Record<string, unknown> }).hashMap
    let n = 0
    for (const byClass of this.#series.values()) {
      for (const series of byClass) {
        if (series === undefined) continue
        const bucketValues: Record<number, number> = {}
        this.#bounds.forEach((bound, i) => { bucketValues[bound] = series.counts[i] })
        map[String(n++)] = { labels: { ...series.labels }, bucketValues, sum: series.sum, count: series.count }
      }
    }
  }
}

// fastify-metrics is CommonJS with an `exports.default`; under nodenext the plugin is that property.
const fastifyMetrics = (fastifyMetricsModule as unknown as { default: FastifyPluginAsync<Record<string, unknown>> }).default

/** Starts the separate --metrics-port listener; a failure names the option, not --port. */
async function startMetricsListener (app: FastifyInstance, registry: Registry): Promise<FastifyInstance> {
  const { host, metricsPort, systemPrefix, adminToken } = app.echoscope.options
  // Errors go to the app's log; scrapes (every few seconds, forever) do not.
  const server = Fastify({
    loggerInstance: app.log.child({ listener: 'metrics' }),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true
  })
  const route = metricsRoute(adminToken)
  // A scrape config written for the main port (with the prefix) works here unchanged.
  server.get('/metrics', route, scrape(registry))
  if (systemPrefix !== '') server.get(`${systemPrefix}/metrics`, route, scrape(registry))
  try {
    await server.listen({ port: metricsPort, host })
  } catch (err) {
    await server.close()
    const e = err as NodeJS.ErrnoException
    const reason = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message
    throw new Error(`cannot listen for metrics on ${formatAddress(host, metricsPort)}: ${reason} (--metrics-port)`, { cause: err })
  }
  return server
}

function metricsRoute (adminToken: string): RouteShorthandOptions {
  // No schema here: the OpenAPI plugin documents this path itself (METRICS_OPERATION in src/schemas/system.ts).
  return { onRequest: adminAuth(adminToken) }
}

function scrape (registry: Registry) {
  return async function metricsHandler (_request: FastifyRequest, reply: FastifyReply) {
    reply.type(registry.contentType)
    return registry.metrics()
  }
}

async function metricsPlugin (app: FastifyInstance) {
  const { options: o, stats } = app.echoscope
  if (!o.metrics) {
    app.decorate('echoscopeMetrics', { rateLimited: NOOP, redisErrors: NOOP, registry: undefined })
    return
  }
  const registry = new Registry()
  registerTransportMetrics(registry, stats)
  app.decorate('echoscopeMetrics', {
    rateLimited: new Counter({ name: 'echoscope_rate_limited_total', help: 'echo requests and WebSocket upgrades refused with 429', registers: [registry] }),
    redisErrors: new Counter({ name: 'echoscope_redis_errors_total', help: 'Redis errors (the rate limit fails open meanwhile)', registers: [registry] }),
    registry
  })

  await app.register(fastifyMetrics, {
    endpoint: null, // served below, behind --admin-token and on --metrics-port when asked
    name: 'fastifyMetrics',
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: { enabled: false } // timed below, without per-request hooks
  })
  // The source document's avg_latency_ms is http_request_duration_seconds_sum / _count.
  const observe = new DurationHistogram('http_request_duration_seconds',
    'HTTP request duration in seconds, by route pattern (never the raw path), method and status class',
    DURATION_BUCKETS, registry).record
  if (o.metricsPort === 0) {
    app.get(`${o.systemPrefix}/metrics`, metricsRoute(o.adminToken), scrape(registry))
    return
  }
  let server: FastifyInstance | undefined
  app.addHook('onReady', async function () {
    server = await startMetricsListener(app, registry)
    const address = server.server.address()
    app.echoscope.metricsPort = typeof address === 'object' && address !== null ? address.port : o.metricsPort
    app.log.info({ host: o.host, port: app.echoscope.metricsPort }, `metrics listening on ${formatAddress(o.host, app.echoscope.metricsPort)}`)
  })
  app.addHook('onClose', async function () {
    await server?.close()
  })
}

export default fp(metricsPlugin, { fastify: '5.x', name: 'echoscope-metrics' })
