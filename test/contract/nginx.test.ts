// `echoscope test` through a real nginx in front of two echoscope replicas: a file of route contracts that
// holds, one whose every kind of expectation is unmet (each named with what was seen), JUnit and JSON output.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, startEcho } from '../helper.ts'
import { startNginx } from '../gateways/nginx.ts'

const GOOD = `# yaml-language-server: $schema=./echoscope-test.schema.json
defaults:
  headers: { x-team: payments }
cases:
  - name: orders API strips its prefix and drops the client's auth
    request: { method: POST, path: /api/orders?id=7, headers: { authorization: Bearer t }, json: { a: 1 } }
    expect:
      upstream:
        method: POST
        path: /orders
        query: { id: "7" }
        headers:
          authorization: absent
          x-gateway: present
          host: orders.internal
          x-request-id: /^[0-9a-f]{32}$/   # inside { } a regex with [ ] or { } needs quotes
          x-team: same
        body: same
        protocol: http
        httpVersion: "1.1"
      response:
        status: 2xx
        headers: { strict-transport-security: present, content-type: same, x-echoscope: "/^(a|b)$/" }
      answeredBy: echoscope
  - name: a route nginx does not know is its own 404
    request: { path: /nowhere }
    expect:
      response: { status: 404, body: /nginx/ }
      answeredBy: gateway
  - name: both replicas serve the orders API
    request: { path: /api/orders }
    repeat: 4
    replicas: { exactly: 2 }
    expect: { response: { status: [200, 204] } }
`

const BAD = `cases:
  - name: expectations nginx does not meet
    request: { path: /api/orders?id=7, headers: { authorization: Bearer t } }
    expect:
      upstream:
        path: /api/orders
        query: { id: "8", debug: present }
        headers: { authorization: same, x-gateway: absent }
        protocol: https
      response:
        status: 200-201
        headers: { server: absent, strict-transport-security: same }
  - name: a missing route expected to reach echoscope
    request: { path: /nowhere }
  - name: one replica only
    request: { path: /api/orders }
    repeat: 4
    replicas: { atMost: 1 }
`

test('through real nginx: route contracts that hold, ones that do not, JUnit and JSON', async (t) => {
  const a = await startEcho(t, { instance: 'a' })
  const b = await startEcho(t, { instance: 'b' })
  const gw = await startNginx(t, port => `
upstream echo { server 127.0.0.1:${a.port}; server 127.0.0.1:${b.port}; }
server {
  listen 127.0.0.1:${port};
  location /api/ {
    proxy_pass http://echo/;
    proxy_http_version 1.1;
    proxy_set_header Host orders.internal;
    proxy_set_header Authorization "";
    proxy_set_header X-Gateway nginx;
    proxy_set_header X-Request-Id $request_id;
    add_header Strict-Transport-Security "max-age=63072000" always;
  }
  location / { return 404; }
}
`)
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-test-'))
  writeFileSync(join(dir, 'good.yaml'), GOOD)
  writeFileSync(join(dir, 'bad.yaml'), BAD)

  const junit = join(dir, 'report.xml')
  const good = await runCli(['test', join(dir, 'good.yaml'), '--gateway', gw.url, '--junit', junit], {}, 20000)
  assert.equal(good.code, 0, good.stdout + good.stderr)
  assert.match(good.stdout, /^✔ orders API strips its prefix and drops the client's auth \(/m)
  assert.match(good.stdout, /^✔ a route nginx does not know is its own 404 \(/m)
  assert.match(good.stdout, /^✔ both replicas serve the orders API \(.*answered by [ab] 2, [ab] 2\)$/m)
  assert.match(good.stdout, /^3 cases: 3 passed, 0 failed in /m)
  const xml = readFileSync(junit, 'utf8')
  assert.match(xml, /<testsuite name="good.yaml" tests="3" failures="0" errors="0"/)
  assert.match(xml, /<testcase name="orders API strips its prefix and drops the client&apos;s auth|<testcase name="orders API strips its prefix and drops the client's auth/)

  const bad = await runCli(['test', join(dir, 'bad.yaml'), '--gateway', gw.url, '--junit', junit, '--concurrency', '1'], {}, 20000)
  assert.equal(bad.code, 1, bad.stderr)
  const out = bad.stdout
  for (const line of [
    'unmet: expected the upstream path = "/api/orders", but it was "/orders"',
    'unmet: expected upstream query id = "8", but it was "7"',
    'unmet: expected upstream query debug to be present, but none arrived',
    'unmet: expected upstream header authorization as sent ("Bearer t"), but none arrived',
    'unmet: expected upstream header x-gateway to be absent, but it was "nginx"',
    'unmet: expected the gateway to reach echoscope over https, but it came over http',
    'unmet: expected response header server to be absent, but it was "nginx/',
    'unmet: expected response header strict-transport-security as echoscope sent it (not sent), but it was "max-age=63072000"',
    'unmet: expected echoscope to answer, but the gateway answered 404 itself (no x-echoscope header)',
    'unmet: expected at most 1 instance(s) to answer, but 2 did ('
  ]) assert.ok(out.includes(line), `missing ${JSON.stringify(line)} in:\n${out}`)
  // The status matched (200 is in 200-201), so it is not reported; the diff of the gateway's changes follows.
  assert.doesNotMatch(out, /expected status/)
  assert.match(out, /^ {4}│ path {5}\/api\/orders → \/orders$/m)
  assert.match(out, /^ {4}│ {3}\+ x-gateway: nginx$/m)
  assert.match(out, /^ {4}│ GET .*\/nowhere → 404 made by the gateway/m)
  assert.match(out, /^3 cases: 0 passed, 3 failed in /m)
  const report = readFileSync(junit, 'utf8')
  assert.match(report, /<testsuite name="bad.yaml" tests="3" failures="3" errors="0"/)
  assert.match(report, /<failure message="expected the upstream path = &quot;\/api\/orders&quot;, but it was &quot;\/orders&quot;" type="unmet">/)

  const json = await runCli(['test', join(dir, 'bad.yaml'), '--gateway', gw.url, '--json'], {}, 20000)
  assert.equal(json.code, 1)
  const r = JSON.parse(json.stdout)
  assert.deepEqual([r.passed, r.failed, r.errors], [0, 3, 0])
  assert.equal(r.cases[0].diff.path.received, '/orders')
  assert.equal(r.cases[1].gateway.status, 404)
  assert.deepEqual(Object.values(r.cases[2].answered), [2, 2])
})

test('a case that cannot reach the gateway is an error (exit 2), the others still run', async (t) => {
  const echo = await startEcho(t)
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-test-'))
  const file = join(dir, 'mixed.yaml')
  writeFileSync(file, `gateway: ${echo.url}
cases:
  - name: direct
    expect: { response: { status: 200 } }
  - name: nothing listens there
    request: { url: "http://127.0.0.1:1/x" }
`)
  const r = await runCli(['test', file, '--json'], {}, 20000)
  assert.equal(r.code, 2)
  const d = JSON.parse(r.stdout)
  assert.equal(d.cases[0].status, 'passed')
  assert.equal(d.cases[1].status, 'error')
  assert.match(d.cases[1].error, /^cannot reach 127\.0\.0\.1:1: .*ECONNREFUSED/)
})
