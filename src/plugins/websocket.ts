// @fastify/websocket with echoscope's limits, and the WebSocket echo it serves. Registered at the root in
// the standalone server (so an upgrade on a system path is closed, not left hanging), or by the embedded
// echo plugin itself.
import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { createWsEcho, type WsEchoOptions } from '../transports/ws.ts'
import type { TransportStats } from '../transports/stats.ts'
import { MARKER_HEADER } from '../echo/identity.ts'

export interface WebsocketPluginOptions extends WsEchoOptions {
  maxMessageSize: number
  stats: TransportStats
  /** the x-echoscope value, put on the 101 of every upgrade */
  marker: string
}

declare module 'fastify' {
  interface FastifyInstance {
    echoscopeWs: ReturnType<typeof createWsEcho>
  }
}

async function websocketPlugin (app: FastifyInstance, opts: WebsocketPluginOptions) {
  const echo = createWsEcho(opts, opts.stats, app.log)
  app.decorate('echoscopeWs', echo)
  if (app.hasDecorator('websocketServer')) {
    // The host app brought its own @fastify/websocket: use it, and close our clients with the app.
    app.addHook('preClose', async () => { await echo.close() })
    return
  }
  await app.register(websocket, {
    options: {
      maxPayload: opts.maxMessageSize,
      // The first subprotocol the client offers is accepted, so clients that insist on one still connect.
      handleProtocols: (protocols: Set<string>) => protocols.values().next().value ?? false,
      perMessageDeflate: false
    },
    preClose: async () => {
      await echo.close()
      await new Promise<void>(resolve => app.websocketServer.close(() => resolve()))
    }
  })
  // ws writes the 101 itself; its 'headers' event is where a server adds to it.
  const markerLine = `${MARKER_HEADER}: ${opts.marker}`
  app.websocketServer.on('headers', (headers: string[]) => { headers.push(markerLine) })
}

export default fp(websocketPlugin, { fastify: '5.x', name: 'echoscope-websocket' })
