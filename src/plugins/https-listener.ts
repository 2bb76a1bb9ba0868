// With --https-port, HTTPS (and WSS) on a listener of its own beside plain HTTP on --port: the same app,
// with requests and WebSocket upgrades handed to the main server's own handling (so the guard against
// methods Fastify cannot route applies here too). With --http2 it speaks HTTP/2, HTTP/1.1 by ALPN fallback.
import fp from 'fastify-plugin'
import { createServer, type Server } from 'node:https'
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import { tlsServerOptions } from '../config/tls.ts'
import { coalesceServer, coalescingResponse } from '../perf/write-coalescing.ts'
import { clientErrorHandler } from '../http/client-error.ts'

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

async function httpsListener (app: FastifyInstance) {
  const { options: opts, tls } = app.echoscope
  if (tls === null || opts.httpsPort === 0) return
  let server: Server | Http2SecureServer | undefined
  let sweep: NodeJS.Timeout | undefined
  const drain = opts.http2 ? new Http2Drain() : undefined

  app.addHook('onReady', async () => {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      drain?.request(req, res)
      app.server.emit('request', req, res)
    }
    // Host is checked by the main server's onRequest hook, which answers with the JSON error.
    const common = { ...tlsServerOptions(tls), maxHeaderSize: opts.maxHeaderSize, requireHostHeader: false }
    let s: Server | Http2SecureServer
    if (drain !== undefined) {
      const h2 = createSecureServer({ ...common, allowHTTP1: true }, handle as never)
      // As Fastify does for HTTP/2 on --port: an idle session is closed after the keep-alive timeout.
      h2.setTimeout(opts.keepAliveTimeout)
      drain.watch(h2)
      s = h2
    } else {
      const h1 = createServer({ ...common, headersTimeout: opts.headersTimeout, requestTimeout: opts.requestTimeout, ServerResponse: coalescingResponse }, handle)
      h1.keepAliveTimeout = opts.keepAliveTimeout
      coalesceServer(h1)
      s = h1
    }
    s.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head))
    // What the parser rejects is answered as on the main port (after coalesceServer's flush, prepended).
    s.on('clientError', clientErrorHandler.bind(app))
    await new Promise<void>((resolve, reject) => {
      s.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen for HTTPS on ${opts.host}:${opts.httpsPort}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`)))
      s.listen(opts.httpsPort, opts.host, () => resolve())
    })
    server = s
    app.log.info(`HTTPS${drain !== undefined ? ' (HTTP/2 and HTTP/1.1)' : ''} listening at https://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.httpsPort}`)
  })

  app.addHook('onClose', async () => {
    if (server === undefined) return
    const s = server
    const closed = new Promise<void>(resolve => s.close(() => resolve()))
    // As on the main port: in-flight requests finish, idle keep-alive connections close as they go idle.
    if (drain !== undefined) drain.close()
    else sweep = setInterval(() => (s as Server).closeIdleConnections(), 50)
    await closed
    clearInterval(sweep)
  })
}

export default fp(httpsListener, { fastify: '5.x', name: 'echoscope-https-listener' })
