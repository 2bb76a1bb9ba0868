// echoscope behind Debian's real nginx: what the nginx recipe of docs/recipes.md does to requests, as the echo and
// `echoscope diff` show it, for plain HTTP, WebSocket and SSE.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { rawRequest, runCli, startEcho } from '../helper.ts'
import { nginxRecipe, startNginx } from './nginx.ts'
import { assertBuffered, assertStreamed, assertWsThrough, startGateway, timedSse } from './gateway.ts'

// Locations for the SSE check only: nginx's defaults, and the same with buffering off.
const SSE_LOCATIONS = (upstream: string) => `
  location /sse-default/ {
    proxy_pass http://${upstream}/;
  }

  location /sse-unbuffered/ {
    proxy_pass http://${upstream}/;
    proxy_buffering off;
  }
`

test('through real nginx', async (t) => {
  const echo = await startEcho(t)
  const upstream = `127.0.0.1:${echo.port}`
  const gw = await startNginx(t, port => nginxRecipe(`127.0.0.1:${port}`, upstream, SSE_LOCATIONS(upstream)))

  await t.test('the echo shows the prefix stripped, Host rewritten, X-Debug dropped, X-Gateway, Via and X-Forwarded-For added', async () => {
    const body = '{"a":1}'
    const res = await rawRequest(gw.port, 'POST /api/orders?id=7 HTTP/1.1\r\nHost: shop.example\r\nX-Debug: 1\r\nX-Keep: Yes\r\n' +
      `x-lower: kept\r\nX-Forwarded-For: 203.0.113.9\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('server')?.[0] ?? '', /^nginx\//)
    const e = JSON.parse(res.body.toString())
    assert.equal(e.method, 'POST')
    assert.equal(e.url, '/orders?id=7')
    assert.deepEqual(e.query, { id: '7' })
    assert.equal(e.httpVersion, '1.1')
    assert.deepEqual(e.body, { a: 1 })
    assert.equal(e.bodyBytes, body.length)
    // nginx sends the headers it sets first, in config order (empty ones not at all), then the client's
    // remaining headers in arrival order with their case kept.
    assert.deepEqual(e.rawHeaders, [
      ['Host', 'echo.internal'],
      ['X-Forwarded-For', '203.0.113.9, 127.0.0.1'],
      ['X-Gateway', 'nginx'],
      ['Via', '1.1 nginx'],
      ['Connection', 'close'],
      ['Content-Length', String(body.length)],
      ['X-Keep', 'Yes'],
      ['x-lower', 'kept'],
      ['Content-Type', 'application/json']
    ])
    assert.deepEqual(e.proxy.gateways, [{ name: 'nginx', evidence: ['via'] }])
    assert.deepEqual(e.proxy.hops, [
      { source: 'x-forwarded-for', address: '203.0.113.9' },
      { source: 'x-forwarded-for', address: '127.0.0.1' },
      { source: 'via', via: '1.1 nginx' },
      { source: 'peer', address: '127.0.0.1' }
    ])
    assert.match(e.proxy.warnings.join('\n'), /left-most address 203\.0\.113\.9 is whatever the client sent/)
  })

  await t.test('nginx\'s defaults: HTTP/1.0 upstream, and no proxy headers at all', async () => {
    const e = JSON.parse((await rawRequest(gw.port, 'GET /sse-default/x HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n')).body.toString())
    assert.equal(e.httpVersion, '1.0')
    assert.equal(e.headers.host, upstream, 'proxy_pass puts the upstream address in Host')
    assert.equal(e.proxy, undefined, 'plain nginx leaves nothing that names it or the client')
  })

  await t.test('echoscope diff --json names each change, and nginx keeps header-name case', async () => {
    const r = await runCli(['diff', `${gw.url}/api/orders?id=7`, '-H', 'X-Debug: 1', '-H', 'X-Keep: yes', '-H', 'x-lower: kept', '-d', 'hello', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout)
    assert.equal(d.status, 200)
    assert.deepEqual(d.method, { sent: 'POST', received: 'POST' })
    assert.deepEqual(d.path, { sent: '/api/orders', received: '/orders' })
    assert.deepEqual(d.query, { sent: 'id=7', received: 'id=7' })
    assert.deepEqual(d.headers, {
      added: { 'x-forwarded-for': '127.0.0.1', 'x-gateway': 'nginx', via: '1.1 nginx' },
      removed: { 'x-debug': '1' },
      changed: { host: { sent: `127.0.0.1:${gw.port}`, received: 'echo.internal' } },
      // nginx writes the headers it sets itself (Host, Connection) and the length it computed first.
      reordered: {
        sent: ['host', 'user-agent', 'accept', 'x-keep', 'x-lower', 'content-type', 'content-length', 'connection'],
        received: ['host', 'connection', 'content-length', 'user-agent', 'accept', 'x-keep', 'x-lower', 'content-type']
      }
    })
    assert.deepEqual(d.body, { same: true, sentBytes: 5, receivedBytes: 5 })
    assert.deepEqual(d.proxy.gateways, [{ name: 'nginx', evidence: ['via'] }])
    assert.deepEqual(d.proxy.hops.map((h: { address?: string, via?: string }) => h.address ?? h.via), ['127.0.0.1', '1.1 nginx', '127.0.0.1'])
    assert.equal(d.server.instance, hostname())
  })

  await t.test('echoscope diff in human form', async () => {
    const r = await runCli(['diff', `${gw.url}/api/orders?id=7`, '-H', 'X-Debug: 1'])
    assert.equal(r.code, 0, r.stderr)
    const out = r.stdout
    assert.match(out, /^GET http:\/\/127\.0\.0\.1:\d+\/api\/orders\?id=7 → 200 from /)
    assert.match(out, /\npath +\/api\/orders → \/orders\n/)
    assert.match(out, /\nquery +\?id=7 \(unchanged\)\n/)
    assert.match(out, /\n {2}\+ x-gateway: nginx\n/)
    assert.match(out, /\n {2}\+ x-forwarded-for: 127\.0\.0\.1\n/)
    assert.match(out, /\n {2}- x-debug: 1\n/)
    assert.match(out, /\n {2}~ host: 127\.0\.0\.1:\d+ → echo\.internal\n/)
    assert.match(out, /\n {2}↕ order: host, user-agent, accept, connection → host, connection, user-agent, accept\n/)
    assert.doesNotMatch(out, /name case only/)
    assert.match(out, /\ngateway +nginx \(via\)\n/)
    assert.match(out, /\nhops +127\.0\.0\.1 → 1\.1 nginx → 127\.0\.0\.1\n$/)
  })

  await t.test('--expect-header / --expect-no-header pass and fail as the gateway behaves', async () => {
    const url = `${gw.url}/api/check`
    const ok = await runCli(['diff', url, '-H', 'X-Debug: 1', '--expect-header', 'X-Gateway=nginx', '--expect-header', 'x-forwarded-for=127.0.0.1',
      '--expect-header', 'Host=echo.internal', '--expect-no-header', 'X-Debug'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stderr, '')
    const bad = await runCli(['diff', url, '-H', 'X-Debug: 1', '--expect-header', 'X-Gateway=kong', '--expect-header', 'X-Request-Id',
      '--expect-no-header', 'Via', '--json'])
    assert.equal(bad.code, 1)
    assert.deepEqual(JSON.parse(bad.stdout).unmet, [
      'expected X-Gateway = "kong", but the server received "nginx"',
      'expected header X-Request-Id, but the server received none',
      'expected no Via header, but the server received "1.1 nginx"'
    ])
    assert.equal(bad.stderr.trim().split('\n').length, 3, bad.stderr)
  })

  await t.test('WebSocket: echo round trip, ?info=1 shows what nginx added', async () => {
    const info = await assertWsThrough(t, gw.port, 'nginx')
    assert.equal(info.headers.connection, 'upgrade')
  })

  await t.test('echoscope diff --ws through nginx', async () => {
    const r = await runCli(['diff', `ws://127.0.0.1:${gw.port}/api/live?room=1`, '-H', 'X-Debug: 1', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout)
    assert.equal(d.status, 101)
    assert.deepEqual(d.path, { sent: '/api/live', received: '/live' })
    assert.deepEqual(d.query, { sent: 'room=1&info=1', received: 'room=1&info=1' })
    assert.deepEqual(d.headers, {
      added: { 'x-forwarded-for': '127.0.0.1', 'x-gateway': 'nginx', via: '1.1 nginx' },
      removed: { 'x-debug': '1' },
      changed: {
        host: { sent: `127.0.0.1:${gw.port}`, received: 'echo.internal' },
        connection: { sent: 'Upgrade', received: 'upgrade' }
      },
      reordered: {
        sent: ['host', 'user-agent', 'connection', 'upgrade', 'sec-websocket-version', 'sec-websocket-key'],
        received: ['host', 'upgrade', 'connection', 'user-agent', 'sec-websocket-version', 'sec-websocket-key']
      }
    })
  })

  await t.test('SSE: ticks arrive one a second only when nginx does not buffer', async () => {
    const q = 'events?echo_stream=3'
    const [defaults, unbuffered, accel, recipe] = await Promise.all([
      timedSse(`${gw.url}/sse-default/${q}`),
      timedSse(`${gw.url}/sse-unbuffered/${q}`),
      timedSse(`${gw.url}/sse-default/${q}&echo_header=X-Accel-Buffering:%20no`),
      timedSse(`${gw.url}/api/${q}`)
    ])
    for (const r of [defaults, unbuffered, accel, recipe]) {
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8')
    }
    assertBuffered(defaults, 'nginx defaults (proxy_buffering on, HTTP/1.0 upstream)')
    assertStreamed(unbuffered, 'proxy_buffering off')
    assertStreamed(accel, 'X-Accel-Buffering: no from the upstream')
    assert.equal(accel.headers.get('x-accel-buffering'), null, 'nginx consumes X-Accel-Buffering, the client never sees it')
    // With proxy_http_version 1.1 the upstream answers chunked, and nginx passes each chunk on as it
    // arrives even with buffering on.
    assertStreamed(recipe, 'the recipe (proxy_buffering on, HTTP/1.1 upstream)')
  })
})

test('the nginx recipe in docs/recipes.md is the config tested here', () => {
  const doc = readFileSync(new URL('../../../docs/recipes.md', import.meta.url), 'utf8')
  // The page's first ```nginx block, which sits under its "## nginx" heading.
  const block = /\n```nginx\n([\s\S]*?\n)```\n/.exec(doc)
  assert.ok(block, 'docs/recipes.md has a ```nginx block')
  assert.equal(block[1], nginxRecipe('80', '127.0.0.1:8080'))
})

test('a missing gateway binary fails the test and names the package to install', async (t) => {
  await assert.rejects(startGateway(t, { pkg: 'nginx', binary: '/nonexistent/sbin/nginx', args: () => [], prepare: () => {} }),
    { message: '/nonexistent/sbin/nginx is not installed: run `apt-get install -y nginx` (.ci/run installs every package listed in .ci/apt-packages)' })
})
