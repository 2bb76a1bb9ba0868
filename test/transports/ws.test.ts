// The WebSocket echo over real sockets with real `ws` clients: echo, info, limits and their close codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { spawnServer, startEcho } from '../helper.ts'

function open (url: string, protocols?: string | string[], opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, opts)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode, res })))
  })
}

function nextMessage (ws: WebSocket): Promise<{ data: Buffer, isBinary: boolean }> {
  return new Promise(resolve => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })))
}

function closed (ws: WebSocket): Promise<{ code: number, reason: string }> {
  return new Promise(resolve => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })))
}

test('text comes back as text, binary as binary, byte-exact and in order, on /ws and any path', async (t) => {
  const { port } = await startEcho(t)
  for (const path of ['/ws', '/any/gateway/path?x=1']) {
    const ws = await open(`ws://127.0.0.1:${port}${path}`)
    const got: Array<{ data: Buffer, isBinary: boolean }> = []
    ws.on('message', (data: Buffer, isBinary: boolean) => got.push({ data, isBinary }))
    const sent: Array<{ data: Buffer, isBinary: boolean }> = []
    for (let i = 0; i < 50; i++) {
      const isBinary = i % 2 === 1
      const data = isBinary ? randomBytes(1 + i * 97) : Buffer.from(`message ${i} ✓ ${'x'.repeat(i)}`)
      sent.push({ data, isBinary })
      ws.send(data, { binary: isBinary })
    }
    while (got.length < sent.length) await new Promise(resolve => setTimeout(resolve, 10))
    for (let i = 0; i < sent.length; i++) {
      assert.equal(got[i].isBinary, sent[i].isBinary, `opcode of ${i}`)
      assert.ok(got[i].data.equals(sent[i].data), `bytes of ${i}`)
    }
    ws.close()
    await closed(ws)
  }
})

test('?info=1 sends the echo of the upgrade request first; the first offered subprotocol is selected', async (t) => {
  const { port } = await startEcho(t)
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/room?info=1`, ['graphql-ws', 'json'], { headers: { 'X-Gateway-Test': 'yes', Origin: 'https://app.example' } })
  const first = nextMessage(ws)
  await once(ws, 'open')
  assert.equal(ws.protocol, 'graphql-ws')
  const { data, isBinary } = await first
  assert.equal(isBinary, false)
  const info = JSON.parse(data.toString())
  assert.equal(info.method, 'GET')
  assert.equal(info.path, '/chat/room')
  assert.equal(info.headers['x-gateway-test'], 'yes')
  assert.ok(info.rawHeaders.some(([n]: [string]) => n === 'X-Gateway-Test'))
  assert.deepEqual(info.websocket.protocols, ['graphql-ws', 'json'])
  assert.equal(info.websocket.protocol, 'graphql-ws')
  assert.equal(info.ip, '127.0.0.1')
  ws.send('after-info')
  assert.equal((await nextMessage(ws)).data.toString(), 'after-info')
  ws.close()

  const plain = await open(`ws://127.0.0.1:${port}/ws`)
  assert.equal(plain.protocol, '')
  plain.close()
})

test('a message over --ws-max-message-size closes with 1009; other clients are unaffected', async (t) => {
  const { port } = await startEcho(t, { wsMaxMessageSize: 1024 })
  const other = await open(`ws://127.0.0.1:${port}/ws`)
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  const c = closed(ws)
  ws.send(Buffer.alloc(2048))
  assert.equal((await c).code, 1009)
  other.send('still here')
  assert.equal((await nextMessage(other)).data.toString(), 'still here')
  other.close()
})

test('idle timeout closes with 1000 and a reason', async (t) => {
  const { port } = await startEcho(t, { wsIdleTimeout: 300 })
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  const { code, reason } = await closed(ws)
  assert.equal(code, 1000)
  assert.equal(reason, 'idle timeout')
})

test('ping keepalive drops a peer that never answers pings', async (t) => {
  const { port, app } = await startEcho(t, { wsPingInterval: 150 })
  const dead = await open(`ws://127.0.0.1:${port}/ws`, undefined, { autoPong: false })
  const alive = await open(`ws://127.0.0.1:${port}/ws`)
  const { code } = await closed(dead)
  assert.equal(code, 1006, 'terminated without a close frame')
  assert.equal(alive.readyState, WebSocket.OPEN)
  assert.equal(app.echoscope.stats.ws.limitHits.get('dead-peer'), 1)
  alive.close()
})

