// With --https-port, HTTPS (and WSS) on a listener of its own beside plain HTTP on --port. Its server is
// made in Fastify's serverFactory beside the main one (server.ts) and calls the same request handler, so the
// whole app serves it, the guard against methods Fastify cannot route included. This plugin opens it when
// the app is ready and closes it with the app. With --http2 it speaks HTTP/2, HTTP/1.1 by ALPN fallback.
import fp from 'fastify-plugin'
import { createServer, type Server } from 'node:https'
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2'
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import { tlsServerOptions, type TlsMaterial } from '../config/tls.ts'
import { makeClientErrorHandler } from '../http/client-error.ts'

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/** --coalesce-writes for an HTTP/1.1 server: the ServerResponse class to give it, and the setup it needs. */
export interface WriteCoalescing {
  ServerResponse: typeof ServerResponse
  coalesceServer: (server: HttpServer | Server) => void
}

export interface HttpsListenerSettings {
  tls: TlsMaterial
  http2: boolean
  maxHeaderSize: number
  headersTimeout: number
  requestTimeout: number
  keepAliveTimeout: number
  /** null unless --coalesce-writes */
  coalescing: WriteCoalescing | null
}

/**
 * What a shutdown has to wait for on an HTTP/2 listener, which has no closeIdleConnections: its sessions
 * (closed gracefully: streams in flight finish) and its HTTP/1.1 fallback connections (ended once idle).
 */
class Http2Drain {
  #sessions = new Set<Http2Session>()
  #busy = new Map<Socket, number>()
  #h1 = new Set<Socket>()
  #closing = false

  watch (server: Http2SecureServer): void {
    server.on('session', (session: Http2Session) => {
      this.#sessions.add(session)
      session.once('close', () => this.#sessions.delete(session))
      if (this.#closing) session.close()
    })
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') return
      this.#h1.add(socket)
      socket.once('close', () => { this.#h1.delete(socket); this.#busy.delete(socket) })
    })
  }

  /** Called for every request: an HTTP/1.1 connection is busy until its response is done. */
  request (req: IncomingMessage, res: ServerResponse): void {
    if (req.httpVersionMajor === 2) return
    const socket = req.socket
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1)
    res.once('close', () => {
      const left = (this.#busy.get(socket) ?? 1) - 1
      this.#busy.set(socket, left)
      if (this.#closing && left === 0) socket.end()
    })
  }

  close (): void {
    this.#closing = true
    for (const session of this.#sessions) session.close()
    for (const socket of this.#h1) if ((this.#busy.get(socket) ?? 0) === 0) socket.end()
  }
}

/** The --https-port server, made with the main one; it listens once the plugin below is registered and the app ready. */
export interface HttpsListener {
  server: Server | Http2SecureServer
  /** set when it speaks HTTP/2 */
  drain: Http2Drain | null
}

/**
 * Makes the --https-port server, serving with `handler` (Fastify's, as serverFactory gets it). `main` is the
 * server Fastify gets: its WebSocket upgrades are served here too.
 */
export function createHttpsListener (settings: HttpsListenerSettings, handler: RequestHandler, main: HttpServer | Server | Http2SecureServer): HttpsListener {
  // Host is checked by the app's onRequest hook, which answers with the JSON error.
  const common = { ...tlsServerOptions(settings.tls), maxHeaderSize: settings.maxHeaderSize, requireHostHeader: false }
  let listener: HttpsListener
  if (settings.http2) {
    const drain = new Http2Drain()
    const h2 = createSecureServer({ ...common, allowHTTP1: true }, ((req: IncomingMessage, res: ServerResponse) => {
      drain.request(req, res)
      handler(req, res)
    }) as never)
    // As Fastify does for HTTP/2 on --port: an idle session is closed after the keep-alive timeout.
    h2.setTimeout(settings.keepAliveTimeout)
    drain.watch(h2)
    listener = { server: h2, drain }
  } else {
    const c = settings.coalescing
    const h1 = createServer({
      ...common,
      headersTimeout: settings.headersTimeout,
      requestTimeout: settings.requestTimeout,
      ...(c !== null ? { ServerResponse: c.ServerResponse } : {})
    }, handler)
    h1.keepAliveTimeout = settings.keepAliveTimeout
    c?.coalesceServer(h1)
    listener = { server: h1, drain: null }
  }
  // @fastify/websocket listens for 'upgrade' on one server only, fastify.server (its `server` option swaps
  // that one for another, it does not add one). So every 'upgrade' listener put on the main server is put
  // on this one as well, through EventEmitter's documented 'newListener' and 'removeListener' events: an
  // upgrade here runs the very listener an upgrade on --port runs, through Fastify's routing and hooks,
  // with no event re-emitted from one server into the other. Both servers are created here, before any
  // plugin listens on the main one, so none is missed. (@fastify/websocket's listener keeps what it needs
  // in its closure and does not use `this`, which here is this server.)
  const server = listener.server
  main.on('newListener', (event: string | symbol, fn: (...args: any[]) => void) => {
    if (event === 'upgrade') server.on('upgrade', fn)
  })
  main.on('removeListener', (event: string | symbol, fn: (...args: any[]) => void) => {
    if (event === 'upgrade') server.removeListener('upgrade', fn)
  })
  return listener
}

export interface HttpsListenerOptions {
  listener: HttpsListener
  host: string
  port: number
  /** the x-echoscope value, for the answers written by hand to what the parser rejects */
  marker: string
}

async function httpsListener (app: FastifyInstance, { listener, host, port, marker }: HttpsListenerOptions) {
  const { server, drain } = listener
  let listening = false
  let closed: Promise<void> | undefined
  let sweep: NodeJS.Timeout | undefined
  // What the parser rejects is answered as on the main port (after coalesceServer's flush, prepended).
  server.on('clientError', makeClientErrorHandler(marker).bind(app))

  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen for HTTPS on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`)))
      server.listen(port, host, () => resolve())
    })
    listening = true
    app.log.info(`HTTPS${drain !== null ? ' (HTTP/2 and HTTP/1.1)' : ''} listening at https://${host.includes(':') ? `[${host}]` : host}:${port}`)
  })

  // Stops accepting together with the main server; in-flight requests finish (awaited on close), idle
  // keep-alive connections close as they go idle, as on the main port.
  app.addHook('preClose', async () => {
    if (!listening) return
    closed = new Promise<void>(resolve => server.close(() => resolve()))
    if (drain !== null) drain.close()
    else sweep = setInterval(() => (server as Server).closeIdleConnections(), 50)
  })

  app.addHook('onClose', async () => {
    await closed
    clearInterval(sweep)
  })
}

export default fp(httpsListener, { fastify: '5.x', name: 'echoscope-https-listener' })
