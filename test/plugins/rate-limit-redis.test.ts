// The rate limit shared through a real redis-server: two echoscope processes count against one limit; Redis
// killed mid-test (the echo keeps serving, one warning per outage), restarted (the shared limit is back).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestContext } from 'node:test'
import { spawnServer, startEcho } from '../helper.ts'
import { startRedis } from '../redis.ts'
import { buildServer } from '../../src/server.ts'

interface Hit { status: number, remaining: string | null }

async function hit (port: number, path = '/'): Promise<Hit> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  await res.arrayBuffer()
  return { status: res.status, remaining: res.headers.get('x-ratelimit-remaining') }
}

async function metric (port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)
  assert.ok(m !== null, `${name} not in /metrics`)
  return Number(m[1])
}

/** Log lines (JSON, one per line) whose msg starts with `prefix`. */
function logLines (output: string, prefix: string): Array<Record<string, unknown>> {
  return output.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l)).filter(l => String(l.msg).startsWith(prefix))
}

async function until<T> (what: string, fn: () => Promise<T | undefined>, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await fn()
    if (value !== undefined) return value
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function spawnLimited (t: TestContext, args: string[]): Promise<{ child: ChildProcess, port: number, output: () => string }> {
  const server = await spawnServer(['--rate-limit-allow', '', '--rate-limit-headers', ...args], { ECHOSCOPE_LOG_REQUESTS: 'false' })
  t.after(() => { server.child.kill('SIGKILL') })
  return server
}

function closedPort (): Promise<number> {
  return new Promise(resolve => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

test('two servers share one limit through Redis; Redis killed: still served, one warning; restarted: limited again', async (t) => {
  const redis = await startRedis(t)
  const args = ['--redis-url', redis.url, '--rate-limit-max', '4', '--rate-limit-window', '60s']
  const [a, b] = await Promise.all([spawnLimited(t, args), spawnLimited(t, args)])
  for (const s of [a, b]) assert.equal(logLines(s.output(), 'rate limit shared through Redis').length, 1)

  // One budget of 4 for both replicas: the remaining count runs down across them.
  const shared = [await hit(a.port), await hit(b.port), await hit(a.port), await hit(b.port)]
  assert.deepEqual(shared, [
    { status: 200, remaining: '3' }, { status: 200, remaining: '2' }, { status: 200, remaining: '1' }, { status: 200, remaining: '0' }
  ])
  assert.equal((await hit(a.port)).status, 429)
  assert.equal((await hit(b.port)).status, 429)

  await redis.kill()
  // Fail open: over the limit or not, every request is served, without RateLimit headers.
  for (let i = 0; i < 20; i++) {
    const r = await hit(i % 2 === 0 ? a.port : b.port, `/during-outage/${i}`)
    assert.deepEqual(r, { status: 200, remaining: null }, `request ${i} during the outage`)
  }
  // Let the reconnect loop fail a few more times: still one warning per process for the whole outage.
  await sleep(1000)
  for (const s of [a, b]) {
    const warnings = logLines(s.output(), 'Redis unreachable: the rate limit')
    assert.equal(warnings.length, 1, s.output())
    assert.equal(warnings[0].level, 40)
  }
  // Each lookup that could not reach Redis is counted (at least the 10 requests each replica served).
  assert.ok(await metric(a.port, 'echoscope_redis_errors_total') >= 10)
  assert.ok(await metric(b.port, 'echoscope_redis_errors_total') >= 10)

  await redis.restart()
  // The restarted Redis is empty: the shared count starts again once each replica has reconnected.
  const seen: string[] = []
  for (const s of [a, b]) {
    await until('a replica to use Redis again', async () => {
      const r = await hit(s.port)
      if (r.remaining === null) return undefined
      seen.push(r.remaining)
      return r
    })
  }
  for (let i = 0; i < 2; i++) seen.push(String((await hit(i % 2 === 0 ? a.port : b.port)).remaining))
  assert.deepEqual(seen, ['3', '2', '1', '0'])
  assert.equal((await hit(a.port)).status, 429)
  assert.equal((await hit(b.port)).status, 429)
  for (const s of [a, b]) {
    // Log lines reach stdout in batches (at most 50 ms late): wait for the recovery line, then count.
    await until('the recovery line', async () => logLines(s.output(), 'Redis answers again: the rate limit').length > 0 ? true : undefined)
    await sleep(100)
    assert.equal(logLines(s.output(), 'Redis answers again: the rate limit').length, 1)
    assert.equal(logLines(s.output(), 'Redis unreachable: the rate limit').length, 1)
  }
})

test('Redis unreachable at start: the server starts and serves; the limit takes hold when Redis comes', async (t) => {
  const redis = await startRedis(t)
  await redis.kill()
  const started = Date.now()
  const { port } = await startEcho(t, { redisUrl: redis.url, rateLimitMax: 2, rateLimitAllow: [], rateLimitHeaders: true })
  assert.ok(Date.now() - started < 3000, 'start is not held up by the missing Redis')
  for (let i = 0; i < 4; i++) assert.deepEqual(await hit(port), { status: 200, remaining: null })
  assert.equal(await metric(port, 'echoscope_redis_errors_total'), 4)
  assert.equal(await metric(port, 'echoscope_rate_limited_total'), 0)

  await redis.restart()
  await until('the limiter to reach Redis', async () => (await hit(port)).remaining ?? undefined)
  await until('the limit to refuse', async () => (await hit(port)).status === 429 ? true : undefined)
  assert.equal(await metric(port, 'echoscope_rate_limited_total'), 1)
})

test('an unusable --redis-url: the server starts, warns once, and serves', async (t) => {
  const [bad, nowhere] = await Promise.all([
    spawnLimited(t, ['--redis-url', 'redis://cache:notaport', '--rate-limit-max', '1']),
    // A URL that parses but leads nowhere.
    closedPort().then(port => spawnLimited(t, ['--redis-url', `redis://:secret@127.0.0.1:${port}/0`, '--rate-limit-max', '1']))
  ])
  const [warning] = logLines(bad.output(), '--redis-url cannot be used: the rate limit')
  assert.ok(warning !== undefined, bad.output())
  assert.equal(warning.level, 40)
  for (let i = 0; i < 3; i++) assert.deepEqual(await hit(bad.port), { status: 200, remaining: null })

  // The URL that leads nowhere: the same, and one warning however many requests fail.
  for (let i = 0; i < 5; i++) assert.deepEqual(await hit(nowhere.port), { status: 200, remaining: null })
  const warnings = logLines(nowhere.output(), 'Redis unreachable: the rate limit')
  assert.equal(warnings.length, 1, nowhere.output())
  assert.ok(!nowhere.output().includes('secret'), 'the Redis password never reaches the log')
})

test('closing does not wait for a Redis that is gone', async (t) => {
  const redis = await startRedis(t)
  const app = await buildServer({ logLevel: 'silent', redisUrl: redis.url, rateLimitMax: 5, rateLimitAllow: [] })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await redis.kill()
  const started = Date.now()
  await app.close()
  assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`)
})