test('over --ws-max-connections the upgrade gets 503; existing connections keep working', async (t) => {
  const { port, app } = await startEcho(t, { wsMaxConnections: 2 })
  const a = await open(`ws://127.0.0.1:${port}/ws`)
  const b = await open(`ws://127.0.0.1:${port}/x`)
  const err = await open(`ws://127.0.0.1:${port}/ws`).then(() => null, (e: Error & { statusCode?: number }) => e)
  assert.equal(err?.statusCode, 503)
  a.send('a')
  assert.equal((await nextMessage(a)).data.toString(), 'a')
  b.close()
  await closed(b)
  await new Promise(resolve => setTimeout(resolve, 50))
  const c = await open(`ws://127.0.0.1:${port}/ws`)
  assert.equal(app.echoscope.stats.ws.open, 2)
  a.close()
  c.close()
})

test('a client that floods and never reads is closed with 1008 once its queue passes the bound', async (t) => {
  const { port, app } = await startEcho(t, { wsMaxBufferedBytes: 1024 * 1024 })
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.pause() // stop reading the echoes
  const chunk = randomBytes(64 * 1024)
  for (let i = 0; i < 256; i++) ws.send(chunk) // 16 MB
  await new Promise(resolve => setTimeout(resolve, 300))
  const c = closed(ws)
  socket.resume()
  const { code, reason } = await c
  assert.equal(code, 1008)
  assert.match(reason, /not reading/)
  assert.equal(app.echoscope.stats.ws.limitHits.get('backpressure'), 1)
})

test('RSS stays flat while a client floods 300 MB and never reads', async (t) => {
  const { port, app } = await startEcho(t)
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.pause()
  ws.on('error', () => {})
  const chunk = randomBytes(256 * 1024)
  const before = process.memoryUsage().rss
  let sent = 0
  let peak = before
  const done = closed(ws)
  while (sent < 300 * 1024 * 1024 && ws.readyState === WebSocket.OPEN) {
    // Await each send so the client itself does not buffer without end.
    const ok = await new Promise<boolean>(resolve => ws.send(chunk, err => resolve(err == null)))
    if (!ok) break
    sent += chunk.length
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  // A paused socket never reads the server's close (or reset), so the client only sees it once it reads.
  socket.resume()
  await done
  assert.ok(peak - before < 120 * 1024 * 1024, `RSS grew ${Math.round((peak - before) / 1048576)} MB while ${Math.round(sent / 1048576)} MB were sent`)
  assert.equal(app.echoscope.stats.ws.limitHits.get('backpressure'), 1, 'the server cut the connection that would not read')
})

test('per-connection message rate over the limit closes with 1008', async (t) => {
  const { port } = await startEcho(t, { wsMaxMessageRate: 20 })
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  const c = closed(ws)
  for (let i = 0; i < 100; i++) ws.send('m' + i)
  const { code, reason } = await c
  assert.equal(code, 1008)
  assert.match(reason, /rate/)
})

test('--ws-allowed-origins refuses other browser origins with 403', async (t) => {
  const { port } = await startEcho(t, { wsAllowedOrigins: ['https://good.example'] })
  const bad = await open(`ws://127.0.0.1:${port}/ws`, undefined, { origin: 'https://evil.example' }).then(() => null, (e: Error & { statusCode?: number }) => e)
  assert.equal(bad?.statusCode, 403)
  const good = await open(`ws://127.0.0.1:${port}/ws`, undefined, { origin: 'https://good.example' })
  good.close()
  const noOrigin = await open(`ws://127.0.0.1:${port}/ws`)
  noOrigin.close()
})

test('counters: connections, messages and bytes each way, closes by code', async (t) => {
  const { port, app } = await startEcho(t)
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  ws.send('hello')
  await nextMessage(ws)
  ws.send(Buffer.alloc(10), { binary: true })
  await nextMessage(ws)
  const stats = app.echoscope.stats.ws
  assert.equal(stats.open, 1)
  assert.equal(stats.messagesIn, 2)
  assert.equal(stats.messagesOut, 2)
  assert.equal(stats.bytesIn, 15)
  ws.close(4000, 'bye')
  await closed(ws)
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.equal(stats.open, 0)
  assert.equal(stats.closes.get('4000'), 1)
})

test('SIGTERM: every WebSocket client gets close 1001, the close is logged with counts, exit 0', async () => {
  const { child, port, output } = await spawnServer([])
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  ws.send('one')
  await nextMessage(ws)
  const c = closed(ws)
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const { code, reason } = await c
  assert.equal(code, 1001)
  assert.equal(reason, 'server shutting down')
  assert.equal((await exited)[0], 0)
  const line = output().split('\n').filter(l => l.includes('websocket closed')).map(l => JSON.parse(l))[0]
  assert.equal(line.code, 1001)
  assert.equal(line.messagesIn, 1)
  assert.equal(line.messagesOut, 1)
  assert.match(line.connId, /^ws-/)
})
