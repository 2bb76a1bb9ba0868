// `echoscope probe` through Debian's real nginx with known limits: each is found within 10%, refusals are
// named as nginx's, and a limit lower in echoscope than in nginx is named as echoscope's own with its flag.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startEcho } from '../helper.ts'
import { startNginx } from '../gateways/nginx.ts'

const KiB = 1024
const MiB = 1024 * KiB

function config (port: number, upstream: number, extra = ''): string {
  return `server {
  listen 127.0.0.1:${port};
  client_max_body_size 64k;
  large_client_header_buffers 4 8k;

  location /api/ {
    proxy_pass http://127.0.0.1:${upstream}/;
    proxy_http_version 1.1;
    proxy_read_timeout 2s;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $http_connection;
    proxy_buffering off;
  }

  location /buffered/ {
    proxy_pass http://127.0.0.1:${upstream}/;
    proxy_buffering on;
    proxy_buffer_size 16k;
    proxy_buffers 8 16k;
  }
${extra}}
`
}

const within = (found: number, expected: number, what: string) =>
  assert.ok(Math.abs(found - expected) <= expected * 0.1, `${what}: found ${found}, expected about ${expected}`)

async function probe (url: string, ...args: string[]) {
  const r = await runCli(['probe', url, '--json', ...args], {}, 30000)
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

test('through nginx: its body, header and URL limits, its read timeout, buffering, upgrades and versions', async (t) => {
  // echoscope's own limits above nginx's, so that nginx's are the ones found.
  const echo = await startEcho(t, { bodyLimit: 16 * MiB, maxHeaderSize: 1 * MiB, maxDelay: 60000 })
  const gw = await startNginx(t, port => config(port, echo.port))
  const base = `http://127.0.0.1:${gw.port}`

  await t.test('the body, head, header and URL limits', async () => {
    const p = await probe(base + '/api/', '--only', 'body,headers,header,lines,url,websocket')
    within(p.body.bytes, 64 * KiB, 'body')
    assert.deepEqual(p.body.refusedBy, { by: 'gateway', status: 413 })
    assert.equal(p.body.echoscopeLimit, undefined)
    // Four 8k buffers for the head; one line (request line or header) must fit one buffer.
    within(p.headers.bytes, 32 * KiB, 'head')
    assert.deepEqual(p.headers.refusedBy, { by: 'gateway', status: 400 })
    within(p.header.bytes, 8 * KiB, 'one header')
    assert.deepEqual(p.header.refusedBy, { by: 'gateway', status: 400 })
    // nginx counts bytes, not lines: the probe's cap is passed.
    assert.deepEqual([p.headerLines.count, p.headerLines.refusedAt], [1000, null])
    within(p.urlLength.bytes, 8 * KiB, 'URL')
    assert.deepEqual(p.urlLength.refusedBy, { by: 'gateway', status: 414 })
    assert.equal(p.websocket.passes, true)
    assert.deepEqual(p.versions, { client: 'HTTP/1.1', upstream: { httpVersion: '1.1', protocol: 'http' } })
    for (const k of ['body', 'headers', 'header', 'headerLines', 'urlLength']) assert.ok(p[k].requests <= 30, `${k}: ${p[k].requests} requests`)
  })

  await t.test('the upstream read timeout (proxy_read_timeout 2s) under --max-time 5s', async () => {
    const p = await probe(base + '/api/', '--only', 'timeout', '--max-time', '5s')
    within(p.timeout.ms, 2000, 'read timeout')
    assert.deepEqual(p.timeout.refusedBy, { by: 'gateway', status: 504 })
    assert.ok(p.timeout.requests <= 3)
  })

  await t.test('SSE: passed through with proxy_buffering off, held back with it on; nginx speaks HTTP/1.0 upstream by default', async () => {
    const [off, on] = await Promise.all([probe(base + '/api/', '--only', 'buffering'), probe(base + '/buffered/', '--only', 'buffering,websocket')])
    assert.equal(off.buffering.buffered, false, JSON.stringify(off.buffering))
    assert.equal(on.buffering.buffered, true, JSON.stringify(on.buffering))
    assert.equal(on.versions.upstream.httpVersion, '1.0')
    assert.equal(on.websocket.passes, false)
  })

  await t.test('the table names nginx as the refuser', async () => {
    const r = await runCli(['probe', base + '/api/', '--only', 'body'], {}, 30000)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /request body +64\.\d KiB \(\d+ bytes\) +passed at \d+; 413 from the gateway at \d+/)
  })
})

test('echoscope\'s own body limit below nginx\'s is named as echoscope\'s, with --body-limit', async (t) => {
  const echo = await startEcho(t, { bodyLimit: 16 * KiB, maxHeaderSize: 1 * MiB })
  const gw = await startNginx(t, port => config(port, echo.port))
  const p = await probe(`http://127.0.0.1:${gw.port}/api/`, '--only', 'body')
  within(p.body.bytes, 16 * KiB, 'body')
  assert.deepEqual(p.body.refusedBy, { by: 'echoscope', status: 413 })
  assert.equal(p.body.echoscopeLimit, '--body-limit')
  const r = await runCli(['probe', `http://127.0.0.1:${gw.port}/api/`, '--only', 'body'], {}, 30000)
  assert.match(r.stdout, /request body +16\.0 KiB \(16384 bytes\), echoscope's own limit +.*413 from echoscope itself.*raise --body-limit/)
})
