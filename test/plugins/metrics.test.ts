// Prometheus metrics over real sockets: route-pattern labels that stay bounded, process metrics, the
// WebSocket counters, the admin token, --metrics-port and --metrics false.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request as httpRequest } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { freePort, getJson, rawRequest, startEcho } from '../helper.ts'
import { buildServer } from '../../src/server.ts'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** Prometheus text format → samples (comments skipped). */
function parseMetrics (text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m !== null, `unparseable metrics line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2]
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

async function scrape (url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await fetch(url, { headers })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parseMetrics(await res.text())
}

function value (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = samples.find(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return hit?.value
}

async function until<T> (fn: () => Promise<T | undefined>, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

const COUNT = 'http_request_duration_seconds_count'

const agent = new Agent({ keepAlive: true })

/** node:http rather than fetch, which turns a 407 into a network error. */
function status (port: number, path: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent }, res => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

test('request durations are labelled by route pattern, method and status, never by the raw path', async (t) => {
  const { url } = await startEcho(t)
  await fetch(`${url}/orders/7?x=1`)
  await fetch(`${url}/orders/8`)
  await fetch(`${url}/`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })
  await fetch(`${url}/x?echo_status=503`)
  await fetch(`${url}/healthz`)
  const samples = await scrape(`${url}/metrics`)
  assert.equal(value(samples, COUNT, { method: 'GET', route: '/*', status_code: '2xx' }), 2)
  assert.equal(value(samples, COUNT, { method: 'POST', route: '/', status_code: '2xx' }), 1)
  assert.equal(value(samples, COUNT, { method: 'GET', route: '/*', status_code: '5xx' }), 1)
  assert.equal(value(samples, COUNT, { method: 'GET', route: '/healthz', status_code: '2xx' }), 1)
  // Buckets, sum and count: the average latency is _sum / _count.
  assert.equal(value(samples, 'http_request_duration_seconds_bucket', { route: '/*', status_code: '2xx', le: '+Inf' }), 2)
  assert.ok((value(samples, 'http_request_duration_seconds_sum', { route: '/*', status_code: '2xx' }) ?? -1) >= 0)
  assert.ok(samples.every(s => !JSON.stringify(s.labels).includes('orders')), 'no raw path in any label')
})

test('durations are the real time to answer: a 300 ms delayed echo lands above 0.25 s, a plain one below', async (t) => {
  const { url } = await startEcho(t)
  await fetch(`${url}/slow?echo_delay=300`)
  await fetch(`${url}/fast`)
  const samples = await scrape(`${url}/metrics`)
  const labels = { method: 'GET', route: '/*', status_code: '2xx' }
  const bucket = (le: string) => value(samples, 'http_request_duration_seconds_bucket', { ...labels, le })
  assert.equal(value(samples, COUNT, labels), 2)
  assert.equal(bucket('0.25'), 1, 'only the fast one answered within 0.25 s')
  assert.equal(bucket('0.5'), 2, 'the delayed one within 0.5 s')
  const sum = value(samples, 'http_request_duration_seconds_sum', labels) ?? 0
  assert.ok(sum >= 0.3 && sum < 0.5, `sum of both durations: ${sum} s`)
})

test('label values stay few whatever paths, targets, methods and statuses clients send', async (t) => {
  const { url, port } = await startEcho(t)
  t.after(() => agent.destroy())
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'PURGE']
  for (let batch = 0; batch < 25; batch++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const n = batch * 20 + i
      const path = `/${Math.random().toString(36).slice(2)}/${n}/${'x'.repeat(n % 50)}`
      // Every status the controls allow: 200–599, most of them without a registered name.
      return status(port, `${path}?echo_status=${200 + (n % 400)}`, methods[n % methods.length])
    }))
  }
  // Targets the router cannot match or decode all share one label.
  for (const target of ['/%zz', '/a/%E0%A4%A', 'http://example.com/absolute', '*']) {
    const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    assert.equal(res.status, 200, target)
  }
  const series = (await scrape(`${url}/metrics`)).filter(s => s.name === COUNT)
  const routes = new Set(series.map(s => s.labels.route))
  assert.deepEqual([...routes].sort(), ['/', '/*', '__unmatched__'])
  const statuses = new Set(series.map(s => s.labels.status_code))
  // Status classes: clients choose any code from 200 to 599 with x-echo-status.
  assert.deepEqual([...statuses].sort(), ['2xx', '3xx', '4xx', '5xx'])
  assert.equal(series.reduce((n, s) => n + s.value, 0), 504)
  assert.ok(series.length < 60, `${series.length} series for 504 requests`)
  assert.equal(value(series, COUNT, { route: '__unmatched__' }), 2, '/%zz and the bad UTF-8 target')
})

test('process and Node.js metrics are exported', async (t) => {
  const { url } = await startEcho(t)
  const names = new Set((await scrape(`${url}/metrics`)).map(s => s.name))
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds',
    'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_version_info']) {
    assert.ok(names.has(name), name)
  }
})

test('WebSocket counters: connections, messages and bytes both ways, closes by code, limit hits', async (t) => {
  const { url, port } = await startEcho(t, { wsMaxConnections: 1 })
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const echoes: Buffer[] = []
  ws.on('message', (data: Buffer) => echoes.push(data))
  ws.send('hello')
  ws.send(Buffer.from([1, 2, 3]))
  ws.send('x'.repeat(100))
  await until(async () => echoes.length === 3 ? true : undefined, 'three echoes')

  // The second connection is refused by --ws-max-connections 1.
  const refused = new WebSocket(`ws://127.0.0.1:${port}/chat`)
  const status = await new Promise(resolve => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode)))
  assert.equal(status, 503)

  let samples = await scrape(`${url}/metrics`)
  const wsT = { transport: 'ws' }
  assert.equal(value(samples, 'echoscope_connections_open', wsT), 1)
  assert.equal(value(samples, 'echoscope_connections_accepted_total', wsT), 1)
  assert.equal(value(samples, 'echoscope_messages_received_total', wsT), 3)
  assert.equal(value(samples, 'echoscope_messages_sent_total', wsT), 3)
  assert.equal(value(samples, 'echoscope_received_bytes_total', wsT), 108)
  assert.equal(value(samples, 'echoscope_sent_bytes_total', wsT), 108)
  assert.equal(value(samples, 'echoscope_limit_hits_total', { transport: 'ws', limit: 'max-connections' }), 1)
  assert.equal(value(samples, 'echoscope_connections_open', { transport: 'tcp' }), 0)

  // Application close codes (chosen by the client) collapse to their range.
  ws.close(4321, 'bye')
  samples = await until(async () => {
    const s = await scrape(`${url}/metrics`)
    return value(s, 'echoscope_connections_open', wsT) === 0 ? s : undefined
  }, 'the close to be counted')
  assert.equal(value(samples, 'echoscope_connections_closed_total', { transport: 'ws', reason: '4xxx' }), 1)
  assert.equal(samples.filter(s => s.name === 'echoscope_connections_closed_total' && s.labels.reason === '4321').length, 0)
})

