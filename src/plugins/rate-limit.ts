// Rate limit of the echo (HTTP requests and WebSocket upgrades) with @fastify/rate-limit. app.ts registers it
// after the system routes: only routes registered after it are limited, so system paths are exempt.
//
// The plugin's counting (createRateLimit, with its in-memory LRU or our Redis store) is used as is; this file
// decides the key, the allow list, the headers and the 429. Requests the router cannot match (absolute-form
// targets, `*`, undecodable paths) are echoed by the not-found handler or Fastify's frameworkErrors, which no
// route hook reaches, so those two paths are limited here too: otherwise `curl --request-target
// http://x/` would walk around the limit.
//
// Fail open: when Redis cannot answer, the request is served unchecked and without RateLimit headers; the
// first failure of an outage logs one warning, each failed lookup counts in echoscope_redis_errors_total.
import { hash } from 'node:crypto'
import { isIP } from 'node:net'
import fp from 'fastify-plugin'
import fastifyRateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
// The plugin's own in-memory store (no exports map: the file is the package's public layout since v5).
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import { connectRedis, describeRedisUrl, type RedisLink } from '../stores/redis.ts'
import { redisRateLimitStore } from '../stores/rate-limit-redis.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** the rate-limit key of this request, handed from the key decision to @fastify/rate-limit */
    echoscopeRateLimitKey: string
  }
  interface FastifyInstance {
    /** present only when the limiter is on (--rate-limit-max > 0) */
    echoscopeRateLimit: RateLimitState
  }
}

export interface RateLimitState {
  /** requests and upgrades refused with 429 since start */
  rateLimited: number
  /** rate-limit lookups that failed in Redis (each one a request served unchecked) */
  redisErrors: number
  /** true while Redis is configured and unreachable */
  redisDown: () => boolean
  /** the limiter as a hook, for the not-found handler (app.ts): no route hook reaches it */
  hook?: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
}

/**
 * Distinct clients the in-memory limiter remembers per window (least recently seen forgotten first). About
 * 100 bytes each; a higher count only matters when that many clients are limited at once.
 */
const LOCAL_CACHE_SIZE = 10000

/** Non-address keys (a trusted X-Forwarded-For can carry anything) are cut, so they cannot grow the store. */
const MAX_RAW_KEY = 64

/** Names of address groups, as --trust-proxy takes them. */
const ADDRESS_GROUPS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']
}

// ---------------------------------------------------------------------------------------------------------
// Addresses: parsed by hand because this runs per request (net.BlockList.check costs about 5 µs a call).

/** IPv4 dotted quad → unsigned 32-bit number, or -1. */
export function parseIPv4 (s: string): number {
  let n = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || part > 255 || dots === 3) return -1
      n = n * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48
      digits++
    } else {
      return -1
    }
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1
  return n * 256 + part
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

function hexGroups (s: string, out: number[]): boolean {
  if (s === '') return true
  for (const g of s.split(':')) {
    if (!HEX_GROUP.test(g)) return false
    out.push(parseInt(g, 16))
  }
  return true
}

/** IPv6 text (with `::`, an IPv4 tail, a zone) → its eight 16-bit groups, or null. */
export function parseIPv6 (input: string): number[] | null {
  const zone = input.indexOf('%')
  let s = zone === -1 ? input : input.slice(0, zone)
  const tail: number[] = []
  const lastColon = s.lastIndexOf(':')
  if (lastColon === -1) return null
  if (s.includes('.', lastColon)) {
    const v4 = parseIPv4(s.slice(lastColon + 1))
    if (v4 === -1) return null
    tail.push(Math.floor(v4 / 65536), v4 % 65536)
    // Drop the IPv4 part but keep a `::` before it: '::ffff:1.2.3.4' → '::ffff', '::1.2.3.4' → '::'.
    s = s.slice(0, lastColon + 1)
    if (!s.endsWith('::')) s = s.slice(0, -1)
  }
  const gap = s.indexOf('::')
  const head: number[] = []
  const rest: number[] = []
  if (gap === -1) {
    if (!hexGroups(s, head)) return null
  } else {
    if (s.indexOf('::', gap + 1) !== -1) return null
    if (!hexGroups(s.slice(0, gap), head) || !hexGroups(s.slice(gap + 2), rest)) return null
  }
  const known = head.length + rest.length + tail.length
  if (gap === -1 ? known !== 8 : known > 7) return null
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail]
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as dual-stack sockets report), or -1. */
function mappedIPv4 (g: number[]): number {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff ? g[6] * 65536 + g[7] : -1
}

function formatIPv4 (n: number): string {
  return `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`
}

interface V4Rule { net: number, mask: number }
interface V6Rule { groups: number[], bits: number }

export interface AllowList {
  v4: V4Rule[]
  v6: V6Rule[]
  /** entries that are not addresses: header values (with --rate-limit-key header:NAME) */
  values: Set<string>
}

