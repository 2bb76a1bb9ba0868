// The echo's rate limit in memory, over real sockets: 429 with the JSON error and RateLimit headers, keys by
// address or header, the allow list, system paths exempt, WebSocket upgrades and unroutable targets limited.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { rawRequest, startEcho } from '../helper.ts'
import { addressKey, parseAllowList } from '../../src/plugins/rate-limit.ts'

interface Res { status: number, headers: IncomingHttpHeaders, body: string }

/** One request from a chosen loopback source address (Linux routes all of 127.0.0.0/8 to lo). */
function send (port: number, path = '/', opts: { method?: string, headers?: Record<string, string>, from?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.from, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', d => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(opts.method === 'POST' ? '{"a":1}' : undefined)
  })
}

/** A counter's value from /metrics. */
async function metric (port: number, name: string): Promise<number> {
  const text = (await send(port, '/metrics')).body
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)
  assert.ok(m !== null, `${name} not in /metrics`)
  return Number(m[1])
}

async function statuses (port: number, n: number, path = '/', opts: Parameters<typeof send>[2] = {}): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await send(port, path, opts)).status)
  return out
}

test('over --rate-limit-max the echo answers 429 with the JSON error, Retry-After and RateLimit headers', async (t) => {
  // By default the served echoes carry no RateLimit headers; only the 429 does.
  const quiet = await startEcho(t, { rateLimitMax: 1, rateLimitAllow: [] })
  const served = await send(quiet.port, '/orders')
  assert.equal(served.status, 200)
  for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit']) {
    assert.equal(served.headers[name], undefined, name)
  }
  const refused = await send(quiet.port, '/orders')
  assert.equal(refused.status, 429)
  assert.equal(refused.headers['x-ratelimit-limit'], '1')
  assert.equal(refused.headers['x-ratelimit-remaining'], '0')
  assert.equal(refused.headers['ratelimit-policy'], '"echo";q=1;w=60')

  // --rate-limit-headers: every counted echo carries them, counting down.
  const { port } = await startEcho(t, { rateLimitMax: 3, rateLimitWindow: 60000, rateLimitAllow: [], rateLimitHeaders: true })
  const remaining: string[] = []
  for (const method of ['GET', 'POST', 'PUT']) {
    const res = await send(port, '/orders', { method })
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-ratelimit-limit'], '3')
    assert.equal(res.headers['ratelimit-policy'], '"echo";q=3;w=60')
    remaining.push(String(res.headers['x-ratelimit-remaining']))
    assert.match(String(res.headers.ratelimit), new RegExp(`^"echo";r=${res.headers['x-ratelimit-remaining']};t=\\d+$`))
  }
  assert.deepEqual(remaining, ['2', '1', '0'])

  const over = await send(port, '/orders?x=1', { method: 'POST' })
  assert.equal(over.status, 429)
  assert.match(String(over.headers['content-type']), /^application\/json/)
  const body = JSON.parse(over.body)
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message', 'statusCode'])
  assert.equal(body.statusCode, 429)
  assert.equal(body.error, 'Too Many Requests')
  assert.match(body.message, /^rate limit exceeded: more than 3 requests per 60 s from one client; retry in \d+ s$/)
  const retryAfter = Number(over.headers['retry-after'])
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${over.headers['retry-after']}`)
  assert.equal(over.headers['x-ratelimit-remaining'], '0')
  assert.equal(over.headers['x-ratelimit-reset'], String(retryAfter))
  assert.equal(over.headers.ratelimit, `"echo";r=0;t=${retryAfter}`)
  assert.ok(over.headers['x-request-id'])
  // It stays refused, and each refusal is counted.
  assert.deepEqual(await statuses(port, 2, '/x'), [429, 429])
  assert.equal(await metric(port, 'echoscope_rate_limited_total'), 3)
})

test('the window ends: after Retry-After the client is served again', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 1, rateLimitWindow: 2000, rateLimitAllow: [], rateLimitHeaders: true })
  assert.equal((await send(port)).status, 200)
  const refused = await send(port)
  assert.equal(refused.status, 429)
  const retryAfter = Number(refused.headers['retry-after'])
  assert.ok(retryAfter >= 1 && retryAfter <= 2)
  await sleep(retryAfter * 1000 + 100)
  const again = await send(port)
  assert.equal(again.status, 200)
  assert.equal(again.headers['x-ratelimit-remaining'], '0', 'a new window, counted from this request')
})

test('clients are counted apart: another address, or another client behind a trusted proxy', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 2, rateLimitAllow: [] })
  assert.deepEqual(await statuses(port, 3, '/', { from: '127.0.0.1' }), [200, 200, 429])
  assert.deepEqual(await statuses(port, 3, '/', { from: '127.0.0.2' }), [200, 200, 429])

  // Keyed by request.ip after --trust-proxy: each forwarded client has its own budget; untrusted, XFF is ignored.
  const proxied = await startEcho(t, { rateLimitMax: 2, rateLimitAllow: [], trustProxy: 'loopback' })
  const xff = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  assert.deepEqual(await statuses(proxied.port, 3, '/', xff('203.0.113.7')), [200, 200, 429])
  assert.deepEqual(await statuses(proxied.port, 2, '/', xff('203.0.113.8')), [200, 200])
  const direct = await startEcho(t, { rateLimitMax: 2, rateLimitAllow: [] })
  assert.deepEqual([...await statuses(direct.port, 2, '/', xff('203.0.113.7')), ...await statuses(direct.port, 1, '/', xff('203.0.113.8'))], [200, 200, 429])
})

test('--rate-limit-allow: an address, a CIDR range, and the default (loopback, private networks)', async (t) => {
  const one = await startEcho(t, { rateLimitMax: 1, rateLimitAllow: ['127.0.0.2'], rateLimitHeaders: true })
  const allowed = await send(one.port, '/', { from: '127.0.0.2' })
  assert.equal(allowed.headers['x-ratelimit-limit'], undefined, 'an allowed client gets no RateLimit headers')
  assert.deepEqual(await statuses(one.port, 3, '/', { from: '127.0.0.2' }), [200, 200, 200])
  assert.deepEqual(await statuses(one.port, 2, '/', { from: '127.0.0.3' }), [200, 429])

  const range = await startEcho(t, { rateLimitMax: 1, rateLimitAllow: ['10.0.0.0/8', '127.0.0.0/30'] })
  assert.deepEqual(await statuses(range.port, 3, '/', { from: '127.0.0.3' }), [200, 200, 200])
  assert.deepEqual(await statuses(range.port, 2, '/', { from: '127.0.0.4' }), [200, 429])

  // A load test from this machine or the private network does not trip over the default limit.
  const defaults = await startEcho(t, { rateLimitMax: 1 })
  assert.deepEqual(await statuses(defaults.port, 3), [200, 200, 200])
})

test('--rate-limit-key header:x-api-key: each key has its own budget; no header falls back to the address', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 2, rateLimitKey: 'header:X-API-Key', rateLimitAllow: ['vip-key'] })
  const key = (k: string) => ({ headers: { 'x-api-key': k } })
  assert.deepEqual(await statuses(port, 3, '/', key('alpha')), [200, 200, 429])
  assert.deepEqual(await statuses(port, 3, '/', key('beta')), [200, 200, 429])
  assert.deepEqual(await statuses(port, 3, '/'), [200, 200, 429])
  assert.deepEqual(await statuses(port, 3, '/', key('vip-key')), [200, 200, 200])
  // A key that looks like an address is still a key: it cannot borrow the budget of that address.
  assert.deepEqual(await statuses(port, 1, '/', key('127.0.0.1')), [200])
})

test('system paths are never limited', async (t) => {
  for (const systemPrefix of ['', '/_']) {
    const { port } = await startEcho(t, { rateLimitMax: 1, rateLimitAllow: [], systemPrefix, rateLimitHeaders: true })
    assert.deepEqual(await statuses(port, 2, '/echo'), [200, 429])
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/', '/requests']) {
      const res = await send(port, systemPrefix + path)
      assert.equal(res.status, 200, systemPrefix + path)
      assert.equal(res.headers['x-ratelimit-limit'], undefined, systemPrefix + path)
      assert.deepEqual(await statuses(port, 3, systemPrefix + path), [200, 200, 200], systemPrefix + path)
    }
  }
})

test('a WebSocket upgrade over the limit gets the 429 instead of the upgrade', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 1, rateLimitAllow: [] })
  const first = new WebSocket(`ws://127.0.0.1:${port}/ws`)
  await new Promise((resolve, reject) => { first.once('open', resolve); first.once('error', reject) })
  first.close()

  const second = new WebSocket(`ws://127.0.0.1:${port}/any/path`)
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    second.once('unexpected-response', (_req, r) => resolve(r))
    second.once('open', () => reject(new Error('upgraded over the limit')))
    second.once('error', reject)
  })
  assert.equal(res.statusCode, 429)
  assert.ok(Number(res.headers['retry-after']) >= 1)
  let body = ''
  for await (const chunk of res) body += chunk
  assert.equal(JSON.parse(body).statusCode, 429)
  // Plain HTTP on the same client is over the limit too: one budget for both.
  assert.equal((await send(port, '/')).status, 429)
})

