// Raw TCP echo (RFC 862), optionally with [4-byte big-endian length][payload] framing. Built for testing
// firewalls and TCP load balancers: bytes come back unchanged, a client that does not read is
// back-pressured (we stop reading, so its writes stall) instead of being buffered, and every connection is
// bounded (count, idle time, frame size).
import { createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type TlsOptions as TlsServerOptions } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import { bump, connectionId, type TransportStats } from './stats.ts'

export interface TcpEchoOptions {
  port: number
  host: string
  /** none: echo bytes as they arrive; length: echo whole [4-byte big-endian length][payload] frames */
  framing: 'none' | 'length'
  /** largest payload a length header may declare; more closes the connection */
  maxFrameSize: number
  /** concurrent connections on this listener; more are closed at once (0 = no limit) */
  maxConnections: number
  /** ms without traffic either way before a connection is closed (0 = never) */
  idleTimeout: number
  /** with --tcp-tls: TLS with the HTTPS certificate (the echo then runs on the decrypted bytes) */
  tls?: TlsServerOptions
}

export interface EchoListener {
  /** the bound port (the chosen one when 0 was asked for) */
  port: number
  /** stop accepting, end every connection, resolve when all are gone */
  close: () => Promise<void>
}

export type TcpCloseReason = 'end' | 'idle' | 'error' | 'frame-too-large' | 'max-connections' | 'shutdown'

/** How long connections may take to finish after a shutdown `end()` before they are destroyed. */
const SHUTDOWN_GRACE_MS = 1000
const HEADER = 4

interface Conn {
  id: string
  socket: Socket
  remote: string
  openedAt: number
  bytesIn: number
  bytesOut: number
  messagesIn: number
  messagesOut: number
  reason: TcpCloseReason | null
}

export function formatAddress (address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown'
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

/**
 * Reassembles length-prefixed frames from arbitrary chunks. Holds at most one incomplete frame (header
 * included), and never much more than the bytes that actually arrived: a header declaring a large length
 * does not allocate that length up front, and a peer sending one byte at a time does not make a long list.
 */
export interface FrameReader {
  /** feeds one chunk; calls `onFrame` with each complete frame (header included); false = oversize frame */
  push: (chunk: Buffer, onFrame: (frame: Buffer) => void) => boolean
  /** the declared payload length of the frame that was refused */
  refused: () => number
  /** bytes held for the frame in progress */
  held: () => number
}

const MIN_PARTIAL = 16 * 1024

export function createFrameReader (maxFrameSize: number): FrameReader {
  const header = Buffer.alloc(HEADER)
  let headerFill = 0
  // frame in progress: its total size (header included, 0 = none), its bytes so far, how many
  let want = 0
  let partial: Buffer | null = null
  let have = 0
  let refusedLength = 0

  // Grows by doubling, capped at the frame size: linear copying, memory at most twice what arrived.
  function append (data: Buffer): void {
    const need = have + data.length
    if (partial === null || partial.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(want, Math.max(need, MIN_PARTIAL, partial === null ? 0 : partial.length * 2)))
      if (partial !== null) partial.copy(grown, 0, 0, have)
      partial = grown
    }
    data.copy(partial, have)
    have = need
  }

  function push (chunk: Buffer, onFrame: (frame: Buffer) => void): boolean {
    let off = 0
    const end = chunk.length
    while (off < end) {
      if (want === 0) {
        let len: number
        if (headerFill === 0 && end - off >= HEADER) {
          len = chunk.readUInt32BE(off)
          if (len > maxFrameSize) { refusedLength = len; return false }
          // Fast path: the whole frame sits in this chunk; echo a view of it, no copy.
          if (end - off >= HEADER + len) {
            onFrame(chunk.subarray(off, off + HEADER + len))
            off += HEADER + len
            continue
          }
          want = HEADER + len
          continue
        }
        // A header split across chunks: collect its 4 bytes first.
        const n = Math.min(HEADER - headerFill, end - off)
        chunk.copy(header, headerFill, off, off + n)
        headerFill += n
        off += n
        if (headerFill < HEADER) return true
        headerFill = 0
        len = header.readUInt32BE(0)
        if (len > maxFrameSize) { refusedLength = len; return false }
        want = HEADER + len
        append(header)
        if (have === want) { finish(onFrame); continue }
      }
      const n = Math.min(want - have, end - off)
      append(chunk.subarray(off, off + n))
      off += n
      if (have === want) finish(onFrame)
    }
    return true
  }

  function finish (onFrame: (frame: Buffer) => void): void {
    const frame = (partial as Buffer).subarray(0, have)
    partial = null
    want = 0
    have = 0
    onFrame(frame)
  }

  return { push, refused: () => refusedLength, held: () => have + headerFill }
}

