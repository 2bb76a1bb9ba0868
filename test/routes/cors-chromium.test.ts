// --cors in a real browser (Debian's Chromium through playwright-core): a page on one loopback origin calls
// the echo on another port with PUT and a custom header, which takes a preflight. With --cors the script
// reads the echo and x-request-id; without it, or for another origin, the browser refuses. Fails (never
// skips) when /usr/bin/chromium is missing: .ci/apt-packages installs it.
import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { chromium, type Browser } from 'playwright-core'
import type { Options } from '../../src/config/options.ts'
import { startEcho } from '../helper.ts'

const CHROMIUM = '/usr/bin/chromium'
let browser: Browser

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (see .ci/apt-packages)`)
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
  })
})

after(async () => { await browser?.close() })

/** A page server on its own port: the calling origin, `http://127.0.0.1:<port>`. */
async function pageOrigin (t: TestContext): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>caller</title><p>caller</p>')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise(resolve => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

interface Outcome { ok: true, status: number, method: string, foo: string, requestId: string | null, echoedId: string }
type Failure = { ok: false, error: string }

/** From a page on `origin`: PUT with x-foo to the echo, as a script would; what the script got. */
async function callFromPage (t: TestContext, origin: string, echoUrl: string, credentials: 'include' | 'same-origin'): Promise<Outcome | Failure> {
  const context = await browser.newContext()
  t.after(() => context.close())
  const page = await context.newPage()
  await page.goto(origin + '/')
  return page.evaluate(async ({ url, credentials }) => {
    try {
      const res = await fetch(url, { method: 'PUT', credentials, headers: { 'x-foo': 'bar', 'content-type': 'application/json' }, body: '{"a":1}' })
      const echo = await res.json() as { method: string, headers: Record<string, string>, requestId: string }
      return { ok: true as const, status: res.status, method: echo.method, foo: echo.headers['x-foo'], requestId: res.headers.get('x-request-id'), echoedId: echo.requestId }
    } catch (err) {
      return { ok: false as const, error: String(err) }
    }
  }, { url: `${echoUrl}/orders/7`, credentials })
}

async function echoWith (t: TestContext, opts: Partial<Options>): Promise<string> {
  return (await startEcho(t, opts)).url
}

test('Chromium: a page on another origin reads the echo with --cors set to its origin, credentials included', async (t) => {
  const origin = await pageOrigin(t)
  const got = await callFromPage(t, origin, await echoWith(t, { cors: [origin] }), 'include')
  assert.equal(got.ok, true, JSON.stringify(got))
  if (!got.ok) return
  assert.equal(got.status, 200)
  assert.equal(got.method, 'PUT')
  assert.equal(got.foo, 'bar')
  // Exposed: a script can tie what it sent to the server's log line.
  assert.equal(got.requestId, got.echoedId)
})

test('Chromium: with --cors *, any page reads the echo, but not with credentials', async (t) => {
  const origin = await pageOrigin(t)
  const echo = await echoWith(t, { cors: ['*'] })
  const got = await callFromPage(t, origin, echo, 'same-origin')
  assert.equal(got.ok, true, JSON.stringify(got))
  if (got.ok) assert.equal(got.method, 'PUT')
  // Browsers refuse credentials with `*`; echoscope does not claim them, so the call fails as it should.
  assert.equal((await callFromPage(t, origin, echo, 'include')).ok, false)
})

test('Chromium: without --cors, or for another origin, the browser refuses the call', async (t) => {
  const origin = await pageOrigin(t)
  for (const opts of [{}, { cors: ['http://localhost:1'] }]) {
    const got = await callFromPage(t, origin, await echoWith(t, opts), 'same-origin')
    assert.equal(got.ok, false, JSON.stringify(opts))
    if (!got.ok) assert.match(got.error, /TypeError: Failed to fetch/)
  }
})