test('targets the router cannot match (absolute-form, undecodable) are limited like any echo', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 2, rateLimitAllow: [], rateLimitHeaders: true })
  const absolute = await rawRequest(port, 'GET http://example.test/a HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n')
  assert.equal(absolute.status, 200)
  assert.equal(absolute.headers.get('x-ratelimit-remaining')?.[0], '1')
  const bad = await rawRequest(port, 'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(bad.status, 200)
  assert.equal(bad.headers.get('x-ratelimit-remaining')?.[0], '0')
  for (const target of ['http://example.test/a', '/%zz', '/plain']) {
    const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    assert.equal(res.status, 429, target)
    assert.equal(JSON.parse(res.body.toString()).statusCode, 429)
  }
})

test('behind a trusted proxy the allow list and the key are those of the forwarded client, not the proxy', async (t) => {
  // Default allow list (loopback, private networks): the proxy itself is on loopback, its clients are not.
  const { port } = await startEcho(t, { rateLimitMax: 1, trustProxy: 'loopback', rateLimitHeaders: true })
  const xff = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  assert.deepEqual(await statuses(port, 2, '/', xff('198.51.100.7')), [200, 429])
  assert.deepEqual(await statuses(port, 2, '/', xff('2001:db8:1:2::7')), [200, 429])
  // Another address in the same /64 is the same client; mapped IPv4 is the IPv4 client.
  assert.deepEqual(await statuses(port, 1, '/', xff('2001:db8:1:2::8')), [429])
  assert.deepEqual(await statuses(port, 1, '/', xff('::ffff:198.51.100.7')), [429])
  const privateClient = await send(port, '/', xff('10.1.2.3, 198.51.100.7'))
  assert.equal(privateClient.status, 429, 'only the nearest untrusted hop counts')
  for (const ip of ['10.1.2.3', '::ffff:192.168.1.1', 'fd00::1']) {
    const res = await send(port, '/', xff(ip))
    assert.equal(res.status, 200, ip)
    assert.equal(res.headers['x-ratelimit-limit'], undefined, `${ip} is not counted`)
  }
  // The proxy's own requests (no X-Forwarded-For) are loopback: exempt.
  assert.deepEqual(await statuses(port, 3), [200, 200, 200])
})

