// The HTTP echo over real sockets: what arrived is what the client sees.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { getJson, rawRequest, spawnServer, startEcho } from '../helper.ts'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

test('raw headers keep wire order, case and duplicates; headers are Node-joined', async (t) => {
  const { port } = await startEcho(t)
  const res = await rawRequest(port,
    'GET /a/b%20c?x=1&x=2&y=&z=%41 HTTP/1.1\r\n' +
    'Host: example.test\r\n' +
    'X-Custom-CASE: One\r\n' +
    'accept: */*\r\n' +
    'X-Dup: first\r\n' +
    'x-dup: second\r\n' +
    'Connection: close\r\n\r\n')
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type')?.[0], 'application/json; charset=utf-8')
  const echo = JSON.parse(res.body.toString())
  assert.equal(echo.method, 'GET')
  assert.equal(echo.url, '/a/b%20c?x=1&x=2&y=&z=%41')
  assert.equal(echo.path, '/a/b%20c')
  assert.deepEqual(echo.query, { x: ['1', '2'], y: '', z: 'A' })
  assert.deepEqual(echo.rawHeaders, [
    ['Host', 'example.test'], ['X-Custom-CASE', 'One'], ['accept', '*/*'],
    ['X-Dup', 'first'], ['x-dup', 'second'], ['Connection', 'close']
  ])
  assert.equal(echo.headers['x-dup'], 'first, second')
  assert.equal(echo.headers['x-custom-case'], 'One')
  assert.equal(echo.httpVersion, '1.1')
  assert.equal(echo.protocol, 'http')
  assert.equal(echo.remote.address, '127.0.0.1')
  assert.equal(typeof echo.remote.port, 'number')
  assert.equal(echo.ip, '127.0.0.1')
  assert.equal(echo.body, null)
  assert.equal(echo.bodyEncoding, 'none')
  assert.equal(echo.bodyBytes, 0)
  assert.equal(echo.bodySha256, sha(''))
  assert.deepEqual(echo.cookies, {})
  assert.equal(echo.requestId, res.headers.get('x-request-id')?.[0])
  assert.ok(Math.abs(Date.parse(echo.receivedAt) - Date.now()) < 60000)
  assert.equal(typeof echo.server.hostname, 'string')
  assert.equal(typeof echo.server.version, 'string')
})

test('every method echoes, custom WebDAV/cache methods included, with bodies', async (t) => {
  const { port } = await startEcho(t)
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PURGE', 'PROPFIND', 'MKCOL', 'REPORT', 'SEARCH', 'LOCK', 'QUERY']) {
    const res = await rawRequest(port, `${method} /m/${method.toLowerCase()} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`)
    assert.equal(res.status, 200, method)
    const echo = JSON.parse(res.body.toString())
    assert.equal(echo.method, method)
    assert.equal(echo.path, `/m/${method.toLowerCase()}`)
    assert.equal(echo.body, 'hello', method)
    assert.equal(echo.bodyBytes, 5)
  }
  const head = await rawRequest(port, 'HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(head.status, 200)
  assert.equal(head.body.length, 0)
  assert.ok(Number(head.headers.get('content-length')?.[0]) > 0)
})

test('a method Node cannot parse gets a JSON 400, and the server keeps serving', async (t) => {
  const { port, url } = await startEcho(t)
  const res = await rawRequest(port, 'FROBNICATE / HTTP/1.1\r\nHost: x\r\n\r\n')
  assert.equal(res.status, 400)
  assert.equal(JSON.parse(res.body.toString()).statusCode, 400)
  assert.equal((await fetch(url)).status, 200)
})

test('odd request targets still echo: absolute-form, long paths, bad percent-encoding', async (t) => {
  const { port } = await startEcho(t)
  const long = '/' + 'a'.repeat(3000)
  for (const target of ['http://upstream.test/abs?q=1', long, '/%zz/%', '//double//slash', '/;matrix=1']) {
    const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    assert.equal(res.status, 200, target)
    assert.equal(JSON.parse(res.body.toString()).url, target)
  }
})

