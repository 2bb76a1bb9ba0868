// The WebSocket echo: every text or binary message comes back unchanged, in order, with the limits a public
// deployment needs. Per-connection state is one small object; timers are shared sweeps, not one per socket,
// so thousands of idle connections cost little more than the sockets themselves.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { bump, connectionId, type TransportStats } from './stats.ts'
import type { Tracer } from '@opentelemetry/api'

export interface WsEchoOptions {
  maxConnections: number
  maxBufferedBytes: number
  maxMessageRate: number
  idleTimeout: number
  pingInterval: number
  allowedOrigins: string[]
  /** a span per echoed message when tracing is on */
  tracer?: Tracer | null
}

interface Conn {
  ws: WebSocket
  id: string
  path: string
  remote: string
  opened: number
  last: number
  windowStart: number
  count: number
  alive: boolean
  messagesIn: number
  messagesOut: number
  bytesIn: number
  bytesOut: number
}

/** How long a client that stopped reading gets to take its close frame before the socket is cut. */
const CLOSE_GRACE_MS = 2000

export function createWsEcho (opts: WsEchoOptions, stats: TransportStats, log: FastifyBaseLogger) {
  const conns = new Set<Conn>()
  const allowed = new Set(opts.allowedOrigins)
  const timers: NodeJS.Timeout[] = []
  const tracer = opts.tracer

  function closeWith (c: Conn, code: number, reason: string, limit?: string) {
    if (limit !== undefined) bump(stats.limitHits, limit)
    if (c.ws.readyState !== c.ws.OPEN) return
    c.ws.close(code, reason)
    // A peer that does not read never takes the close frame; do not keep its buffers for ws's 30 s default.
    setTimeout(() => c.ws.terminate(), CLOSE_GRACE_MS).unref()
  }

  if (opts.pingInterval > 0) {
    timers.push(setInterval(() => {
      for (const c of conns) {
        if (!c.alive) {
          bump(stats.limitHits, 'dead-peer')
          log.info({ connId: c.id }, 'websocket peer missed a pong: dropping it')
          c.ws.terminate()
          continue
        }
        c.alive = false
        c.ws.ping()
      }
    }, opts.pingInterval).unref())
  }
  if (opts.idleTimeout > 0) {
    const every = Math.min(Math.max(Math.floor(opts.idleTimeout / 4), 100), 5000)
    timers.push(setInterval(() => {
      const deadline = Date.now() - opts.idleTimeout
      for (const c of conns) {
        if (c.last < deadline) closeWith(c, 1000, 'idle timeout', 'idle')
      }
    }, every).unref())
  }

  /** Runs before the upgrade: refuse it with a JSON error instead of upgrading. */
  function beforeUpgrade (request: FastifyRequest, reply: FastifyReply, done: () => void) {
    if (request.ws) {
      if (allowed.size > 0) {
        const origin = request.headers.origin
        // Only browsers send Origin, and only browsers need the check (cross-site WebSocket hijacking).
        if (origin !== undefined && !allowed.has(origin)) {
          bump(stats.limitHits, 'origin')
          reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `origin ${origin} is not allowed (--ws-allowed-origins)` })
          return
        }
      }
      if (stats.open >= opts.maxConnections) {
        bump(stats.limitHits, 'max-connections')
        reply.code(503).header('retry-after', '5').send({ statusCode: 503, error: 'Service Unavailable', message: `too many WebSocket connections (limit ${opts.maxConnections}, --ws-max-connections)` })
        return
      }
    }
    done()
  }

  function handler (ws: WebSocket, request: FastifyRequest, first?: string) {
    const now = Date.now()
    const c: Conn = {
      ws,
      id: connectionId('ws'),
      path: request.url,
      remote: request.ip,
      opened: now,
      last: now,
      windowStart: now,
      count: 0,
      alive: true,
      messagesIn: 0,
      messagesOut: 0,
      bytesIn: 0,
      bytesOut: 0
    }
    conns.add(c)
    stats.open++
    stats.accepted++
    log.debug({ connId: c.id, path: c.path, ip: c.remote, reqId: request.id }, 'websocket open')

    if (first !== undefined) {
      const bytes = Buffer.byteLength(first)
      ws.send(first)
      c.messagesOut++
      c.bytesOut += bytes
      stats.messagesOut++
      stats.bytesOut += bytes
    }

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws.readyState !== ws.OPEN) return
      const t = Date.now()
      c.last = t
      if (opts.maxMessageRate > 0) {
        if (t - c.windowStart >= 1000) {
          c.windowStart = t
          c.count = 0
        }
        if (++c.count > opts.maxMessageRate) {
          closeWith(c, 1008, 'message rate limit exceeded', 'rate')
          return
        }
      }
      const len = data.length
      c.messagesIn++
      c.bytesIn += len
      stats.messagesIn++
      stats.bytesIn += len
      if (ws.bufferedAmount + len > opts.maxBufferedBytes) {
        closeWith(c, 1008, 'client is not reading its echoes', 'backpressure')
        return
      }
      if (tracer != null) {
        const span = tracer.startSpan('websocket message', {
          attributes: { 'echoscope.connection.id': c.id, 'url.path': c.path, 'websocket.message.binary': isBinary, 'websocket.message.size': len }
        })
        ws.send(data, { binary: isBinary }, () => span.end())
      } else {
        ws.send(data, { binary: isBinary })
      }
      c.messagesOut++
      c.bytesOut += len
      stats.messagesOut++
      stats.bytesOut += len
    })
    ws.on('pong', () => { c.alive = true })
    ws.on('close', (code: number, reason: Buffer) => {
      conns.delete(c)
      stats.open--
      bump(stats.closes, String(code))
      log.info({
        connId: c.id,
        path: c.path,
        ip: c.remote,
        code,
        reason: reason.toString(),
        messagesIn: c.messagesIn,
        messagesOut: c.messagesOut,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        durationMs: Date.now() - c.opened
      }, 'websocket closed')
    })
  }

  /** On shutdown: every client gets 1001, then the stragglers are cut. */
  async function close (): Promise<void> {
    for (const t of timers) clearInterval(t)
    const pending = [...conns].map(c => new Promise<void>(resolve => {
      c.ws.once('close', () => resolve())
      if (c.ws.readyState === c.ws.OPEN) c.ws.close(1001, 'server shutting down')
      setTimeout(() => { c.ws.terminate(); resolve() }, CLOSE_GRACE_MS).unref()
    }))
    await Promise.all(pending)
  }

  return { handler, beforeUpgrade, close, connections: conns }
}
