// echoscope behind Debian's real haproxy: what the haproxy recipe of docs/recipes.md does to requests, as the echo
// and `echoscope diff` show it, for plain HTTP, WebSocket and SSE.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { rawRequest, runCli, startEcho } from '../helper.ts'
import { haproxyRecipe, startHaproxy } from './haproxy.ts'
import { assertStreamed, assertWsThrough, timedSse } from './gateway.ts'

test('through real haproxy', async (t) => {
  const echo = await startEcho(t)
  const gw = await startHaproxy(t, port => haproxyRecipe(`127.0.0.1:${port}`, `127.0.0.1:${echo.port}`))

  await t.test('the echo shows the prefix stripped, Host rewritten, X-Debug dropped, headers added, names lower-cased', async () => {
    const body = '{"a":1}'
    const res = await rawRequest(gw.port, 'POST /api/orders?id=7 HTTP/1.1\r\nHost: shop.example\r\nX-Debug: 1\r\nX-Keep: Yes\r\n' +
      `X-Forwarded-For: 203.0.113.9\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    assert.equal(res.status, 200)
    const e = JSON.parse(res.body.toString())
    assert.equal(e.url, '/orders?id=7')
    assert.deepEqual(e.query, { id: '7' })
    assert.equal(e.httpVersion, '1.1')
    assert.deepEqual(e.body, { a: 1 })
    // haproxy (HTX) lower-cases every header name, drops Connection (it keeps its own connection to the
    // server alive), re-adds Host at the end (set-header), and adds its X-Forwarded-For as a line of its
    // own instead of appending to the client's.
    assert.deepEqual(e.rawHeaders, [
      ['x-keep', 'Yes'],
      ['x-forwarded-for', '203.0.113.9'],
      ['content-type', 'application/json'],
      ['content-length', String(body.length)],
      ['host', 'echo.internal'],
      ['x-gateway', 'haproxy'],
      ['via', '1.1 haproxy'],
      ['x-forwarded-for', '127.0.0.1']
    ])
    assert.deepEqual(e.proxy.gateways, [{ name: 'haproxy', evidence: ['via'] }])
    assert.deepEqual(e.proxy.hops, [
      { source: 'x-forwarded-for', address: '203.0.113.9' },
      { source: 'x-forwarded-for', address: '127.0.0.1' },
      { source: 'via', via: '1.1 haproxy' },
      { source: 'peer', address: '127.0.0.1' }
    ])
    const warnings = e.proxy.warnings.join('\n')
    assert.match(warnings, /left-most address 203\.0\.113\.9 is whatever the client sent/)
    assert.match(warnings, /X-Forwarded-For arrived on 2 separate header lines \("203\.0\.113\.9", "127\.0\.0\.1"\)/)
  })

  await t.test('echoscope diff --json names each change, every name-case change too', async () => {
    const r = await runCli(['diff', `${gw.url}/api/orders?id=7`, '-H', 'X-Debug: 1', '-H', 'X-Keep: yes', '-H', 'x-lower: kept', '-d', 'hello', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout)
    assert.equal(d.status, 200)
    assert.deepEqual(d.path, { sent: '/api/orders', received: '/orders' })
    assert.deepEqual(d.query, { sent: 'id=7', received: 'id=7' })
    const caseOnly = (sentName: string, value: string) =>
      ({ sent: value, received: value, caseOnly: true, sentName, receivedName: sentName.toLowerCase() })
    assert.deepEqual(d.headers, {
      added: { 'x-gateway': 'haproxy', via: '1.1 haproxy', 'x-forwarded-for': '127.0.0.1' },
      removed: { 'x-debug': '1', connection: 'close' },
      changed: {
        host: { sent: `127.0.0.1:${gw.port}`, received: 'echo.internal' },
        'user-agent': caseOnly('User-Agent', d.headers.changed['user-agent']?.sent),
        accept: caseOnly('Accept', 'application/json'),
        'x-keep': caseOnly('X-Keep', 'yes'),
        'content-type': caseOnly('Content-Type', 'application/x-www-form-urlencoded'),
        'content-length': caseOnly('Content-Length', '5')
      },
      // `http-request set-header Host` deletes the header and appends it: Host arrives last.
      reordered: {
        sent: ['host', 'user-agent', 'accept', 'x-keep', 'x-lower', 'content-type', 'content-length'],
        received: ['user-agent', 'accept', 'x-keep', 'x-lower', 'content-type', 'content-length', 'host']
      }
    })
    assert.match(d.headers.changed['user-agent'].sent, /^echoscope-diff\//)
    assert.deepEqual(d.body, { same: true, sentBytes: 5, receivedBytes: 5 })
    assert.deepEqual(d.proxy.gateways, [{ name: 'haproxy', evidence: ['via'] }])
  })

  await t.test('echoscope diff in human form, and a client X-Forwarded-For shown as split into two lines', async () => {
    const r = await runCli(['diff', `${gw.url}/api/x`, '-H', 'X-Debug: 1', '-H', 'X-Forwarded-For: 203.0.113.9'])
    assert.equal(r.code, 0, r.stderr)
    const out = r.stdout
    assert.match(out, /\npath +\/api\/x → \/x\n/)
    assert.match(out, /\n {2}\+ x-gateway: haproxy\n/)
    assert.match(out, /\n {2}- x-debug: 1\n/)
    assert.match(out, /\n {2}- connection: close\n/)
    assert.match(out, /\n {2}~ host: 127\.0\.0\.1:\d+ → echo\.internal\n/)
    assert.match(out, /\n {2}~ User-Agent → user-agent \(name case only\)\n/)
    assert.match(out, /\n {2}~ x-forwarded-for: 1 line\(s\) \["203\.0\.113\.9"\] → 2 line\(s\) \["203\.0\.113\.9","127\.0\.0\.1"\]\n/)
    assert.match(out, /\ngateway +haproxy \(via\)\n/)
    assert.match(out, /\nwarning +X-Forwarded-For arrived on 2 separate header lines/)
  })

  await t.test('--expect-header / --expect-no-header pass and fail as the gateway behaves', async () => {
    const url = `${gw.url}/api/check`
    const ok = await runCli(['diff', url, '-H', 'X-Debug: 1', '--expect-header', 'X-Gateway=haproxy', '--expect-header', 'X-Forwarded-For=127.0.0.1',
      '--expect-no-header', 'X-Debug'])
    assert.equal(ok.code, 0, ok.stderr)
    const bad = await runCli(['diff', url, '-H', 'X-Debug: 1', '--expect-header', 'X-Gateway=nginx', '--expect-no-header', 'X-Forwarded-For'])
    assert.equal(bad.code, 1)
    assert.equal(bad.stderr, 'unmet: expected X-Gateway = "nginx", but the server received "haproxy"\n' +
      'unmet: expected no X-Forwarded-For header, but the server received "127.0.0.1"\n')
  })

  await t.test('WebSocket: echo round trip, ?info=1 shows what haproxy added', async () => {
    await assertWsThrough(t, gw.port, 'haproxy')
  })

  await t.test('echoscope diff --ws through haproxy', async () => {
    const r = await runCli(['diff', `ws://127.0.0.1:${gw.port}/api/live?room=1`, '-H', 'X-Debug: 1', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout)
    assert.equal(d.status, 101)
    assert.deepEqual(d.path, { sent: '/api/live', received: '/live' })
    assert.deepEqual(d.headers.added, { 'x-gateway': 'haproxy', via: '1.1 haproxy', 'x-forwarded-for': '127.0.0.1' })
    assert.deepEqual(d.headers.removed, { 'x-debug': '1' })
    assert.deepEqual(Object.keys(d.headers.changed).sort(), ['connection', 'host', 'sec-websocket-key', 'sec-websocket-version', 'upgrade', 'user-agent'])
    assert.equal(d.headers.changed.connection.caseOnly, true, 'haproxy passes "Connection: Upgrade" on, only lower-casing the name')
  })

  await t.test('SSE: haproxy passes events on as they come', async () => {
    const r = await timedSse(`${gw.url}/api/events?echo_stream=3`)
    assert.equal(r.status, 200)
    assertStreamed(r, 'haproxy')
  })
})

test('the haproxy recipe in docs/recipes.md is the config tested here', () => {
  const doc = readFileSync(new URL('../../../docs/recipes.md', import.meta.url), 'utf8')
  // The page's first ```haproxy block, which sits under its "## haproxy" heading.
  const block = /\n```haproxy\n([\s\S]*?\n)```\n/.exec(doc)
  assert.ok(block, 'docs/recipes.md has a ```haproxy block')
  assert.equal(block[1], haproxyRecipe(':80', '127.0.0.1:8080'))
})
