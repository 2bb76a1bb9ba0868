// x-echo-fail-times: the first N requests of a key fail (a status or a TCP reset), later ones are echoed, as
// retry and failover tests need. Counters are bounded in memory and shared through a real redis-server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { getJson, spawnServer, startEcho } from '../helper.ts'
import { startRedis } from '../redis.ts'
import { FAULT_KEYS_MAX } from '../../src/stores/faults.ts'

test('the first N requests of a key fail with 503 and say why, then the echo comes back', async (t) => {
  const s = await startEcho(t)
  const headers = { 'x-echo-fail-times': '2', 'x-echo-fail-key': 'checkout' }
  for (const attempt of [1, 2]) {
    const res = await fetch(s.url + '/pay', { headers })
    assert.equal(res.status, 503)
    assert.equal(res.headers.get('x-echo-attempt'), String(attempt))
    assert.deepEqual(await res.json(), {
      statusCode: 503,
      error: 'Service Unavailable',
      message: `attempt ${attempt} of 2 failing for fail key "checkout" (x-echo-fail-times)`,
      fault: { key: 'checkout', attempt, failTimes: 2 }
    })
  }
  const ok = await fetch(s.url + '/pay', { headers })
  assert.equal(ok.status, 200)
  assert.equal(ok.headers.get('x-echo-attempt'), '3')
  assert.equal((await getJson(ok)).path, '/pay')
})

test('x-echo-status is the failing status; the attempt that succeeds is a 200', async (t) => {
  const s = await startEcho(t)
  const url = s.url + '/x?echo_fail_times=1&echo_fail_key=k&echo_status=502'
  assert.equal((await fetch(url)).status, 502)
  assert.equal((await fetch(url)).status, 200)
})

test('keys are independent; without a key, method + path + client address is the key', async (t) => {
  const s = await startEcho(t)
  assert.equal((await fetch(s.url + '/a', { headers: { 'x-echo-fail-times': '1', 'x-echo-fail-key': 'one' } })).status, 503)
  assert.equal((await fetch(s.url + '/a', { headers: { 'x-echo-fail-times': '1', 'x-echo-fail-key': 'two' } })).status, 503)
  assert.equal((await fetch(s.url + '/a', { headers: { 'x-echo-fail-times': '1', 'x-echo-fail-key': 'one' } })).status, 200)
  // default key: the query is not part of it, the path and method are
  assert.equal((await fetch(s.url + '/b?echo_fail_times=1')).status, 503)
  assert.equal((await fetch(s.url + '/b?echo_fail_times=1&x=2')).status, 200)
  assert.equal((await fetch(s.url + '/c?echo_fail_times=1')).status, 503)
  assert.equal((await fetch(s.url + '/b?echo_fail_times=1', { method: 'POST' })).status, 503)
})

function get (port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end()
  })
}

test('reset mode: a real client gets ECONNRESET, then the echo once the count is spent', async (t) => {
  const s = await startEcho(t)
  const path = '/r?echo_fail_times=2&echo_fail_key=reset-k&echo_fail_mode=reset'
  for (let i = 0; i < 2; i++) await assert.rejects(get(s.port, path), { code: 'ECONNRESET' })
  assert.equal(await get(s.port, path), 200)
})

test('bad values get 400 naming the control', async (t) => {
  const s = await startEcho(t)
  const cases: [Record<string, string>, string][] = [
    [{ 'x-echo-fail-times': 'many' }, 'invalid x-echo-fail-times "many": must be a whole number of requests from 0 to 1000000'],
    [{ 'x-echo-fail-times': '1', 'x-echo-fail-mode': 'explode' }, 'invalid x-echo-fail-mode "explode": must be status or reset'],
    [{ 'x-echo-fail-key': 'k' }, 'invalid x-echo-fail-key "k": needs x-echo-fail-times (or echo_fail_times), the number of requests to fail']
  ]
  for (const [headers, message] of cases) {
    const res = await fetch(s.url + '/x', { headers })
    assert.equal(res.status, 400)
    assert.deepEqual(await res.json(), { statusCode: 400, code: 'ECHOSCOPE_INVALID_CONTROL', error: 'Bad Request', message })
  }
})

test('--no-controls: the fail controls are ignored', async (t) => {
  const s = await startEcho(t, { noControls: true })
  assert.equal((await fetch(s.url + '/x?echo_fail_times=3')).status, 200)
})

test(`counters stay in memory bounds: ${FAULT_KEYS_MAX} keys at most, the oldest forgotten first`, async (t) => {
  const s = await startEcho(t)
  const total = FAULT_KEYS_MAX + 500
  for (let i = 0; i < total; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, total - i) }, (_, j) =>
      fetch(`${s.url}/m?echo_fail_times=1&echo_fail_key=key-${i + j}`).then(r => r.arrayBuffer())))
  }
  // the newest key is still counted (fails no more), the first one was evicted (fails again)
  assert.equal((await fetch(`${s.url}/m?echo_fail_times=1&echo_fail_key=key-${total - 1}`)).status, 200)
  assert.equal((await fetch(`${s.url}/m?echo_fail_times=1&echo_fail_key=key-0`)).status, 503)
})

test('with --redis-url two servers share one fail budget', async (t) => {
  const redis = await startRedis(t)
  const a = await spawnServer(['--redis-url', redis.url])
  const b = await spawnServer(['--redis-url', redis.url])
  t.after(() => { a.child.kill(); b.child.kill() })
  const headers = { 'x-echo-fail-times': '3', 'x-echo-fail-key': 'shared' }
  const at = (port: number) => fetch(`http://127.0.0.1:${port}/svc`, { headers })
  const statuses = []
  for (const port of [a.port, b.port, a.port, b.port]) statuses.push((await at(port)).status)
  assert.deepEqual(statuses, [503, 503, 503, 200])
  assert.equal((await getJson(at(a.port))).path, '/svc')
})
