// /healthz and /readyz, and the answer an admin forces on them for load balancer failover tests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { getJson, startEcho, waitFor } from '../helper.ts'
import { startHaproxy } from '../gateways/haproxy.ts'

const TOKEN = 's3cret-admin'

function put (url: string, body: unknown, token: string | null = TOKEN) {
  return fetch(url + '/healthz', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body)
  })
}

test('PUT /healthz forces what /healthz and /readyz answer until DELETE /healthz', async (t) => {
  const { url } = await startEcho(t, { adminToken: TOKEN, instance: 'replica-a' })
  const set = await put(url, { status: 503 })
  assert.equal(set.status, 200)
  assert.deepEqual(await set.json(), { forced: true, status: 503, until: null, draining: false, instance: 'replica-a' })

  const h = await fetch(url + '/healthz')
  assert.equal(h.status, 503)
  // An error status has the error shape every error response has, saying who set it.
  const hb = await getJson(h)
  assert.deepEqual(Object.keys(hb).sort(), ['code', 'error', 'message', 'statusCode'])
  assert.equal(hb.code, 'ECHOSCOPE_HEALTH_FORCED')
  assert.equal(hb.error, 'Service Unavailable')
  assert.match(hb.message, /^forced to 503 by PUT \/healthz since \d{4}-\d\d-\d\dT[\d:.]+Z, until DELETE \/healthz$/)
  assert.equal((await fetch(url + '/readyz')).status, 503)
  // The echo itself is not affected: only the health answers are.
  assert.equal((await fetch(url + '/anything')).status, 200)

  const reset = await fetch(url + '/healthz', { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(reset.status, 200)
  assert.equal((await getJson(reset)).forced, false)
  assert.deepEqual(await getJson(fetch(url + '/healthz')), { status: 'ok' })
  assert.deepEqual(await getJson(fetch(url + '/readyz')), { status: 'ready' })
})

test('a forced answer with seconds resets by itself; any status 200–599 can be set', async (t) => {
  const { url } = await startEcho(t)
  // Without --admin-token the path is open, like the other admin paths.
  const set = await put(url, { status: 500, seconds: 1 }, null)
  assert.equal(set.status, 200)
  const state = await getJson(set)
  assert.ok(Date.parse(state.until) - Date.now() <= 1000 && Date.parse(state.until) - Date.now() > 0, state.until)
  const forced = await fetch(url + '/healthz')
  assert.equal(forced.status, 500)
  assert.match((await getJson(forced)).message, new RegExp(`until ${state.until.replace(/\./g, '\\.')}$`))
  await waitFor(async () => (await fetch(url + '/healthz')).status === 200, 5000)
  assert.deepEqual(await getJson(fetch(url + '/readyz')), { status: 'ready' })

  await put(url, { status: 200 }, null)
  const ok = await getJson(fetch(url + '/healthz'))
  assert.equal(ok.status, 'forced')
  assert.equal(ok.statusCode, 200)
  assert.equal(ok.until, null)
  await put(url, { status: 302 }, null)
  const moved = await fetch(url + '/readyz', { redirect: 'manual' })
  assert.equal(moved.status, 302)
  assert.equal((await getJson(moved)).status, 'forced')
  await put(url, { status: 429 }, null)
  const limited = await fetch(url + '/readyz')
  assert.equal(limited.status, 429)
  assert.equal((await getJson(limited)).error, 'Too Many Requests')
})

test('draining wins over a forced answer on /readyz', async (t) => {
  const { url, app } = await startEcho(t)
  await put(url, { status: 200 }, null)
  app.echoscope.state.draining = true
  const r = await fetch(url + '/readyz')
  assert.equal(r.status, 503)
  assert.equal((await getJson(r)).message, 'draining: shutting down')
})

test('PUT /healthz needs the admin token and a valid body, each refusal naming why', async (t) => {
  const { url } = await startEcho(t, { adminToken: TOKEN })
  const none = await put(url, { status: 503 }, null)
  assert.equal(none.status, 401)
  assert.match((await getJson(none)).message, /needs Authorization: Bearer/)
  assert.equal((await put(url, { status: 503 }, 'wrong')).status, 401)
  assert.equal((await fetch(url + '/healthz', { method: 'DELETE' })).status, 401)

  for (const [body, reason] of [
    [{ status: 99 }, /^invalid body\.status: must be >= 200$/],
    [{ status: 600 }, /^invalid body\.status: must be <= 599$/],
    [{ status: '503' }, /^invalid body\.status: must be integer$/],
    [{}, /^invalid body: must have required properties status$/],
    [{ status: 503, seconds: 0 }, /^invalid body\.seconds: must be >= 1$/],
    [{ status: 503, secs: 5 }, /^unknown field "secs" in the body: the fields are status and seconds$/]
  ] as const) {
    const r = await put(url, body)
    assert.equal(r.status, 400, JSON.stringify(body))
    assert.match((await getJson(r)).message, reason)
  }
  const notJson = await fetch(url + '/healthz', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: '503' + '}' })
  assert.equal(notJson.status, 400)
  assert.match((await getJson(notJson)).message, /must be JSON like \{"status": 503\}/)
  const big = await fetch(url + '/healthz', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ status: 503, pad: 'x'.repeat(5000) }) })
  assert.equal(big.status, 413)
  // Nothing was set by the refused requests.
  assert.deepEqual(await getJson(fetch(url + '/healthz')), { status: 'ok' })
})

test('through real haproxy: a replica forced to 503 leaves the pool, and comes back after DELETE', async (t) => {
  const a = await startEcho(t, { instance: 'replica-a' })
  const b = await startEcho(t, { instance: 'replica-b' })
  const gw = await startHaproxy(t, port => `
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port}
  default_backend echo
backend echo
  balance roundrobin
  option httpchk GET /healthz
  default-server check inter 100ms fall 1 rise 1
  server a 127.0.0.1:${a.port}
  server b 127.0.0.1:${b.port}
`)
  // Who answered each request, by the marker: haproxy's own 503 (no server up yet, or none left) has none.
  const answered = async (n: number) => {
    const seen = new Set<string>()
    for (let i = 0; i < n; i++) {
      const res = await fetch(gw.url + '/who')
      await res.arrayBuffer()
      seen.add(res.headers.get('x-echoscope') ?? `haproxy ${res.status}`)
    }
    return [...seen].sort()
  }
  await waitFor(async () => (await answered(4)).join() === 'replica-a,replica-b', 5000)

  assert.equal((await put(a.url, { status: 503 }, null)).status, 200)
  await waitFor(async () => (await answered(6)).join() === 'replica-b', 5000)
  assert.deepEqual(await answered(10), ['replica-b'])

  await fetch(a.url + '/healthz', { method: 'DELETE' })
  await waitFor(async () => (await answered(6)).join() === 'replica-a,replica-b', 5000)
})
