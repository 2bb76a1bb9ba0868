// With --coalesce-writes, responses finished in one event-loop turn are written together at its end
// (src/perf/write-coalescing.ts). Over real sockets: a burst of requests on many connections gets every
// response whole and correct while writes are held; a lone request is never held; pipelined responses keep
// their order; clients that vanish before the held writes go out cost the others nothing. Without the
// option (the default) node:http's own ServerResponse writes every response at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import { ServerResponse } from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { heldWrites } from '../../src/perf/write-coalescing.ts'
import { freePort, parseResponse, startEcho, type RawResponse } from '../helper.ts'

async function openSockets (port: number, n: number, tls = false): Promise<Socket[]> {
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const s = tls
      ? tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }, () => resolve(s))
      : connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })))
  // Let the server accept every connection, so the requests below arrive in one of its event-loop turns.
  await sleep(50)
  return sockets
}

/** Everything the server sends until it closes the connection. */
function collect (socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
  })
}

function request (method: string, path: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return lines.join('\r\n') + '\r\n\r\n' + body
}

function echoOf (res: RawResponse): Record<string, unknown> {
  assert.equal(res.headers.get('content-length')?.[0], String(res.body.length))
  const echo = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>
  assert.equal(echo.requestId, res.headers.get('x-request-id')?.[0])
  return echo
}

/** The paths of the echoes in `raw`, responses one after the other on one connection. */
function pathsOf (raw: Buffer): string[] {
  const paths: string[] = []
  let rest = raw
  while (rest.length > 0) {
    const res = parseResponse(rest)
    const headEnd = rest.indexOf('\r\n\r\n') + 4
    const length = Number(res.headers.get('content-length')?.[0])
    paths.push((JSON.parse(rest.subarray(headEnd, headEnd + length).toString()) as { path: string }).path)
    rest = rest.subarray(headEnd + length)
  }
  return paths
}

test('off by default: node:http\'s own ServerResponse, nothing held, bursts and pipelined requests answered whole and in order', async (t) => {
  const { app, port } = await startEcho(t, { rateLimitMax: 0 })
  const classes = new Set<unknown>()
  app.server.on('request', (_req: unknown, res: object) => classes.add(Object.getPrototypeOf(res)))
  const before = heldWrites()
  const sockets = await openSockets(port, 24)
  const replies = sockets.map(collect)
  sockets.forEach((s, i) => s.write(request('GET', `/default/${i}`) + request('GET', `/default/${i}/next`, { Connection: 'close' })))
  const received = await Promise.all(replies)
  received.forEach((raw, i) => assert.deepEqual(pathsOf(raw), [`/default/${i}`, `/default/${i}/next`]))
  assert.equal(heldWrites(), before, 'no response was held')
  assert.deepEqual([...classes], [ServerResponse.prototype], 'every response is a node:http ServerResponse, not a subclass')
})

test('without --coalesce-writes the module that overrides _writeRaw is not loaded: nothing in src imports it but dynamically', () => {
  const src = fileURLToPath(new URL('../../../src/', import.meta.url))
  const files = (readdirSync(src, { recursive: true }) as string[]).filter(f => f.endsWith('.ts') && !f.endsWith('write-coalescing.ts'))
  const importers: string[] = []
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8')
    for (const m of text.matchAll(/^\s*(import|export)\b[^\n]*from\s+'[^']*write-coalescing\.ts'/gm)) {
      if (!/^\s*import type\b/.test(m[0])) importers.push(`${file}: ${m[0].trim()}`)
    }
    if (/import\(\s*'[^']*write-coalescing\.ts'\s*\)/.test(text)) importers.push(`${file}: import()`)
  }
  // One dynamic import, in server.ts, behind the option; no static one anywhere.
  assert.deepEqual(importers, ['server.ts: import()'])
  assert.match(readFileSync(join(src, 'server.ts'), 'utf8'), /if \(!opts\.coalesceWrites\) return null\n\s*const [^\n]*= await import\('\.\/perf\/write-coalescing\.ts'\)/)
})

