// Shared by the nginx and haproxy helpers: run a real gateway binary as the current user on a free loopback
// port, wait until it answers, stop it after the test; plus small WebSocket and SSE clients that time events.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { freePort } from '../helper.ts'

export { freePort }

export interface Gateway {
  port: number
  /** http://127.0.0.1:PORT */
  url: string
  /** the temporary directory holding the config, pid file and temp paths */
  dir: string
  /** everything the gateway printed so far (stdout and stderr) */
  output: () => string
}

export interface GatewaySpec {
  /** Debian package that ships the binary, named in the error when it is missing */
  pkg: string
  binary: string
  /** the arguments, given the port to listen on and the temporary directory */
  args: (port: number, dir: string) => string[]
  /** writes the config file(s) into dir before the binary starts */
  prepare: (port: number, dir: string) => void
}

function answers (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

// Gateways still running when the test process exits (a timed-out test skips its after hooks) are killed
// with it rather than left listening.
const running = new Set<number>()
process.once('exit', () => {
  for (const pid of running) {
    try { process.kill(-pid, 'SIGKILL') } catch {}
  }
})

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Starts the gateway and resolves once its port accepts connections. Fails (never skips) when the binary is
 * not installed: the point of these tests is the real gateway, and `.ci/run` installs it.
 */
export async function startGateway (t: TestContext, spec: GatewaySpec): Promise<Gateway> {
  if (!existsSync(spec.binary)) {
    throw new Error(`${spec.binary} is not installed: run \`apt-get install -y ${spec.pkg}\` ` +
      '(.ci/run installs every package listed in .ci/apt-packages)')
  }
  const dir = mkdtempSync(join(tmpdir(), `echoscope-${spec.pkg}-`))
  const port = await freePort()
  spec.prepare(port, dir)
  // Its own process group, so a stuck gateway is killed with every worker it forked.
  const child = spawn(spec.binary, spec.args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  let exited = false
  if (child.pid !== undefined) running.add(child.pid)
  const gone = new Promise<void>(resolve => {
    child.once('exit', () => { exited = true; running.delete(child.pid ?? 0); resolve() })
    child.once('error', err => { out += String(err); exited = true; resolve() })
  })

  const signal = (sig: NodeJS.Signals) => {
    try {
      if (!exited && child.pid !== undefined) process.kill(-child.pid, sig)
    } catch {} // the group is already gone
  }
  const stop = async () => {
    if (!exited) {
      signal('SIGTERM')
      const timer = setTimeout(() => signal('SIGKILL'), 3000)
      await gone
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  t.after(stop)

  const deadline = Date.now() + 10000
  while (!(await answers(port))) {
    if (exited) throw new Error(`${spec.binary} exited before it listened on ${port}:\n${out}`)
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${spec.binary} did not listen on ${port} within 10 s:\n${out}`)
    }
    await sleep(20)
  }
  return { port, url: `http://127.0.0.1:${port}`, dir, output: () => out }
}

export interface WsClient {
  ws: WebSocket
  /** the next message, including any that arrived before this was called */
  next: () => Promise<{ data: Buffer, isBinary: boolean }>
}

/**
 * Opens a WebSocket and queues its messages from the first byte on: through a gateway the 101 and the first
 * frame (the `?info=1` echo) often share one TCP segment, so 'message' fires right after 'open'.
 */
export function openWs (url: string): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const queue: { data: Buffer, isBinary: boolean }[] = []
    const waiting: { resolve: (m: { data: Buffer, isBinary: boolean }) => void, reject: (err: Error) => void }[] = []
    let closed: Error | undefined
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const w = waiting.shift()
      if (w !== undefined) w.resolve({ data, isBinary })
      else queue.push({ data, isBinary })
    })
    ws.once('close', code => {
      closed = new Error(`WebSocket closed (${code}) before a message arrived`)
      for (const w of waiting.splice(0)) w.reject(closed)
    })
    const next = () => new Promise<{ data: Buffer, isBinary: boolean }>((resolve, reject) => {
      const m = queue.shift()
      if (m !== undefined) resolve(m)
      else if (closed !== undefined) reject(closed)
      else waiting.push({ resolve, reject })
    })
    ws.once('open', () => resolve({ ws, next }))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade refused with HTTP ${res.statusCode}`)))
  })
}

export interface TimedSse {
  status: number
  headers: Headers
  /** each event's name and milliseconds since the request was sent */
  events: { event: string, at: number }[]
}

/** Reads an SSE response to its end, noting when each event arrived at the client. */
export async function timedSse (url: string): Promise<TimedSse> {
  const start = performance.now()
  const res = await fetch(url, { headers: { accept: 'text/event-stream' } })
  const events: TimedSse['events'] = []
  const decoder = new TextDecoder()
  let buf = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true })
    let end
    while ((end = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, end)
      buf = buf.slice(end + 2)
      const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
      events.push({ event: name, at: Math.round(performance.now() - start) })
    }
  }
  return { status: res.status, headers: res.headers, events }
}

/**
 * The events were passed on as they were written: the stream spans its three seconds at the client too.
 * (Loose bounds: a loaded CI machine delays timers, but it does not make a buffered stream look spread out.)
 */
export function assertStreamed (r: TimedSse, label: string) {
  assert.deepEqual(r.events.map(e => e.event), ['echo', 'tick', 'tick', 'tick', 'end'], label)
  const at = r.events.map(e => e.at)
  assert.ok(at[4] - at[0] >= 1800 && at[3] - at[1] >= 1000, `${label}: events should arrive about a second apart, got them at ${at.join(', ')} ms`)
}

/** Nothing came until the upstream response ended, then every event at once. */
export function assertBuffered (r: TimedSse, label: string) {
  assert.deepEqual(r.events.map(e => e.event), ['echo', 'tick', 'tick', 'tick', 'end'], label)
  const at = r.events.map(e => e.at)
  assert.ok(at[0] >= 2500 && at[4] - at[0] < 300, `${label}: every event should arrive together at the end, got them at ${at.join(', ')} ms`)
}

/**
 * A WebSocket through the gateway (`/api/chat` → `/chat`): checks what both gateway configs add to the
 * upgrade, then a text and a binary round trip. Returns the `?info=1` echo for gateway-specific checks.
 */
export async function assertWsThrough (t: TestContext, port: number, gateway: string): Promise<any> {
  const { ws, next } = await openWs(`ws://127.0.0.1:${port}/api/chat?info=1`)
  t.after(() => ws.terminate())
  const info = JSON.parse((await next()).data.toString())
  assert.equal(info.path, '/chat')
  assert.equal(info.headers.host, 'echo.internal')
  assert.equal(info.headers['x-gateway'], gateway)
  assert.equal(info.headers['x-forwarded-for'], '127.0.0.1')
  assert.equal(info.headers.upgrade, 'websocket')
  assert.deepEqual(info.proxy.gateways, [{ name: gateway, evidence: ['via'] }])
  ws.send('hello ✓')
  const text = await next()
  assert.deepEqual([text.data.toString(), text.isBinary], ['hello ✓', false])
  const bytes = Buffer.from([0, 1, 2, 253, 254, 255])
  ws.send(bytes)
  const bin = await next()
  assert.deepEqual([bin.data, bin.isBinary], [bytes, true])
  ws.close()
  return info
}
