// The request history: /requests, /requests/:id, /requests/stream, redaction, caps, sharing through Redis.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { getJson, startEcho, waitFor } from '../helper.ts'
import { startRedis } from '../redis.ts'

test('echo requests land in /requests, newest first, with filters', async (t) => {
  const { url } = await startEcho(t)
  await fetch(url + '/orders/1')
  await fetch(url + '/orders/2', { method: 'POST', body: 'x' })
  await fetch(url + '/users/7?echo_status=404')
  await fetch(url + '/healthz') // system paths are not recorded
  const all = (await getJson(fetch(url + '/requests'))).requests
  assert.deepEqual(all.map((r: any) => [r.method, r.path, r.statusCode]), [['GET', '/users/7', 404], ['POST', '/orders/2', 200], ['GET', '/orders/1', 200]])
  assert.equal(all[1].body, 'x')
  assert.ok(all[0].rawHeaders.length > 0)
  assert.equal(typeof all[0].server.instance, 'string')
  assert.deepEqual((await getJson(fetch(url + '/requests?path=/orders'))).requests.map((r: any) => r.path), ['/orders/2', '/orders/1'])
  assert.deepEqual((await getJson(fetch(url + '/requests?method=post'))).requests.map((r: any) => r.path), ['/orders/2'])
  assert.equal((await getJson(fetch(url + '/requests?limit=1'))).requests.length, 1)
  const since = all[1].receivedAt
  assert.deepEqual((await getJson(fetch(url + '/requests?since=' + encodeURIComponent(since)))).requests.map((r: any) => r.path), ['/users/7'])
  const bad = await fetch(url + '/requests?limit=zero')
  assert.equal(bad.status, 400)
  assert.match((await getJson(bad)).message, /invalid limit "zero"/)

  const one = await getJson(fetch(url + '/requests/' + all[2].requestId))
  assert.equal(one.path, '/orders/1')
  const missing = await fetch(url + '/requests/nope')
  assert.equal(missing.status, 404)
  assert.equal((await getJson(missing)).statusCode, 404)
})

test('the history keeps the last --history-size, redacts secrets, drops big bodies', async (t) => {
  const { url } = await startEcho(t, { historySize: 3, historyBodyLimit: 10 })
  const echo = await getJson(fetch(url + '/secret', { headers: { authorization: 'Bearer abc.def', cookie: 'sid=s3cr3t', 'x-api-key': 'k-123', 'x-ok': 'visible' } }))
  assert.equal(echo.headers.authorization, 'Bearer abc.def', 'the echo itself is not redacted')
  await fetch(url + '/big', { method: 'POST', body: 'y'.repeat(100) })
  const list = (await getJson(fetch(url + '/requests'))).requests
  const secret = list.find((r: any) => r.path === '/secret')
  assert.equal(secret.headers.authorization, '[redacted]')
  assert.equal(secret.headers.cookie, '[redacted]')
  assert.equal(secret.headers['x-api-key'], '[redacted]')
  assert.equal(secret.headers['x-ok'], 'visible')
  assert.deepEqual(secret.cookies, { sid: '[redacted]' })
  assert.ok(secret.rawHeaders.some(([n, v]: [string, string]) => n.toLowerCase() === 'authorization' && v === '[redacted]'))
  const text = JSON.stringify(list)
  assert.ok(!text.includes('s3cr3t') && !text.includes('abc.def') && !text.includes('k-123'))
  const big = list.find((r: any) => r.path === '/big')
  assert.equal(big.body, null)
  assert.equal(big.bodyTruncated, true)
  assert.equal(big.bodyBytes, 100)
  for (let i = 0; i < 5; i++) await fetch(url + '/n' + i)
  assert.deepEqual((await getJson(fetch(url + '/requests'))).requests.map((r: any) => r.path), ['/n4', '/n3', '/n2'])
})

test('a token\'s claims are hidden in the history when its header is redacted, shown when it is not', async (t) => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const jwtFor = (sub: string) => `${b64({ alg: 'HS256' })}.${b64({ sub })}.c2ln`
  const headers = { authorization: `Bearer ${jwtFor('client-secret-sub')}`, 'x-jwt-assertion': jwtFor('gateway-sub') }
  const byDefault = await startEcho(t)
  await fetch(byDefault.url + '/t', { headers })
  const [entry] = (await getJson(fetch(byDefault.url + '/requests'))).requests
  assert.deepEqual(entry.jwt.payload, { redacted: true })
  assert.deepEqual(entry.jwts.map((j: any) => [j.source, j.payload]), [['authorization', { redacted: true }], ['x-jwt-assertion', { sub: 'gateway-sub' }]])
  assert.ok(!JSON.stringify(entry).includes('client-secret-sub'))
  const strict = await startEcho(t, { redactHeaders: ['authorization', 'x-jwt-assertion'] })
  await fetch(strict.url + '/t', { headers })
  const [hidden] = (await getJson(fetch(strict.url + '/requests'))).requests
  assert.deepEqual(hidden.jwts.map((j: any) => [j.source, j.payload]), [['authorization', { redacted: true }], ['x-jwt-assertion', { redacted: true }]])
  assert.ok(!JSON.stringify(hidden).includes('gateway-sub'))
})

