// Output formats over real sockets: negotiation by query and Accept, and what each one shows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { getJson, rawRequest, startEcho } from '../helper.ts'

test('?format=text and Accept: text/plain give the request as raw HTTP text', async (t) => {
  const { port, url } = await startEcho(t)
  const res = await rawRequest(port, 'POST /p?a=1 HTTP/1.1\r\nHost: h.test\r\nAccept: text/plain\r\nX-Mixed-Case: v\r\nx-mixed-case: w\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping')
  assert.equal(res.status, 200)
  const body = res.body.toString()
  assert.ok(body.includes('X-Mixed-Case: v\r\nx-mixed-case: w\r\n'), body)
  const q = await fetch(url + '/p?format=text', { method: 'POST', body: 'ping', headers: { accept: 'application/json' } })
  assert.equal(q.headers.get('content-type'), 'text/plain; charset=utf-8')
  const text = await q.text()
  assert.match(text, /^POST \/p\?format=text HTTP\/1\.1\r\n/)
  assert.ok(text.endsWith('\r\n\r\nping'))
  assert.equal((await fetch(url, { headers: { accept: 'text/plain' } })).headers.get('content-type'), 'text/plain; charset=utf-8')
})

test('a browser gets an escaped HTML page with a strict CSP; curl gets JSON', async (t) => {
  const { url } = await startEcho(t)
  const xss = '<script>alert(1)</script>'
  const res = await fetch(url + '/page?q=' + encodeURIComponent('"><img src=x onerror=alert(2)>'), {
    headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'x-evil': xss }
  })
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
  const csp = res.headers.get('content-security-policy') ?? ''
  assert.match(csp, /default-src 'none'/)
  assert.doesNotMatch(csp, /script-src[^;]*unsafe/)
  const html = await res.text()
  assert.ok(!html.includes(xss))
  assert.ok(!/<img[^>]*onerror/i.test(html))
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  const curl = await fetch(url, { headers: { accept: '*/*' } })
  assert.equal(curl.headers.get('content-type'), 'application/json; charset=utf-8')
  const axios = await fetch(url, { headers: { accept: 'application/json, text/plain, */*' } })
  assert.equal(axios.headers.get('content-type'), 'application/json; charset=utf-8')
})

test('?format=har gives a HAR 1.2 request object', async (t) => {
  const { url } = await startEcho(t)
  const har = await getJson(fetch(url + '/h?x=1&x=2&format=har', { method: 'POST', body: '{"k":1}', headers: { 'content-type': 'application/json', cookie: 'a=b' } }))
  assert.equal(har.method, 'POST')
  assert.match(har.url, /^http:\/\/127\.0\.0\.1:\d+\/h\?x=1&x=2&format=har$/)
  assert.deepEqual(har.queryString.filter((p: { name: string }) => p.name === 'x'), [{ name: 'x', value: '1' }, { name: 'x', value: '2' }])
  assert.deepEqual(har.cookies, [{ name: 'a', value: 'b' }])
  assert.equal(har.postData.mimeType, 'application/json')
  assert.equal(har.postData.text, '{"k":1}')
  assert.equal(har.bodySize, 7)
})

test('?format=gateway-api matches the Gateway API conformance echo server', async (t) => {
  const { url, port } = await startEcho(t)
  const res = await fetch(url + '/gw/path?x=1&format=gateway-api', { headers: { 'x-custom': 'one', 'X-CUSTOM': 'ignored-by-fetch-merge' } })
  assert.equal(res.headers.get('content-type'), 'application/json')
  const g = await getJson(res)
  assert.equal(g.path, '/gw/path?x=1&format=gateway-api')
  assert.equal(g.host, `127.0.0.1:${port}`)
  assert.equal(g.method, 'GET')
  assert.equal(g.proto, 'HTTP/1.1')
  assert.ok(Array.isArray(g.headers['X-Custom']))
  assert.equal(g.headers.Host, undefined)
  for (const k of ['namespace', 'ingress', 'service', 'pod']) assert.equal(typeof g[k], 'string', k)
})

test('SSE: the echo first, then a tick a second, each arriving on its own', async (t) => {
  const { url } = await startEcho(t)
  const events: Array<{ at: number, text: string }> = []
  const t0 = Date.now()
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(url + '/stream?echo_stream=2', { headers: { accept: 'text/event-stream' } }, res => {
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
      res.setEncoding('utf8')
      res.on('data', (d: string) => events.push({ at: Date.now() - t0, text: d }))
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end()
  })
  const all = events.map(e => e.text).join('')
  assert.match(all, /^retry: 2000\nevent: echo\nid: 0\ndata: \{"method":"GET","url":"\/stream\?echo_stream=2"/)
  assert.equal(all.match(/event: tick/g)?.length, 2)
  assert.match(all, /event: end/)
  // Streamed, not buffered: the echo arrived well before the last tick.
  assert.ok(events[0].at < 800, `first event after ${events[0].at} ms`)
  assert.ok(events.at(-1)!.at >= 1800)
})

test('SSE streams are capped: over --max-streams gets 503, duration capped by --max-stream-seconds', async (t) => {
  const { url } = await startEcho(t, { maxStreams: 1, maxStreamSeconds: 1 })
  const first = await fetch(url + '/?format=sse&echo_stream=100')
  assert.equal(first.status, 200)
  const second = await fetch(url + '/?format=sse')
  assert.equal(second.status, 503)
  assert.equal((await getJson(second)).statusCode, 503)
  const text = await first.text() // ends after 1 tick, not 100
  assert.equal(text.match(/event: tick/g)?.length, 1)
  const third = await fetch(url + '/?format=sse&echo_stream=0')
  assert.equal(third.status, 200)
  assert.match(await third.text(), /event: end/)
})

test('an unknown ?format value is just echoed as JSON', async (t) => {
  const { url } = await startEcho(t)
  const echo = await getJson(fetch(url + '/?format=xml'))
  assert.equal(echo.query.format, 'xml')
})

test('the JSON echo and a JSON error end at their closing brace, no trailing newline, Content-Length exact', async (t) => {
  const { port } = await startEcho(t)
  for (const target of ['/no/newline?x=1', '/bad?echo_status=99']) {
    const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n`)
    assert.equal(res.body.at(-1), 0x7d, `${target} ends with }`)
    assert.equal(Number(res.headers.get('content-length')?.[0]), res.body.length)
    JSON.parse(res.body.toString())
  }
})
