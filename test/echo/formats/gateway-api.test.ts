import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalHeaderKey, formatGatewayApi } from '../../../src/echo/formats/gateway-api.ts'
import { JSON_BODY, makeFixture, XSS_ATTR, XSS_SCRIPT } from './fixture.ts'
import type { Echo } from '../../../src/echo/types.ts'

const CTX = { namespace: 'gateway-conformance-infra', ingress: '', service: 'infra-backend-v1', pod: 'infra-backend-v1-abc' }

function roundTrip (echo: Echo, ctx: Parameters<typeof formatGatewayApi>[1] = CTX): any {
  return JSON.parse(JSON.stringify(formatGatewayApi(echo, ctx)))
}

test('has echo-basic\'s RequestAssertions fields in Go\'s order, with the context inline', () => {
  const { echo } = makeFixture('json')
  const out = roundTrip(echo, { ...CTX, httpPort: '3000' })
  assert.deepEqual(Object.keys(out),
    ['path', 'host', 'method', 'proto', 'headers', 'httpPort', 'namespace', 'ingress', 'service', 'pod', 'sni'])
  assert.equal(out.path, '/api/items?tag=a&tag=b&q=hello%20world&evil=%3Cscript%3E')
  assert.equal(out.host, 'api.example.test:8080')
  assert.equal(out.method, 'POST')
  assert.equal(out.proto, 'HTTP/1.1')
  assert.equal(out.httpPort, '3000')
  assert.equal(out.namespace, 'gateway-conformance-infra')
  assert.equal(out.ingress, '')
  assert.equal(out.service, 'infra-backend-v1')
  assert.equal(out.pod, 'infra-backend-v1-abc')
  assert.equal(out.sni, '')
  assert.equal('tls' in out, false)
})

test('headers: Go canonical names, values as lists in arrival order, Host removed, keys sorted', () => {
  const { echo } = makeFixture('json')
  const out = roundTrip(echo)
  assert.deepEqual(out.headers, {
    Accept: ['*/*'],
    'Content-Length': [String(JSON_BODY.length)],
    'Content-Type': ['application/json'],
    Cookie: ['session=abc123; theme=' + XSS_SCRIPT],
    'User-Agent': ['curl/8.5.0'],
    'X-Custom': ['one', 'two'],
    'X-Forwarded-For': ['203.0.113.7, 10.0.0.2'],
    'X-Xss': [XSS_ATTR]
  })
  assert.deepEqual(Object.keys(out.headers), Object.keys(out.headers).sort())
  assert.equal(out.httpPort, '')
})

test('canonicalHeaderKey matches textproto.CanonicalMIMEHeaderKey', () => {
  assert.equal(canonicalHeaderKey('x-forwarded-FOR'), 'X-Forwarded-For')
  assert.equal(canonicalHeaderKey('WWW-AUTHENTICATE'), 'Www-Authenticate')
  assert.equal(canonicalHeaderKey('x-1abc'), 'X-1abc')
  assert.equal(canonicalHeaderKey('a--b'), 'A--B')
  assert.equal(canonicalHeaderKey('x_custom_header'), 'X_custom_header')
  assert.equal(canonicalHeaderKey('bad name'), 'bad name') // Go leaves invalid names alone
})

test('net/http rewrites: Pragma: no-cache adds Cache-Control, chunked drops Transfer-Encoding and Content-Length', () => {
  const { echo } = makeFixture('none', {
    rawHeaders: [['host', 'h.test'], ['pragma', 'no-cache'], ['transfer-encoding', 'chunked'],
      ['content-length', '5'], ['trailer', 'x-checksum']]
  })
  assert.deepEqual(roundTrip(echo).headers, { 'Cache-Control': ['no-cache'], Pragma: ['no-cache'] })
  const withCc = makeFixture('none', { rawHeaders: [['Pragma', 'no-cache'], ['Cache-Control', 'max-age=0']] }).echo
  assert.deepEqual(roundTrip(withCc).headers, { 'Cache-Control': ['max-age=0'], Pragma: ['no-cache'] })
})

