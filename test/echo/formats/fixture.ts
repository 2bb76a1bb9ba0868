// A realistic, hostile echo shared by the format tests: duplicate headers in mixed case, a repeated query
// parameter, and XSS payloads in a header, a cookie, the query and the body.
import { createHash } from 'node:crypto'
import type { Echo } from '../../../src/echo/types.ts'

export const XSS_SCRIPT = '<script>alert(1)</script>'
export const XSS_ATTR = '"><img src=x onerror=alert(1)>'

export const JSON_BODY = Buffer.from(JSON.stringify({ name: XSS_SCRIPT, tags: ['a', 'b'], n: 1 }))
/** a PNG signature followed by bytes that are not UTF-8 */
export const BINARY_BODY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80])

export const URL_WITH_QUERY = '/api/items?tag=a&tag=b&q=hello%20world&evil=%3Cscript%3E'

export type BodyKind = 'json' | 'binary' | 'none'

function sha256 (buf: Buffer | null): string {
  return createHash('sha256').update(buf ?? Buffer.alloc(0)).digest('hex')
}

/** Raw header pairs as the wire had them; content headers follow the body kind. */
export function fixtureRawHeaders (body: BodyKind): [string, string][] {
  const raw: [string, string][] = [
    ['Host', 'api.example.test:8080'],
    ['User-Agent', 'curl/8.5.0'],
    ['accept', '*/*'],
    ['X-Custom', 'one'],
    ['x-custom', 'two'],
    ['X-XSS', XSS_ATTR],
    ['Cookie', 'session=abc123; theme=' + XSS_SCRIPT],
    ['X-Forwarded-For', '203.0.113.7, 10.0.0.2']
  ]
  if (body === 'json') raw.push(['Content-Type', 'application/json'], ['Content-Length', String(JSON_BODY.length)])
  if (body === 'binary') {
    raw.push(['content-type', 'application/octet-stream'], ['Content-Length', String(BINARY_BODY.length)])
  }
  return raw
}

/** Node's joined, lower-cased view of raw pairs (duplicates joined with ", ", cookie with "; "). */
export function joinHeaders (raw: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of raw) {
    const key = name.toLowerCase()
    const prev = out[key]
    if (prev === undefined) out[key] = value
    else out[key] = prev + (key === 'cookie' ? '; ' : ', ') + value
  }
  return out
}

export interface Fixture {
  echo: Echo
  rawBody: Buffer | null
}

export function makeFixture (body: BodyKind = 'json', overrides: Partial<Echo> = {}): Fixture {
  const rawBody = body === 'json' ? JSON_BODY : body === 'binary' ? BINARY_BODY : null
  const rawHeaders = fixtureRawHeaders(body)
  const echo: Echo = {
    method: body === 'none' ? 'GET' : 'POST',
    url: URL_WITH_QUERY,
    path: '/api/items',
    query: { tag: ['a', 'b'], q: 'hello world', evil: '<script>' },
    headers: joinHeaders(rawHeaders),
    rawHeaders,
    body: body === 'json' ? JSON.parse(JSON_BODY.toString()) : body === 'binary' ? BINARY_BODY.toString('base64') : null,
    bodyEncoding: body === 'json' ? 'json' : body === 'binary' ? 'base64' : 'none',
    bodyBytes: rawBody === null ? 0 : rawBody.length,
    bodySha256: sha256(rawBody),
    httpVersion: '1.1',
    protocol: 'http',
    remote: { address: '10.0.0.2', port: 54321, family: 'IPv4' },
    ip: '10.0.0.2',
    forwarded: { xForwardedFor: ['203.0.113.7', '10.0.0.2'] },
    cookies: { session: 'abc123', theme: XSS_SCRIPT },
    trace: { requestId: 'trace-' + XSS_SCRIPT },
    proxy: {
      hops: [
        { source: 'x-forwarded-for', address: '203.0.113.7' },
        { source: 'x-forwarded-for', address: '10.0.0.2' },
        { source: 'peer', address: '10.0.0.2' }
      ],
      gateways: [],
      warnings: ['left-most X-Forwarded-For 203.0.113.7 is client-controlled ' + XSS_ATTR]
    },
    server: { hostname: 'echo-7d9f', instance: 'i-1', version: '0.1.0' },
    requestId: 'req-1',
    receivedAt: '2025-01-02T03:04:05.000Z',
    ...overrides
  }
  return { echo, rawBody }
}