function v4Mask (bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) | 0
}

/** Splits --rate-limit-allow into address rules (IPs, CIDRs, group names) and plain values. */
export function parseAllowList (entries: string[]): AllowList {
  const list: AllowList = { v4: [], v6: [], values: new Set() }
  const addRange = (range: string): boolean => {
    const slash = range.indexOf('/')
    const addr = slash === -1 ? range : range.slice(0, slash)
    const family = isIP(addr)
    if (family === 0) return false
    const max = family === 4 ? 32 : 128
    const bitsText = slash === -1 ? String(max) : range.slice(slash + 1)
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return false
    const bits = Number(bitsText)
    if (family === 4) {
      const mask = v4Mask(bits)
      list.v4.push({ net: parseIPv4(addr) & mask, mask })
      return true
    }
    const groups = parseIPv6(addr) as number[]
    const v4 = mappedIPv4(groups)
    if (v4 !== -1 && bits >= 96) {
      // ::ffff:10.0.0.0/104 means 10.0.0.0/8: clients arrive as plain IPv4 keys.
      const mask = v4Mask(bits - 96)
      list.v4.push({ net: v4 & mask, mask })
      return true
    }
    list.v6.push({ groups, bits })
    return true
  }
  for (const raw of entries) {
    const entry = raw.trim()
    const group = ADDRESS_GROUPS[entry.toLowerCase()]
    if (group !== undefined) group.forEach(addRange)
    else if (!addRange(entry)) list.values.add(entry)
  }
  return list
}

function allowedV4 (list: AllowList, n: number): boolean {
  for (const r of list.v4) {
    if ((n & r.mask) === r.net) return true
  }
  return false
}

function allowedV6 (list: AllowList, g: number[]): boolean {
  for (const r of list.v6) {
    let bits = r.bits
    let i = 0
    for (; bits >= 16; bits -= 16, i++) {
      if (g[i] !== r.groups[i]) break
    }
    if (bits >= 16) continue
    if (bits === 0 || ((g[i] ^ r.groups[i]) >> (16 - bits)) === 0) return true
  }
  return false
}

/**
 * The key of a client address, or null when the allow list exempts it. IPv4-mapped addresses count as
 * their IPv4 address; IPv6 clients are keyed by their /64, since one host usually holds a whole /64 and
 * could otherwise take a fresh address per request.
 */
