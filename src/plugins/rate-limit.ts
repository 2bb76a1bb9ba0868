// Rate limit of the echo (HTTP requests and WebSocket upgrades) with @fastify/rate-limit. app.ts registers it
// after the system routes: the plugin limits only routes registered after it, so system paths are exempt.
// Requests the router cannot match are limited by app.ts's fallback, through the plugin's `rateLimit()` hook.
//
// The plugin counts (its in-memory LRU, or our Redis store); this file decides the key, the allow list, the
// 429 and the RateLimit headers of draft-ietf-httpapi-ratelimit-headers, which the plugin does not write.
//
// Fail open: when Redis cannot answer, the request is served unchecked and without RateLimit headers; the
// first failure of an outage logs one warning, each failed lookup counts in echoscope_redis_errors_total.
import { hash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import fp from 'fastify-plugin'
import ipaddr from 'ipaddr.js'
import fastifyRateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { Options } from '../config/options.ts'
import { connectRedis, describeRedisUrl } from '../stores/redis.ts'
import { redisRateLimitStore } from '../stores/rate-limit-redis.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** present only when the limiter is on (--rate-limit-max > 0) */
    echoscopeRateLimit: RateLimitState
  }
}

export type RateLimitOptions = Pick<Options, 'rateLimitMax' | 'rateLimitWindow' | 'rateLimitKey' | 'rateLimitAllow' | 'rateLimitHeaders' | 'redisUrl'>

export interface RateLimitState {
  /** requests and upgrades refused with 429 since start */
  rateLimited: number
  /** rate-limit lookups that failed in Redis (each one a request served unchecked) */
  redisErrors: number
  /** true while Redis is configured and unreachable */
  redisDown: () => boolean
  /** completes the RateLimit headers of a counted request after the plugin's hook (app.ts's fallback) */
  finishHeaders: (reply: FastifyReply) => void
}

/**
 * Distinct clients the in-memory limiter remembers per window (least recently seen forgotten first). About
 * 100 bytes each; a higher count only matters when that many clients are limited at once.
 */
const LOCAL_CACHE_SIZE = 10000

/** Non-address keys (a trusted X-Forwarded-For can carry anything) are cut, so they cannot grow the store. */
const MAX_RAW_KEY = 64

/** The key of an exempt client: the key decision is made once, the plugin's allowList reads its verdict. */
const EXEMPT = 'exempt'

/** --rate-limit-allow group names → the ipaddr.js range() names they cover. */
const ADDRESS_GROUPS = new Map([
  ['loopback', ['loopback']],
  ['linklocal', ['linkLocal']],
  ['uniquelocal', ['private', 'uniqueLocal']]
])

type Address = ipaddr.IPv4 | ipaddr.IPv6

export interface AllowList {
  /** ipaddr.js range() names (from loopback, linklocal, uniquelocal) */
  ranges: Set<string>
  /** addresses and CIDR ranges, IPv4-mapped ones stored as IPv4 */
  cidrs: Array<[Address, number]>
  /** entries that are not addresses: header values (with --rate-limit-key header:NAME) */
  values: Set<string>
}

/** A strict CIDR or address (four-part decimal IPv4, any IPv6) as [network, bits], or null. */
function parseRange (entry: string): [Address, number] | null {
  const slash = entry.indexOf('/')
  const addr = slash === -1 ? entry : entry.slice(0, slash)
  // ipaddr.js also reads legacy forms ('10.1', hex, octal); in an allow list those are header values.
  if (!isIPv4(addr) && !isIPv6(addr)) return null
  const cidr = slash === -1 ? `${entry}/${isIPv4(addr) ? 32 : 128}` : entry
  if (!ipaddr.isValidCIDR(cidr)) return null
  const [net, bits] = ipaddr.parseCIDR(cidr)
  // ::ffff:10.0.0.0/104 means 10.0.0.0/8: clients are matched as plain IPv4.
  if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96]
  }
  return [net, bits]
}

