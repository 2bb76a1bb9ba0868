// The recent-request history: GET /requests (filters), /requests/:id, and /requests/stream (SSE of new
// arrivals, from every replica when Redis is shared). Behind --admin-token when one is set.
import { PassThrough } from 'node:stream'
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { HistoryFilter, HistoryStore } from '../stores/history.ts'
import { REQUEST_ROUTE, REQUESTS_ROUTE, REQUESTS_STREAM_ROUTE } from '../schemas/system.ts'

export interface RequestsRouteOptions {
  history: HistoryStore
  auth: onRequestHookHandler | undefined
  maxStreams: number
}

/** A subscriber that lets this much pile up unread is dropped rather than buffered without end. */
const MAX_QUEUED = 1024 * 1024
const HEARTBEAT_MS = 15000

class BadParam extends Error {
  statusCode = 400
  code = 'ECHOSCOPE_INVALID_PARAM'
}

function filterOf (request: FastifyRequest): HistoryFilter {
  const q = request.query as Record<string, string | string[] | undefined>
  const one = (name: string) => {
    const v = q[name]
    if (Array.isArray(v)) throw new BadParam(`invalid ${name}: give it once`)
    return v
  }
  const f: HistoryFilter = { limit: 50 }
  const limit = one('limit')
  if (limit !== undefined) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1) throw new BadParam(`invalid limit ${JSON.stringify(limit)}: must be a whole number from 1`)
    f.limit = Number(limit)
  }
  const path = one('path')
  if (path !== undefined) f.pathPrefix = path
  const method = one('method')
  if (method !== undefined) f.method = method.toUpperCase()
  const requestId = one('requestId')
  if (requestId !== undefined) f.requestId = requestId
  const since = one('since')
  if (since !== undefined) {
    const t = /^\d+$/.test(since) ? Number(since) : Date.parse(since)
    if (Number.isNaN(t)) throw new BadParam(`invalid since ${JSON.stringify(since)}: must be an ISO-8601 time or milliseconds since the epoch`)
    f.since = t
  }
  return f
}

export async function requestsRoutes (app: FastifyInstance, opts: RequestsRouteOptions) {
  const { history, auth } = opts
  const open = new Set<() => void>()
  // Live feeds end when the server closes, so a drain never waits for them.
  app.addHook('preClose', async () => { for (const end of [...open]) end() })

  app.get('/requests', { onRequest: auth, schema: REQUESTS_ROUTE }, async (request) => {
    return { requests: await history.list(filterOf(request)) }
  })

  app.get('/requests/stream', { onRequest: auth, schema: REQUESTS_STREAM_ROUTE }, async (request, reply) => {
    if (open.size >= opts.maxStreams) {
      reply.code(503).header('retry-after', '5')
      return { statusCode: 503, error: 'Service Unavailable', message: `too many history streams (limit ${opts.maxStreams}, --max-streams)` }
    }
    const stream = new PassThrough()
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      open.delete(end)
      unsubscribe()
      clearInterval(heartbeat)
      stream.end()
    }
    const unsubscribe = history.subscribe(entry => {
      if (stream.writableLength > MAX_QUEUED) {
        request.log.warn('history stream subscriber is not reading: dropping it')
        end()
        return
      }
      stream.write(`event: request\nid: ${entry.requestId}\ndata: ${JSON.stringify(entry)}\n\n`)
    })
    open.add(end)
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS).unref()
    request.raw.on('close', end)
    stream.write('retry: 2000\n: connected\n\n')
    reply.header('cache-control', 'no-cache').header('x-accel-buffering', 'no').type('text/event-stream; charset=utf-8')
    return reply.send(stream)
  })

  app.get('/requests/:id', { onRequest: auth, schema: REQUEST_ROUTE }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const entry = await history.get(id)
    if (entry === undefined) {
      reply.code(404)
      return { statusCode: 404, error: 'Not Found', message: `no request ${id} in the history (it keeps the last --history-size requests)` }
    }
    return entry
  })
}
