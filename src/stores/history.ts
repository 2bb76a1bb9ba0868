// Recent requests, for /requests and the live inspector. In memory by default; with --redis-url the entries
// also go to a capped Redis list and a pub/sub channel, so a team behind a load balancer sees every
// replica's requests. Redis trouble never costs a request: the memory copy keeps working (fail open).
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Echo } from '../echo/types.ts'
import { connectRedis, type RedisLink } from './redis.ts'

export interface HistoryEntry extends Echo {
  statusCode: number
  /** set when the stored body was dropped for being over --history-body-limit */
  bodyTruncated?: true
}

export interface HistoryFilter {
  pathPrefix?: string
  method?: string
  since?: number
  /** every entry with this id: a request that arrived more than once (retried, mirrored) has several */
  requestId?: string
  limit: number
}

export interface HistoryStore {
  /**
   * Keeps the echo; `json` is the echo as JSON (the response's own bytes when the format is JSON). Called on
   * the hot path: cheap, never throws, never waits.
   */
  add: (echo: Echo, json: string, statusCode: number) => void
  /** newest first */
  list: (filter: HistoryFilter) => Promise<HistoryEntry[]>
  get: (id: string) => Promise<HistoryEntry | undefined>
  /** every new entry, from this replica or (with Redis) any other; returns the unsubscribe function */
  subscribe: (fn: (entry: HistoryEntry) => void) => () => void
  close: () => Promise<void>
}

export interface HistoryOptions {
  size: number
  bodyLimit: number
  redactHeaders: string[]
}

const REDACTED = '[redacted]'

/** A copy fit to show or store: secret header values hidden as in the logs, oversized bodies dropped. */
export function redact (echo: Echo, statusCode: number, secret: ReadonlySet<string>, bodyLimit: number): HistoryEntry {
  const entry: HistoryEntry = { ...echo, statusCode }
  if (secret.size > 0) {
    let headers: Echo['headers'] | undefined
    for (const name in echo.headers) {
      if (secret.has(name)) {
        headers ??= { ...echo.headers }
        headers[name] = REDACTED
      }
    }
    if (headers !== undefined) {
      entry.headers = headers
      entry.rawHeaders = echo.rawHeaders.map(([n, v]) => [n, secret.has(n.toLowerCase()) ? REDACTED : v])
      if (secret.has('cookie')) entry.cookies = Object.fromEntries(Object.keys(echo.cookies).map(k => [k, REDACTED]))
      // A token's claims are as secret as the header it came from (an entry without source: Authorization).
      if (entry.jwt !== undefined && secret.has(entry.jwt.source ?? 'authorization')) entry.jwt = { ...entry.jwt, payload: { redacted: true } }
      if (entry.jwts !== undefined) entry.jwts = entry.jwts.map(j => secret.has(j.source) ? { ...j, payload: { redacted: true } } : j)
    }
  }
  if (echo.bodyBytes > bodyLimit) {
    entry.body = null
    entry.bodyTruncated = true
  }
  return entry
}

/** What a filter looks at. */
interface Listed { path: string, method: string, receivedAt: string, requestId: string }

function matches (e: Listed, f: HistoryFilter): boolean {
  if (f.pathPrefix !== undefined && !e.path.startsWith(f.pathPrefix)) return false
  if (f.method !== undefined && e.method !== f.method) return false
  if (f.since !== undefined && Date.parse(e.receivedAt) <= f.since) return false
  if (f.requestId !== undefined && e.requestId !== f.requestId) return false
  return true
}

/**
 * A request of this replica as the ring keeps it: its JSON (one flat string, so the garbage collector has
 * nothing to trace while it waits in the ring) and the few fields that filters and look-ups read.
 */
interface Kept extends Listed { json: string, statusCode: number }

/**
 * A ring of the last `size` entries. Redaction (and parsing) is done when an entry is read, not on the
 * request path.
 */