test('rate-limited requests are counted (the rate limiter feeds the metrics plugin)', async (t) => {
  const { url } = await startEcho(t, { rateLimitMax: 2, rateLimitAllow: [] })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/limited`)).status)
  assert.deepEqual(statuses, [200, 200, 429, 429])
  const samples = await scrape(`${url}/metrics`)
  assert.equal(value(samples, 'echoscope_rate_limited_total'), 2)
  assert.equal(value(samples, COUNT, { route: '/*', status_code: '4xx' }), 2)
  assert.equal(value(samples, 'echoscope_redis_errors_total'), 0)
})

test('each server has its own registry: two in one process count separately', async (t) => {
  const a = await startEcho(t)
  const b = await startEcho(t)
  for (let i = 0; i < 3; i++) await fetch(`${a.url}/only-a`)
  assert.equal(value(await scrape(`${a.url}/metrics`), COUNT, { route: '/*' }), 3)
  assert.equal(value(await scrape(`${b.url}/metrics`), COUNT, { route: '/*' }), undefined)
})

test('--admin-token: /metrics needs the bearer token; echo and health do not', async (t) => {
  const { url } = await startEcho(t, { adminToken: 's3cret-token' })
  const none = await fetch(`${url}/metrics`)
  assert.equal(none.status, 401)
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="echoscope"$/)
  assert.match(none.headers.get('content-type') ?? '', /^application\/json/)
  const body = await getJson(none)
  assert.equal(body.statusCode, 401)
  assert.equal(body.error, 'Unauthorized')
  assert.match(body.message, /Authorization: Bearer/)

  for (const authorization of ['Bearer wrong', 'Bearer s3cret-toke', 'Bearer s3cret-token2', 'Basic czNjcmV0LXRva2Vu', 's3cret-token', 'Bearer']) {
    const res = await fetch(`${url}/metrics`, { headers: { authorization } })
    assert.equal(res.status, 401, authorization)
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/)
  }
  for (const authorization of ['Bearer s3cret-token', 'bearer s3cret-token', 'BEARER  s3cret-token ']) {
    const res = await fetch(`${url}/metrics`, { headers: { authorization } })
    assert.equal(res.status, 200, authorization)
    assert.match(await res.text(), /http_request_duration_seconds/)
  }
  assert.equal((await fetch(`${url}/anything`)).status, 200)
  assert.equal((await fetch(`${url}/healthz`)).status, 200)
})

test('--system-prefix moves /metrics; the old path is an echo', async (t) => {
  const { url } = await startEcho(t, { systemPrefix: '/_' })
  assert.ok(value(await scrape(`${url}/_/metrics`), 'process_cpu_user_seconds_total') !== undefined)
  const echo = await getJson(fetch(`${url}/metrics`))
  assert.equal(echo.path, '/metrics')
})

test('--metrics-port: metrics on their own listener, /metrics on the main port is an echo', async (t) => {
  const metricsPort = await freePort()
  const { app, url } = await startEcho(t, { metricsPort, systemPrefix: '/_', adminToken: 'tok' })
  assert.equal(app.echoscope.metricsPort, metricsPort)
  await fetch(`${url}/seen?x=1`)

  for (const path of ['/metrics', '/_/metrics']) {
    const echo = await getJson(fetch(`${url}${path}`))
    assert.equal(echo.path, path, `${path} on the main port echoes`)
  }
  const m = `http://127.0.0.1:${metricsPort}`
  assert.equal((await fetch(`${m}/metrics`)).status, 401)
  for (const path of ['/metrics', '/_/metrics']) {
    const samples = await scrape(`${m}${path}`, { authorization: 'Bearer tok' })
    // Requests to the main port are counted; those to the metrics listener are not mixed in.
    assert.equal(value(samples, COUNT, { method: 'GET', route: '/*', status_code: '2xx' }), 3)
  }
  assert.equal((await fetch(`${m}/elsewhere`)).status, 404)

  await app.close()
  await assert.rejects(fetch(`${m}/metrics`), 'the metrics listener closes with the app')
})

