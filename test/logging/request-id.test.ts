// The caller's request id (X-Request-Id, or the header --request-id-header names) is kept end to end — the
// echo's requestId, the response header, the log line, the history — when it is sane; otherwise a fresh
// UUID is used, so a gateway's id correlates with echoscope's logs and nothing odd gets into them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { getJson, rawRequest, runCli, spawnServer, waitFor } from '../helper.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('an incoming X-Request-Id is the request id everywhere: echo, response header, log line, history', async (t) => {
  const { child, port, output } = await spawnServer([])
  t.after(() => child.kill('SIGKILL'))
  const id = 'gw-7f3a:b2;Root=1-abc/x+y=@~z'
  const res = await fetch(`http://127.0.0.1:${port}/orders`, { headers: { 'x-request-id': id } })
  assert.equal(res.headers.get('x-request-id'), id)
  const echo = await getJson(res)
  assert.equal(echo.requestId, id)
  assert.equal(echo.trace.requestId, id, 'shown as the trace header it also is')
  await waitFor(() => output().includes(`"reqId":"${id}"`))
  const line = output().trim().split('\n').map(l => JSON.parse(l)).find(l => l.reqId === id && l.msg === 'request')
  assert.equal(line.url, '/orders')
  const kept = await getJson(fetch(`http://127.0.0.1:${port}/requests/${encodeURIComponent(id)}`))
  assert.equal(kept.requestId, id)
  assert.equal(kept.path, '/orders')
})

test('an id that is too long, has odd characters or comes twice is replaced by a fresh UUID', async (t) => {
  const { child, port } = await spawnServer([])
  t.after(() => child.kill('SIGKILL'))
  for (const bad of ['x'.repeat(201), 'has space', 'quote"d', '<script>', 'ünïcode']) {
    const res = await rawRequest(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${bad}\r\nConnection: close\r\n\r\n`)
    const given = res.headers.get('x-request-id')?.[0] ?? ''
    assert.match(given, UUID, JSON.stringify(bad))
    assert.equal(JSON.parse(res.body.toString()).requestId, given)
  }
  const twice = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n')
  assert.match(twice.headers.get('x-request-id')?.[0] ?? '', UUID)
  assert.equal(JSON.parse(twice.body.toString()).requestId, twice.headers.get('x-request-id')?.[0])
  const longest = 'a'.repeat(200)
  assert.equal((await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-request-id': longest } })).headers.get('x-request-id'), longest)
  const none = await fetch(`http://127.0.0.1:${port}/`)
  assert.match(none.headers.get('x-request-id') ?? '', UUID)
})

test('--request-id-header names another header; empty always generates; the response header stays x-request-id', async (t) => {
  const other = await spawnServer(['--request-id-header', 'X-Correlation-Id'])
  t.after(() => other.child.kill('SIGKILL'))
  const res = await fetch(`http://127.0.0.1:${other.port}/`, { headers: { 'x-correlation-id': 'corr-1', 'x-request-id': 'not-this-one' } })
  assert.equal(res.headers.get('x-request-id'), 'corr-1')
  assert.equal((await getJson(res)).requestId, 'corr-1')
  const ignored = await fetch(`http://127.0.0.1:${other.port}/`, { headers: { 'x-request-id': 'not-this-one' } })
  assert.match(ignored.headers.get('x-request-id') ?? '', UUID)

  const never = await spawnServer([], { ECHOSCOPE_REQUEST_ID_HEADER: '' })
  t.after(() => never.child.kill('SIGKILL'))
  const gen = await fetch(`http://127.0.0.1:${never.port}/`, { headers: { 'x-request-id': 'kept-nowhere' } })
  assert.match(gen.headers.get('x-request-id') ?? '', UUID)
  // The caller's header is still echoed as what arrived.
  assert.equal((await getJson(gen)).headers['x-request-id'], 'kept-nowhere')
})

test('a --request-id-header that is not a header name is one line naming the option, exit 2', async () => {
  const r = await runCli(['--request-id-header', 'bad name'])
  assert.equal(r.code, 2)
  assert.equal(r.stderr.trim(), 'echoscope: invalid --request-id-header "bad name": must be a header name, or empty to always generate the id')
})
