// `echoscope test` through a real haproxy in front of two weighted echoscope replicas with an affinity
// cookie: request and response rules, haproxy's own 403, 404 and 503, the 3:1 split and the cookie holding
// a client on one replica; then the same routes with expectations haproxy does not meet.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, startEcho } from '../helper.ts'
import { startHaproxy } from '../gateways/haproxy.ts'

const GOOD = `cases:
  - name: orders API through haproxy's request and response rules
    request: { method: PUT, path: /api/orders?id=7, headers: { Authorization: Bearer t, X-Team: payments }, body: "line one\\nline two" }
    expect:
      upstream:
        method: PUT
        path: /orders
        query: { id: "7" }
        headers:
          authorization: absent
          host: orders.internal
          x-forwarded-for: 127.0.0.1
          x-request-id: "/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/"
          x-team: same
        body: same
        httpVersion: "1.1"
      response:
        status: 200
        headers: { strict-transport-security: max-age=63072000, set-cookie: "/^SRV=[ab]; path=\\\\//" }
      answeredBy: echoscope
  - name: the admin area is denied by haproxy itself
    request: { path: /admin/users }
    expect: { response: { status: 403, body: /403 Forbidden/ }, answeredBy: gateway }
  - name: an unknown route is haproxy's own 404
    request: { path: /elsewhere }
    expect: { response: { status: 404, body: "no route here\\n", headers: { content-type: text/plain } }, answeredBy: gateway }
  - name: a backend that is down is haproxy's 503
    request: { path: /down/x }
    expect: { response: { status: 5xx }, answeredBy: gateway }
  - name: the 3:1 split, and the cookie keeps a client on one replica
    request: { path: /api/orders }
    repeat: 8
    replicas: { exactly: 2, weights: { a: 3, b: 1 }, sticky: true }
`

const BAD = `cases:
  - name: an even split expected of a 3:1 backend
    request: { path: /api/orders }
    repeat: 8
    replicas: { weights: { a: 1, b: 1 } }
  - name: affinity expected where haproxy sets no cookie
    request: { path: /plain/orders }
    repeat: 4
    replicas: { sticky: true }
  - name: haproxy sends no Server header and keeps the client's auth off
    request: { path: /api/orders, headers: { authorization: Bearer t } }
    expect:
      upstream: { headers: { authorization: same } }
      response: { headers: { server: present, strict-transport-security: same } }
`

function config (port: number, a: number, b: number): string {
  return `defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  retries 0

frontend fe
  bind 127.0.0.1:${port}
  option forwardfor
  http-request deny deny_status 403 if { path_beg /admin/ }
  use_backend orders if { path_beg /api/ }
  use_backend plain if { path_beg /plain/ }
  use_backend down if { path_beg /down/ }
  http-request return status 404 content-type text/plain string "no route here\\n" unless { path_beg /api/ } || { path_beg /plain/ } || { path_beg /down/ }

backend orders
  balance roundrobin
  cookie SRV insert indirect nocache
  http-request replace-path ^/api/(.*) /\\1
  http-request set-header Host orders.internal
  http-request del-header Authorization
  http-request set-header X-Request-Id %[uuid()]
  http-response set-header Strict-Transport-Security max-age=63072000
  server a 127.0.0.1:${a} weight 3 cookie a
  server b 127.0.0.1:${b} weight 1 cookie b

backend plain
  balance roundrobin
  http-request replace-path ^/plain/(.*) /\\1
  server a 127.0.0.1:${a}
  server b 127.0.0.1:${b}

backend down
  server gone 127.0.0.1:1
`
}

test('through real haproxy: rules both ways, its own 403/404/503, a weighted split and affinity', async (t) => {
  const a = await startEcho(t, { instance: 'a' })
  const b = await startEcho(t, { instance: 'b' })
  const gw = await startHaproxy(t, port => config(port, a.port, b.port))
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-test-'))
  writeFileSync(join(dir, 'good.yaml'), GOOD)
  writeFileSync(join(dir, 'bad.yaml'), BAD)
  const junit = join(dir, 'report.xml')

  const good = await runCli(['test', join(dir, 'good.yaml'), '--gateway', gw.url, '--junit', junit], {}, 20000)
  assert.equal(good.code, 0, good.stdout + good.stderr)
  assert.match(good.stdout, /^✔ orders API through haproxy's request and response rules \(/m)
  assert.match(good.stdout, /^✔ the admin area is denied by haproxy itself \(/m)
  assert.match(good.stdout, /^✔ an unknown route is haproxy's own 404 \(/m)
  assert.match(good.stdout, /^✔ a backend that is down is haproxy's 503 \(/m)
  // Eight new clients split 6:2; eight more carrying the cookie of the first all reach its replica.
  assert.match(good.stdout, /^✔ the 3:1 split, and the cookie keeps a client on one replica \(.*answered by a 6, b 2; with cookie SRV: [ab] 8\)$/m)
  assert.match(good.stdout, /^5 cases: 5 passed, 0 failed in /m)
  assert.match(readFileSync(junit, 'utf8'), /<testsuite name="good.yaml" tests="5" failures="0" errors="0"/)

  const bad = await runCli(['test', join(dir, 'bad.yaml'), '--gateway', gw.url, '--json'], {}, 20000)
  assert.equal(bad.code, 1, bad.stderr)
  const r = JSON.parse(bad.stdout)
  assert.deepEqual([r.passed, r.failed, r.errors], [0, 3, 0])
  const [split, sticky, rules] = r.cases
  assert.deepEqual(split.answered, { a: 6, b: 2 })
  assert.deepEqual(split.unmet, [
    'expected a to answer about 50% of 8 requests, but it answered 75%',
    'expected b to answer about 50% of 8 requests, but it answered 25%'
  ])
  assert.deepEqual(split.weights.map((w: { instance: string, ok: boolean }) => [w.instance, w.ok]), [['a', false], ['b', false]])
  assert.deepEqual(sticky.answered, { a: 2, b: 2 })
  assert.deepEqual(sticky.unmet, ['expected the gateway to set an affinity cookie, but no response set one'])
  assert.deepEqual(rules.unmet, [
    'expected upstream header authorization as sent ("Bearer t"), but none arrived',
    'expected response header server to be present, but none arrived',
    'expected response header strict-transport-security as echoscope sent it (not sent), but it was "max-age=63072000"'
  ])
  // The diff names what haproxy did both ways.
  assert.equal(rules.diff.path.received, '/orders')
  assert.equal(rules.diff.response.headers.added['strict-transport-security'], 'max-age=63072000')

  // A tolerance wide enough lets the even split pass; the text report names the split.
  writeFileSync(join(dir, 'wide.yaml'), BAD.split('  - name: affinity')[0].replace('weights: { a: 1, b: 1 }', 'weights: { a: 1, b: 1 }, tolerance: 30'))
  const wide = await runCli(['test', join(dir, 'wide.yaml'), '--gateway', gw.url], {}, 20000)
  assert.equal(wide.code, 0, wide.stdout)
  assert.match(wide.stdout, /^✔ an even split expected of a 3:1 backend \(.*answered by a 6, b 2\)$/m)
})
