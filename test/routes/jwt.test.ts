// --jwt-headers over real sockets: which headers' JWTs reach `jwt` and `jwts`, from the CLI, the environment,
// buildServer and the embedded plugin, in every format.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import echoscope from '../../src/index.ts'
import { getJson, rawRequest, spawnServer, startEcho } from '../helper.ts'

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwtFor = (sub: string, claims: object = {}) => `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64({ sub, ...claims })}.c2ln`

test('a token in x-jwt-assertion is reported with the header it came from, in jwt and jwts', async (t) => {
  const { url } = await startEcho(t)
  const exp = Math.floor(Date.now() / 1000) + 3600
  const echo = await getJson(fetch(url + '/api', { headers: { 'X-JWT-Assertion': jwtFor('svc-orders', { exp }) } }))
  assert.deepEqual(echo.jwts, [{
    source: 'x-jwt-assertion',
    header: { alg: 'RS256', typ: 'JWT', kid: 'k1' },
    payload: { sub: 'svc-orders', exp },
    verified: false,
    expiresAt: new Date(exp * 1000).toISOString(),
    expired: false
  }])
  assert.deepEqual(echo.jwt, echo.jwts[0])
})

test('Authorization and cf-access-jwt-assertion: both in jwts in --jwt-headers order, jwt is the Authorization one', async (t) => {
  const { port } = await startEcho(t)
  // Cloudflare's header first on the wire: the order of --jwt-headers decides, not the order of arrival.
  const res = await rawRequest(port,
    'GET /app HTTP/1.1\r\nHost: x\r\n' +
    `Cf-Access-Jwt-Assertion: ${jwtFor('edge-user')}\r\n` +
    `Authorization: Bearer ${jwtFor('client-user')}\r\n` +
    'Connection: close\r\n\r\n')
  assert.equal(res.status, 200)
  const echo = JSON.parse(res.body.toString())
  assert.deepEqual(echo.jwts.map((j: any) => [j.source, j.payload.sub, j.verified]),
    [['authorization', 'client-user', false], ['cf-access-jwt-assertion', 'edge-user', false]])
  assert.equal(echo.jwt.source, 'authorization')
  assert.equal(echo.jwt.payload.sub, 'client-user')
})

test('a header that arrives twice has each of its values decoded', async (t) => {
  const { port } = await startEcho(t)
  const res = await rawRequest(port,
    'GET / HTTP/1.1\r\nHost: x\r\n' +
    `X-Forwarded-Access-Token: ${jwtFor('first')}\r\n` +
    `x-forwarded-access-token: Bearer ${jwtFor('second')}\r\n` +
    'Connection: close\r\n\r\n')
  const echo = JSON.parse(res.body.toString())
  assert.deepEqual(echo.jwts.map((j: any) => [j.source, j.payload.sub]),
    [['x-forwarded-access-token', 'first'], ['x-forwarded-access-token', 'second']])
})

test('opaque and garbage values are ignored without an error; a good token beside them still shows', async (t) => {
  const { url } = await startEcho(t)
  const headers = {
    authorization: 'Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a',
    'x-jwt-assertion': 'abc.def.ghi',
    'cf-access-jwt-assertion': '....',
    'x-amzn-oidc-data': 'not a token at all',
    'x-auth-request-access-token': '%%%.***.!!!'
  }
  const res = await fetch(url + '/opaque', { headers })
  assert.equal(res.status, 200)
  const echo = await getJson(res)
  assert.equal('jwt' in echo, false)
  assert.equal('jwts' in echo, false)
  assert.equal(echo.headers['x-jwt-assertion'], 'abc.def.ghi', 'the header itself is echoed as sent')
  const mixed = await getJson(fetch(url + '/mixed', { headers: { ...headers, 'x-amzn-oidc-data': jwtFor('alb-user') } }))
  assert.deepEqual(mixed.jwts.map((j: any) => [j.source, j.payload.sub]), [['x-amzn-oidc-data', 'alb-user']])
  assert.equal(mixed.jwt.source, 'x-amzn-oidc-data')
})

test('--jwt-headers x-custom decodes only x-custom: Authorization is left alone', async (t) => {
  const { child, port } = await spawnServer(['--jwt-headers', 'X-Custom'])
  t.after(() => { child.kill('SIGKILL') })
  const echo = await getJson(fetch(`http://127.0.0.1:${port}/`, {
    headers: { authorization: `Bearer ${jwtFor('client')}`, 'x-jwt-assertion': jwtFor('gateway'), 'x-custom': jwtFor('custom') }
  }))
  assert.deepEqual(echo.jwts.map((j: any) => [j.source, j.payload.sub]), [['x-custom', 'custom']])
  assert.equal(echo.jwt.source, 'x-custom')
})

test('an empty --jwt-headers decodes no token, from the environment and in code', async (t) => {
  const headers = { authorization: `Bearer ${jwtFor('client')}`, 'x-jwt-assertion': jwtFor('gateway') }
  const { child, port } = await spawnServer([], { ECHOSCOPE_JWT_HEADERS: '' })
  t.after(() => { child.kill('SIGKILL') })
  const fromEnv = await getJson(fetch(`http://127.0.0.1:${port}/`, { headers }))
  assert.equal(fromEnv.jwt, undefined)
  assert.equal(fromEnv.jwts, undefined)
  assert.equal(fromEnv.headers.authorization, headers.authorization)
  const { url } = await startEcho(t, { jwtHeaders: [] })
  const inCode = await getJson(fetch(url, { headers }))
  assert.equal(inCode.jwt, undefined)
  assert.equal(inCode.jwts, undefined)
})

test('the embedded plugin takes jwtHeaders like any other option', async (t) => {
  const host = Fastify()
  await host.register(echoscope, { prefix: '/debug', jwtHeaders: ['x-user-token'] })
  await host.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => host.close())
  const base = `http://127.0.0.1:${(host.server.address() as { port: number }).port}`
  const echo = await getJson(fetch(base + '/debug/me', { headers: { 'x-user-token': jwtFor('embedded'), authorization: `Bearer ${jwtFor('client')}` } }))
  assert.deepEqual(echo.jwts.map((j: any) => [j.source, j.payload.sub]), [['x-user-token', 'embedded']])
})

test('the HTML page shows each token under its header name, escaped; text, HAR and gateway-api still answer', async (t) => {
  const { url } = await startEcho(t, { jwtHeaders: ['authorization', 'x-jwt-assertion'] })
  const headers = { authorization: `Bearer ${jwtFor('<script>alert(1)</script>')}`, 'x-jwt-assertion': jwtFor('gateway') }
  const page = await fetch(url + '/page?format=html', { headers })
  assert.equal(page.status, 200)
  const html = await page.text()
  assert.ok(html.includes('<h2>JWTs (2)</h2>'))
  assert.ok(html.indexOf('<h3>from authorization</h3>') < html.indexOf('<h3>from x-jwt-assertion</h3>'))
  assert.ok(html.includes('&quot;sub&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;'))
  assert.ok(!html.includes('<script>'))
  assert.ok(html.includes('signatures not verified'))

  const text = await fetch(url + '/page?format=text', { headers })
  assert.equal(text.status, 200)
  assert.match(await text.text(), /^GET \/page\?format=text HTTP\/1\.1\r\n/)
  const har = await fetch(url + '/page?format=har', { headers })
  assert.equal(har.status, 200)
  assert.equal((await getJson(har)).method, 'GET')
  const gw = await fetch(url + '/page?format=gateway-api', { headers })
  assert.equal(gw.status, 200)
  assert.equal((await getJson(gw)).path, '/page?format=gateway-api')
})
