// --cors over real sockets: off by default (not a header, not even the module), `*` or an origin list on
// the echo only, preflights answered, every other OPTIONS still echoed, the system paths left alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import echoscope, { buildServer, ConfigError } from '../../src/index.ts'
import { getJson, rawRequest, runCli, startEcho } from '../helper.ts'

const APP = 'https://app.example.com'
const OTHER = 'https://other.example.net'

/** The Access-Control-* headers of a response, by lower-case name. */
function corsHeaders (res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')))
}

const vary = (res: Response) => (res.headers.get('vary') ?? '').split(',').map(s => s.trim().toLowerCase())

const preflight = (url: string, origin: string, method = 'PUT', headers = 'x-foo,content-type') =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } })

test('off by default: no Access-Control-* header with an Origin, and a preflight is echoed like any OPTIONS', async (t) => {
  const { url } = await startEcho(t)
  const get = await fetch(`${url}/a`, { headers: { origin: APP } })
  assert.equal(get.status, 200)
  assert.deepEqual(corsHeaders(get), {})
  assert.ok(!vary(get).includes('origin'))
  const options = await preflight(`${url}/a`, APP)
  assert.equal(options.status, 200)
  assert.deepEqual(corsHeaders(options), {})
  const echo = await getJson(options)
  assert.equal(echo.method, 'OPTIONS')
  assert.equal(echo.headers['access-control-request-method'], 'PUT')
})

test('off by default: @fastify/cors is not even loaded', async () => {
  const index = fileURLToPath(new URL('../../src/index.js', import.meta.url))
  // A process of its own: this one may have loaded the plugin for another test.
  const script = `
    import { createRequire } from 'node:module'
    const { buildServer } = await import(${JSON.stringify(index)})
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some(f => f.includes('@fastify/cors'))
    const off = await buildServer({ logLevel: 'silent' })
    await off.ready()
    const before = loaded()
    const on = await buildServer({ logLevel: 'silent', cors: ['*'] })
    await on.ready()
    console.log(JSON.stringify({ before, after: loaded() }))
    await off.close(); await on.close()`
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])
  assert.deepEqual(JSON.parse(stdout), { before: false, after: true })
})

test('--cors *: any origin may read the echo, without credentials', async (t) => {
  const { url } = await startEcho(t, { cors: ['*'] })
  for (const origin of [APP, OTHER]) {
    const res = await fetch(`${url}/orders/7`, { method: 'POST', headers: { origin }, body: 'hi' })
    assert.equal(res.status, 200)
    const h = corsHeaders(res)
    assert.equal(h['access-control-allow-origin'], '*')
    assert.equal(h['access-control-allow-credentials'], undefined)
    assert.deepEqual(h['access-control-expose-headers'].split(', '), ['x-request-id', 'x-echo-attempt'])
    assert.equal((await getJson(res)).body, 'hi')
  }
  // Not a cross-origin call (curl, a same-origin GET): nothing added but Vary, so caches keep them apart.
  const plain = await fetch(`${url}/orders/7`)
  assert.deepEqual(corsHeaders(plain), {})
  assert.ok(vary(plain).includes('origin'))
})

test('--cors with origins: a listed origin is reflected with credentials, any other gets no CORS header', async (t) => {
  const { url } = await startEcho(t, { cors: [APP, 'http://localhost:3000'] })
  const res = await fetch(`${url}/a?format=json`, { headers: { origin: APP, cookie: 'session=1' } })
  assert.equal(res.status, 200)
  const h = corsHeaders(res)
  assert.equal(h['access-control-allow-origin'], APP)
  assert.equal(h['access-control-allow-credentials'], 'true')
  assert.match(h['access-control-expose-headers'], /x-request-id/)
  assert.ok(vary(res).includes('origin'))
  assert.equal((await getJson(res)).cookies.session, '1')

  const second = await fetch(`${url}/a`, { headers: { origin: 'http://localhost:3000' } })
  assert.equal(corsHeaders(second)['access-control-allow-origin'], 'http://localhost:3000')

  for (const origin of [OTHER, `${APP}.attacker.example`, 'null']) {
    const foreign = await fetch(`${url}/a`, { headers: { origin } })
    assert.equal(foreign.status, 200, origin)
    assert.deepEqual(corsHeaders(foreign), {}, origin)
    assert.ok(vary(foreign).includes('origin'), origin)
    const foreignPreflight = await preflight(`${url}/a`, origin)
    assert.deepEqual(corsHeaders(foreignPreflight), {}, origin)
  }
})