/** Splits --rate-limit-allow into address rules (IPs, CIDRs, group names) and plain values. */
export function parseAllowList (entries: string[]): AllowList {
  const list: AllowList = { ranges: new Set(), cidrs: [], values: new Set() }
  for (const raw of entries) {
    const entry = raw.trim()
    const group = ADDRESS_GROUPS.get(entry.toLowerCase())
    const range = group === undefined ? parseRange(entry) : null
    if (group !== undefined) group.forEach(name => list.ranges.add(name))
    else if (range !== null) list.cidrs.push(range)
    else list.values.add(entry)
  }
  return list
}

function allowed (list: AllowList, addr: Address): boolean {
  if (list.ranges.size > 0 && list.ranges.has(addr.range())) return true
  const kind = addr.kind()
  for (const [net, bits] of list.cidrs) {
    if (net.kind() === kind && addr.match(net, bits)) return true
  }
  return false
}

/**
 * The key of a client address, or null when the allow list exempts it. IPv4-mapped addresses count as
 * their IPv4 address; IPv6 clients are keyed by their /64, since one host usually holds a whole /64 and
 * could otherwise take a fresh address per request.
 */
export function addressKey (ip: string, list: AllowList): string | null {
  const checked = list.ranges.size > 0 || list.cidrs.length > 0
  // net.isIPv4/isIPv6 first: they are strict and cheap, and ipaddr.js throws on every string it rejects.
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d.
  const v4 = isIPv4(ip) ? ip : ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : null
  if (v4 !== null) return checked && allowed(list, ipaddr.IPv4.parse(v4)) ? null : 'ip:' + v4
  if (!isIPv6(ip)) return 'ip:' + ip.slice(0, MAX_RAW_KEY)
  const v6 = ipaddr.IPv6.parse(ip)
  const addr = v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6
  if (checked && allowed(list, addr)) return null
  if (addr.kind() === 'ipv4') return 'ip:' + addr.toString()
  // Eight groups without zeros compressed or a zone: the first four are the /64.
  return 'ip:' + addr.toNormalizedString().split(':', 4).join(':') + '::/64'
}

/** The client address: request.ip (after --trust-proxy), else the socket's (injectWS gives no request.ip). */
function clientIp (request: FastifyRequest): string {
  return request.ip ?? request.raw.socket?.remoteAddress ?? ''
}

/**
 * `(request) => key | null` for --rate-limit-key: `ip`, or `header:NAME` (requests without the header are
 * keyed by address). Header values are hashed: API keys must not sit readable in Redis, and a 16 KiB
 * header must not make a 16 KiB key. An allowed address is exempt whatever the key.
 */
export function makeKeyOf (keySpec: string, list: AllowList): (request: FastifyRequest) => string | null {
  const header = keySpec.startsWith('header:') ? keySpec.slice('header:'.length).toLowerCase() : null
  if (header === null) return request => addressKey(clientIp(request), list)
  return request => {
    const byAddress = addressKey(clientIp(request), list)
    if (byAddress === null) return null
    const value = request.headers[header]
    if (typeof value !== 'string' || value === '') return byAddress
    if (list.values.has(value)) return null
    return 'key:' + hash('sha256', value, 'base64url')
  }
}

// ---------------------------------------------------------------------------------------------------------

interface Counter { inc: () => void }