export function memoryHistory (opts: HistoryOptions): HistoryStore & { push: (entry: HistoryEntry) => void } {
  const secret = new Set(opts.redactHeaders.map(h => h.toLowerCase()))
  const ring: Array<Kept | HistoryEntry | undefined> = new Array(opts.size)
  let next = 0
  const subscribers = new Set<(entry: HistoryEntry) => void>()
  const view = (slot: Kept | HistoryEntry): HistoryEntry =>
    'json' in slot ? redact(JSON.parse(slot.json) as Echo, slot.statusCode, secret, opts.bodyLimit) : slot

  function * newestFirst () {
    for (let i = 1; i <= opts.size; i++) {
      const slot = ring[(next - i + opts.size) % opts.size]
      if (slot === undefined) return
      yield slot
    }
  }

  return {
    add (echo, json, statusCode) {
      // A body over --history-body-limit is never shown (redact drops it): it is not kept either, so the ring
      // holds at most `size` small entries whatever --body-limit lets in.
      if (echo.bodyBytes > opts.bodyLimit && echo.body !== null) json = JSON.stringify({ ...echo, body: null })
      const slot: Kept = { json, statusCode, requestId: echo.requestId, path: echo.path, method: echo.method, receivedAt: echo.receivedAt }
      ring[next] = slot
      next = (next + 1) % opts.size
      if (subscribers.size > 0) {
        const entry = view(slot)
        for (const fn of subscribers) fn(entry)
      }
    },
    /** an entry that is already redacted (from another replica) */
    push (entry) {
      ring[next] = entry
      next = (next + 1) % opts.size
    },
    async list (f) {
      const out: HistoryEntry[] = []
      for (const slot of newestFirst()) {
        if (!matches(slot, f)) continue
        out.push(view(slot))
        if (out.length >= f.limit) break
      }
      return out
    },
    async get (id) {
      for (const slot of newestFirst()) {
        if (slot.requestId === id) return view(slot)
      }
      return undefined
    },
    subscribe (fn) {
      subscribers.add(fn)
      return () => { subscribers.delete(fn) }
    },
    async close () { subscribers.clear() }
  }
}

const LIST_KEY = 'echoscope:history'
const CHANNEL = 'echoscope:history'

/** Memory history plus a Redis list (capped at `size`) and channel shared by every replica. */
export function redisHistory (opts: HistoryOptions, url: string, log: FastifyBaseLogger): HistoryStore {
  const local = memoryHistory(opts)
  const secret = new Set(opts.redactHeaders.map(h => h.toLowerCase()))
  const origin = randomUUID()
  const link: RedisLink | null = connectRedis(url, log, 'the shared request history')
  const sub: RedisLink | null = link === null ? null : connectRedis(url, log, 'the shared request feed')
  const subscribers = new Set<(entry: HistoryEntry) => void>()
  local.subscribe(entry => { for (const fn of subscribers) fn(entry) })

  if (sub !== null) {
    // A subscribed connection must not fail its SUBSCRIBE for want of an offline queue after a reconnect.
    sub.client.on('ready', () => { sub.client.subscribe(CHANNEL).catch(err => sub.failed(err)) })
    sub.client.on('message', (_channel: string, message: string) => {
      let parsed: { origin: string, entry: HistoryEntry }
      try {
        parsed = JSON.parse(message)
      } catch {
        return
      }
      if (parsed.origin === origin) return
      local.push(parsed.entry)
      for (const fn of subscribers) fn(parsed.entry)
    })
  }

  return {
    add (echo, json, statusCode) {
      local.add(echo, json, statusCode)
      if (link === null || link.isDown()) return
      const shared = JSON.stringify(redact(echo, statusCode, secret, opts.bodyLimit))
      link.client.multi()
        .lpush(LIST_KEY, shared)
        .ltrim(LIST_KEY, 0, opts.size - 1)
        .publish(CHANNEL, `{"origin":${JSON.stringify(origin)},"entry":${shared}}`)
        .exec()
        .then(() => link.answered(), (err: Error) => link.failed(err))
    },
    async list (f) {
      if (link === null || link.isDown()) return local.list(f)
      try {
        const raw = await link.client.lrange(LIST_KEY, 0, opts.size - 1)
        link.answered()
        const out: HistoryEntry[] = []
        for (const json of raw) {
          const e = JSON.parse(json) as HistoryEntry
          if (matches(e, f)) out.push(e)
          if (out.length >= f.limit) break
        }
        return out
      } catch (err) {
        link.failed(err as Error)
        return local.list(f)
      }
    },
    async get (id) {
      const mine = await local.get(id)
      if (mine !== undefined || link === null || link.isDown()) return mine
      try {
        const raw = await link.client.lrange(LIST_KEY, 0, opts.size - 1)
        for (const json of raw) {
          const e = JSON.parse(json) as HistoryEntry
          if (e.requestId === id) return e
        }
      } catch (err) {
        link.failed(err as Error)
      }
      return undefined
    },
    subscribe (fn) {
      subscribers.add(fn)
      return () => { subscribers.delete(fn) }
    },
    async close () {
      subscribers.clear()
      await Promise.all([link?.close(), sub?.close()])
    }
  }
}
