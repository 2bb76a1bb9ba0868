// UDP echo: each datagram goes back to its sender, from the socket it arrived on, byte for byte. A UDP
// echo reachable by strangers is a reflector (the source address can be forged), so it never sends more
// bytes than arrived, drops datagrams over a size limit, and limits each source address to a number of
// datagrams per second, with a bounded table of sources.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import { bump, type TransportStats } from './stats.ts'
import { formatAddress, type EchoListener } from './tcp.ts'

export interface UdpEchoOptions {
  port: number
  host: string
  /** largest datagram echoed; larger ones are dropped */
  maxDatagramSize: number
  /** datagrams per second echoed to one source address (0 = no limit) */
  rateLimit: number
}

/** Sources tracked by the rate limiter; past this the oldest window is forgotten. */
export const MAX_SOURCES = 10_000
const WINDOW_MS = 1000

/**
 * Source ports that are other "small services" (echo, discard, daytime, qotd, chargen, time) or 0, which
 * cannot be answered. Answering a forged datagram "from" another echo or chargen service starts a packet
 * loop between the two servers (the classic inetd echo/chargen loop), so these are dropped.
 */
const LOOP_PORTS = new Set([0, 7, 9, 13, 17, 19, 37])

interface Window { start: number, count: number }

export interface RateLimiter {
  /** true when `source` may have one more datagram now */
  allow: (source: string, now: number) => boolean
  /** datagrams seen from `source` in its current window, dropped ones included */
  count: (source: string) => number
  /** forgets sources whose window has ended; returns how many */
  prune: (now: number) => number
  readonly size: number
}

/**
 * A fixed one-second window per source address. Entries are kept in window-start order (a Map keeps
 * insertion order and a new window re-inserts), so the oldest is first: evicting it when the table is
 * full, and pruning ended windows, both touch only the head.
 */
export function createRateLimiter (limit: number, maxSources = MAX_SOURCES): RateLimiter {
  const table = new Map<string, Window>()
  return {
    allow (source, now) {
      const w = table.get(source)
      if (w !== undefined && now - w.start < WINDOW_MS) return ++w.count <= limit
      if (w !== undefined) {
        table.delete(source)
      } else if (table.size >= maxSources) {
        table.delete(table.keys().next().value as string)
      }
      table.set(source, { start: now, count: 1 })
      return true
    },
    count (source) {
      return table.get(source)?.count ?? 0
    },
    prune (now) {
      let n = 0
      for (const [source, w] of table) {
        if (now - w.start < WINDOW_MS) break
        table.delete(source)
        n++
      }
      return n
    },
    get size () { return table.size }
  }
}

/** Starts one UDP echo socket (udp6 for an IPv6 host, dual-stack for `::`); rejects with the bind error. */
export async function startUdpEcho (opts: UdpEchoOptions, log: FastifyBaseLogger, stats: TransportStats): Promise<EchoListener> {
  const socket: Socket = createSocket({ type: isIP(opts.host) === 6 ? 'udp6' : 'udp4' })
  const limiter = opts.rateLimit > 0 ? createRateLimiter(opts.rateLimit) : null
  // stats.open mirrors the limiter's table size; this listener's share of it
  let tracked = 0

  function syncTracked (): void {
    if (limiter === null) return
    stats.open += limiter.size - tracked
    tracked = limiter.size
  }

  function onMessage (msg: Buffer, rinfo: RemoteInfo): void {
    stats.messagesIn++
    stats.bytesIn += msg.length
    if (msg.length > opts.maxDatagramSize) {
      bump(stats.limitHits, 'datagram-size')
      log.debug({ remote: formatAddress(rinfo.address, rinfo.port), size: msg.length, maxDatagramSize: opts.maxDatagramSize }, 'udp echo datagram too large, dropped')
      return
    }
    if (LOOP_PORTS.has(rinfo.port)) {
      bump(stats.limitHits, 'loop')
      log.debug({ remote: formatAddress(rinfo.address, rinfo.port) }, 'udp echo datagram from a small-services port, dropped')
      return
    }
    if (limiter !== null) {
      const allowed = limiter.allow(rinfo.address, performance.now())
      if (limiter.size !== tracked) syncTracked()
      if (!allowed) {
        bump(stats.limitHits, 'rate')
        // one line per source and second, not one per dropped datagram
        if (limiter.count(rinfo.address) === opts.rateLimit + 1) {
          log.debug({ remote: rinfo.address, rateLimit: opts.rateLimit }, 'udp echo rate limit reached, dropping this source\'s datagrams for the rest of the second')
        }
        return
      }
    }
    stats.messagesOut++
    stats.bytesOut += msg.length
    socket.send(msg, rinfo.port, rinfo.address, onSent)
  }

  function onSent (err: Error | null): void {
    if (err !== null) log.debug({ err: { code: (err as NodeJS.ErrnoException).code, message: err.message } }, 'udp echo send failed')
  }

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ port: opts.port, address: opts.host }, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  socket.on('message', onMessage)
  socket.on('error', (err) => log.warn({ err }, 'udp echo socket error'))
  const port = socket.address().port

  // Ended windows are forgotten once a second, so the table (and stats.open) follows the active sources.
  const sweep = limiter === null
    ? null
    : setInterval(() => { if (limiter.prune(performance.now()) > 0) syncTracked() }, WINDOW_MS)
  sweep?.unref()

  let closed: Promise<void> | null = null
  function close (): Promise<void> {
    closed ??= new Promise<void>(resolve => {
      if (sweep !== null) clearInterval(sweep)
      stats.open -= tracked
      tracked = 0
      socket.close(() => resolve())
    })
    return closed
  }

  return { port, close }
}
