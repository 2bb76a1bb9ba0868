// WebSocket load from this process with the `ws` client: closed-loop echo clients for throughput and
// latency, and a crowd of idle connections for memory. The servers under test run in their own
// processes, so this process's CPU is the load generator's and is reported as such.
import { spawnSync } from 'node:child_process'
import { hrtime } from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import type { RawData } from 'ws'
import { LoadFailure } from './http-load.ts'
import { readRssKiB } from './proc.ts'
import type { ReadyCheck } from './servers.ts'
import type { Measurement, MemoryMeasurement, Meter } from './types.ts'

export interface WsMessage {
  bytes: Buffer
  binary: boolean
}

/** Connections opened at once: more at a time can overrun a listen backlog (511 in Node). */
const OPEN_BATCH = 200
const HANDSHAKE_TIMEOUT_MS = 10_000
/** After the measured duration, how long the last in-flight echoes may take before it counts as a hang. */
const DRAIN_TIMEOUT_MS = 10_000
const CLOSE_TIMEOUT_MS = 5_000
/** The memory check waits this long after the last connection opened before reading RSS. */
const IDLE_SETTLE_MS = 2_000

// Clients offer permessage-deflate like browsers do (ws's default), and skip validating the UTF-8 of
// echoes that are compared byte for byte anyway: the load generator is the scarcer CPU here.
const CLIENT_OPTIONS = { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, skipUTF8Validation: true }

export function wsUrl (baseUrl: string, path: string): string {
  return baseUrl.replace(/^http/, 'ws') + path
}

function fdLimit (): string {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' })
  return out.stdout?.trim() || 'unknown'
}

/** The error a failed open deserves: a refused upgrade says so with its status, running out of fds too. */
function openError (url: string, err: Error & { code?: string }, opened: number): Error {
  if (err.code === 'EMFILE' || err.code === 'ENFILE') {
    return new LoadFailure(`ran out of file descriptors (${err.code}) after opening ${opened} WebSocket connections: ` +
      `the client needs one per connection (ulimit -n is ${fdLimit()} here); raise it or lower BENCH_WS_IDLE`)
  }
  return new LoadFailure(`opening ${url} failed after ${opened} connections: ${err.message}`)
}

export function openSocket (url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, CLIENT_OPTIONS)
    ws.once('open', () => {
      ws.removeAllListeners()
      // Errors are followed by 'close', which is what users of an open socket listen for; unhandled,
      // one would end this process while it still holds thousands of idle connections.
      ws.on('error', () => {})
      resolve(ws)
    })
    ws.once('unexpected-response', (_req, res) => {
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.terminate()
      reject(Object.assign(new Error(`the server answered the upgrade with HTTP ${res.statusCode}`), { status: res.statusCode }))
    })
    ws.once('error', (err) => {
      ws.removeAllListeners()
      reject(err)
    })
  })
}

/** Closes politely, then terminates whatever has not finished closing in time. */
export async function closeAll (sockets: WebSocket[]): Promise<void> {
  const closed = sockets.map((ws) => new Promise<void>((resolve) => {
    ws.removeAllListeners()
    ws.on('error', () => {})
    if (ws.readyState === WebSocket.CLOSED) return resolve()
    ws.once('close', () => resolve())
    ws.close(1000)
  }))
  const timer = sleep(CLOSE_TIMEOUT_MS, undefined, { ref: false })
  await Promise.race([Promise.all(closed), timer])
  for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
}

/** Opens `count` connections, OPEN_BATCH at a time; on any failure closes those it opened and throws. */
export async function openMany (url: string, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = []
  while (sockets.length < count) {
    const batch = Math.min(OPEN_BATCH, count - sockets.length)
    const results = await Promise.allSettled(Array.from({ length: batch }, () => openSocket(url)))
    for (const r of results) if (r.status === 'fulfilled') sockets.push(r.value)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) {
      await closeAll(sockets)
      throw openError(url, failed.reason as Error, sockets.length)
    }
  }
  return sockets
}

/** Ready once a WebSocket opens at `path`; a refused upgrade other than 503 will not change by waiting. */
export function wsReady (path: string): ReadyCheck {
  return async (baseUrl) => {
    const url = wsUrl(baseUrl, path)
    try {
      await closeAll([await openSocket(url)])
      return 'ready'
    } catch (err) {
      const status = (err as { status?: number }).status
      if (status !== undefined && status !== 503) throw new Error(`${url}: ${(err as Error).message}; does it serve WebSocket there?`)
      return (err as Error).message
    }
  }
}

function toBuffer (data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
}

/** A variant of a message whose first byte (printable ASCII, so text stays text) says which it is. */
function numbered (message: WsMessage, n: number): Buffer {
  const bytes = Buffer.from(message.bytes)
  bytes[0] = 0x61 + n
  return bytes
}

