// A @fastify/rate-limit store keeping the counters in Redis, so every replica counts against one limit.
// Unlike the store bundled with the plugin it reports each failed lookup (the plugin's skipOnError swallows
// them), which is what the outage warning and the Redis error metric are built on.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { RedisLink } from './redis.ts'

export const KEY_PREFIX = 'echoscope:rl:'

/**
 * One round trip: count the request, and start the window on the first one. A key left without an expiry
 * (written by something else) gets one too, so no counter can block a client forever.
 */
const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`

const READ_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(current), ttl}`

interface Commands {
  echoscopeRateLimitIncr: (key: string, windowMs: number) => Promise<[number, number]>
  echoscopeRateLimitRead: (key: string) => Promise<[number, number]>
}

type Callback = (err: Error | null, result?: { current: number, ttl: number }) => void

export interface RedisStoreHooks {
  /** a lookup failed: the request is served unchecked */
  onError: (err: Error) => void
}

/** The store class to give @fastify/rate-limit as `store`. */
export function redisRateLimitStore (link: RedisLink, hooks: RedisStoreHooks, prefix = KEY_PREFIX): FastifyRateLimitStoreCtor {
  const client = link.client
  // EVALSHA with a fallback to EVAL, so a restarted (empty) Redis needs nothing reloaded.
  if (!('echoscopeRateLimitIncr' in client)) {
    client.defineCommand('echoscopeRateLimitIncr', { numberOfKeys: 1, lua: INCR_SCRIPT })
    client.defineCommand('echoscopeRateLimitRead', { numberOfKeys: 1, lua: READ_SCRIPT })
  }
  const commands = client as unknown as Commands

  function settle (pending: Promise<[number, number]>, cb: Callback) {
    pending.then(([current, ttl]) => {
      link.answered()
      // A counted request always has time left (PTTL says 0 in its last millisecond): a ttl of 0 is what
      // the plugin reports for a lookup that failed.
      cb(null, { current, ttl: current > 0 ? Math.max(1, ttl) : ttl })
    }, (err: Error) => {
      link.failed(err)
      hooks.onError(err)
      cb(err)
    })
  }

  return class RedisRateLimitStore implements FastifyRateLimitStore {
    incr (key: string, cb: Callback, timeWindow: number) {
      settle(commands.echoscopeRateLimitIncr(prefix + key, timeWindow), cb)
    }

    /** the plugin's `{ increment: false }` peek */
    read (key: string, cb: Callback) {
      settle(commands.echoscopeRateLimitRead(prefix + key), cb)
    }

    // Per-route limits (route config) get their own key space, as with the plugin's own Redis store.
    child (routeOptions: { method: string | string[], url: string }) {
      const Child = redisRateLimitStore(link, hooks, `${prefix}${String(routeOptions.method)}${routeOptions.url}-`)
      return new Child({})
    }
  }
}
