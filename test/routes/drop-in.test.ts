// The other echo servers' knobs, as their users send them: mendhak's query forms and response_body_only, ealen's
// echo_code lists and echo_env_body, whoami's ?wait=, and the body-only reply (format=body).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { getJson, rawRequest, spawnServer, startEcho } from '../helper.ts'
import { parseGoDuration, parseStatus } from '../../src/echo/controls.ts'

test('mendhak: the x-set-response-* headers work as query parameters too', async (t) => {
  const { url } = await startEcho(t)
  assert.equal((await fetch(url + '/some/path?x-set-response-status-code=401')).status, 401)
  const typed = await fetch(url + '/?x-set-response-content-type=text/plain')
  assert.equal(typed.headers.get('content-type'), 'text/plain')
  assert.equal(JSON.parse(await typed.text()).path, '/', 'the echo is still the body')
  const t0 = Date.now()
  assert.equal((await fetch(url + '/?x-set-response-delay-ms=200')).status, 200)
  assert.ok(Date.now() - t0 >= 190)
  const bad = await fetch(url + '/?x-set-response-status-code=abc')
  assert.equal(bad.status, 400)
  assert.match((await getJson(bad)).message, /^invalid x-set-response-status-code "abc"/)
})

test('ealen: echo_code=404-300 answers one of the list at random, nothing else', async (t) => {
  assert.equal(parseStatus('echo_code', '404-300', () => 0), 404)
  assert.equal(parseStatus('echo_code', '404-300', () => 0.99), 300)
  assert.throws(() => parseStatus('echo_code', '404-99', () => 0), /invalid echo_code "404-99"/)
  const { url } = await startEcho(t)
  const seen = new Set<number>()
  for (let i = 0; i < 40; i++) seen.add((await fetch(url + '/?echo_code=404-300', { redirect: 'manual' })).status)
  assert.deepEqual([...seen].sort(), [300, 404])
  const byHeader = new Set<number>()
  for (let i = 0; i < 40; i++) byHeader.add((await fetch(url + '/', { headers: { 'x-echo-code': '401-403-503' } })).status)
  assert.deepEqual([...byHeader].sort(), [401, 403, 503])
})

test('--echo-env: only the named variables appear in server.env and echo_env_body; none by default', async (t) => {
  const env = { DEPLOY_COLOR: 'blue', REGION: 'eu-west-1', DATABASE_PASSWORD: 'hunter2' }
  const plain = await spawnServer([], env)
  t.after(() => { plain.child.kill() })
  const base = `http://127.0.0.1:${plain.port}`
  assert.equal((await getJson(fetch(base + '/'))).server.env, undefined)
  const refused = await fetch(base + '/?echo_env_body=DEPLOY_COLOR')
  assert.equal(refused.status, 400)
  assert.match((await getJson(refused)).message, /^invalid echo_env_body "DEPLOY_COLOR": not an environment variable --echo-env allows/)

  const { child, port } = await spawnServer(['--echo-env', 'DEPLOY_COLOR,REGION,NOT_SET'], env)
  t.after(() => { child.kill() })
  const url = `http://127.0.0.1:${port}`
  const echo = await getJson(fetch(url + '/'))
  assert.deepEqual(echo.server.env, { DEPLOY_COLOR: 'blue', REGION: 'eu-west-1' })
  const res = await fetch(url + '/?echo_env_body=DEPLOY_COLOR')
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
  assert.equal(await res.text(), 'blue')
  assert.equal(await (await fetch(url + '/', { headers: { 'x-echo-env-body': 'REGION' } })).text(), 'eu-west-1')
  for (const name of ['DATABASE_PASSWORD', 'PATH', 'NOT_SET', '__proto__', 'constructor']) {
    const r = await fetch(url + '/?echo_env_body=' + name)
    assert.equal(r.status, 400, name)
    const text = await r.text()
    assert.doesNotMatch(text, /hunter2/)
    assert.match(JSON.parse(text).message, /not an environment variable --echo-env allows/)
  }
})

test('whoami: ?wait= takes a Go duration, capped by --max-delay', async (t) => {
  assert.equal(parseGoDuration('wait', '1m30s', 1e9), 90000)
  assert.equal(parseGoDuration('wait', '1.5s', 1e9), 1500)
  assert.equal(parseGoDuration('wait', '300us', 1e9), 1)
  assert.equal(parseGoDuration('wait', '2h', 5000), 5000)
  for (const bad of ['', '100', 'ms', '10 s', '1d', '5s-']) assert.throws(() => parseGoDuration('wait', bad, 1e9), /must be a duration like 100ms/, bad)
  const { url } = await startEcho(t, { maxDelay: 400 })
  let t0 = Date.now()
  assert.equal((await fetch(url + '/?wait=150ms')).status, 200)
  assert.ok(Date.now() - t0 >= 140)
  t0 = Date.now()
  await fetch(url + '/?wait=1m')
  const took = Date.now() - t0
  assert.ok(took >= 390 && took < 5000, `capped at --max-delay: ${took} ms`)
  const bad = await fetch(url + '/?wait=soon')
  assert.equal(bad.status, 400)
  assert.match((await getJson(bad)).message, /^invalid wait "soon": must be a duration/)
})

test('format=body returns the request body as it arrived, with its content type, sandboxed', async (t) => {
  const { url, port } = await startEcho(t)
  const form = 'a=1&b=%20x&c=%E2%9C%93'
  for (const init of [{ q: '?format=body', h: {} as Record<string, string> }, { q: '', h: { 'x-echo-format': 'body' } }, { q: '?response_body_only=true', h: {} }]) {
    const res = await fetch(url + '/hook' + init.q, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', ...init.h } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/x-www-form-urlencoded')
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(res.headers.get('content-security-policy'), 'sandbox')
    assert.equal(await res.text(), form)
  }
  // Compressed bodies come back compressed: the wire bytes a signature was computed over.
  const gz = gzipSync(Buffer.from('{"event":"push"}'))
  const raw = await rawRequest(port, Buffer.concat([Buffer.from(
    `POST /?format=body HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\nConnection: close\r\n\r\n`), gz]))
  assert.equal(raw.status, 200)
  assert.deepEqual(raw.headers.get('content-type'), ['application/json'])
  assert.equal(raw.headers.get('content-encoding'), undefined)
  assert.deepEqual(raw.body, gz)
  const empty = await fetch(url + '/?format=body')
  assert.equal(empty.headers.get('content-type'), 'application/octet-stream')
  assert.equal((await empty.arrayBuffer()).byteLength, 0)
  assert.equal((await fetch(url + '/?response_body_only=false')).headers.get('content-type'), 'application/json; charset=utf-8')
  const text = await fetch(url + '/', { headers: { 'x-echo-format': 'text' } })
  assert.match(await text.text(), /^GET \/ HTTP\/1\.1\r\n/)
  const bad = await fetch(url + '/', { headers: { 'x-echo-format': 'yaml' } })
  assert.equal(bad.status, 400)
  assert.match((await getJson(bad)).message, /^invalid x-echo-format "yaml": must be one of: json, /)
})

test('--no-controls turns the drop-in knobs off too', async (t) => {
  const { url } = await startEcho(t, { noControls: true, echoEnv: ['HOME'] })
  const res = await fetch(url + '/?x-set-response-status-code=401&wait=5s&echo_env_body=HOME&response_body_only=true', { headers: { 'x-echo-format': 'body' } })
  assert.equal(res.status, 200)
  const echo = await getJson(res)
  assert.equal(echo.query.wait, '5s')
})