test('a preflight gets 204 with the method and headers it asked for, then the request itself is echoed', async (t) => {
  const { url } = await startEcho(t, { cors: [APP] })
  for (const path of ['/', '/orders/7']) {
    const res = await preflight(url + path, APP)
    assert.equal(res.status, 204, path)
    assert.equal(await res.text(), '')
    const h = corsHeaders(res)
    assert.equal(h['access-control-allow-origin'], APP)
    assert.equal(h['access-control-allow-methods'], 'PUT')
    assert.equal(h['access-control-allow-headers'], 'x-foo,content-type')
    assert.equal(h['access-control-allow-credentials'], 'true')
    assert.equal(h['access-control-max-age'], '600')
    assert.ok(vary(res).includes('origin'))
    assert.ok(vary(res).includes('access-control-request-headers'))
  }
  // A method the echo does not answer is not claimed: the answer lists those it does.
  const odd = corsHeaders(await preflight(`${url}/a`, APP, 'BREW'))
  assert.ok(!odd['access-control-allow-methods'].split(', ').includes('BREW'))
  assert.ok(odd['access-control-allow-methods'].split(', ').includes('PROPFIND'))

  const put = await fetch(`${url}/orders/7`, { method: 'PUT', headers: { origin: APP, 'x-foo': 'bar', 'content-type': 'application/json' }, body: '{"a":1}' })
  assert.equal(put.status, 200)
  assert.equal(corsHeaders(put)['access-control-allow-origin'], APP)
  const echo = await getJson(put)
  assert.equal(echo.method, 'PUT')
  assert.equal(echo.headers['x-foo'], 'bar')
})

test('with --cors, an OPTIONS that is not a preflight is still echoed; each request, preflights too, counts once against the rate limit', async (t) => {
  const { port, url } = await startEcho(t, { cors: ['*'], rateLimitMax: 4, rateLimitAllow: [] })
  // What a gateway's health check or a curl -X OPTIONS sends: no Origin, or no Access-Control-Request-Method.
  const bare = await rawRequest(port, 'OPTIONS /svc/ping HTTP/1.1\r\nHost: x\r\nX-Probe: 1\r\nConnection: close\r\n\r\n')
  assert.equal(bare.status, 200)
  assert.equal(bare.headers.get('content-type')?.[0], 'application/json; charset=utf-8')
  const echo = JSON.parse(bare.body.toString())
  assert.equal(echo.method, 'OPTIONS')
  assert.equal(echo.path, '/svc/ping')
  assert.equal(echo.headers['x-probe'], '1')
  assert.ok(![...bare.headers.keys()].some(name => name.startsWith('access-control-')))

  const withOrigin = await fetch(`${url}/`, { method: 'OPTIONS', headers: { origin: APP } })
  assert.equal(withOrigin.status, 200)
  assert.equal(corsHeaders(withOrigin)['access-control-allow-origin'], '*')
  assert.equal((await getJson(withOrigin)).method, 'OPTIONS')

  // Two so far; a preflight and one more OPTIONS make the limit of 4, and the next is refused.
  assert.equal((await preflight(`${url}/a`, APP)).status, 204)
  assert.equal((await fetch(`${url}/a`, { method: 'OPTIONS' })).status, 200)
  assert.equal((await preflight(`${url}/a`, APP)).status, 429)
  assert.equal((await fetch(`${url}/a`, { method: 'OPTIONS' })).status, 429)
})

test('system paths get no CORS headers, and no preflight opens them', async (t) => {
  const { url } = await startEcho(t, { cors: ['*'] })
  for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/requests', '/inspect']) {
    const res = await fetch(url + path, { headers: { origin: APP } })
    assert.equal(res.status, 200, path)
    assert.deepEqual(corsHeaders(res), {}, path)
    await res.arrayBuffer()
  }
  // PUT /healthz forces the health answers: a page on another origin must not get to send it.
  for (const path of ['/healthz', '/%68ealthz', '/requests/abc']) {
    const res = await preflight(url + path, APP)
    assert.deepEqual(corsHeaders(res), {}, path)
    assert.notEqual(res.status, 204, path)
    await res.arrayBuffer()
  }
})

test('under --system-prefix, /healthz is an echo path like any other', async (t) => {
  const { url } = await startEcho(t, { cors: ['*'], systemPrefix: '/_' })
  const echoed = await fetch(`${url}/healthz`, { headers: { origin: APP } })
  assert.equal(corsHeaders(echoed)['access-control-allow-origin'], '*')
  assert.equal((await getJson(echoed)).path, '/healthz')
  const system = await fetch(`${url}/_/healthz`, { headers: { origin: APP } })
  assert.deepEqual(corsHeaders(system), {})
  assert.equal((await preflight(`${url}/_/healthz`, APP)).status, 200)
})

test('a bad --cors value stops start-up with one line naming the option', async () => {
  await assert.rejects(buildServer({ cors: ['https://app.example.com/'] }), (err: Error) =>
    err instanceof ConfigError && /^invalid option cors "https:\/\/app\.example\.com\/": must be \* alone/.test(err.message))
  const r = await runCli(['--cors', '*,https://app.example.com'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /^echoscope: invalid --cors "\*,https:\/\/app\.example\.com": must be \* alone[^\n]*\n$/)
  const e = await runCli([], { ECHOSCOPE_CORS: 'app.example.com' })
  assert.equal(e.code, 2)
  assert.match(e.stderr, /^echoscope: invalid ECHOSCOPE_CORS "app\.example\.com": must be[^\n]*\n$/)
})

test('the embedded plugin refuses cors rather than echo without the headers', async (t) => {
  const app = Fastify()
  t.after(() => app.close())
  await assert.rejects(async () => { await app.register(echoscope, { prefix: '/debug', cors: ['*'] }) },
    /invalid option cors: the embedded plugin adds no CORS headers; register @fastify\/cors in the host app/)
})
