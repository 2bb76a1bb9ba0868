import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatHar } from '../../../src/echo/formats/har.ts'
import { formatText } from '../../../src/echo/formats/text.ts'
import { BINARY_BODY, JSON_BODY, makeFixture, XSS_ATTR, XSS_SCRIPT } from './fixture.ts'

test('a JSON POST becomes a HAR 1.2 request with every field in its shape', () => {
  const { echo, rawBody } = makeFixture('json')
  const har = formatHar(echo, rawBody)
  assert.equal(har.method, 'POST')
  assert.equal(har.url, 'http://api.example.test:8080/api/items?tag=a&tag=b&q=hello%20world&evil=%3Cscript%3E')
  assert.equal(har.httpVersion, 'HTTP/1.1')
  assert.deepEqual(har.headers, [
    { name: 'Host', value: 'api.example.test:8080' },
    { name: 'User-Agent', value: 'curl/8.5.0' },
    { name: 'accept', value: '*/*' },
    { name: 'X-Custom', value: 'one' },
    { name: 'x-custom', value: 'two' },
    { name: 'X-XSS', value: XSS_ATTR },
    { name: 'Cookie', value: 'session=abc123; theme=' + XSS_SCRIPT },
    { name: 'X-Forwarded-For', value: '203.0.113.7, 10.0.0.2' },
    { name: 'Content-Type', value: 'application/json' },
    { name: 'Content-Length', value: String(JSON_BODY.length) }
  ])
  assert.deepEqual(har.queryString, [
    { name: 'tag', value: 'a' },
    { name: 'tag', value: 'b' },
    { name: 'q', value: 'hello world' },
    { name: 'evil', value: '<script>' }
  ])
  assert.deepEqual(har.cookies, [{ name: 'session', value: 'abc123' }, { name: 'theme', value: XSS_SCRIPT }])
  assert.deepEqual(har.postData, { mimeType: 'application/json', text: JSON_BODY.toString() })
  assert.equal(har.bodySize, JSON_BODY.length)
})

test('headersSize counts the request line and headers through the blank line, as the text format shows them', () => {
  const { echo, rawBody } = makeFixture('json')
  const text = formatText(echo, rawBody)
  assert.equal(formatHar(echo, rawBody).headersSize, text.indexOf('\r\n\r\n') + 4)
})

test('HTTP/2 has no header block to measure: headersSize is -1', () => {
  const { echo, rawBody } = makeFixture('none', { httpVersion: '2.0' })
  const har = formatHar(echo, rawBody)
  assert.equal(har.headersSize, -1)
  assert.equal(har.httpVersion, 'HTTP/2.0')
})

test('a binary body is base64 with encoding "base64"', () => {
  const { echo, rawBody } = makeFixture('binary')
  const har = formatHar(echo, rawBody)
  assert.deepEqual(har.postData, {
    mimeType: 'application/octet-stream',
    text: BINARY_BODY.toString('base64'),
    encoding: 'base64'
  })
  assert.equal(har.bodySize, BINARY_BODY.length)
  assert.deepEqual(Buffer.from(har.postData.text, 'base64'), BINARY_BODY)
})

test('no body: no postData and bodySize 0', () => {
  const { echo, rawBody } = makeFixture('none')
  const har = formatHar(echo, rawBody)
  assert.equal('postData' in har, false)
  assert.equal(har.bodySize, 0)
})

test('a form body lists its params in order, repeats kept', () => {
  const body = Buffer.from('a=1&b=x+y&a=2')
  const { echo } = makeFixture('json', {
    bodyEncoding: 'form',
    headers: { host: 'h.test', 'content-type': 'application/x-www-form-urlencoded' }
  })
  const har = formatHar(echo, body)
  assert.deepEqual(har.postData, {
    mimeType: 'application/x-www-form-urlencoded',
    text: 'a=1&b=x+y&a=2',
    params: [{ name: 'a', value: '1' }, { name: 'b', value: 'x y' }, { name: 'a', value: '2' }]
  })
  assert.equal(har.url, 'http://h.test/api/items?tag=a&tag=b&q=hello%20world&evil=%3Cscript%3E')
})

test('a multipart body lists its fields and files as params', () => {
  const { echo } = makeFixture('json', {
    bodyEncoding: 'multipart',
    headers: { host: 'h.test', 'content-type': 'multipart/form-data; boundary=x' },
    body: {
      fields: { title: 'hi', tag: ['a', 'b'] },
      files: [{ field: 'upload', filename: 'a.png', type: 'image/png', size: 3, sha256: 'abc' }]
    }
  })
  const har = formatHar(echo, Buffer.from([0xff, 0x00]))
  assert.equal(har.postData?.encoding, 'base64')
  assert.deepEqual(har.postData?.params, [
    { name: 'title', value: 'hi' },
    { name: 'tag', value: 'a' },
    { name: 'tag', value: 'b' },
    { name: 'upload', fileName: 'a.png', contentType: 'image/png' }
  ])
})

test('a body without Content-Type is application/octet-stream', () => {
  const { echo } = makeFixture('none', { headers: { host: 'h.test' } })
  assert.equal(formatHar(echo, Buffer.from('hi')).postData?.mimeType, 'application/octet-stream')
})

test('cookies keep repeated names and raw values from every Cookie line', () => {
  const { echo } = makeFixture('none', {
    headers: { host: 'h.test', cookie: 'a=1; a=2; b="q%20"; c=3' },
    rawHeaders: [['Host', 'h.test'], ['Cookie', 'a=1; a=2'], ['cookie', 'b="q%20"; novalue; c=3']]
  })
  assert.deepEqual(formatHar(echo, null).cookies, [
    { name: 'a', value: '1' },
    { name: 'a', value: '2' },
    { name: 'b', value: '"q%20"' },
    { name: 'c', value: '3' }
  ])
})

test('url: absolute-form targets are kept, HTTP/2 uses :authority, https is reflected', () => {
  const proxied = makeFixture('none', { url: 'http://other.test/x?y=1' }).echo
  assert.equal(formatHar(proxied, null).url, 'http://other.test/x?y=1')
  const h2 = makeFixture('none', { protocol: 'https', httpVersion: '2.0', url: '/p', headers: { ':authority': 'h2.test' } }).echo
  assert.equal(formatHar(h2, null).url, 'https://h2.test/p')
  assert.deepEqual(formatHar(h2, null).queryString, [])
})

test('survives a JSON round trip unchanged (plain data only)', () => {
  for (const kind of ['json', 'binary', 'none'] as const) {
    const { echo, rawBody } = makeFixture(kind)
    const har = formatHar(echo, rawBody)
    assert.deepEqual(JSON.parse(JSON.stringify(har)), har)
  }
})
