// The way back and who answered, through Debian's real nginx and haproxy: `echoscope diff` names what they did to
// echoscope's response, and reports their own answers (404, 413, 502, 503, 504) as made by the gateway.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { freePort, runCli, startEcho } from '../helper.ts'
import { startNginx } from './nginx.ts'
import { startHaproxy } from './haproxy.ts'

function config (port: number, upstream: string, closed: number): string {
  return `server {
  listen 127.0.0.1:${port};
  client_max_body_size 1k;

  location /api/ {
    proxy_pass http://${upstream}/;
    proxy_http_version 1.1;
    proxy_read_timeout 1s;
    add_header Strict-Transport-Security "max-age=63072000" always;
    proxy_hide_header X-Request-Id;
    proxy_cookie_domain internal.example shop.example;
    proxy_redirect http://upstream.internal/ http://shop.example/;
    gzip on;
    gzip_types application/json;
    gzip_min_length 1;
  }

  location /down/ {
    proxy_pass http://127.0.0.1:${closed}/;
  }

  location / {
    return 404;
  }
}
`
}

test('through real nginx: the way back and the gateway\'s own answers', async (t) => {
  const echo = await startEcho(t)
  const closed = await freePort()
  const gw = await startNginx(t, port => config(port, `127.0.0.1:${echo.port}`, closed))
  const base = `http://127.0.0.1:${gw.port}`
  const diff = async (path: string, ...args: string[]) => {
    const r = await runCli(['diff', base + path, '--json', ...args], {}, 15000)
    return { ...r, d: JSON.parse(r.stdout) }
  }

  await t.test('headers nginx adds, removes and rewrites on the response are named; its own date and framing are not', async () => {
    const cookie = encodeURIComponent('Set-Cookie: s=1; Domain=internal.example; Path=/')
    const { code, stderr, d } = await diff(`/api/orders?echo_header=${cookie}`)
    assert.equal(code, 0, stderr)
    assert.deepEqual(d.response.status, { sent: 200, received: 200 })
    assert.match(d.response.headers.added.server, /^nginx\//)
    assert.equal(d.response.headers.added['strict-transport-security'], 'max-age=63072000')
    assert.deepEqual(Object.keys(d.response.headers.added).sort(), ['server', 'strict-transport-security'])
    assert.deepEqual(Object.keys(d.response.headers.removed), ['x-request-id'])
    assert.deepEqual(d.response.headers.changed, {
      'set-cookie': { sent: 's=1; Domain=internal.example; Path=/', received: 's=1; Domain=shop.example; Path=/' }
    })
  })

  await t.test('a Location rewritten by proxy_redirect', async () => {
    const location = encodeURIComponent('Location: http://upstream.internal/next')
    const { code, d } = await diff(`/api/go?echo_status=302&echo_header=${location}`)
    assert.equal(code, 0)
    assert.deepEqual(d.response.status, { sent: 302, received: 302 })
    assert.deepEqual(d.response.headers.changed.location, { sent: 'http://upstream.internal/next', received: 'http://shop.example/next' })
  })

  await t.test('compression applied on the way back shows as content-encoding added, and the echo is still read', async () => {
    const { code, stderr, d } = await diff('/api/big', '-H', 'Accept-Encoding: gzip')
    assert.equal(code, 0, stderr)
    assert.equal(d.response.headers.added['content-encoding'], 'gzip')
    assert.equal(d.path.received, '/big')
  })

  const own = [
    { what: 'a route nginx does not pass on: its own 404', path: '/elsewhere', args: [], status: 404 },
    { what: 'a body over client_max_body_size: its own 413', path: '/api/upload', args: ['-d', 'x'.repeat(4096)], status: 413 },
    { what: 'an upstream that is down: its own 502', path: '/down/x', args: [], status: 502 },
    { what: 'an upstream slower than proxy_read_timeout: its own 504', path: '/api/slow?echo_delay=3000', args: [], status: 504 }
  ]
  for (const c of own) {
    await t.test(`${c.what}, reported as made by the gateway`, async () => {
      const { code, stderr, d } = await diff(c.path, ...c.args)
      assert.equal(code, 1)
      assert.equal(stderr, `unmet: the gateway answered ${c.status} itself; the request did not reach echoscope\n`)
      assert.equal(d.answeredBy, 'gateway')
      assert.equal(d.status, c.status)
      assert.match(d.headers.server, /^nginx\//)
      assert.equal(d.headers['x-echoscope'], undefined)
      assert.match(d.bodyStart, new RegExp(`<title>${c.status} `))
      const human = await runCli(['diff', base + c.path, ...c.args], {}, 15000)
      assert.match(human.stdout, new RegExp(`→ ${c.status} made by the gateway`))
      assert.match(human.stdout, /^ {2}server: nginx\//m)
      assert.match(human.stdout, new RegExp(`^body +\\d+ bytes: "<html> <head><title>${c.status} `, 'm'))
    })
  }
})

test('through real haproxy: response rules named on the way back, its own 503 and 504 reported as made by the gateway', async (t) => {
  const echo = await startEcho(t)
  const closed = await freePort()
  const gw = await startHaproxy(t, port => `
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 1s
frontend fe
  bind 127.0.0.1:${port}
  use_backend down if { path_beg /down/ }
  default_backend echo
backend echo
  http-response set-header Strict-Transport-Security "max-age=600"
  http-response del-header X-Request-Id
  http-response replace-header Set-Cookie (.*)Domain=internal.example(.*) \\1Domain=shop.example\\2
  server e 127.0.0.1:${echo.port}
backend down
  server d 127.0.0.1:${closed}
`)
  const base = `http://127.0.0.1:${gw.port}`
  const cookie = encodeURIComponent('Set-Cookie: s=1; Domain=internal.example')
  const ok = await runCli(['diff', `${base}/x?echo_header=${cookie}`, '--json'], {}, 15000)
  assert.equal(ok.code, 0, ok.stderr)
  const d = JSON.parse(ok.stdout)
  assert.deepEqual(d.response.headers.added, { 'strict-transport-security': 'max-age=600' })
  assert.deepEqual(Object.keys(d.response.headers.removed), ['x-request-id'])
  assert.deepEqual(d.response.headers.changed, { 'set-cookie': { sent: 's=1; Domain=internal.example', received: 's=1; Domain=shop.example' } })

  for (const [path, status] of [['/down/x', 503], ['/slow?echo_delay=3000', 504]] as const) {
    const r = await runCli(['diff', base + path, '--json'], {}, 15000)
    assert.equal(r.code, 1, r.stderr)
    const g = JSON.parse(r.stdout)
    assert.equal(g.answeredBy, 'gateway')
    assert.equal(g.status, status)
    assert.match(g.bodyStart, new RegExp(`<h1>${status} `))
  }
})
