// The raw TCP echo over real sockets: byte-exact echo, back-pressure on a client that does not read,
// length framing, the connection limits, shutdown, a port in use, and the CLI flag.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildServer } from '../../src/server.ts'
import { createFrameReader } from '../../src/transports/tcp.ts'
import { runCli, spawnServer, startEcho } from '../helper.ts'

interface Client {
  socket: Socket
  /** everything received so far */
  received: () => Buffer
  /** resolves when the socket closes (error or not) */
  closed: Promise<void>
}

async function tcpClient (port: number): Promise<Client> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', c => chunks.push(c))
  socket.on('error', () => {})
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  await once(socket, 'connect')
  return { socket, received: () => Buffer.concat(chunks), closed }
}

/** Waits until `cond` holds, polling; fails with `what` after `ms`. */
async function until (cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

function frame (payload: Buffer): Buffer {
  const h = Buffer.alloc(4)
  h.writeUInt32BE(payload.length)
  return Buffer.concat([h, payload])
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

test('tcp: a few MB of random bytes come back byte-exact; stats count them', async (t) => {
  const { app } = await startEcho(t, { tcpPort: [0] })
  const [port] = app.echoscope.transports.tcp
  assert.ok(port > 0)
  const data = randomBytes(4 * 1024 * 1024 + 17)
  const c = await tcpClient(port)
  c.socket.end(data)
  await c.closed
  const got = c.received()
  assert.equal(got.length, data.length)
  assert.equal(sha256(got), sha256(data))

  const s = app.echoscope.stats.tcp
  await until(() => s.open === 0, 'the server to see the close')
  assert.equal(s.accepted, 1)
  assert.equal(s.bytesIn, data.length)
  assert.equal(s.bytesOut, data.length)
  assert.ok(s.messagesIn >= 1)
  assert.equal(s.messagesOut, s.messagesIn, 'none framing: every chunk read is one message written')
  assert.equal(s.closes.get('end'), 1)
})

for (const framing of ['none', 'length'] as const) {
  test(`tcp ${framing} framing: a client that writes without reading is back-pressured, memory stays flat, and the echo resumes`, async (t) => {
    const { app } = await startEcho(t, { tcpPort: [0], tcpFraming: framing })
    const [port] = app.echoscope.transports.tcp
    const total = 50 * 1024 * 1024
    const chunk = framing === 'none' ? randomBytes(64 * 1024) : frame(randomBytes(64 * 1024 - 4))
    const c = await tcpClient(port)
    c.socket.pause()
    const rssBefore = process.memoryUsage().rss
    const expected = createHash('sha256')
    let written = 0
    let stalled = false
    // Write only when the socket accepts more (so the client itself buffers nothing); a drain that does not
    // come within a second means the server stopped reading.
    while (written < total) {
      const ok = c.socket.write(chunk)
      expected.update(chunk)
      written += chunk.length
      if (!ok) {
        const drained = await Promise.race([once(c.socket, 'drain').then(() => true), sleep(1000).then(() => false)])
        if (!drained) { stalled = true; break }
      }
    }
    const rssGrowth = process.memoryUsage().rss - rssBefore
    assert.ok(stalled, `writes never stalled after ${written} bytes`)
    assert.ok(written < total)
    assert.ok(app.echoscope.stats.tcp.bytesIn < written, 'the server stopped reading')
    assert.ok(rssGrowth < 40 * 1024 * 1024, `rss grew by ${rssGrowth} bytes`)

    // Now read: everything written so far and the rest comes back, in order.
    const got = createHash('sha256')
    let received = 0
    c.socket.on('data', d => { got.update(d); received += d.length })
    c.socket.resume()
    while (written < total) {
      expected.update(chunk)
      written += chunk.length
      if (!c.socket.write(chunk)) await once(c.socket, 'drain')
    }
    c.socket.end()
    await c.closed
    assert.equal(received, written)
    assert.equal(got.digest('hex'), expected.digest('hex'))
  })
}

test('tcp length framing: split frames are reassembled, never echoed in part; several frames in one write', async (t) => {
  const { app } = await startEcho(t, { tcpPort: [0], tcpFraming: 'length' })
  const [port] = app.echoscope.transports.tcp
  const c = await tcpClient(port)

  const big = frame(randomBytes(100_000))
  // header split in two, payload in three, with pauses
  const cuts = [2, 4, 30_000, 70_000, big.length]
  let from = 0
  for (const to of cuts.slice(0, -1)) {
    c.socket.write(big.subarray(from, to))
    from = to
    await sleep(50)
    assert.equal(c.received().length, 0, 'nothing comes back before the frame is complete')
  }
  c.socket.write(big.subarray(from))
  await until(() => c.received().length === big.length, 'the reassembled frame')
  assert.ok(c.received().equals(big))

  const frames = [frame(Buffer.from('one')), frame(Buffer.alloc(0)), frame(Buffer.from('three')), frame(randomBytes(5000))]
  const batch = Buffer.concat(frames)
  // several frames in one write, and the last one's tail in a second write
  c.socket.write(batch.subarray(0, batch.length - 10))
  await sleep(50)
  assert.equal(c.received().length, big.length + batch.length - frames[3].length, 'complete frames come back, the partial one does not')
  c.socket.write(batch.subarray(batch.length - 10))
  await until(() => c.received().length === big.length + batch.length, 'all frames')
  assert.ok(c.received().subarray(big.length).equals(batch))
  c.socket.end()
  await c.closed
  await until(() => app.echoscope.stats.tcp.open === 0, 'the close')
  assert.equal(app.echoscope.stats.tcp.messagesIn, 5)
  assert.equal(app.echoscope.stats.tcp.messagesOut, 5)
})

test('tcp length framing: a frame over the limit closes that connection only', async (t) => {
  const { app } = await startEcho(t, { tcpPort: [0], tcpFraming: 'length', tcpMaxFrameSize: 1000 })
  const [port] = app.echoscope.transports.tcp
  const good = await tcpClient(port)
  const bad = await tcpClient(port)

  good.socket.write(frame(Buffer.alloc(1000, 1)))
  await until(() => good.received().length === 1004, 'a frame of exactly the limit')

  // one complete frame, then a header declaring 1001 bytes
  bad.socket.write(Buffer.concat([frame(Buffer.from('ok')), frame(Buffer.alloc(1001)).subarray(0, 100)]))
  await bad.closed
  assert.ok(bad.received().length <= 6, 'no part of the oversize frame is echoed')

  good.socket.write(frame(Buffer.from('still here')))
  await until(() => good.received().length === 1004 + 14, 'the other connection to keep echoing')
  assert.equal(good.received().subarray(1008).toString(), 'still here')
  const s = app.echoscope.stats.tcp
  assert.equal(s.limitHits.get('frame-too-large'), 1)
  assert.equal(s.closes.get('frame-too-large'), 1)
  good.socket.destroy()
})

test('frame reader: one byte at a time holds only what arrived and gives the frame back whole', () => {
  const reader = createFrameReader(1024 * 1024)
  const f = frame(randomBytes(3000))
  const out: Buffer[] = []
  for (let i = 0; i < f.length; i++) {
    assert.ok(reader.push(f.subarray(i, i + 1), b => out.push(Buffer.from(b))))
    if (i < f.length - 1) assert.equal(reader.held(), i + 1)
  }
  assert.equal(out.length, 1)
  assert.ok(out[0].equals(f))
  assert.equal(reader.held(), 0)
  // a declared length alone does not make it allocate or wait for the limit check
  assert.equal(reader.push(Buffer.from([0, 0x10, 0, 1]), () => {}), false)
  assert.equal(reader.refused(), 0x100001)
})

test('tcp: over --tcp-max-connections the new connection is closed; the others keep echoing', async (t) => {
  const { app } = await startEcho(t, { tcpPort: [0], tcpMaxConnections: 2 })
  const [port] = app.echoscope.transports.tcp
  const a = await tcpClient(port)
  const b = await tcpClient(port)
  await until(() => app.echoscope.stats.tcp.open === 2, 'two connections')
  const extra = await tcpClient(port)
  extra.socket.write('refused?')
  await extra.closed
  assert.equal(extra.received().length, 0)

  a.socket.write('a')
  b.socket.write('b')
  await until(() => a.received().toString() === 'a' && b.received().toString() === 'b', 'echo on the first two')
  const s = app.echoscope.stats.tcp
  assert.equal(s.limitHits.get('max-connections'), 1)
  assert.equal(s.closes.get('max-connections'), 1)
  assert.equal(s.accepted, 2)

  // a freed slot is usable again
  a.socket.destroy()
  await until(() => s.open === 1, 'the slot to free')
  const c = await tcpClient(port)
  c.socket.write('c')
  await until(() => c.received().toString() === 'c', 'echo on the new connection')
  b.socket.destroy()
  c.socket.destroy()
})

test('tcp: --tcp-idle-timeout closes a quiet connection, not a busy one', async (t) => {
  const { app } = await startEcho(t, { tcpPort: [0], tcpIdleTimeout: 300 })
  const [port] = app.echoscope.transports.tcp
  const quiet = await tcpClient(port)
  const busy = await tcpClient(port)
  const started = Date.now()
  let busyClosed = false
  busy.socket.once('close', () => { busyClosed = true })
  for (let i = 0; i < 8; i++) {
    busy.socket.write('x')
    await sleep(100)
  }
  await quiet.closed
  assert.ok(Date.now() - started >= 250)
  assert.equal(busyClosed, false, 'a connection with traffic every 100 ms stays open')
  assert.equal(busy.received().toString(), 'x'.repeat(8))
  await until(() => app.echoscope.stats.tcp.closes.get('idle') === 1, 'the idle close to be counted')
  busy.socket.destroy()
})

test('tcp: closing the server ends open connections (reason shutdown) and stops accepting', async () => {
  const app = await buildServer({ logLevel: 'silent', tcpPort: [0] })
  await app.ready()
  const [port] = app.echoscope.transports.tcp
  const c = await tcpClient(port)
  c.socket.write('bye')
  await until(() => c.received().toString() === 'bye', 'echo')
  // the client never closes its side; the server still finishes within its grace period
  const started = Date.now()
  await app.close()
  assert.ok(Date.now() - started < 3000)
  await c.closed
  assert.equal(app.echoscope.stats.tcp.closes.get('shutdown'), 1)
  assert.equal(app.echoscope.stats.tcp.open, 0)
  await assert.rejects(tcpClient(port), { code: 'ECONNREFUSED' })
})

test('tcp: a port in use fails startup with a message naming the port', async () => {
  const blocker = createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  const busy = (blocker.address() as { port: number }).port
  try {
    const app = await buildServer({ logLevel: 'silent', tcpPort: [0, busy] })
    await assert.rejects(async () => { await app.ready() }, { message: `cannot listen for the TCP echo on 127.0.0.1:${busy}: address already in use` })
    assert.deepEqual(app.echoscope.transports.tcp, [], 'the listener that did open was closed again')
    await app.close()
  } finally {
    blocker.close()
  }
})

test('cli: --tcp-port 0 opens a TCP echo and logs where', async (t) => {
  const { child, output } = await spawnServer(['--tcp-port', '0'])
  t.after(() => child.kill('SIGKILL'))
  const m = /TCP echo listening on 127\.0\.0\.1:(\d+)/.exec(output())
  assert.ok(m !== null, output())
  const c = await tcpClient(Number(m[1]))
  c.socket.end('hello over tcp')
  await c.closed
  assert.equal(c.received().toString(), 'hello over tcp')
})

test('cli: a TCP echo port in use exits 1 with one line naming it', async () => {
  const blocker = createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  const busy = (blocker.address() as { port: number }).port
  try {
    const r = await runCli(['--port', '0', '--log-level', 'silent', '--tcp-port', String(busy)])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `echoscope: cannot listen for the TCP echo on 127.0.0.1:${busy}: address already in use\n`)
  } finally {
    blocker.close()
  }
})

test('--tcp-tls: the TCP echo over TLS with the HTTPS certificate', async (t) => {
  const { connect: tlsConnect } = await import('node:tls')
  const { app } = await startEcho(t, { tcpPort: [0], tcpTls: true, tlsSelfSigned: true })
  const port = app.echoscope.transports.tcp[0]
  const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: app.echoscope.tls!.cert })
  await new Promise<void>((resolve, reject) => { socket.once('secureConnect', () => resolve()); socket.once('error', reject) })
  assert.equal(socket.authorized, true)
  const payload = Buffer.from('hello over tls \u0000\u00ff')
  const got: Buffer[] = []
  socket.on('data', d => got.push(d))
  socket.write(payload)
  while (Buffer.concat(got).length < payload.length) await new Promise(resolve => setTimeout(resolve, 10))
  assert.ok(Buffer.concat(got).equals(payload))
  socket.end()
  await assert.rejects(async () => { await buildServer({ tcpPort: [0], tcpTls: true }) }, /invalid --tcp-tls: needs a certificate/)
})
