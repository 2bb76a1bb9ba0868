// `echoscope diff --count`: which replicas answered through a real haproxy and nginx, the split against the
// weights they were given, and whether the gateway's affinity cookie keeps a client on one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startEcho } from '../helper.ts'
import { startHaproxy } from './haproxy.ts'
import { startNginx } from './nginx.ts'
import { startRedis } from '../redis.ts'

test('through real haproxy: a 3:1 split and an inserted affinity cookie', async (t) => {
  const a = await startEcho(t, { instance: 'a' })
  const b = await startEcho(t, { instance: 'b' })
  const gw = await startHaproxy(t, port => `
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port}
  default_backend echo
backend echo
  balance roundrobin
  cookie SRV insert indirect nocache
  server a 127.0.0.1:${a.port} weight 3 cookie a
  server b 127.0.0.1:${b.port} weight 1 cookie b
`)
  const url = gw.url + '/who'
  const ok = await runCli(['diff', url, '--count', '8', '--weights', 'a=3,b=1', '--expect-sticky', '--json'], {}, 20000)
  assert.equal(ok.code, 0, ok.stderr)
  const d = JSON.parse(ok.stdout)
  assert.deepEqual(d.replicas.answered, { a: 6, b: 2 })
  assert.deepEqual(d.replicas.weights.map((w: { instance: string, ok: boolean }) => [w.instance, w.ok]), [['a', true], ['b', true]])
  assert.match(d.replicas.sticky.cookie, /^SRV=[ab]$/)
  assert.equal(d.replicas.sticky.kept, true)
  assert.deepEqual(Object.values(d.replicas.sticky.answered), [8])
  // The way back names the cookie haproxy added.
  assert.match(d.response.headers.added['set-cookie'], /^SRV=[ab]; path=\//)

  const even = await runCli(['diff', url, '--count', '8', '--weights', 'a=1,b=1'], {}, 20000)
  assert.equal(even.code, 1)
  assert.match(even.stderr, /^unmet: expected a to answer about 50% of 8 requests, but it answered 75%$/m)
  assert.match(even.stdout, /^replicas 8 requests: a 6 \(75%\), b 2 \(25%\)$/m)
  assert.match(even.stdout, /^ {2}✘ a: expected 50%, seen 75%$/m)
  assert.match(even.stdout, /^sticky {3}cookie SRV: kept the client on one instance \([ab] 8\)$/m)
  // 25 points off is within a tolerance of 30.
  assert.equal((await runCli(['diff', url, '--count', '8', '--weights', 'a=1,b=1', '--tolerance', '30'], {}, 20000)).code, 0)
})

test('through real nginx: round robin without affinity, and --expect-sticky says so', async (t) => {
  const a = await startEcho(t, { instance: 'a' })
  const b = await startEcho(t, { instance: 'b' })
  const gw = await startNginx(t, port => `
upstream echo { server 127.0.0.1:${a.port}; server 127.0.0.1:${b.port}; }
server {
  listen 127.0.0.1:${port};
  location / { proxy_pass http://echo; }
}
`)
  const r = await runCli(['diff', gw.url + '/who', '--count', '6', '--expect-sticky', '--json'], {}, 20000)
  assert.equal(r.code, 1)
  const d = JSON.parse(r.stdout)
  assert.deepEqual(d.replicas.answered, { a: 3, b: 3 })
  assert.equal(d.replicas.sticky, undefined)
  assert.equal(r.stderr, 'unmet: expected the gateway to set an affinity cookie, but no response set one\n')

  const usage = await runCli(['diff', gw.url, '--weights', 'a=1'])
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /--weights and --expect-sticky need --count 2 or more/)
  const bad = await runCli(['diff', gw.url, '--count', '3', '--weights', 'a'])
  assert.match(bad.stderr, /invalid --weights "a": must be instance=weight pairs like a=3,b=1/)
})

test('through real nginx with a mirror: --history finds each request that arrived twice, on both replicas', async (t) => {
  const redis = await startRedis(t)
  const redisUrl = `redis://127.0.0.1:${redis.port}/0`
  const a = await startEcho(t, { instance: 'a', redisUrl })
  const b = await startEcho(t, { instance: 'b', redisUrl })
  const gw = await startNginx(t, port => `
server {
  listen 127.0.0.1:${port};
  location /mirrored/ {
    mirror /copy;
    proxy_pass http://127.0.0.1:${a.port};
  }
  location = /copy {
    internal;
    proxy_pass http://127.0.0.1:${b.port}$request_uri;
  }
  location /plain/ {
    proxy_pass http://127.0.0.1:${a.port};
  }
}
`)
  await new Promise(resolve => setTimeout(resolve, 300)) // both replicas connected to Redis
  const history = a.url + '/requests'
  const twice = await runCli(['diff', gw.url + '/mirrored/x', '--count', '3', '--history', history, '--expect-once', '--json'], {}, 20000)
  assert.equal(twice.code, 1)
  const d = JSON.parse(twice.stdout)
  assert.deepEqual(d.replicas.answered, { a: 3 })
  assert.equal(d.arrivals.requests, 3)
  assert.equal(d.arrivals.found, 3)
  assert.equal(d.arrivals.repeated.length, 3)
  for (const r of d.arrivals.repeated) {
    assert.equal(r.times, 2)
    assert.deepEqual([...r.instances].sort(), ['a', 'b'])
  }
  assert.match(twice.stderr, /^unmet: expected each request to arrive once, but [0-9a-f-]{36} arrived 2 times \((a, b|b, a)\)$/m)

  const once = await runCli(['diff', gw.url + '/plain/x', '--history', history, '--expect-once'], {}, 20000)
  assert.equal(once.code, 0, once.stderr)
  assert.match(once.stdout, /^arrived {2}1 of 1 request\(s\) found in the history; each arrived once$/m)
})
