// Swagger UI in a real browser (Debian's Chromium through playwright-core): the page renders the
// operations from local assets only, and "Try it out" on the echo shows the echo — served directly, and
// behind a gateway that strips a path prefix. Fails (never skips) when /usr/bin/chromium is missing:
// .ci/apt-packages installs it.
import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { chromium, type Browser, type Page } from 'playwright-core'
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

interface Visit { page: Page, requests: URL[], problems: string[] }

/** A fresh page that records every request it makes and every error it reports. */
async function visit (t: TestContext, url: string): Promise<Visit> {
  const context = await browser.newContext()
  t.after(() => context.close())
  const page = await context.newPage()
  const requests: URL[] = []
  const problems: string[] = []
  context.on('request', r => requests.push(new URL(r.url())))
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()) })
  page.on('pageerror', e => problems.push(e.message))
  await page.goto(url)
  await page.locator('.opblock').first().waitFor({ timeout: 20000 })
  return { page, requests, problems }
}

/** Opens an operation, presses "Try it out" then "Execute", and returns the response body shown. */
async function tryItOut (page: Page, operationId: string): Promise<string> {
  const op = page.locator(`#operations-echo-${operationId}`)
  await op.locator('.opblock-summary').click()
  await op.locator('.try-out__btn').click()
  await op.locator('.execute').click()
  const body = op.locator('.live-responses-table .response-col_description .microlight').first()
  await body.waitFor({ timeout: 20000 })
  return body.innerText()
}

/** A gateway in miniature: /echo/* goes to echoscope as /*, with X-Forwarded-Prefix: /echo. */
async function prefixStrippingProxy (t: TestContext, upstreamPort: number): Promise<string> {
  const proxy: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    if (url !== '/echo' && !url.startsWith('/echo/') && !url.startsWith('/echo?')) {
      res.writeHead(404).end('not behind /echo')
      return
    }
    const upstream = httpRequest({
      host: '127.0.0.1',
      port: upstreamPort,
      method: req.method,
      path: url.slice('/echo'.length) || '/',
      headers: { ...req.headers, 'x-forwarded-prefix': '/echo' }
    }, up => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => {
    proxy.close(() => resolve())
    proxy.closeAllConnections()
  }))
  const address = proxy.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

test('/docs renders every operation from local assets, and "Try it out" on GET / shows the echo', async (t) => {
  const { url } = await startEcho(t)
  const { page, requests, problems } = await visit(t, `${url}/docs`)
  // 8 methods on / and on /{path}, and the system paths.
  assert.ok(await page.locator('.opblock').count() >= 21)
  assert.equal(await page.locator('#operations-echo-echoPost .opblock-summary-path').innerText(), '/{path}')
  assert.equal(await page.locator('#operations-system-getHealthz').count(), 1)

  const shown = await tryItOut(page, 'echoGetRoot')
  assert.match(shown, /"method": "GET"/)
  assert.match(shown, /"url": "\/"/)

  const origin = new URL(url)
  for (const r of requests) {
    assert.ok(r.protocol === 'data:' || r.host === origin.host, `request to ${r.href} left ${origin.host}`)
  }
  const paths = requests.map(r => r.pathname)
  assert.ok(paths.includes('/docs/static/swagger-ui-bundle.js'))
  assert.ok(paths.includes('/openapi.json'))
  assert.deepEqual(problems, [])
})

test('behind a gateway that strips /echo (and with --system-prefix) the page and "Try it out" go through the gateway', async (t) => {
  const { port } = await startEcho(t, { systemPrefix: '/_' })
  const gateway = await prefixStrippingProxy(t, port)
  const { page, requests, problems } = await visit(t, `${gateway}/echo/_/docs`)

  const shown = await tryItOut(page, 'echoGetRoot')
  assert.match(shown, /"method": "GET"/)
  assert.match(shown, /"x-forwarded-prefix": "\/echo"/, 'the echo was reached through the gateway')

  const origin = new URL(gateway)
  for (const r of requests) {
    if (r.protocol === 'data:') continue
    assert.equal(r.host, origin.host, `${r.href} bypassed the gateway`)
    assert.ok(r.pathname.startsWith('/echo/'), `${r.href} lost the gateway's prefix`)
  }
  const paths = requests.map(r => r.pathname)
  assert.ok(paths.includes('/echo/_/docs/static/swagger-ui-bundle.js'))
  assert.ok(paths.includes('/echo/_/openapi.json'))
  assert.ok(paths.includes('/echo/'), '"Try it out" targeted the echo through the gateway')
  assert.deepEqual(problems, [])
})