export function addressKey (ip: string, list: AllowList): string | null {
  const v4 = parseIPv4(ip)
  if (v4 !== -1) return allowedV4(list, v4) ? null : 'ip:' + ip
  const g = parseIPv6(ip)
  if (g === null) return 'ip:' + ip.slice(0, MAX_RAW_KEY)
  const mapped = mappedIPv4(g)
  if (mapped !== -1) return allowedV4(list, mapped) ? null : 'ip:' + formatIPv4(mapped)
  if (allowedV6(list, g)) return null
  return `ip:${g[0].toString(16)}:${g[1].toString(16)}:${g[2].toString(16)}:${g[3].toString(16)}::/64`
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

const JSON_TYPE = 'application/json; charset=utf-8'

function seconds (ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

async function rateLimitPlugin (app: FastifyInstance) {
  const opts = app.echoscope.options
  // 0 turns it off: nothing registered, nothing paid per request.
  if (opts.rateLimitMax === 0) return
  const max = opts.rateLimitMax
  const windowMs = opts.rateLimitWindow

  const allow = parseAllowList(opts.rateLimitAllow)
  if (!opts.rateLimitKey.startsWith('header:') && allow.values.size > 0) {
    app.log.warn({ entries: [...allow.values] }, '--rate-limit-allow entries that are not addresses never match with --rate-limit-key ip')
  }
  const keyOf = makeKeyOf(opts.rateLimitKey, allow)

  const state: RateLimitState = { rateLimited: 0, redisErrors: 0, redisDown: () => false }
  app.decorate('echoscopeRateLimit', state)
  // The metrics plugin (registered earlier) decorates its counters; without it we only count locally.
  const metrics: { rateLimited: Counter, redisErrors: Counter } | null = app.hasDecorator('echoscopeMetrics') ? app.echoscopeMetrics : null

  let link: RedisLink | null = null
  if (opts.redisUrl !== '') {
    link = connectRedis(opts.redisUrl, app.log, 'the rate limit')
    if (link === null) return // unusable URL: warned; fail open means no limiter at all
    const redis = link
    state.redisDown = () => redis.isDown()
    app.addHook('onClose', () => redis.close())
    // Requests arriving before the first connection would otherwise each count as a Redis error.
    await redis.settled
    if (!redis.isDown()) app.log.info({ redis: describeRedisUrl(opts.redisUrl) }, 'rate limit shared through Redis')
  }

  // The counting store is made here and handed to @fastify/rate-limit (which builds its store with `new`,
  // and a constructor returning an object yields that object), so the route hook below can reach the very
  // same store without the plugin's checker: createRateLimit's applyRateLimit costs three promise turns, an
  // argument array and a frozen routeOptions per request, about as much as the rest of the limiter together.
  // In memory it is the plugin's own LocalStore (fixed window, LRU of clients); its callback runs
  // synchronously, so a counted request costs no promise at all.
  const store: FastifyRateLimitStore = link !== null
    ? new (redisRateLimitStore(link, {
      onError: () => {
        state.redisErrors++
        metrics?.redisErrors.inc()
      }
    }))({})
    : new LocalStore(false, false, LOCAL_CACHE_SIZE)
  await app.register(fastifyRateLimit, {
    global: false, // routes get our hook below, not the plugin's
    max,
    timeWindow: windowMs,
    skipOnError: true,
    keyGenerator: (request: FastifyRequest) => request.echoscopeRateLimitKey,
    store: function sharedStore () { return store } as unknown as FastifyRateLimitStoreCtor
  })
  app.decorateRequest('echoscopeRateLimitKey', '')
  // The plugin's own checker, for the fallback (targets the router cannot decode): rare, so its cost is fine.
  const check = app.createRateLimit()

  const maxText = String(max)
  // draft-ietf-httpapi-ratelimit-headers: the policy never changes, so it is built once.
  const policy = `"echo";q=${max};w=${Math.max(1, Math.round(windowMs / 1000))}`
  const messageStart = `rate limit exceeded: more than ${max} requests per ${seconds(windowMs)} from one client; retry in `

  /**
   * Sets the RateLimit headers from the client's count and the ms left in its window; when the request is
   * over the limit also sends the 429 and returns true.
   */
  function answer (current: number, ttl: number, request: FastifyRequest, reply: FastifyReply): boolean {
    const exceeded = current > max
    if (!exceeded && !opts.rateLimitHeaders) return false
    const remaining = exceeded ? 0 : max - current
    const reset = String(Math.ceil(ttl / 1000))
    reply.header('x-ratelimit-limit', maxText)
    reply.header('x-ratelimit-remaining', String(remaining))
    reply.header('x-ratelimit-reset', reset)
    reply.header('ratelimit-policy', policy)
    reply.header('ratelimit', `"echo";r=${remaining};t=${reset}`)
    if (!exceeded) return false
    state.rateLimited++
    metrics?.rateLimited.inc()
    reply.code(429).header('retry-after', reset).header('x-request-id', request.id).type(JSON_TYPE)
    reply.send(`{"statusCode":429,"error":"Too Many Requests","message":${JSON.stringify(messageStart + reset + ' s')}}`)
    return true
  }

  // A callback hook calling the store directly: synchronous in memory, one callback with Redis. After a
  // 429 it leaves `done` uncalled, as Fastify asks of a hook that replied. A store error (Redis away) has
  // been counted and logged by the store: the request is served unchecked (fail open).
  function routeHook (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const key = keyOf(request)
    if (key === null) return done()
    store.incr(key, (err, res) => {
      if (err !== null || res === undefined || !answer(res.current, res.ttl, request, reply)) done()
    }, windowMs, max)
  }

  /** For the fallback, which runs outside Fastify's hooks: true when the 429 was sent. */
  async function limit (request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const key = keyOf(request)
    if (key === null) return false
    request.echoscopeRateLimitKey = key
    const r = await check(request)
    // ttl 0: the store failed and the plugin skipped it (skipOnError): served unchecked.
    if (r.isAllowed || r.ttl === 0) return false
    return answer(max - r.remaining + (r.isExceeded ? 1 : 0), r.ttl, request, reply)
  }

  // Every route registered after this plugin (the echo, and its WebSocket upgrades on GET) gets the hook,
  // unless it opts out with `config: { rateLimit: false }` as with @fastify/rate-limit.
  app.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as { rateLimit?: unknown } | undefined)?.rateLimit === false) return
    const existing = route.onRequest
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
    // A new array, never a push: Fastify's HEAD twin of a GET route shares the original's arrays.
    if (!hooks.includes(routeHook)) route.onRequest = [...hooks, routeHook]
  })

  // The not-found handler is set up by app.ts after the echo routes; it takes this hook as its preHandler,
  // so matched routes pay nothing for it.
  state.hook = routeHook

  // Targets Fastify cannot decode (`/%zz`, over-long parameters) reach the echo through frameworkErrors,
  // with no hooks at all: wrap the fallback the app installs after this plugin.
  const setFallback = app.echoscope.setFallback
  app.echoscope.setFallback = fn => setFallback((request, reply) =>
    limit(request, reply).then(sent => sent ? reply : fn(request, reply), err => reply.send(err)))
}

export default fp(rateLimitPlugin, { fastify: '5.x', name: 'echoscope-rate-limit' })
