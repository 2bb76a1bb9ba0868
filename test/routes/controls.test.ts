// Response controls over real sockets: canonical names, the other tools' aliases, limits and refusals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { getJson, rawRequest, startEcho } from '../helper.ts'
import { parseStatus, readControls } from '../../src/echo/controls.ts'

test('status by header and by query, aliases included', async (t) => {
  const { url } = await startEcho(t)
  const cases: Array<[string, RequestInit]> = [
    ['/?echo_status=418', {}],
    ['/?echo_code=418', {}],
    ['/', { headers: { 'x-echo-status': '418' } }],
    ['/', { headers: { 'x-set-response-status-code': '418' } }],
    ['/', { headers: { 'x-echo-code': '418' } }]
  ]
  for (const [path, init] of cases) {
    const res = await fetch(url + path, init)
    assert.equal(res.status, 418, JSON.stringify([path, init]))
    const echo = await getJson(res)
    assert.equal(echo.method, 'GET', 'the echo is still the body')
  }
})

test('weighted status lists pick by weight', async (t) => {
  assert.equal(parseStatus('x', '500:0.2,200:0.8', () => 0.1), 500)
  assert.equal(parseStatus('x', '500:0.2,200:0.8', () => 0.5), 200)
  assert.equal(parseStatus('x', '503:0,201', () => 0.0), 201)
  const { url } = await startEcho(t)
  const seen = new Set<number>()
  for (let i = 0; i < 60; i++) seen.add((await fetch(url + '/?echo_status=500:1,202:1')).status)
  assert.deepEqual([...seen].sort(), [202, 500])
  assert.equal((await fetch(url + '/?echo_status=503:0,201:1')).status, 201)
})

test('delay waits, by header or query or alias, and is capped by --max-delay', async (t) => {
  const { url } = await startEcho(t, { maxDelay: 400 })
  for (const [path, headers] of [['/?echo_delay=250', {}], ['/?echo_time=250', {}], ['/', { 'x-echo-delay': '250' }], ['/', { 'x-set-response-delay-ms': '250' }], ['/', { 'x-echo-time': '250' }]] as const) {
    const t0 = Date.now()
    const res = await fetch(url + path, { headers })
    assert.equal(res.status, 200)
    assert.ok(Date.now() - t0 >= 240, `${path} ${JSON.stringify(headers)} waited`)
  }
  const t0 = Date.now()
  await fetch(url + '/?echo_delay=60000')
  const waited = Date.now() - t0
  assert.ok(waited >= 390 && waited < 5000, `capped delay took ${waited} ms`)
})

test('response headers: repeatable, several Set-Cookie, list forms of the aliases', async (t) => {
  const { port } = await startEcho(t)
  const res = await rawRequest(port, 'GET /?echo_header=X-From-Query:%20q1 HTTP/1.1\r\nHost: x\r\n' +
    'X-Echo-Header: Set-Cookie: a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT\r\n' +
    'X-Echo-Header: Set-Cookie: b=2\r\n' +
    'X-Echo-Header: Cache-Control: no-store, private\r\n' +
    'X-Echo-Set-Header: X-One: 1, X-Two: 2\r\n' +
    'Connection: close\r\n\r\n')
  assert.equal(res.status, 200)
  assert.deepEqual(res.headers.get('set-cookie'), ['a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'b=2'])
  assert.deepEqual(res.headers.get('cache-control'), ['no-store, private'])
  assert.deepEqual(res.headers.get('x-one'), ['1'])
  assert.deepEqual(res.headers.get('x-two'), ['2'])
  assert.deepEqual(res.headers.get('x-from-query'), ['q1'])
  assert.deepEqual(res.headers.get('content-security-policy'), ['sandbox'])
  assert.deepEqual(res.headers.get('x-content-type-options'), ['nosniff'])
})

test('body and content type controls are sandboxed', async (t) => {
  const { url } = await startEcho(t)
  const res = await fetch(url + '/?echo_body=' + encodeURIComponent('<script>alert(1)</script>') + '&echo_content_type=text/html')
  assert.equal(res.status, 200)
  assert.equal(await res.text(), '<script>alert(1)</script>')
  assert.equal(res.headers.get('content-type'), 'text/html')
  assert.equal(res.headers.get('content-security-policy'), 'sandbox')
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff')

  const plain = await fetch(url, { headers: { 'x-echo-body': 'pong' } })
  assert.equal(await plain.text(), 'pong')
  assert.equal(plain.headers.get('content-type'), 'text/plain; charset=utf-8')

  const mendhak = await fetch(url + '/?echo_body=%7B%7D', { headers: { 'x-set-response-content-type': 'application/problem+json' } })
  assert.equal(mendhak.headers.get('content-type'), 'application/problem+json')
  assert.equal(mendhak.headers.get('content-security-policy'), 'sandbox')

  // Switching the echo's own type still gets the sandbox.
  const html = await fetch(url + '/?echo_content_type=text/html&x=<img src=x onerror=alert(1)>')
  assert.equal(html.headers.get('content-security-policy'), 'sandbox')
})

test('invalid control values get 400 naming the control, never a 500 or an injected header', async (t) => {
  const { url, port } = await startEcho(t)
  const bad: Array<[string, string]> = [
    ['/?echo_status=99', 'echo_status'],
    ['/?echo_status=600', 'echo_status'],
    ['/?echo_status=abc', 'echo_status'],
    ['/?echo_status=500:x', 'echo_status'],
    ['/?echo_delay=-1', 'echo_delay'],
    ['/?echo_delay=soon', 'echo_delay'],
    ['/?echo_header=NoColon', 'echo_header'],
    ['/?echo_header=Bad%20Name:%20v', 'echo_header'],
    ['/?echo_header=X-A:%20a%0d%0aX-Injected:%201', 'echo_header'],
    ['/?echo_header=Content-Length:%205', 'echo_header'],
    ['/?echo_header=Content-Security-Policy:%20default-src%20*', 'echo_header'],
    ['/?echo_content_type=text/html%0d%0aX-Injected:%201', 'echo_content_type'],
    ['/?echo_content_type=nonsense', 'echo_content_type']
  ]
  for (const [path, control] of bad) {
    const res = await fetch(url + path)
    assert.equal(res.status, 400, path)
    assert.equal(res.headers.get('x-injected'), null)
    const err = await getJson(res)
    assert.equal(err.statusCode, 400)
    assert.equal(err.error, 'Bad Request')
    assert.ok(err.message.includes(control), `${path}: ${err.message}`)
  }
  const hdr = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Echo-Status: 1234\r\nConnection: close\r\n\r\n')
  assert.equal(hdr.status, 400)
  assert.match(JSON.parse(hdr.body.toString()).message, /x-echo-status/)
})

test('--no-controls turns every control off; the controls are still echoed', async (t) => {
  const { url } = await startEcho(t, { noControls: true })
  const res = await fetch(url + '/?echo_status=500&echo_body=x&echo_header=X-A:1', { headers: { 'x-echo-delay': '5000', 'x-set-response-status-code': '503' } })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-a'), null)
  const echo = await getJson(res)
  assert.equal(echo.query.echo_status, '500')
  assert.equal(echo.headers['x-echo-delay'], '5000')
})

test('readControls returns null when no control is present (the common case)', () => {
  assert.equal(readControls(['Host', 'x', 'X-Forwarded-For', '1.2.3.4'], { a: '1' }, { maxDelay: 1, maxStreamSeconds: 1, env: {} }), null)
})