/** Sends three messages and throws unless the same bytes come back, with the same opcode, in order. */
export async function probeWsEcho (url: string, message: WsMessage): Promise<void> {
  const ws = await openSocket(url)
  const sent = [0, 1, 2].map((n) => numbered(message, n))
  const kind = message.binary ? 'binary' : 'text'
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0
      const timer = setTimeout(() => reject(new Error(`${next} of ${sent.length} echoes within 2 s`)), 2_000)
      ws.on('message', (data, isBinary) => {
        const why = isBinary !== message.binary
          ? `a ${kind} message came back as ${isBinary ? 'binary' : 'text'}`
          : !toBuffer(data).equals(sent[next]) ? `echo #${next + 1} differs from what was sent` : undefined
        if (why !== undefined) {
          clearTimeout(timer)
          return reject(new Error(why))
        }
        if (++next === sent.length) {
          clearTimeout(timer)
          resolve()
        }
      })
      ws.on('close', (code, reason) => reject(new Error(`closed by the server: ${code} ${reason.toString()}`)))
      ws.on('error', reject)
      for (const bytes of sent) ws.send(bytes, { binary: message.binary })
    })
  } catch (err) {
    throw new Error(`probe ${url} (${kind}): ${(err as Error).message}`)
  } finally {
    await closeAll([ws])
  }
}

/** Round-trip times in ms, kept in a growing typed array: no per-sample allocation under load. */
class Samples {
  values = new Float64Array(1 << 16)
  length = 0

  push (value: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2)
      bigger.set(this.values)
      this.values = bigger
    }
    this.values[this.length++] = value
  }

  percentiles (...qs: number[]): number[] {
    const sorted = this.values.slice(0, this.length).sort()
    return qs.map((q) => sorted[Math.min(this.length - 1, Math.max(0, Math.ceil(q * this.length) - 1))])
  }
}

const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6

/**
 * `clients` connections, each sending `message`, awaiting its echo and sending the next, for
 * `durationSec`. Every echo is compared with what was sent; any difference or close fails the run.
 */
export async function closedLoop (url: string, message: WsMessage, clients: number, durationSec: number, meter: Meter): Promise<Measurement> {
  const sockets = await openMany(url, clients)
  const extensions = [...new Set(sockets.map((ws) => ws.extensions || 'none'))].join(' / ')
  const { bytes, binary } = message
  const samples = new Samples()
  let timers: NodeJS.Timeout[] = []
  try {
    return await new Promise<Measurement>((resolve, reject) => {
      let settled = false
      let running = true
      let inFlight = clients
      let startedAt = 0n
      const fail = (why: string): void => {
        if (settled) return
        settled = true
        reject(new LoadFailure(`${url}: ${why} (after ${samples.length} echoes)`))
      }
      const finish = (): void => {
        if (settled) return
        settled = true
        const stoppedAt = hrtime.bigint()
        meter.stop()
        const durationSec = ms(startedAt, stoppedAt) / 1000
        const [p50Ms, p99Ms] = samples.percentiles(0.5, 0.99)
        resolve({ rate: samples.length / durationSec, p50Ms, p99Ms, completed: samples.length, durationSec, tool: 'ws client (node)', note: `extensions: ${extensions}` })
      }
      const sentAt = new BigInt64Array(clients)
      sockets.forEach((ws, i) => {
        ws.on('message', (data, isBinary) => {
          const now = hrtime.bigint()
          if (isBinary !== binary || !toBuffer(data).equals(bytes)) return fail('an echo differs from the message sent')
          samples.push(ms(sentAt[i], now))
          if (running) {
            sentAt[i] = now
            ws.send(bytes, { binary })
          } else if (--inFlight === 0) {
            finish()
          }
        })
        ws.on('close', (code, reason) => fail(`the server closed a client: ${code} ${reason.toString()}`))
        ws.on('error', (err) => fail(err.message))
      })
      meter.start()
      startedAt = hrtime.bigint()
      sockets.forEach((ws, i) => {
        sentAt[i] = hrtime.bigint()
        ws.send(bytes, { binary })
      })
      timers = [
        setTimeout(() => { running = false }, durationSec * 1000),
        setTimeout(() => fail(`${inFlight} of ${clients} clients got no echo within ${DRAIN_TIMEOUT_MS / 1000} s after the run`),
          durationSec * 1000 + DRAIN_TIMEOUT_MS)
      ]
    })
  } finally {
    for (const timer of timers) clearTimeout(timer)
    await closeAll(sockets)
  }
}

/** Opens `count` idle connections and reports how much the server's RSS grew per connection. */
export async function idleMemory (url: string, count: number, pid: number): Promise<MemoryMeasurement> {
  const rssBeforeKiB = readRssKiB(pid)
  const openedAt = hrtime.bigint()
  const sockets = await openMany(url, count)
  const openSec = ms(openedAt, hrtime.bigint()) / 1000
  try {
    const closes = new Map<number, number>()
    for (const ws of sockets) {
      ws.on('close', (code) => closes.set(code, (closes.get(code) ?? 0) + 1))
    }
    await sleep(IDLE_SETTLE_MS)
    if (closes.size > 0) {
      const byCode = [...closes].map(([code, n]) => `${n} with ${code}`).join(', ')
      throw new LoadFailure(`${url}: the server closed idle connections while they were counted (${byCode})`)
    }
    const rssAfterKiB = readRssKiB(pid)
    return { connections: count, rssBeforeKiB, rssAfterKiB, perConnectionKiB: (rssAfterKiB - rssBeforeKiB) / count, openSec }
  } finally {
    await closeAll(sockets)
  }
}