test('--metrics-port already in use: startup fails with one line naming the option', async (t) => {
  const blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  t.after(() => blocker.close())
  const { port } = blocker.address() as AddressInfo
  const app = await buildServer({ logLevel: 'silent', metricsPort: port })
  t.after(() => app.close())
  await assert.rejects(app.listen({ port: 0, host: '127.0.0.1' }),
    { message: `cannot listen for metrics on 127.0.0.1:${port}: address already in use (--metrics-port)` })
})

test('--metrics false: no /metrics, it is an echo path like any other', async (t) => {
  const { url } = await startEcho(t, { metrics: false })
  const echo = await getJson(fetch(`${url}/metrics`))
  assert.equal(echo.path, '/metrics')
  assert.equal(echo.method, 'GET')
  // The rate limiter still counts into the (no-op) metrics API without failing.
  const limited = await startEcho(t, { metrics: false, rateLimitMax: 1, rateLimitAllow: [] })
  assert.equal((await fetch(`${limited.url}/metrics`)).status, 200)
  assert.equal((await fetch(`${limited.url}/metrics`)).status, 429)
})

/** The buckets operations.md promises, as Prometheus writes their `le` labels. */
const BUCKETS = ['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '+Inf']

test('the exposition: every bucket, cumulative, with _sum and _count, per route, method and status class', async (t) => {
  const { url, port } = await startEcho(t)
  t.after(() => agent.destroy())
  const sent: Array<[string, string, string, number]> = [
    // path, method, route label, status
    ['/a?echo_status=200', 'GET', '/*', 200], ['/b?echo_status=204', 'GET', '/*', 204], ['/c?echo_status=302', 'GET', '/*', 302],
    ['/d?echo_status=404', 'GET', '/*', 404], ['/e?echo_status=418', 'GET', '/*', 418], ['/f?echo_status=500', 'GET', '/*', 500],
    ['/?echo_status=201', 'POST', '/', 201], ['/?echo_status=503', 'PUT', '/', 503], ['/healthz', 'GET', '/healthz', 200]
  ]
  for (const [path, method, , expected] of sent) assert.equal(await status(port, path, method), expected, path)
  const undecodable = await rawRequest(port, 'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(undecodable.status, 200)
  const want = new Map<string, number>()
  for (const [, method, route, code] of [...sent, ['', 'GET', '__unmatched__', 200] as const]) {
    const key = JSON.stringify({ method, route, status_code: `${String(code)[0]}xx` })
    want.set(key, (want.get(key) ?? 0) + 1)
  }
  const samples = (await scrape(`${url}/metrics`)).filter(s => s.name.startsWith('http_request_duration_seconds'))
  const counts = samples.filter(s => s.name === COUNT)
  assert.deepEqual(new Map(counts.map(s => [JSON.stringify({ method: s.labels.method, route: s.labels.route, status_code: s.labels.status_code }), s.value])), want)
  for (const c of counts) {
    const buckets = samples.filter(s => s.name === 'http_request_duration_seconds_bucket' &&
      s.labels.method === c.labels.method && s.labels.route === c.labels.route && s.labels.status_code === c.labels.status_code)
    assert.deepEqual(buckets.map(b => b.labels.le), BUCKETS, JSON.stringify(c.labels))
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative')
    assert.equal(buckets.at(-1)?.value, c.value, '+Inf is the count')
    // Echoes without a delay answer within a second.
    assert.equal(buckets[BUCKETS.indexOf('1')].value, c.value)
    const sum = value(samples, 'http_request_duration_seconds_sum', c.labels) ?? -1
    assert.ok(sum > 0 && sum < c.value, `sum ${sum} s for ${c.value} requests`)
  }
})

test('a target the router cannot decode is timed once, under the unmatched route label', async (t) => {
  const { url, port } = await startEcho(t)
  const res = await rawRequest(port, 'GET /%zz?echo_delay=300 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(res.status, 200)
  const samples = await scrape(`${url}/metrics`)
  const labels = { method: 'GET', route: '__unmatched__', status_code: '2xx' }
  assert.equal(value(samples, COUNT, labels), 1)
  assert.equal(samples.filter(s => s.name === COUNT && s.labels.route === '__unmatched__').length, 1)
  // Its real duration (the 300 ms delay), not zero.
  assert.equal(value(samples, 'http_request_duration_seconds_bucket', { ...labels, le: '0.25' }), 0)
  assert.equal(value(samples, 'http_request_duration_seconds_bucket', { ...labels, le: '0.5' }), 1)
})