test('big bodies are not kept in memory by the history: heap stays flat after 30 bodies of 2 MB', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const { url } = await startEcho(t, { historySize: 100, bodyLimit: 4 * 1024 * 1024 })
  const body = 'z'.repeat(2 * 1024 * 1024)
  await (await fetch(url + '/warm', { method: 'POST', body, headers: { 'content-type': 'text/plain' } })).arrayBuffer()
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < 30; i++) await (await fetch(url + '/big' + i, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })).arrayBuffer()
  gc()
  const grown = process.memoryUsage().heapUsed - before
  assert.ok(grown < 16 * 1024 * 1024, `heap grew ${Math.round(grown / 1048576)} MB for 60 MB of bodies`)
  const entry = (await getJson(fetch(url + '/requests?limit=1'))).requests[0]
  assert.equal(entry.path, '/big29')
  assert.equal(entry.body, null)
  assert.equal(entry.bodyTruncated, true)
  assert.equal(entry.bodyBytes, 2 * 1024 * 1024)
})

function readEvents (url: string, onEvent: (name: string, data: any) => void): () => void {
  const req = httpRequest(url, res => {
    let buf = ''
    res.setEncoding('utf8')
    res.on('data', (d: string) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const name = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (name !== undefined && data !== undefined) onEvent(name, JSON.parse(data))
      }
    })
  })
  req.on('error', () => {})
  req.end()
  return () => req.destroy()
}

test('/requests/stream delivers new arrivals live, and does not hold up shutdown', async (t) => {
  const { url, app } = await startEcho(t)
  const seen: string[] = []
  const stop = readEvents(url + '/requests/stream', (name, data) => { if (name === 'request') seen.push(data.path) })
  t.after(stop)
  await new Promise(resolve => setTimeout(resolve, 100))
  await fetch(url + '/live/1')
  await fetch(url + '/live/2', { headers: { authorization: 'Bearer hidden' } })
  await waitFor(() => seen.length >= 2)
  assert.deepEqual(seen, ['/live/1', '/live/2'])
  const t0 = Date.now()
  await app.close()
  assert.ok(Date.now() - t0 < 3000, 'close did not wait for the open feed')
})

test('--history-size 0 turns it off: /requests is then an ordinary echo path', async (t) => {
  const { url } = await startEcho(t, { historySize: 0 })
  const echo = await getJson(fetch(url + '/requests'))
  assert.equal(echo.path, '/requests')
})

test('--admin-token protects /requests', async (t) => {
  const { url } = await startEcho(t, { adminToken: 't0ken' })
  assert.equal((await fetch(url + '/requests')).status, 401)
  assert.equal((await fetch(url + '/requests/stream')).status, 401)
  assert.equal((await fetch(url + '/requests', { headers: { authorization: 'Bearer t0ken' } })).status, 200)
})

test('with --redis-url replicas share one history and one live feed', async (t) => {
  const redis = await startRedis(t)
  const redisUrl = `redis://127.0.0.1:${redis.port}/0`
  const a = await startEcho(t, { redisUrl, instance: 'a', rateLimitMax: 0 })
  const b = await startEcho(t, { redisUrl, instance: 'b', rateLimitMax: 0 })
  await new Promise(resolve => setTimeout(resolve, 300)) // both connected and subscribed
  const seenOnA: string[] = []
  const stop = readEvents(a.url + '/requests/stream', (name, data) => { if (name === 'request') seenOnA.push(`${data.server.instance}${data.path}`) })
  t.after(stop)
  await new Promise(resolve => setTimeout(resolve, 200))
  await fetch(a.url + '/from-a')
  await fetch(b.url + '/from-b', { headers: { cookie: 'x=secret-cookie' } })
  await waitFor(() => seenOnA.length >= 2)
  assert.deepEqual(seenOnA.sort(), ['a/from-a', 'b/from-b'])
  const onA = (await getJson(fetch(a.url + '/requests'))).requests
  assert.deepEqual(onA.map((r: any) => `${r.server.instance}${r.path}`), ['b/from-b', 'a/from-a'])
  assert.ok(!JSON.stringify(onA).includes('secret-cookie'))
  const idFromB = onA[0].requestId
  assert.equal((await getJson(fetch(a.url + '/requests/' + idFromB))).path, '/from-b')
})