test('a 429 outside the routes (absolute-form, undecodable target) carries the same headers and body as on a route', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 1, rateLimitAllow: [], rateLimitHeaders: true })
  // Under the limit, an absolute-form POST is echoed with its body, and with the RateLimit headers.
  const body = '{"order":42}'
  const served = await rawRequest(port, `POST http://example.test/orders HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  assert.equal(served.status, 200)
  assert.deepEqual(JSON.parse(served.body.toString()).body, { order: 42 })
  assert.equal(served.headers.get('ratelimit-policy')?.[0], '"echo";q=1;w=60')
  assert.match(served.headers.get('ratelimit')?.[0] ?? '', /^"echo";r=0;t=\d+$/)

  const routed = await send(port, '/orders')
  assert.equal(routed.status, 429)
  for (const target of ['http://example.test/orders', '*', '/%zz']) {
    const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    assert.equal(res.status, 429, target)
    assert.match(res.headers.get('content-type')?.[0] ?? '', /^application\/json/, target)
    const json = JSON.parse(res.body.toString())
    assert.deepEqual(Object.keys(json).sort(), ['error', 'message', 'statusCode'], target)
    assert.match(json.message, /^rate limit exceeded: more than 1 requests per 60 s from one client; retry in \d+ s$/, target)
    for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'ratelimit-policy']) {
      assert.equal(res.headers.get(name)?.[0], String(routed.headers[name]), `${target} ${name}`)
    }
    const retryAfter = res.headers.get('retry-after')?.[0]
    assert.ok(Number(retryAfter) >= 1, target)
    assert.equal(res.headers.get('x-ratelimit-reset')?.[0], retryAfter, target)
    assert.equal(res.headers.get('ratelimit')?.[0], `"echo";r=0;t=${retryAfter}`, target)
    assert.ok(res.headers.get('x-request-id')?.[0], target)
  }
  assert.equal(await metric(port, 'echoscope_rate_limited_total'), 4)
})

test('--rate-limit-max 0 registers no limiter at all', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 0, rateLimitAllow: [], rateLimitHeaders: true })
  const res = await send(port, '/')
  assert.equal(res.headers['x-ratelimit-limit'], undefined)
  assert.deepEqual(await statuses(port, 5), [200, 200, 200, 200, 200])
  assert.equal(await metric(port, 'echoscope_rate_limited_total'), 0)
})

test('addresses: IPv4 and IPv6 parsing, IPv4-mapped addresses, IPv6 keyed by /64, allow ranges', () => {
  const none = parseAllowList([])
  // Only strict addresses are addresses: anything else is a raw key, never read as some other address.
  for (const ip of ['10.1.2.3', '255.255.255.255']) assert.equal(addressKey(ip, none), 'ip:' + ip)
  for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '', '1234.1.1.1', '127.1', '010.1.1.1']) {
    assert.equal(addressKey(bad, none), 'ip:' + bad, bad)
    assert.notEqual(addressKey(bad, parseAllowList(['0.0.0.0/0', '::/0'])), null, bad)
  }
  assert.equal(addressKey('::', none), 'ip:0:0:0:0::/64')
  assert.equal(addressKey('2001:db8::1', none), 'ip:2001:db8:0:0::/64')
  assert.equal(addressKey('::ffff:10.0.0.1', none), 'ip:10.0.0.1')
  assert.equal(addressKey('::FFFF:a00:1', none), 'ip:10.0.0.1', 'a mapped address in any spelling')
  assert.equal(addressKey('64:ff9b::192.0.2.1', none), 'ip:64:ff9b:0:0::/64')
  assert.equal(addressKey('fe80::1%eth0', none), 'ip:fe80:0:0:0::/64', 'the zone is not part of the key')
  assert.equal(addressKey('1:2:3:4:5:6:7:8', none), 'ip:1:2:3:4::/64')
  for (const bad of ['1:2:3', '1::2::3', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', 'g::1', '12345::', '::1.2.3', 'localhost']) {
    assert.equal(addressKey(bad, none), 'ip:' + bad, bad)
  }

  assert.equal(addressKey('203.0.113.9', none), 'ip:203.0.113.9')
  assert.equal(addressKey('::ffff:203.0.113.9', none), 'ip:203.0.113.9', 'dual-stack sockets report IPv4 as mapped IPv6')
  assert.equal(addressKey('2001:db8:1:2:aaaa::1', none), 'ip:2001:db8:1:2::/64')
  assert.equal(addressKey('2001:db8:1:2:bbbb::9', none), addressKey('2001:db8:1:2:aaaa::1', none), 'one /64, one budget')
  assert.notEqual(addressKey('2001:db8:1:3::1', none), addressKey('2001:db8:1:2::1', none))
  assert.equal(addressKey('x'.repeat(1000), none), 'ip:' + 'x'.repeat(64), 'a non-address is cut short')

  const allow = parseAllowList(['loopback', 'uniquelocal', '198.51.100.0/24', '2001:db8:f::/48', '203.0.113.5', 'secret-token'])
  assert.deepEqual([...allow.values], ['secret-token'])
  for (const ip of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '10.2.3.4', '172.31.255.255', '192.168.0.1', 'fd00::5', '198.51.100.200', '2001:db8:f:ffff::1', '203.0.113.5']) {
    assert.equal(addressKey(ip, allow), null, ip)
  }
  for (const ip of ['172.32.0.1', '11.0.0.1', '198.51.101.1', '2001:db8:10::1', '203.0.113.6', '8.8.8.8', '2606:4700::1111']) {
    assert.notEqual(addressKey(ip, allow), null, ip)
  }
  const linkLocal = parseAllowList(['LinkLocal', 'constructor'])
  assert.deepEqual([...linkLocal.values], ['constructor'], 'group names in any case; any other word is a value')
  for (const ip of ['169.254.1.1', 'fe80::1%eth0', 'febf::1']) assert.equal(addressKey(ip, linkLocal), null, ip)
  for (const ip of ['169.255.0.1', 'fec0::1', '127.0.0.1']) assert.notEqual(addressKey(ip, linkLocal), null, ip)
  assert.equal(addressKey('0.0.0.1', parseAllowList(['0.0.0.0/0'])), null)
  assert.equal(addressKey('10.0.0.1', parseAllowList(['::ffff:10.0.0.0/104'])), null)
  // Mapped clients (a dual-stack listener) match IPv4 ranges, whichever way the range is written.
  for (const range of ['10.0.0.0/8', '::ffff:10.0.0.0/104', '::ffff:a00:0/104']) {
    const list = parseAllowList([range])
    assert.deepEqual([...list.values], [], range)
    for (const ip of ['10.1.2.3', '::ffff:10.1.2.3', '0:0:0:0:0:ffff:a01:203']) assert.equal(addressKey(ip, list), null, `${ip} in ${range}`)
    for (const ip of ['11.1.2.3', '::ffff:11.1.2.3', '::a01:203']) assert.notEqual(addressKey(ip, list), null, `${ip} not in ${range}`)
  }
  assert.deepEqual([...parseAllowList(['10.0.0.0/33', '1.2.3.4/x']).values], ['10.0.0.0/33', '1.2.3.4/x'], 'not ranges: taken as header values')
})