function seconds (ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

async function rateLimitPlugin (app: FastifyInstance, opts: RateLimitOptions) {
  // 0 turns it off: nothing registered, nothing paid per request.
  if (opts.rateLimitMax === 0) return
  const max = opts.rateLimitMax
  const windowMs = opts.rateLimitWindow

  const allow = parseAllowList(opts.rateLimitAllow)
  if (!opts.rateLimitKey.startsWith('header:') && allow.values.size > 0) {
    app.log.warn({ entries: [...allow.values] }, '--rate-limit-allow entries that are not addresses never match with --rate-limit-key ip')
  }
  const keyOf = makeKeyOf(opts.rateLimitKey, allow)

  // draft-ietf-httpapi-ratelimit-headers: the policy never changes, so it is built once.
  const policy = `"echo";q=${max};w=${Math.max(1, Math.round(windowMs / 1000))}`
  const messageStart = `rate limit exceeded: more than ${max} requests per ${seconds(windowMs)} from one client; retry in `

  /**
   * Beside the plugin's X-RateLimit headers of a counted request (--rate-limit-headers), the RateLimit ones.
   * A reset of 0 is how the plugin serves a failed lookup (skipOnError; a counted request always has time
   * left): its headers would claim a full budget, so they go.
   */
  function finishHeaders (reply: FastifyReply): void {
    const reset = reply.getHeader('x-ratelimit-reset')
    if (reset === undefined) return
    if (String(reset) === '0') {
      reply.removeHeader('x-ratelimit-limit').removeHeader('x-ratelimit-remaining').removeHeader('x-ratelimit-reset')
      return
    }
    reply.header('ratelimit-policy', policy).header('ratelimit', `"echo";r=${String(reply.getHeader('x-ratelimit-remaining'))};t=${String(reset)}`)
  }

  const state: RateLimitState = { rateLimited: 0, redisErrors: 0, redisDown: () => false, finishHeaders }
  app.decorate('echoscopeRateLimit', state)
  // The metrics plugin (registered earlier) decorates its counters; without it we only count locally.
  const metrics: { rateLimited: Counter, redisErrors: Counter } | null = app.hasDecorator('echoscopeMetrics') ? app.echoscopeMetrics : null

  let store: FastifyRateLimitStoreCtor | undefined
  if (opts.redisUrl !== '') {
    const link = connectRedis(opts.redisUrl, app.log, 'the rate limit')
    if (link === null) return // unusable URL: warned; fail open means no limiter at all
    state.redisDown = () => link.isDown()
    app.addHook('onClose', () => link.close())
    // Requests arriving before the first connection would otherwise each count as a Redis error.
    await link.settled
    if (!link.isDown()) app.log.info({ redis: describeRedisUrl(opts.redisUrl) }, 'rate limit shared through Redis')
    store = redisRateLimitStore(link, {
      onError: () => {
        state.redisErrors++
        metrics?.redisErrors.inc()
      }
    })
  }

  const counted = opts.rateLimitHeaders
  await app.register(fastifyRateLimit, {
    max,
    timeWindow: windowMs,
    // Without `store`, the plugin's own in-memory store (fixed window, LRU of clients).
    store,
    cache: LOCAL_CACHE_SIZE,
    // Redis away: served unchecked (the store has counted and logged the failure).
    skipOnError: true,
    keyGenerator: request => keyOf(request) ?? EXEMPT,
    allowList: (_request, key) => key === EXEMPT,
    addHeadersOnExceeding: { 'x-ratelimit-limit': counted, 'x-ratelimit-remaining': counted, 'x-ratelimit-reset': counted },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    onExceeded: () => {
      state.rateLimited++
      metrics?.rateLimited.inc()
    },
    // Thrown by the plugin's hook into the error handler, which answers Fastify's JSON error shape; the
    // frameworkErrors path has Fastify's own handler, which sets `headers` too.
    errorResponseBuilder: (request, context) => {
      const reset = Math.ceil(context.ttl / 1000)
      return Object.assign(new Error(messageStart + reset + ' s'), {
        statusCode: 429,
        headers: { 'ratelimit-policy': policy, ratelimit: `"echo";r=0;t=${reset}`, 'x-request-id': request.id }
      })
    }
  })

  if (!counted) return
  // The plugin adds its hook to every route it limits (all registered after it, but `config: { rateLimit:
  // false }`); this one runs after it on the same routes.
  const headersHook = (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    finishHeaders(reply)
    done()
  }
  app.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as { rateLimit?: unknown } | undefined)?.rateLimit === false) return
    const existing = route.onRequest
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
    // A new array, never a push: Fastify's HEAD twin of a GET route shares the original's arrays.
    if (!hooks.includes(headersHook)) route.onRequest = [...hooks, headersHook]
  })
}

export default fp(rateLimitPlugin, { fastify: '5.x', name: 'echoscope-rate-limit' })