test('bodies: JSON parsed, form parsed, text, binary byte-exact, malformed JSON echoed with bodyError', async (t) => {
  const { url } = await startEcho(t)
  const post = async (body: string | Buffer, type?: string, extra: Record<string, string> = {}) => {
    const res = await fetch(url + '/b', { method: 'POST', body, headers: { ...(type ? { 'content-type': type } : {}), ...extra } })
    assert.equal(res.status, 200)
    return getJson(res)
  }
  const j = await post('{"a":[1,2,{"b":null}]}', 'application/json')
  assert.deepEqual(j.body, { a: [1, 2, { b: null }] })
  assert.equal(j.bodyEncoding, 'json')
  assert.equal(j.bodySha256, sha('{"a":[1,2,{"b":null}]}'))

  const f = await post('a=1&a=2&b=x+y%21', 'application/x-www-form-urlencoded')
  assert.deepEqual(f.body, { a: ['1', '2'], b: 'x y!' })
  assert.equal(f.bodyEncoding, 'form')

  const txt = await post('héllo wörld', 'text/plain; charset=utf-8')
  assert.equal(txt.body, 'héllo wörld')
  assert.equal(txt.bodyEncoding, 'text')
  assert.equal(txt.bodyBytes, Buffer.byteLength('héllo wörld'))

  const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))
  const b = await post(bin, 'application/octet-stream')
  assert.equal(b.bodyEncoding, 'base64')
  assert.ok(Buffer.from(b.body, 'base64').equals(bin))
  assert.equal(b.bodyBytes, 4096)
  assert.equal(b.bodySha256, sha(bin))

  const bad = await post('{"a": 1,', 'application/json')
  assert.equal(bad.body, '{"a": 1,')
  assert.equal(typeof bad.bodyError, 'string')
  assert.equal(bad.bodyEncoding, 'text')

  // A Content-Type Fastify would refuse is still echoed.
  const odd = await post('data', 'not a media type')
  assert.equal(odd.bodyBytes, 4)
})

test('multipart: fields and files with name, type, size, sha256', async (t) => {
  const { url } = await startEcho(t)
  const fd = new FormData()
  fd.append('title', 'report')
  fd.append('tag', 'a')
  fd.append('tag', 'b')
  const file = Buffer.from('%PDF-1.4 fake pdf bytes \x00\x01\x02')
  fd.append('upload', new Blob([file], { type: 'application/pdf' }), 'r.pdf')
  const echo = await getJson(fetch(url + '/upload', { method: 'POST', body: fd }))
  assert.equal(echo.bodyEncoding, 'multipart')
  assert.deepEqual(echo.body.fields, { title: 'report', tag: ['a', 'b'] })
  assert.equal(echo.body.files.length, 1)
  assert.deepEqual(echo.body.files[0], { field: 'upload', filename: 'r.pdf', type: 'application/pdf', size: file.length, sha256: sha(file) })
})

test('GET with a body and chunked bodies are read byte-exact', async (t) => {
  const { port } = await startEcho(t)
  const res = await rawRequest(port, [
    'GET /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    '5\r\n{"q":\r\n', '4\r\n"hi"\r\n', '1\r\n}\r\n', '0\r\n\r\n'
  ])
  const echo = JSON.parse(res.body.toString())
  assert.deepEqual(echo.body, { q: 'hi' })
  assert.equal(echo.bodyBytes, 10)
})

test('gzip bodies are decoded for body; bodyBytes stays the wire count', async (t) => {
  const { url } = await startEcho(t)
  const json = JSON.stringify({ hello: 'world'.repeat(100) })
  const gz = gzipSync(json)
  const echo = await getJson(fetch(url, { method: 'POST', body: gz, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }))
  assert.deepEqual(echo.body, JSON.parse(json))
  assert.equal(echo.bodyBytes, gz.length)
  assert.equal(echo.decodedBytes, json.length)
  assert.equal(echo.bodySha256, sha(gz))
})

