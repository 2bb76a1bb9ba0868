// Who answered and what it sent: every response of echoscope's carries x-echoscope, and the echo's
// `response` is exactly the status and headers that arrive at the client (less what Node's stack adds).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import WebSocket from 'ws'
import echoscope from '../../src/index.ts'
import { getJson, rawRequest, startEcho } from '../helper.ts'
import { STACK_HEADERS } from '../../src/diff/compare.ts'

/** The received headers as the echo lists them: one value per name, repeated ones as a list. */
function received (headers: Map<string, string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, values] of headers) if (!STACK_HEADERS.has(name)) out[name] = name === 'set-cookie' ? values : values.join(', ')
  return out
}

test('every kind of response carries x-echoscope with the instance name', async (t) => {
  const { port, url } = await startEcho(t, { instance: 'blue-1', bodyLimit: 64, rateLimitMax: 3, rateLimitAllow: [] })
  const marker = (res: Response) => res.headers.get('x-echoscope')
  // The 101 of a WebSocket upgrade (the first of the three requests the limit lets through).
  const ws = new WebSocket(`ws://127.0.0.1:${port}/live`)
  const upgrade = await new Promise<Record<string, unknown>>((resolve, reject) => { ws.once('upgrade', res => resolve(res.headers)); ws.once('error', reject) })
  ws.close()
  assert.equal(upgrade['x-echoscope'], 'blue-1')
  assert.equal(marker(await fetch(url + '/orders')), 'blue-1')
  assert.equal(marker(await fetch(url + '/healthz')), 'blue-1')
  assert.equal(marker(await fetch(url + '/docs/json')), 'blue-1')
  const tooBig = await fetch(url + '/upload', { method: 'POST', body: 'x'.repeat(100) })
  assert.equal(tooBig.status, 413)
  assert.equal(marker(tooBig), 'blue-1')
  const limited = await fetch(url + '/again')
  assert.equal(limited.status, 429)
  assert.equal(marker(limited), 'blue-1')
  // What Node's parser refuses is answered by hand, with the marker too.
  const refused = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
  assert.equal(refused.status, 400)
  assert.deepEqual(refused.headers.get('x-echoscope'), ['blue-1'])
})

test('an instance name that is not a clean header value is percent-encoded in the marker', async (t) => {
  const { url } = await startEcho(t, { instance: 'café 1' })
  const res = await fetch(url + '/')
  assert.equal(res.headers.get('x-echoscope'), 'caf%C3%A9%201')
  assert.equal((await getJson(res)).server.instance, 'café 1')
})

test('the echo\'s response is the status and headers the client receives', async (t) => {
  const { port, url } = await startEcho(t, {
    instance: 'green',
    cors: ['https://app.example'],
    responseHeader: ['X-Served-By: echo'],
    rateLimitAllow: [],
    rateLimitHeaders: true
  })
  const cookies = ['Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2'].map(h => 'echo_header=' + encodeURIComponent(h)).join('&')
  const res = await rawRequest(port, `GET /r?echo_status=201&${cookies} HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n`)
  assert.equal(res.status, 201)
  const echo = JSON.parse(res.body.toString())
  assert.equal(echo.response.status, 201)
  assert.deepEqual(echo.response.headers, received(res.headers))
  // The parts a gateway check looks for are all there.
  assert.equal(echo.response.headers['x-echoscope'], 'green')
  assert.equal(echo.response.headers['x-request-id'], echo.requestId)
  assert.equal(echo.response.headers['x-served-by'], 'echo')
  assert.equal(echo.response.headers['access-control-allow-origin'], 'https://app.example')
  assert.deepEqual(echo.response.headers['set-cookie'], ['a=1; Path=/', 'b=2'])
  assert.equal(echo.response.headers['x-ratelimit-remaining'], res.headers.get('x-ratelimit-remaining')?.[0])
  assert.match(echo.response.headers.ratelimit, /^"echo";r=\d+;t=\d+$/)

  // Other formats and the history say the same.
  const text = await rawRequest(port, 'GET /t?format=text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(text.headers.get('content-type')?.[0], 'text/plain; charset=utf-8')
  const kept = await getJson(fetch(url + '/requests/' + echo.requestId))
  assert.deepEqual(kept.response, echo.response)
  assert.equal(kept.statusCode, 201)
})

test('embedded: the echo under the prefix carries the marker, the host app\'s own routes do not', async (t) => {
  const host = Fastify()
  host.get('/own', async () => ({ mine: true }))
  await host.register(echoscope, { prefix: '/debug', instance: 'embedded' })
  await host.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => host.close())
  const base = `http://127.0.0.1:${(host.server.address() as { port: number }).port}`
  assert.equal((await fetch(base + '/own')).headers.get('x-echoscope'), null)
  const res = await fetch(base + '/debug/x')
  assert.equal(res.headers.get('x-echoscope'), 'embedded')
  assert.equal((await getJson(res)).response.headers['x-echoscope'], 'embedded')
})
