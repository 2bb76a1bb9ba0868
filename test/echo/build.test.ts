// buildEcho runs the trace, forwarded-certificate and JWT analyses only when one of their headers is present.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildEcho, echoAnalyses, serializeEcho } from '../../src/echo/build.ts'
import { resolveOptions } from '../../src/config/options.ts'
import { parseTrace } from '../../src/echo/trace.ts'
import type { RequestSnapshot } from '../../src/echo/types.ts'

function snapshot (pairs: [string, string][]): RequestSnapshot {
  const headers: Record<string, string> = {}
  for (const [name, value] of pairs) headers[name.toLowerCase()] = value
  return {
    method: 'GET',
    url: '/',
    httpVersion: '1.1',
    rawHeaders: pairs.flat(),
    headers,
    query: {},
    protocol: 'http',
    remote: { address: '127.0.0.1', port: 50000, family: 'IPv4' },
    ip: '127.0.0.1',
    body: null,
    tls: undefined,
    requestId: 'id',
    receivedAt: new Date()
  }
}

const server = { hostname: 'h', instance: 'h', version: '0' }
const NO_BODY = { body: null, bodyEncoding: 'none' as const }
const DEFAULTS = echoAnalyses(resolveOptions().jwtHeaders)

test('each tracing header alone is enough for the trace field, whatever else arrives', () => {
  const samples: [string, string][] = [
    ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['tracestate', 'congo=t61rcWkgMzE'],
    ['b3', '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1'],
    ['x-b3-traceid', '80f198ee56343ba864fe8b2a57d3eff7'],
    ['x-b3-spanid', 'e457b5a2e4d86bd1'],
    ['x-b3-parentspanid', '05e3ac9a4f6e3b90'],
    ['x-b3-sampled', '1'],
    ['x-b3-flags', '1'],
    ['x-request-id', 'abc-123'],
    ['x-amzn-trace-id', 'Root=1-5759e988-bd862e3fe1be46a994272793']
  ]
  for (const [name, value] of samples) {
    const pairs: [string, string][] = [['Host', 'example'], ['User-Agent', 'curl/8'], [name.toUpperCase(), value]]
    const echo = buildEcho(snapshot(pairs), NO_BODY, server, DEFAULTS)
    assert.ok(echo.trace !== undefined, name)
    assert.deepEqual(echo.trace, parseTrace(snapshot(pairs).headers), name)
  }
  assert.equal(buildEcho(snapshot([['Host', 'example'], ['Accept', '*/*']]), NO_BODY, server, DEFAULTS).trace, undefined)
})

test('a client-certificate header that holds no certificate adds nothing', () => {
  const echo = buildEcho(snapshot([['Host', 'example'], ['X-SSL-Client-Cert', 'not a certificate']]), NO_BODY, server, DEFAULTS)
  assert.equal(echo.proxy, undefined)
})

test('a header both traced and named in --jwt-headers gets both analyses; names are matched in any case, once each', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const token = `${b64({ alg: 'HS256' })}.${b64({ sub: 'u' })}.c2ln`
  const echo = buildEcho(snapshot([['Host', 'example'], ['X-Request-Id', token]]), NO_BODY, server, echoAnalyses(['X-Request-ID', 'x-request-id']))
  assert.equal(echo.trace?.requestId, token)
  assert.deepEqual(echo.jwts?.map(j => [j.source, j.payload.sub]), [['x-request-id', 'u']])
  assert.equal(echo.jwt, echo.jwts?.[0])
  const none = buildEcho(snapshot([['Host', 'example'], ['Authorization', `Bearer ${token}`]]), NO_BODY, server, echoAnalyses([]))
  assert.equal(none.jwt, undefined)
  assert.equal(none.jwts, undefined)
})

// serializeEcho reuses the JSON of the shared proxy analysis and the server identity: every echo must still
// come out exactly as JSON.stringify writes it, and the echo object must come back untouched.
test('serializeEcho writes exactly what JSON.stringify writes, first time and reused', () => {
  const forwarded: [string, string][] = [['Host', 'example'], ['X-Forwarded-For', '203.0.113.7, 10.0.0.1'], ['Via', '1.1 gw']]
  const cases: RequestSnapshot[] = [
    snapshot([['Host', 'example']]),
    snapshot(forwarded),
    snapshot(forwarded), // the same proxy headers: the remembered analysis and its JSON
    { ...snapshot(forwarded), remote: { address: '10.9.9.9', port: 1, family: 'IPv4' } },
    { ...snapshot([['Host', 'example'], ['Cookie', 'a=1']]), requestId: 'quote " backslash \\ newline \n' },
    { ...snapshot([['Host', 'example']]), requestId: 'lone \ud800 surrogate, tab \t' }
  ]
  for (const identity of [server, { hostname: 'other', instance: 'replica-2', version: '1' }]) {
    for (const snap of cases) {
      const echo = buildEcho(snap, { body: { nested: ['x', 1] }, bodyEncoding: 'json' }, identity, DEFAULTS)
      const before = { ...echo }
      const expected = JSON.stringify(echo)
      assert.equal(serializeEcho(echo), expected)
      assert.equal(serializeEcho(echo), expected, 'the second time, from what was remembered')
      assert.deepEqual(echo, before)
      assert.deepEqual(Object.keys(echo), Object.keys(before), 'field order kept')
    }
  }
})

test('serializeEcho gives the echo back whole even when serialising it throws', () => {
  const echo = buildEcho(snapshot([['Host', 'example'], ['X-Forwarded-For', '203.0.113.7']]), { body: { n: 1n }, bodyEncoding: 'json' }, server, DEFAULTS)
  const proxy = echo.proxy
  assert.throws(() => serializeEcho(echo), TypeError)
  assert.equal(echo.proxy, proxy)
  assert.equal(echo.server, server)
  assert.equal(echo.requestId, 'id')
  assert.equal(typeof echo.receivedAt, 'string')
})