test('a gzip bomb gets 413 with bounded memory, and the server keeps serving', async (t) => {
  const { url } = await startEcho(t, { bodyLimit: 1024 * 1024, maxDecodedSize: 10 * 1024 * 1024 })
  const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 })
  assert.ok(bomb.length < 1024 * 1024)
  const before = process.memoryUsage().rss
  const res = await fetch(url, { method: 'POST', body: bomb, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
  assert.equal(res.status, 413)
  const err = await getJson(res)
  assert.equal(err.statusCode, 413)
  assert.equal(err.error, 'Payload Too Large')
  // 200 MB were never materialised (the server runs in this process).
  assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024)
  assert.equal((await fetch(url)).status, 200)
})

test('a body over --body-limit gets a JSON 413 (declared or chunked); others are still served', async (t) => {
  const { port, url } = await startEcho(t, { bodyLimit: 1000 })
  const declared = await rawRequest(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(5000)}`)
  assert.equal(declared.status, 413)
  assert.equal(JSON.parse(declared.body.toString()).statusCode, 413)
  assert.equal(declared.headers.get('connection')?.[0], 'close')

  const chunked = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    for (let i = 0; i < 20; i++) req.write('y'.repeat(500))
    req.end()
  })
  assert.equal(chunked, 413)
  const ok = await fetch(url, { method: 'POST', body: 'z'.repeat(1000) })
  assert.equal((await getJson(ok)).bodyBytes, 1000)
})

/**
 * A client that writes its whole request before it reads a byte (as most HTTP libraries do without
 * Expect: 100-continue): what arrives, and whether the connection ended cleanly or with a reset.
 */
function writeAllThenRead (port: number, head: string, body: Buffer): Promise<{ text: string, error: string | null }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let error: string | null = null
    socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
    socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code ?? err.message })
    socket.on('close', () => resolve({ text, error }))
    socket.write(head)
    socket.end(body)
  })
}

test('a 413 reaches a client that writes its whole body before reading, and the connection ends without a reset', async (t) => {
  // A server in its own process: sharing the test's event loop, the server would read the body as fast
  // as the client writes it and the reset could not happen.
  const { child, port } = await spawnServer(['--body-limit', '1000'])
  t.after(() => { child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}/`
  const body = Buffer.alloc(3 * 1024 * 1024, 0x61)
  const heads = [
    `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`,
    // Chunked: cut off mid-stream once it passes the limit. One chunk of it all, then the last chunk.
    `POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`
  ]
  for (const [i, head] of heads.entries()) {
    for (let n = 0; n < 3; n++) {
      const payload = i === 0 ? body : Buffer.concat([body, Buffer.from('\r\n0\r\n\r\n')])
      const { text, error } = await writeAllThenRead(port, head, payload)
      assert.match(text, /^HTTP\/1\.1 413 /, `try ${n} (${i === 0 ? 'declared' : 'chunked'}): got ${JSON.stringify(text.slice(0, 80))}, error ${error}`)
      assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).code, 'FST_ERR_CTP_BODY_TOO_LARGE')
      assert.match(text, /\r\nconnection: close\r\n/i)
      assert.equal(error, null, 'the connection ended with a FIN, not a reset')
    }
  }
  const ok = await fetch(url, { method: 'POST', body: 'z'.repeat(1000) })
  assert.equal((await getJson(ok)).bodyBytes, 1000)
})

test('clients that go away halfway through their bodies are forgotten, and the server keeps serving', async (t) => {
  const { port, url } = await startEcho(t)
  await Promise.all(Array.from({ length: 20 }, () => new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"partial":')
      setTimeout(() => { socket.destroy(); resolve() }, 20)
    })
    socket.on('error', reject)
  })))
  await new Promise(resolve => setTimeout(resolve, 50))
  const ok = await getJson(fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"whole":true}' }))
  assert.deepEqual(ok.body, { whole: true })
})

