import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatText } from '../../../src/echo/formats/text.ts'
import { BINARY_BODY, JSON_BODY, makeFixture, XSS_ATTR, XSS_SCRIPT } from './fixture.ts'

test('reconstructs the request line and every header in wire order, case and duplicates kept, CRLF', () => {
  const { echo, rawBody } = makeFixture('json')
  assert.equal(formatText(echo, rawBody),
    'POST /api/items?tag=a&tag=b&q=hello%20world&evil=%3Cscript%3E HTTP/1.1\r\n' +
    'Host: api.example.test:8080\r\n' +
    'User-Agent: curl/8.5.0\r\n' +
    'accept: */*\r\n' +
    'X-Custom: one\r\n' +
    'x-custom: two\r\n' +
    'X-XSS: ' + XSS_ATTR + '\r\n' +
    'Cookie: session=abc123; theme=' + XSS_SCRIPT + '\r\n' +
    'X-Forwarded-For: 203.0.113.7, 10.0.0.2\r\n' +
    'Content-Type: application/json\r\n' +
    'Content-Length: ' + JSON_BODY.length + '\r\n' +
    '\r\n' +
    '{"name":"<script>alert(1)</script>","tags":["a","b"],"n":1}')
})

test('a request without a body ends at the blank line', () => {
  const { echo, rawBody } = makeFixture('none')
  const text = formatText(echo, rawBody)
  assert.ok(text.startsWith('GET /api/items?'))
  assert.ok(text.endsWith('X-Forwarded-For: 203.0.113.7, 10.0.0.2\r\n\r\n'))
})

test('a body that is not UTF-8 becomes a note with size and digest, then base64', () => {
  const { echo, rawBody } = makeFixture('binary')
  const text = formatText(echo, rawBody)
  const body = text.slice(text.indexOf('\r\n\r\n') + 4)
  assert.equal(body,
    `[binary body: ${BINARY_BODY.length} bytes, sha256 ${echo.bodySha256}, shown as base64]\r\n` +
    BINARY_BODY.toString('base64'))
})

test('a UTF-8 body is shown byte for byte, multi-byte characters and line breaks included', () => {
  const raw = Buffer.from('héllo ✓\nline two\r\n', 'utf8')
  const { echo } = makeFixture('json')
  const text = formatText(echo, raw)
  assert.ok(text.endsWith('\r\n\r\nhéllo ✓\nline two\r\n'))
})

test('shows the HTTP version that arrived', () => {
  const { echo, rawBody } = makeFixture('none', { httpVersion: '1.0' })
  assert.ok(formatText(echo, rawBody).startsWith('GET /api/items?tag=a&tag=b&q=hello%20world&evil=%3Cscript%3E HTTP/1.0\r\n'))
})