/** Starts one TCP echo listener; rejects with the listen error (EADDRINUSE, EACCES, ...). */
export async function startTcpEcho (opts: TcpEchoOptions, log: FastifyBaseLogger, stats: TransportStats): Promise<EchoListener> {
  const conns = new Set<Conn>()
  let closing = false
  let onAllGone: (() => void) | null = null

  function finishConn (conn: Conn, hadError: boolean): void {
    conns.delete(conn)
    const reason = conn.reason ?? (hadError ? 'error' : 'end')
    stats.open--
    bump(stats.closes, reason)
    log.info({
      connId: conn.id,
      remote: conn.remote,
      reason,
      bytesIn: conn.bytesIn,
      bytesOut: conn.bytesOut,
      messagesIn: conn.messagesIn,
      messagesOut: conn.messagesOut,
      durationMs: Math.round(performance.now() - conn.openedAt)
    }, 'tcp echo connection closed')
    if (conns.size === 0 && onAllGone !== null) onAllGone()
  }

  function send (conn: Conn, data: Buffer): boolean {
    conn.messagesOut++
    conn.bytesOut += data.length
    stats.messagesOut++
    stats.bytesOut += data.length
    return conn.socket.write(data)
  }

  function countIn (conn: Conn, length: number): void {
    conn.bytesIn += length
    stats.bytesIn += length
  }

  function rawEcho (conn: Conn): (chunk: Buffer) => void {
    return (chunk) => {
      if (conn.reason !== null) return
      countIn(conn, chunk.length)
      conn.messagesIn++
      stats.messagesIn++
      // A peer that does not read: stop reading from it until our writes drain, so its own writes stall
      // in the kernel buffers instead of piling up in our memory.
      if (!send(conn, chunk)) conn.socket.pause()
    }
  }

  function framedEcho (conn: Conn): (chunk: Buffer) => void {
    const reader = createFrameReader(opts.maxFrameSize)
    let blocked = false
    const onFrame = (frame: Buffer) => {
      conn.messagesIn++
      stats.messagesIn++
      if (!send(conn, frame)) blocked = true
    }
    return (chunk) => {
      if (conn.reason !== null) return
      countIn(conn, chunk.length)
      blocked = false
      if (!reader.push(chunk, onFrame)) {
        conn.reason = 'frame-too-large'
        bump(stats.limitHits, 'frame-too-large')
        log.info({ connId: conn.id, remote: conn.remote, length: reader.refused(), maxFrameSize: opts.maxFrameSize }, 'tcp echo frame too large, closing the connection')
        conn.socket.destroy()
        return
      }
      if (blocked) conn.socket.pause()
    }
  }

  function onConnection (socket: Socket): void {
    const remote = formatAddress(socket.remoteAddress, socket.remotePort)
    if (closing || (opts.maxConnections > 0 && conns.size >= opts.maxConnections)) {
      const reason = closing ? 'shutdown' : 'max-connections'
      bump(stats.closes, reason)
      if (!closing) bump(stats.limitHits, 'max-connections')
      log.info({ remote, reason, maxConnections: opts.maxConnections }, 'tcp echo connection refused')
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    const conn: Conn = {
      id: connectionId('tcp'),
      socket,
      remote,
      openedAt: performance.now(),
      bytesIn: 0,
      bytesOut: 0,
      messagesIn: 0,
      messagesOut: 0,
      reason: null
    }
    conns.add(conn)
    stats.open++
    stats.accepted++
    log.debug({ connId: conn.id, remote }, 'tcp echo connection open')

    socket.setNoDelay(true)
    if (opts.idleTimeout > 0) {
      socket.setTimeout(opts.idleTimeout, () => {
        if (conn.reason === null) conn.reason = 'idle'
        socket.destroy()
      })
    }
    socket.on('data', opts.framing === 'length' ? framedEcho(conn) : rawEcho(conn))
    socket.on('drain', () => socket.resume())
    socket.on('error', (err: NodeJS.ErrnoException) => {
      log.debug({ connId: conn.id, remote, err: { code: err.code, message: err.message } }, 'tcp echo connection error')
    })
    socket.on('close', (hadError) => finishConn(conn, hadError))
  }

  // allowHalfOpen stays false: when the client sends FIN, Node ends our side after the echoes already
  // queued are written, which is what `nc` and `telnet` expect.
  const server: Server = opts.tls !== undefined ? createTlsServer(opts.tls, onConnection) : createServer(onConnection)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: opts.port, host: opts.host }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => log.error({ err }, 'tcp echo listener error'))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : opts.port

  let closed: Promise<void> | null = null
  function close (): Promise<void> {
    closed ??= shutdown()
    return closed
  }

  async function shutdown (): Promise<void> {
    closing = true
    const stopped = new Promise<void>(resolve => server.close(() => resolve()))
    const allGone = conns.size === 0 ? Promise.resolve() : new Promise<void>(resolve => { onAllGone = resolve })
    const grace = setTimeout(() => {
      for (const conn of conns) conn.socket.destroy()
    }, SHUTDOWN_GRACE_MS)
    for (const conn of conns) {
      if (conn.reason === null) conn.reason = 'shutdown'
      // Keep reading (and discarding) so the client's FIN is seen and the socket can close.
      conn.socket.resume()
      conn.socket.end()
    }
    await Promise.all([stopped, allGone])
    clearTimeout(grace)
  }

  return { port, close }
}
