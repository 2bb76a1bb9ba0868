// Attempt counters of the x-echo-fail-times control: the first N requests of a key fail, later ones succeed.
// In memory they are bounded (least recently used keys go first, each lives FAULT_TTL_MS from its first
// attempt); with --redis-url they are shared by every replica (INCR, with the TTL set by the first attempt),
// and a Redis that does not answer fails open to the memory counters.
import { LRUCache } from 'lru-cache'
import type { FastifyBaseLogger } from 'fastify'
import { connectRedis, type RedisLink } from './redis.ts'

export const FAULT_KEYS_MAX = 10000
export const FAULT_TTL_MS = 10 * 60 * 1000
export const FAULT_KEY_PREFIX = 'echoscope:fault:'

export interface FaultCounter {
  /** this request's attempt number for the key: 1 for the first */
  attempt: (key: string) => number | Promise<number>
  close: () => Promise<void>
}

export function memoryFaults (max = FAULT_KEYS_MAX, ttl = FAULT_TTL_MS): FaultCounter {
  // Made on the first fault: a server whose clients never ask for one holds no counters at all.
  let counts: LRUCache<string, number> | null = null
  return {
    attempt (key) {
      counts ??= new LRUCache<string, number>({ max, ttl })
      const n = (counts.get(key) ?? 0) + 1
      // noUpdateTTL: the window runs from the first attempt, not the latest.
      counts.set(key, n, { noUpdateTTL: n > 1 })
      return n
    },
    close: async () => { counts?.clear() }
  }
}

export function redisFaults (url: string, log: FastifyBaseLogger, ttl = FAULT_TTL_MS): FaultCounter {
  const local = memoryFaults(FAULT_KEYS_MAX, ttl)
  const link: RedisLink | null = connectRedis(url, log, 'the shared fault counters')
  return {
    async attempt (key) {
      if (link === null || link.isDown()) return local.attempt(key)
      const k = FAULT_KEY_PREFIX + key
      try {
        const [[incrErr, n], [expireErr]] = await link.client.multi().incr(k).pexpire(k, ttl, 'NX').exec() as [[Error | null, number], [Error | null, unknown]]
        if (incrErr !== null) throw incrErr
        if (expireErr !== null) throw expireErr
        link.answered()
        return n
      } catch (err) {
        link.failed(err as Error)
        return local.attempt(key)
      }
    },
    close: async () => { await local.close(); await link?.close() }
  }
}