test('HTTP/1.0: Transfer-Encoding is ignored and dropped, Content-Length kept', () => {
  const { echo } = makeFixture('none', {
    httpVersion: '1.0',
    headers: {},
    rawHeaders: [['Transfer-Encoding', 'chunked'], ['Content-Length', '5']]
  })
  const out = roundTrip(echo)
  assert.deepEqual(out.headers, { 'Content-Length': ['5'] })
  assert.equal(out.proto, 'HTTP/1.0')
  assert.equal(out.host, '')
})

test('host: an absolute-form target wins over the Host header, like r.Host', () => {
  const { echo } = makeFixture('none', { url: 'http://user@proxied.test:81/x?y=1' })
  const out = roundTrip(echo)
  assert.equal(out.host, 'proxied.test:81')
  assert.equal(out.path, 'http://user@proxied.test:81/x?y=1')
})

test('HTTP/2: pseudo-headers skipped, host from :authority, Cookie fields merged, Expect dropped', () => {
  const { echo } = makeFixture('none', {
    httpVersion: '2.0',
    url: '/h2',
    headers: { ':authority': 'h2.test', cookie: 'a=1; b=2' },
    rawHeaders: [[':method', 'GET'], [':authority', 'h2.test'], [':scheme', 'https'], [':path', '/h2'],
      ['cookie', 'a=1'], ['cookie', 'b=2'], ['expect', '100-continue'], ['x-a', '1']]
  })
  const out = roundTrip(echo)
  assert.equal(out.proto, 'HTTP/2.0')
  assert.equal(out.host, 'h2.test')
  assert.deepEqual(out.headers, { Cookie: ['a=1; b=2'], 'X-A': ['1'] })
})

test('tls: echo-basic\'s TLSAssertions from the connection, sni from SNI', () => {
  const der = Buffer.from('not really a certificate but DER bytes all the same, long enough to wrap at sixty-four')
  const { echo } = makeFixture('none', {
    protocol: 'https',
    tls: {
      servername: 'secure.example.test',
      alpn: 'http/1.1',
      cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      version: 'TLSv1.2',
      clientCertificate: { subject: { CN: 'client' }, raw: der } as never
    }
  })
  const out = roundTrip(echo)
  assert.deepEqual(Object.keys(out).slice(-2), ['tls', 'sni'])
  assert.equal(out.sni, 'secure.example.test')
  const b64 = der.toString('base64')
  assert.deepEqual(out.tls, {
    version: 'TLSv1.2',
    peerCertificates: ['-----BEGIN CERTIFICATE-----\n' + b64.slice(0, 64) + '\n' + b64.slice(64) +
      '\n-----END CERTIFICATE-----\n'],
    serverName: 'secure.example.test',
    negotiatedProtocol: 'http/1.1',
    cipherSuite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'
  })
  assert.deepEqual(Object.keys(out.tls), ['version', 'peerCertificates', 'serverName', 'negotiatedProtocol', 'cipherSuite'])
})

test('tls: omitempty fields left out, Node\'s "TLSv1" named like Go', () => {
  const { echo } = makeFixture('none', {
    protocol: 'https',
    tls: { servername: null, alpn: null, cipher: 'TLS_AES_256_GCM_SHA384', version: 'TLSv1' }
  })
  const out = roundTrip(echo)
  assert.deepEqual(out.tls, { version: 'TLSv1.0', serverName: '', cipherSuite: 'TLS_AES_256_GCM_SHA384' })
  assert.equal(out.sni, '')
})

test('a header named __proto__ is an ordinary key', () => {
  const { echo } = makeFixture('none', { rawHeaders: [['__proto__', 'x']] })
  const out = formatGatewayApi(echo, CTX)
  assert.deepEqual(Object.keys(out.headers), ['__proto__'])
  assert.equal(JSON.stringify(out.headers), '{"__proto__":["x"]}')
})
