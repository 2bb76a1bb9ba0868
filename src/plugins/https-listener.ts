// With --https-port, HTTPS (and WSS) on a listener of its own beside plain HTTP on --port: the same app,
// routed by Fastify, with WebSocket upgrades handed to the main server's upgrade handling.
import fp from 'fastify-plugin'
import { createServer, type Server } from 'node:https'
import type { FastifyInstance } from 'fastify'
import { tlsServerOptions } from '../tls.ts'

async function httpsListener (app: FastifyInstance) {
  const { options: opts, tls } = app.echoscope
  if (tls === null || opts.httpsPort === 0) return
  let server: Server | undefined
  let sweep: NodeJS.Timeout | undefined

  app.addHook('onReady', async () => {
    const s = createServer({ ...tlsServerOptions(tls), maxHeaderSize: opts.maxHeaderSize, headersTimeout: opts.headersTimeout, requestTimeout: opts.requestTimeout },
      (req, res) => app.routing(req, res))
    s.keepAliveTimeout = opts.keepAliveTimeout
    s.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head))
    await new Promise<void>((resolve, reject) => {
      s.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen for HTTPS on ${opts.host}:${opts.httpsPort}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`)))
      s.listen(opts.httpsPort, opts.host, () => resolve())
    })
    server = s
    app.log.info(`HTTPS listening at https://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.httpsPort}`)
  })

  app.addHook('onClose', async () => {
    if (server === undefined) return
    const s = server
    // As on the main port: in-flight requests finish, idle keep-alive connections close as they go idle.
    sweep = setInterval(() => s.closeIdleConnections(), 50)
    await new Promise<void>(resolve => s.close(() => resolve()))
    clearInterval(sweep)
  })
}

export default fp(httpsListener, { fastify: '5.x', name: 'echoscope-https-listener' })
