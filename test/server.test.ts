// The server as a process and as a library: health, system prefix, logs, shutdown, embedded mode.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import Fastify from 'fastify'
import echoscope from '../src/index.ts'
import { getJson, rawRequest, spawnServer, startEcho, waitFor } from './helper.ts'

test('/healthz and /readyz answer; readyz is 503 while draining', async (t) => {
  const { url, app } = await startEcho(t)
  assert.deepEqual(await getJson(fetch(url + '/healthz')), { status: 'ok' })
  assert.equal((await fetch(url + '/readyz')).status, 200)
  app.echoscope.state.draining = true
  const r = await fetch(url + '/readyz')
  assert.equal(r.status, 503)
  assert.equal((await getJson(r)).error, 'Service Unavailable')
})

test('--system-prefix moves the system paths; the old paths echo', async (t) => {
  const { url } = await startEcho(t, { systemPrefix: '/_' })
  assert.deepEqual(await getJson(fetch(url + '/_/healthz')), { status: 'ok' })
  const echo = await getJson(fetch(url + '/healthz'))
  assert.equal(echo.path, '/healthz')
  assert.equal(echo.method, 'GET')
})

test('errors keep Fastify\'s JSON shape and every response carries x-request-id', async (t) => {
  const { url } = await startEcho(t)
  const r = await fetch(url + '/?echo_status=abc')
  assert.equal(r.status, 400)
  assert.ok((r.headers.get('x-request-id') ?? '').length > 0)
  const body = await getJson(r)
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'])
})

test('one JSON log line per request with the request id; secrets redacted', async (t) => {
  const { child, port, output } = await spawnServer(['--log-headers'])
  t.after(() => child.kill('SIGKILL'))
  const res = await fetch(`http://127.0.0.1:${port}/logged?x=1`, { headers: { authorization: 'Bearer top-secret-token', cookie: 'sid=cookie-secret', 'x-visible': 'shown' } })
  const id = res.headers.get('x-request-id')
  await res.arrayBuffer()
  await waitFor(() => output().includes(String(id)))
  const lines = output().trim().split('\n').map(l => JSON.parse(l))
  const forRequest = lines.filter(l => l.reqId === id)
  assert.equal(forRequest.length, 1, output())
  const line = forRequest[0]
  assert.equal(line.method, 'GET')
  assert.equal(line.url, '/logged?x=1')
  assert.equal(line.statusCode, 200)
  assert.equal(line.msg, 'request')
  assert.equal(typeof line.responseTime, 'number')
  assert.equal(line.headers['x-visible'], 'shown')
  assert.equal(line.headers.authorization, '[redacted]')
  assert.equal(line.headers.cookie, '[redacted]')
  assert.ok(!output().includes('top-secret-token'))
  assert.ok(!output().includes('cookie-secret'))
})

test('--redact-headers "" logs secrets when asked', async (t) => {
  const { child, port, output } = await spawnServer(['--log-headers'], { ECHOSCOPE_REDACT_HEADERS: '' })
  t.after(() => child.kill('SIGKILL'))
  await (await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: 'Bearer visible-on-purpose' } })).arrayBuffer()
  await waitFor(() => output().includes('"msg":"request"'))
  assert.ok(output().includes('visible-on-purpose'))
})

