// The Redis connection replicas share (ioredis), set up to fail fast instead of queueing: while Redis is
// away every command errors at once, callers serve without it (fail open), one warning marks the outage,
// and the client keeps reconnecting in the background until Redis answers again.
import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'

// ioredis is loaded when a Redis URL is first used, not at start: without --redis-url it would only take
// memory in every idle process. (It is CommonJS, so require keeps connectRedis synchronous.)
const requireCjs = createRequire(import.meta.url)
const loadRedis = (): typeof import('ioredis').Redis => (requireCjs('ioredis') as typeof import('ioredis')).Redis

/** Long enough for a Redis across a region, short enough that a hung Redis cannot hold a request long. */
const COMMAND_TIMEOUT_MS = 500
const CONNECT_TIMEOUT_MS = 2000
/** Reconnect backoff: 200 ms, 400 ms, ... capped at 2 s, forever (a retry strategy returning null would give up). */
const RETRY_CAP_MS = 2000
export const QUIT_TIMEOUT_MS = 1000

export function retryDelay (attempt: number): number {
  return Math.min(attempt * 200, RETRY_CAP_MS)
}

export interface RedisLink {
  client: Redis
  /** true from the first failure until Redis answers again */
  isDown: () => boolean
  /** a command failed: the first failure of an outage logs one warning */
  failed: (err: Error) => void
  /** a command succeeded: ends an outage (also ended by the client's `ready` event) */
  answered: () => void
  /** settles once the first connection attempt did (ready, failed, or timed out); never rejects */
  settled: Promise<void>
  /** QUIT, bounded by `timeoutMs`, then drop the socket whatever happened */
  close: (timeoutMs?: number) => Promise<void>
}

/** `host:port/db` of a Redis URL, for logs: never the password. */
export function describeRedisUrl (url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return '(unparseable URL)'
  }
}

/**
 * Connects to Redis in the background. Returns null, after one warning, when the URL cannot be parsed:
 * a typo must not keep the echo from serving. `purpose` names what fails open, for the log lines.
 */
export function connectRedis (url: string, log: FastifyBaseLogger, purpose: string): RedisLink | null {
  const where = describeRedisUrl(url)
  let client: Redis
  try {
    const RedisClient = loadRedis()
    client = new RedisClient(url, {
      // Commands fail at once while disconnected instead of waiting in a queue for a Redis that may not return.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: retryDelay
    })
  } catch (err) {
    log.warn({ redis: where, error: (err as Error).message }, `--redis-url cannot be used: ${purpose} fails open (is not enforced); fix the URL and restart`)
    return null
  }

  let down = false
  let closing = false
  const failed = (err: Error) => {
    if (down || closing) return
    down = true
    log.warn({ redis: where, code: (err as NodeJS.ErrnoException).code, error: err.message },
      `Redis unreachable: ${purpose} fails open (is not enforced) until it answers again`)
  }
  const answered = () => {
    if (!down || closing) return
    down = false
    log.info({ redis: where }, `Redis answers again: ${purpose} is enforced again`)
  }
  // Without an error listener ioredis prints every failed reconnect attempt to the console.
  client.on('error', failed)
  client.on('ready', answered)

  const settled = new Promise<void>(resolve => {
    const done = () => {
      clearTimeout(timer)
      client.off('ready', done)
      client.off('error', done)
      resolve()
    }
    const timer = setTimeout(done, CONNECT_TIMEOUT_MS)
    client.once('ready', done)
    client.once('error', done)
  })

  return {
    client,
    isDown: () => down,
    failed,
    answered,
    settled,
    async close (timeoutMs = QUIT_TIMEOUT_MS) {
      closing = true
      let timer: NodeJS.Timeout | undefined
      try {
        // QUIT fails at once while Redis is away (no offline queue); the timeout covers a Redis that hangs.
        await Promise.race([
          client.quit().catch(() => {}),
          new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })
        ])
      } finally {
        clearTimeout(timer)
        client.disconnect()
      }
    }
  }
}
