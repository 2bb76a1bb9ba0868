// Raw TCP and UDP echo listeners beside the HTTP server, one per --tcp-port/--udp-port. They open when the
// app is ready (so a port in use fails startup, naming the port) and close with it.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { formatAddress, startTcpEcho, type EchoListener } from '../transports/tcp.ts'
import { startUdpEcho } from '../transports/udp.ts'
import { tlsServerOptions, type TlsMaterial } from '../config/tls.ts'
import type { Options } from '../config/options.ts'
import type { Stats } from '../transports/stats.ts'

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not found'
}

/**
 * A listen failure as one line for the CLI: `cannot listen for the TCP echo on 127.0.0.1:7000: address
 * already in use`. The Node error code is deliberately not copied over, so the CLI does not mistake
 * it for a failure of the HTTP --port.
 */
export function listenError (what: 'TCP' | 'UDP', host: string, port: number, err: NodeJS.ErrnoException): Error {
  const reason = (err.code !== undefined ? REASONS[err.code] : undefined) ?? err.message
  return new Error(`cannot listen for the ${what} echo on ${formatAddress(host, port)}: ${reason}`, { cause: err })
}

export type TransportsOptions = Pick<Options, 'host' | 'tcpPort' | 'tcpFraming' | 'tcpMaxFrameSize' | 'tcpMaxConnections' | 'tcpTls' | 'tcpIdleTimeout' | 'udpPort' | 'udpMaxDatagramSize' | 'udpRateLimit'> & {
  stats: Pick<Stats, 'tcp' | 'udp'>
  /** the certificate --tcp-tls serves (null without one) */
  tls: TlsMaterial | null
}

async function transports (app: FastifyInstance, o: TransportsOptions) {
  const { stats, tls } = o
  const bound = app.echoscope.transports
  if (o.tcpPort.length === 0 && o.udpPort.length === 0) return
  const listeners: EchoListener[] = []

  async function closeAll (): Promise<void> {
    const all = listeners.splice(0)
    await Promise.all(all.map(l => l.close()))
  }

  async function open (what: 'TCP' | 'UDP', port: number, start: () => Promise<EchoListener>): Promise<number> {
    let listener: EchoListener
    try {
      listener = await start()
    } catch (err) {
      throw listenError(what, o.host, port, err as NodeJS.ErrnoException)
    }
    listeners.push(listener)
    app.log.info({ transport: what.toLowerCase(), host: o.host, port: listener.port }, `${what} echo listening on ${formatAddress(o.host, listener.port)}`)
    return listener.port
  }

  app.addHook('onReady', async function () {
    try {
      for (const port of o.tcpPort) {
        bound.tcp.push(await open('TCP', port, () => startTcpEcho({
          port,
          host: o.host,
          framing: o.tcpFraming,
          maxFrameSize: o.tcpMaxFrameSize,
          maxConnections: o.tcpMaxConnections,
          idleTimeout: o.tcpIdleTimeout,
          ...(o.tcpTls && tls !== null ? { tls: tlsServerOptions(tls) } : {})
        }, app.log, stats.tcp)))
      }
      for (const port of o.udpPort) {
        bound.udp.push(await open('UDP', port, () => startUdpEcho({
          port,
          host: o.host,
          maxDatagramSize: o.udpMaxDatagramSize,
          rateLimit: o.udpRateLimit
        }, app.log, stats.udp)))
      }
    } catch (err) {
      // Listeners already open would keep the process alive after the failed start.
      await closeAll()
      bound.tcp.length = 0
      bound.udp.length = 0
      throw err
    }
  })

  app.addHook('onClose', closeAll)
}

export default fp(transports, { fastify: '5.x', name: 'echoscope-transports' })