test('a client that goes away halfway through its body still gets its log line, with how much arrived', async (t) => {
  const { child, port, output } = await spawnServer([])
  t.after(() => child.kill('SIGKILL'))
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /upload?part=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"partial":')
      setTimeout(() => { socket.destroy(); resolve() }, 50)
    })
    socket.on('error', reject)
  })
  await waitFor(() => output().includes('request aborted by the client'))
  const line = output().trim().split('\n').map(l => JSON.parse(l)).find(l => l.msg === 'request aborted by the client')
  assert.equal(line.level, 30)
  assert.match(line.reqId, /^[0-9a-f-]{36}$/)
  assert.equal(line.method, 'POST')
  assert.equal(line.url, '/upload?part=1')
  assert.equal(line.ip, '127.0.0.1')
  assert.equal(line.bodyBytes, 11)
  // The parser reports the cut-off body too (end of stream mid-request): it is this line, not a rejection.
  assert.ok(!output().includes('request rejected by the HTTP parser'), output())
  // --log-requests=false means no line per request, this one included.
  const quiet = await spawnServer(['--log-requests=false'])
  t.after(() => quiet.child.kill('SIGKILL'))
  await new Promise<void>((resolve, reject) => {
    const socket = connect(quiet.port, '127.0.0.1', () => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab')
      setTimeout(() => { socket.destroy(); resolve() }, 50)
    })
    socket.on('error', reject)
  })
  await (await fetch(`http://127.0.0.1:${quiet.port}/after`)).arrayBuffer()
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.ok(!quiet.output().includes('aborted'), quiet.output())
})

test('a target the router cannot decode (/%zz) is echoed and logged like any other request, with its time', async (t) => {
  const { child, port, output } = await spawnServer([])
  t.after(() => child.kill('SIGKILL'))
  const res = await rawRequest(port, 'GET /bad/%zz?echo_delay=120 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(res.status, 200)
  const id = res.headers.get('x-request-id')?.[0]
  assert.ok(id !== undefined)
  await waitFor(() => output().includes(id))
  const line = output().trim().split('\n').map(l => JSON.parse(l)).find(l => l.reqId === id)
  assert.equal(line.msg, 'request')
  assert.equal(line.url, '/bad/%zz?echo_delay=120')
  assert.equal(line.statusCode, 200)
  assert.ok(line.responseTime >= 100, `responseTime ${line.responseTime} ms covers the 120 ms delay`)
})

test('SIGTERM: in-flight requests finish, new connections are refused, exit 0', async () => {
  const { child, port } = await spawnServer([])
  const base = `http://127.0.0.1:${port}`
  const slow = Array.from({ length: 3 }, (_, i) => fetch(`${base}/slow/${i}?echo_delay=800`).then(async r => ({ status: r.status, echo: await getJson(r) })))
  await new Promise(resolve => setTimeout(resolve, 200))
  child.kill('SIGTERM')
  const exited = once(child, 'exit')
  const results = await Promise.all(slow)
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 200)
    assert.equal(r.echo.path, `/slow/${i}`)
  }
  const [code] = await exited
  assert.equal(code, 0)
  await assert.rejects(fetch(base + '/'))
})

test('embedded mode: the echo as a plugin under a prefix in another Fastify app', async (t) => {
  const host = Fastify()
  host.get('/own', async () => ({ mine: true }))
  host.post('/own-json', async (request) => ({ got: request.body }))
  await host.register(echoscope, { prefix: '/debug', maxDelay: 100 })
  await host.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => host.close())
  const base = `http://127.0.0.1:${(host.server.address() as { port: number }).port}`
  assert.deepEqual(await getJson(fetch(base + '/own')), { mine: true })
  // The host keeps its own JSON parser: the plugin's body handling is encapsulated.
  assert.deepEqual(await getJson(fetch(base + '/own-json', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })), { got: { a: 1 } })
  const echo = await getJson(fetch(base + '/debug/some/where?x=1', { method: 'PUT', body: 'raw', headers: { 'content-type': 'text/plain' } }))
  assert.equal(echo.method, 'PUT')
  assert.equal(echo.path, '/debug/some/where')
  assert.equal(echo.body, 'raw')
  const root = await getJson(fetch(base + '/debug'))
  assert.equal(root.path, '/debug')
  assert.equal((await fetch(base + '/elsewhere')).status, 404)
  await assert.rejects(async () => { await Fastify().register(echoscope, { bodyLimt: 1 } as never).ready() }, /unknown option bodyLimt/)
})
