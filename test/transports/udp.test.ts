// The UDP echo over real sockets: byte-exact round trip, the size and rate limits, dual-stack, a port in
// use, and the rate limiter's bounded table.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestContext } from 'node:test'
import { buildServer } from '../../src/server.ts'
import { createRateLimiter } from '../../src/transports/udp.ts'
import { startEcho } from '../helper.ts'

interface UdpClient { socket: Socket, received: Buffer[] }

async function udpClient (t: TestContext, type: 'udp4' | 'udp6' = 'udp4', address = type === 'udp4' ? '127.0.0.1' : '::1'): Promise<UdpClient> {
  const socket = createSocket(type)
  const received: Buffer[] = []
  socket.on('message', m => received.push(m))
  socket.bind(0, address)
  await once(socket, 'listening')
  t.after(() => socket.close())
  return { socket, received }
}

async function until (cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

test('udp: a datagram comes back to its sender byte-exact; stats count it', async (t) => {
  const { app } = await startEcho(t, { udpPort: [0] })
  const [port] = app.echoscope.transports.udp
  assert.ok(port > 0)
  const c = await udpClient(t)
  const data = randomBytes(8192)
  c.socket.send(data, port, '127.0.0.1')
  await until(() => c.received.length === 1, 'the echo')
  assert.ok(c.received[0].equals(data))
  const s = app.echoscope.stats.udp
  assert.equal(s.messagesIn, 1)
  assert.equal(s.messagesOut, 1)
  assert.equal(s.bytesIn, 8192)
  assert.equal(s.bytesOut, 8192)
  assert.equal(s.open, 1, 'one source tracked by the rate limiter')
})

test('udp: a datagram over --udp-max-datagram-size is dropped, not echoed', async (t) => {
  const { app } = await startEcho(t, { udpPort: [0], udpMaxDatagramSize: 100 })
  const [port] = app.echoscope.transports.udp
  const c = await udpClient(t)
  c.socket.send(Buffer.alloc(101, 1), port, '127.0.0.1')
  await sleep(300)
  assert.equal(c.received.length, 0)
  c.socket.send(Buffer.alloc(100, 2), port, '127.0.0.1')
  await until(() => c.received.length === 1, 'the datagram of exactly the limit')
  assert.equal(c.received[0].length, 100)
  const s = app.echoscope.stats.udp
  assert.equal(s.limitHits.get('datagram-size'), 1)
  assert.equal(s.messagesIn, 2)
  assert.equal(s.messagesOut, 1)
  assert.equal(s.bytesOut, 100)
})

test('udp: --udp-rate-limit drops what one source sends over the limit per second', async (t) => {
  const { app } = await startEcho(t, { udpPort: [0], udpRateLimit: 10 })
  const [port] = app.echoscope.transports.udp
  const c = await udpClient(t)
  for (let i = 0; i < 50; i++) c.socket.send(Buffer.from(`n${i}`), port, '127.0.0.1')
  await sleep(400)
  assert.ok(c.received.length >= 1 && c.received.length <= 12, `${c.received.length} came back`)
  const rate = app.echoscope.stats.udp.limitHits.get('rate') ?? 0
  assert.equal(rate + c.received.length, 50)
  // another source address has its own budget (all of 127/8 is loopback on Linux)
  const other = await udpClient(t, 'udp4', '127.0.0.2')
  other.socket.send('mine', port, '127.0.0.1')
  await until(() => other.received.length === 1, 'the other source\'s echo')
})

test('udp: --udp-rate-limit 0 echoes everything', async (t) => {
  const { app } = await startEcho(t, { udpPort: [0], udpRateLimit: 0 })
  const [port] = app.echoscope.transports.udp
  const c = await udpClient(t)
  for (let i = 0; i < 50; i++) c.socket.send(Buffer.from(`n${i}`), port, '127.0.0.1')
  await until(() => c.received.length === 50, 'all 50 echoes')
  assert.equal(app.echoscope.stats.udp.limitHits.get('rate'), undefined)
})

test('udp: host :: is dual-stack; IPv4 and IPv6 senders both get their echo', async (t) => {
  const { app } = await startEcho(t, { udpPort: [0], host: '::' })
  const [port] = app.echoscope.transports.udp
  const v4 = await udpClient(t)
  v4.socket.send('four', port, '127.0.0.1')
  await until(() => v4.received.length === 1, 'the IPv4 echo')
  assert.equal(v4.received[0].toString(), 'four')
  const v6 = await udpClient(t, 'udp6')
  v6.socket.send('six', port, '::1')
  await until(() => v6.received.length === 1, 'the IPv6 echo')
  assert.equal(v6.received[0].toString(), 'six')
})

test('udp: a port in use fails startup with a message naming the port', async () => {
  const blocker = createSocket('udp4')
  blocker.bind(0, '127.0.0.1')
  await once(blocker, 'listening')
  const busy = blocker.address().port
  try {
    const app = await buildServer({ logLevel: 'silent', udpPort: [busy] })
    await assert.rejects(async () => { await app.ready() }, { message: `cannot listen for the UDP echo on 127.0.0.1:${busy}: address already in use` })
    await app.close()
  } finally {
    blocker.close()
  }
})

test('rate limiter: per-source windows, a bounded table that forgets the oldest first', () => {
  const rl = createRateLimiter(2, 3)
  assert.equal(rl.allow('a', 0), true)
  assert.equal(rl.allow('a', 10), true)
  assert.equal(rl.allow('a', 20), false, 'over the limit within the second')
  assert.equal(rl.count('a'), 3, 'dropped datagrams count too')
  assert.equal(rl.allow('a', 1000), true, 'a new second, a new budget')
  assert.equal(rl.allow('a', 1010), true)
  assert.equal(rl.allow('a', 1020), false)
  assert.equal(rl.allow('b', 1100), true)
  assert.equal(rl.allow('c', 1200), true)
  assert.equal(rl.size, 3)
  assert.equal(rl.allow('d', 1300), true)
  assert.equal(rl.size, 3, 'the table never grows past its bound')
  assert.equal(rl.allow('a', 1400), true, 'a, the oldest, was forgotten to make room for d')
  assert.equal(rl.allow('c', 1500), true)
  assert.equal(rl.allow('c', 1600), false, 'c was kept')
  // windows now: c@1200, d@1300, a@1400 (b was the oldest when a came back)
  assert.equal(rl.prune(2350), 2, 'the windows that ended are pruned')
  assert.equal(rl.size, 1)
})