test('headers over --max-header-size get 431', async (t) => {
  const { port, url } = await startEcho(t, { maxHeaderSize: 4096 })
  const res = await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`)
  assert.equal(res.status, 431)
  assert.equal(JSON.parse(res.body.toString()).statusCode, 431)
  assert.equal((await fetch(url)).status, 200)
})

test('cookies, JWT, trace and proxy analysis appear for a real request', async (t) => {
  const { url } = await startEcho(t)
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const exp = Math.floor(Date.now() / 1000) - 60
  const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'u1', exp })}.c2ln`
  const echo = await getJson(fetch(url + '/x', {
    headers: {
      cookie: 'session=abc; theme=dark',
      authorization: `Bearer ${token}`,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'x-forwarded-for': '203.0.113.9, 10.0.0.2',
      via: '1.1 nginx'
    }
  }))
  assert.deepEqual(echo.cookies, { session: 'abc', theme: 'dark' })
  assert.equal(echo.jwt.payload.sub, 'u1')
  assert.equal(echo.jwt.verified, false)
  assert.equal(echo.jwt.expired, true)
  assert.equal(echo.trace.traceparent.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
  assert.deepEqual(echo.forwarded.xForwardedFor, ['203.0.113.9', '10.0.0.2'])
  assert.ok(echo.proxy.warnings.some((w: string) => w.includes('203.0.113.9')))
  assert.equal(echo.proxy.hops.at(-1).source, 'peer')
})

test('trust-proxy decides ip: off by default, true, hop count, CIDR list', async (t) => {
  const xff = { 'x-forwarded-for': '198.51.100.7, 203.0.113.5' }
  const ipWith = async (trustProxy: boolean | number | string) => {
    const { url } = await startEcho(t, { trustProxy })
    return (await getJson(fetch(url, { headers: xff }))).ip
  }
  assert.equal(await ipWith(false), '127.0.0.1')
  assert.equal(await ipWith(true), '198.51.100.7')
  assert.equal(await ipWith(1), '203.0.113.5')
  assert.equal(await ipWith('127.0.0.1/8'), '203.0.113.5')
  assert.equal(await ipWith('127.0.0.1,203.0.113.0/24'), '198.51.100.7')
  assert.equal(await ipWith('10.0.0.0/8'), '127.0.0.1')
})

test('server identity reports the Kubernetes downward-API env vars and the instance name', async (t) => {
  process.env.POD_NAME = 'echoscope-7d9c-xk2'
  process.env.POD_NAMESPACE = 'edge'
  process.env.NODE_NAME = 'node-3'
  t.after(() => { delete process.env.POD_NAME; delete process.env.POD_NAMESPACE; delete process.env.NODE_NAME })
  const { url } = await startEcho(t, { instance: 'blue' })
  const echo = await getJson(fetch(url))
  assert.equal(echo.server.instance, 'blue')
  assert.equal(echo.server.pod, 'echoscope-7d9c-xk2')
  assert.equal(echo.server.namespace, 'edge')
  assert.equal(echo.server.node, 'node-3')
})

test('the server environment never appears in a response', async (t) => {
  process.env.ECHOSCOPE_TEST_SECRET = 's3cr3t-value-123'
  t.after(() => { delete process.env.ECHOSCOPE_TEST_SECRET })
  const { url } = await startEcho(t)
  for (const q of ['', '?format=text', '?format=har', '?format=gateway-api', '?env=1']) {
    const text = await (await fetch(url + '/env' + q, { headers: { accept: q === '' ? 'text/html' : '*/*' } })).text()
    assert.ok(!text.includes('s3cr3t-value-123'), q)
  }
})
