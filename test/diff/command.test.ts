// `echoscope diff` against a real server, directly and through a small rewriting proxy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { runCli, startEcho } from '../helper.ts'

async function listen (server: Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

/** A gateway of the usual kind: strips /gw, rewrites Host, appends X-Forwarded-For, drops X-Debug, adds X-Gateway. */
function rewritingProxy (upstreamPort: number): Server {
  return createServer((req, res) => {
    const headers = { ...req.headers }
    delete headers['x-debug']
    headers.host = 'upstream.internal'
    headers['x-forwarded-for'] = '127.0.0.1'
    headers['x-gateway'] = 'test-proxy'
    const up = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: (req.url ?? '/').replace(/^\/gw/, '') || '/', headers }, upRes => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
    })
    req.pipe(up)
  })
}

test('directly against echoscope nothing changes, exit 0', async (t) => {
  const { url } = await startEcho(t)
  const r = await runCli(['diff', url + '/api/items?x=1', '-X', 'PUT', '-H', 'X-Custom: One', '-d', '{"a":1}', '-H', 'Content-Type: application/json', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  assert.deepEqual(d.method, { sent: 'PUT', received: 'PUT' })
  assert.deepEqual(d.path, { sent: '/api/items', received: '/api/items' })
  assert.deepEqual(d.query, { sent: 'x=1', received: 'x=1' })
  assert.deepEqual(d.headers, { added: {}, removed: {}, changed: {} })
  assert.deepEqual(d.body, { same: true, sentBytes: 7, receivedBytes: 7 })
  assert.equal(typeof d.server.hostname, 'string')
  assert.equal(d.status, 200)
  // The way back: nothing in between, so nothing changed (Node's date, connection and keep-alive do not count).
  assert.deepEqual(d.response, { status: { sent: 200, received: 200 }, headers: { added: {}, removed: {}, changed: {} } })
})

test('the way back: what a proxy added, removed or changed on the response is named', async (t) => {
  const { port } = await startEcho(t)
  // Passes the request on as it is and rewrites the response the way gateways do.
  const proxy = createServer((req, res) => {
    const up = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, upRes => {
      const headers = { ...upRes.headers }
      delete headers['x-request-id']
      headers['strict-transport-security'] = 'max-age=600'
      headers['set-cookie'] = (headers['set-cookie'] ?? []).map(c => c.replace('Domain=internal.example', 'Domain=shop.example'))
      res.writeHead(upRes.statusCode === 201 ? 200 : upRes.statusCode ?? 502, headers)
      upRes.pipe(res)
    })
    req.pipe(up)
  })
  const proxyPort = await listen(proxy)
  t.after(() => proxy.close())
  const target = `http://127.0.0.1:${proxyPort}/x?echo_status=201&echo_header=${encodeURIComponent('Set-Cookie: s=1; Domain=internal.example')}`
  const r = await runCli(['diff', target, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  assert.deepEqual(d.response.status, { sent: 201, received: 200 })
  assert.deepEqual(d.response.headers.added, { 'strict-transport-security': 'max-age=600' })
  assert.deepEqual(Object.keys(d.response.headers.removed), ['x-request-id'])
  assert.deepEqual(d.response.headers.changed, { 'set-cookie': { sent: 's=1; Domain=internal.example', received: 's=1; Domain=shop.example' } })
  const human = await runCli(['diff', target])
  assert.match(human.stdout, /^way back status 201 → 200, headers 3 changes$/m)
  assert.match(human.stdout, /^ {2}\+ strict-transport-security: max-age=600$/m)
  assert.match(human.stdout, /^ {2}- x-request-id: [0-9a-f-]{36}$/m)
  assert.match(human.stdout, /^ {2}~ set-cookie: s=1; Domain=internal\.example → s=1; Domain=shop\.example$/m)
})

test('through a rewriting proxy every change is named, case-only changes too', async (t) => {
  const { port } = await startEcho(t)
  const proxy = rewritingProxy(port)
  const proxyPort = await listen(proxy)
  t.after(() => proxy.close())
  const r = await runCli(['diff', `http://127.0.0.1:${proxyPort}/gw/orders?id=7`, '-H', 'X-Debug: 1', '-H', 'X-Keep: yes', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  assert.deepEqual(d.path, { sent: '/gw/orders', received: '/orders' })
  assert.equal(d.headers.added['x-forwarded-for'], '127.0.0.1')
  assert.equal(d.headers.added['x-gateway'], 'test-proxy')
  assert.equal(d.headers.removed['x-debug'], '1')
  assert.deepEqual(d.headers.changed.host, { sent: `127.0.0.1:${proxyPort}`, received: 'upstream.internal' })
  // Node's client sends the lower-cased names it got from IncomingMessage.headers.
  assert.deepEqual(d.headers.changed['x-keep'], { sent: 'yes', received: 'yes', caseOnly: true, sentName: 'X-Keep', receivedName: 'x-keep' })
  assert.equal(d.headers.changed['user-agent'].caseOnly, true)
  assert.deepEqual(d.proxy.hops.at(-1).source, 'peer')

  const human = await runCli(['diff', `http://127.0.0.1:${proxyPort}/gw/orders?id=7`, '-H', 'X-Debug: 1'])
  assert.equal(human.code, 0)
  assert.match(human.stdout, /path +\/gw\/orders → \/orders/)
  assert.match(human.stdout, /\+ x-forwarded-for: 127\.0\.0\.1/)
  assert.match(human.stdout, /- x-debug: 1/)
  assert.match(human.stdout, /~ host: 127\.0\.0\.1:\d+ → upstream\.internal/)
  assert.match(human.stdout, /~ User-Agent → user-agent \(name case only\)/)
  assert.ok(!human.stdout.includes('\x1b['), 'no colour when stdout is not a TTY')
})

test('--expect-header / --expect-no-header make it a CI check: exit 1 naming each unmet expectation', async (t) => {
  const { port } = await startEcho(t)
  const proxy = rewritingProxy(port)
  const proxyPort = await listen(proxy)
  t.after(() => proxy.close())
  const base = `http://127.0.0.1:${proxyPort}/gw/x`
  const ok = await runCli(['diff', base, '--expect-header', 'x-gateway=test-proxy', '--expect-header', 'X-Forwarded-For', '--expect-no-header', 'x-debug', '-H', 'X-Debug: 1'])
  assert.equal(ok.code, 0, ok.stderr)
  const bad = await runCli(['diff', base, '--expect-header', 'x-gateway=other', '--expect-header', 'x-missing', '--expect-no-header', 'x-forwarded-for'])
  assert.equal(bad.code, 1)
  const lines = bad.stderr.trim().split('\n')
  assert.equal(lines.length, 3, bad.stderr)
  assert.match(bad.stderr, /expected x-gateway = "other", but the server received "test-proxy"/)
  assert.match(bad.stderr, /expected header x-missing, but the server received none/)
  assert.match(bad.stderr, /expected no x-forwarded-for header, but the server received "127\.0\.0\.1"/)
})

test('an answer without the x-echoscope header is reported as made by the gateway; an unreachable one is an error', async (t) => {
  const other = createServer((_req, res) => { res.writeHead(404, { 'content-type': 'text/html', server: 'edge/1' }); res.end('<h1>nope</h1>') })
  const port = await listen(other)
  t.after(() => other.close())
  const r = await runCli(['diff', `http://127.0.0.1:${port}/`])
  assert.equal(r.code, 1)
  assert.equal(r.stderr, 'unmet: the gateway answered 404 itself; the request did not reach echoscope\n')
  assert.match(r.stdout, /^GET http:\/\/127\.0\.0\.1:\d+\/ → 404 made by the gateway/)
  assert.match(r.stdout, /^ {2}server: edge\/1$/m)
  assert.match(r.stdout, /^body {5}13 bytes: "<h1>nope<\/h1>"$/m)
  const json = await runCli(['diff', `http://127.0.0.1:${port}/`, '--json'])
  assert.equal(json.code, 1)
  const g = JSON.parse(json.stdout)
  assert.deepEqual({ ...g, headers: { server: g.headers.server, 'content-type': g.headers['content-type'] } },
    { answeredBy: 'gateway', status: 404, headers: { server: 'edge/1', 'content-type': 'text/html' }, bodyStart: '<h1>nope</h1>', bodyBytes: 13 })
  const gone = await runCli(['diff', 'http://127.0.0.1:1/'])
  assert.equal(gone.code, 2)
  assert.match(gone.stderr, /^echoscope diff: cannot reach 127\.0\.0\.1:1: .*ECONNREFUSED/)
  const usage = await runCli(['diff'])
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /give exactly one URL/)
  const badHeader = await runCli(['diff', 'http://127.0.0.1:1/', '-H', 'nocolon'])
  assert.match(badHeader.stderr, /invalid --header "nocolon"/)
})

test('--ws diffs a WebSocket upgrade', async (t) => {
  const { port } = await startEcho(t)
  const r = await runCli(['diff', `ws://127.0.0.1:${port}/live?room=1`, '-H', 'Sec-WebSocket-Protocol: chat', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  assert.equal(d.status, 101)
  assert.deepEqual(d.path, { sent: '/live', received: '/live' })
  assert.deepEqual(d.query, { sent: 'room=1&info=1', received: 'room=1&info=1' })
  assert.deepEqual(d.headers, { added: {}, removed: {}, changed: {} })
})
