// `echoscope probe` through Debian's real haproxy with known limits: its buffer (tune.bufsize less
// tune.maxrewrite) for the head, a header and the URL, its count of header lines (tune.http.maxhdr), a body
// limit from a deny rule, `timeout server`; haproxy streams responses and passes upgrades.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startEcho } from '../helper.ts'
import { startHaproxy } from '../gateways/haproxy.ts'

const KiB = 1024
const MiB = 1024 * KiB

const within = (found: number, expected: number, what: string) =>
  assert.ok(Math.abs(found - expected) <= expected * 0.1, `${what}: found ${found}, expected about ${expected}`)

test('through haproxy: its buffer, header-line count, body rule, server timeout, streaming, upgrades and versions', async (t) => {
  const echo = await startEcho(t, { bodyLimit: 16 * MiB, maxHeaderSize: 1 * MiB, maxDelay: 60000 })
  const gw = await startHaproxy(t, port => `global
  tune.bufsize 32768
  tune.maxrewrite 1024
  tune.http.maxhdr 50

defaults
  mode http
  timeout connect 2s
  timeout client 20s
  timeout server 2s
  timeout tunnel 20s

frontend fe
  bind 127.0.0.1:${port}
  http-request deny deny_status 413 if { req.hdr_val(content-length) gt 131072 }
  http-request replace-path ^/api/(.*) /\\1
  default_backend echo

backend echo
  server a 127.0.0.1:${echo.port}
`)
  const r = await runCli(['probe', `${gw.url}/api/`, '--json', '--max-time', '5s'], {}, 60000)
  assert.equal(r.code, 0, r.stderr)
  const p = JSON.parse(r.stdout)

  within(p.body.bytes, 128 * KiB, 'body')
  assert.deepEqual(p.body.refusedBy, { by: 'gateway', status: 413 })
  // A request's head must fit the buffer less the room kept for rewrites: 32768 - 1024 bytes.
  const head = 32768 - 1024
  within(p.headers.bytes, head, 'head')
  assert.deepEqual(p.headers.refusedBy, { by: 'gateway', status: 400 })
  within(p.header.bytes, head, 'one header')
  within(p.urlLength.bytes, head, 'URL')
  // tune.http.maxhdr counts every header line, found exactly.
  assert.deepEqual([p.headerLines.count, p.headerLines.refusedAt], [50, 51])
  assert.deepEqual(p.headerLines.refusedBy, { by: 'gateway', status: 400 })
  within(p.timeout.ms, 2000, 'timeout server')
  assert.deepEqual(p.timeout.refusedBy, { by: 'gateway', status: 504 })
  assert.equal(p.buffering.buffered, false, JSON.stringify(p.buffering))
  assert.equal(p.websocket.passes, true)
  assert.deepEqual(p.versions, { client: 'HTTP/1.1', upstream: { httpVersion: '1.1', protocol: 'http' } })

  const table = await runCli(['probe', `${gw.url}/api/`, '--only', 'lines'], {}, 30000)
  assert.equal(table.code, 0, table.stderr)
  assert.match(table.stdout, /^header lines +50 lines +passed at 50; 400 from the gateway at 51$/m)
})