test('a burst on many connections: writes are held to the end of the turn and every response arrives whole', async (t) => {
  const { port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const sockets = await openSockets(port, 24)
  const before = heldWrites()
  const replies = sockets.map(collect)
  // One synchronous loop: the server reads all of them in one turn. Kinds of response mixed on purpose:
  // a JSON echo, one without a body (204), a HEAD, a POST with a body.
  sockets.forEach((s, i) => {
    const close = { Connection: 'close' }
    const kind = i % 4
    if (kind === 0) s.write(request('GET', `/burst/${i}?n=${i}`, close))
    if (kind === 1) s.write(request('GET', `/burst/${i}`, { ...close, 'x-echo-status': '204' }))
    if (kind === 2) s.write(request('HEAD', `/burst/${i}`, close))
    if (kind === 3) s.write(request('POST', `/burst/${i}`, { ...close, 'Content-Type': 'application/json' }, JSON.stringify({ i })))
  })
  const responses = (await Promise.all(replies)).map(parseResponse)
  assert.ok(heldWrites() > before, 'some responses of the burst were held to the end of the turn')
  responses.forEach((res, i) => {
    const kind = i % 4
    if (kind === 0) {
      assert.equal(res.status, 200)
      const echo = echoOf(res)
      assert.equal(echo.path, `/burst/${i}`)
      assert.deepEqual(echo.query, { n: String(i) })
    } else if (kind === 1) {
      assert.equal(res.status, 204)
      assert.equal(res.body.length, 0)
    } else if (kind === 2) {
      assert.equal(res.status, 200)
      assert.equal(res.body.length, 0, 'HEAD: no body')
      assert.ok(Number(res.headers.get('content-length')?.[0]) > 0)
    } else {
      assert.equal(res.status, 200)
      const echo = echoOf(res)
      assert.equal(echo.method, 'POST')
      assert.deepEqual(echo.body, { i })
    }
  })
})

test('a lone request is written at once, never held', async (t) => {
  const { url } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const before = heldWrites()
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${url}/alone/${i}`)
    assert.equal(res.status, 200)
    assert.equal((await res.json() as { path: string }).path, `/alone/${i}`)
  }
  assert.equal(heldWrites(), before)
})

test('pipelined requests on one connection get their responses in order', async (t) => {
  const { port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const [socket] = await openSockets(port, 1)
  const reply = collect(socket)
  socket.write(request('GET', '/pipe/0') + request('POST', '/pipe/1', {}, 'one') + request('GET', '/pipe/2', { Connection: 'close' }))
  const paths = pathsOf(await reply)
  assert.deepEqual(paths, ['/pipe/0', '/pipe/1', '/pipe/2'])
})

test('clients that vanish before their held writes go out cost the others nothing', async (t) => {
  const { port, url } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const sockets = await openSockets(port, 20)
  const kept = sockets.filter((_, i) => i % 2 === 0)
  const replies = kept.map(collect)
  sockets.forEach((s, i) => {
    s.write(request('GET', `/vanish/${i}`, { Connection: 'close' }))
    if (i % 2 === 1) s.destroy()
  })
  const responses = (await Promise.all(replies)).map(parseResponse)
  responses.forEach((res, j) => {
    assert.equal(res.status, 200)
    assert.equal(echoOf(res).path, `/vanish/${j * 2}`)
  })
  const after = await fetch(`${url}/still-serving`)
  assert.equal(after.status, 200)
})

test('closing idle connections (as server.close does) in the middle of a burst writes the held responses first', async (t) => {
  const { app, port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const sockets = await openSockets(port, 16)
  // Runs after Fastify's listener, for each request of the burst, in the same turn: once a few responses
  // are held, close the idle connections (their sockets hold finished responses).
  const answered: string[] = []
  let closed = false
  const start = heldWrites()
  app.server.on('request', (req: { url: string }) => {
    if (closed) return
    answered.push(req.url)
    if (heldWrites() - start >= 6) {
      closed = true
      app.server.closeIdleConnections()
    }
  })
  const replies = sockets.map(s => collect(s).catch(() => Buffer.alloc(0)))
  sockets.forEach((s, i) => s.write(request('GET', `/closing/${i}`)))
  setTimeout(() => { for (const s of sockets) s.end() }, 500)
  const received = await Promise.all(replies)
  assert.ok(closed, 'responses were held when the connections were closed')
  // Every request answered before the close gets its whole response (a request not read yet may get
  // nothing, as with any server.close); nobody gets a torn one.
  const whole = new Set<string>()
  for (const raw of received) {
    if (raw.length === 0) continue
    const res = parseResponse(raw)
    assert.equal(res.status, 200)
    whole.add(echoOf(res).path as string)
  }
  for (const path of answered) assert.ok(whole.has(path), `${path} was answered before the close but its response never arrived`)
})

test('clients that half-close right after their request (nc, some health checkers) still get their held responses', async (t) => {
  const { port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const sockets = await openSockets(port, 16)
  const before = heldWrites()
  const replies = sockets.map(collect)
  sockets.forEach((s, i) => {
    s.write(request('GET', `/half-closed/${i}`))
    s.end()
  })
  const responses = (await Promise.all(replies)).map(parseResponse)
  assert.ok(heldWrites() > before, 'responses were held')
  responses.forEach((res, i) => {
    assert.equal(res.status, 200)
    assert.equal(echoOf(res).path, `/half-closed/${i}`)
  })
})

test('a request that ends exactly at a 64 KiB read, then the client closes: its held response still arrives', async (t) => {
  // libuv reads the end of stream in the same turn as the request when the request's last read filled its
  // buffer, and node:http then ends the socket: a response held past that would be lost.
  const { port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0, bodyLimit: 1024 * 1024 })
  for (const total of [65536, 131072]) {
    const [opener, aligned] = await openSockets(port, 2)
    const head = (n: number) => `POST /aligned/${total} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${n}\r\n\r\n`
    const bodyLength = total - head(total - head(0).length).length
    const raw = head(bodyLength) + 'x'.repeat(bodyLength)
    assert.equal(raw.length, total)
    const replies = [collect(opener), collect(aligned)]
    const before = heldWrites()
    opener.write(request('GET', '/opener', { Connection: 'close' })) // answered first in the turn, at once
    aligned.write(raw)
    aligned.end()
    const [first, second] = (await Promise.all(replies)).map(parseResponse)
    assert.equal(first.status, 200)
    assert.ok(heldWrites() > before, 'the aligned request\'s response was held')
    assert.equal(second.status, 200)
    const echo = echoOf(second)
    assert.equal(echo.path, `/aligned/${total}`)
    assert.equal(echo.bodyBytes, bodyLength)
  }
})

test('a request followed by garbage in the same packet: its held response comes first, then the 400', async (t) => {
  const { port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0 })
  const [opener, client] = await openSockets(port, 2)
  const replies = [collect(opener), collect(client)]
  const before = heldWrites()
  opener.write(request('GET', '/opener', { Connection: 'close' }))
  client.write(request('GET', '/before-garbage') + 'NOT HTTP AT ALL\r\n\r\n')
  const [, raw] = await Promise.all(replies)
  assert.ok(heldWrites() > before, 'the valid request\'s response was held')
  const first = parseResponse(raw)
  assert.equal(first.status, 200)
  assert.equal(echoOf(first).path, '/before-garbage')
  const headEnd = raw.indexOf('\r\n\r\n') + 4
  const rest = raw.subarray(headEnd + first.body.length)
  assert.equal(parseResponse(rest).status, 400, 'then the parse error, in order')
})

test('over TLS too: a burst of requests, half of them from clients that half-close, all answered whole', async (t) => {
  const { port } = await startEcho(t, { coalesceWrites: true, rateLimitMax: 0, tlsSelfSigned: true })
  const sockets = await openSockets(port, 12, true)
  const before = heldWrites()
  const replies = sockets.map(collect)
  sockets.forEach((s, i) => {
    s.write(request('GET', `/tls-burst/${i}`, i % 2 === 0 ? { Connection: 'close' } : {}))
    if (i % 2 === 1) s.end()
  })
  const responses = (await Promise.all(replies)).map(parseResponse)
  assert.ok(heldWrites() > before, 'some responses were held')
  responses.forEach((res, i) => {
    assert.equal(res.status, 200)
    const echo = echoOf(res)
    assert.equal(echo.path, `/tls-burst/${i}`)
    assert.equal(echo.protocol, 'https')
  })
})

test('on the --https-port listener too: a burst is held and every response arrives whole', async (t) => {
  const httpsPort = await freePort()
  await startEcho(t, { coalesceWrites: true, rateLimitMax: 0, tlsSelfSigned: true, httpsPort })
  const sockets = await openSockets(httpsPort, 12, true)
  const before = heldWrites()
  const replies = sockets.map(collect)
  sockets.forEach((s, i) => s.write(request('GET', `/https-port/${i}`, { Connection: 'close' })))
  const responses = (await Promise.all(replies)).map(parseResponse)
  assert.ok(heldWrites() > before, 'some responses were held')
  responses.forEach((res, i) => {
    assert.equal(res.status, 200)
    const echo = echoOf(res)
    assert.equal(echo.path, `/https-port/${i}`)
    assert.equal(echo.protocol, 'https')
  })
})
