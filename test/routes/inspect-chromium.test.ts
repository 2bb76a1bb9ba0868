// The inspector in a real browser (Debian's Chromium through playwright-core): requests sent from here show
// up live, a click shows them in full, copy-as-curl gives a command that really replays them (run with curl),
// the WebSocket console echoes, hostile input stays text, and it all works behind a prefix-stripping
// gateway and with --admin-token. Every page must stay on this host and report no error (a CSP violation
// is one). Fails (never skips) when /usr/bin/chromium or curl is missing: .ci/apt-packages installs them.
import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type Socket } from 'node:net'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core'
import { getJson, rawRequest, startEcho } from '../helper.ts'

const CHROMIUM = '/usr/bin/chromium'
let browser: Browser

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (see .ci/apt-packages)`)
  if (spawnSync('curl', ['--version']).status !== 0) throw new Error('curl is missing: install it (see .ci/apt-packages); the copy-as-curl commands are replayed with it')
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
  })
})

after(async () => { await browser?.close() })

interface Visit { page: Page, context: BrowserContext, requests: Request[], problems: string[] }

/**
 * A fresh browser context, closed after the test. Made before the server is started, so that it is closed
 * first (after-hooks run in the order they were added) and the page never sees the server go away.
 */
async function browserContext (t: TestContext): Promise<BrowserContext> {
  const context = await browser.newContext()
  t.after(() => context.close())
  return context
}

/** Opens the inspector and waits for its live feed; records every request the page makes and every error it reports. */
async function visit (context: BrowserContext, url: string): Promise<Visit> {
  const page = await context.newPage()
  const requests: Request[] = []
  const problems: string[] = []
  context.on('request', r => requests.push(r))
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()) })
  page.on('pageerror', e => problems.push(e.message))
  const res = await page.goto(url)
  assert.equal(res?.status(), 200)
  await page.locator('#feed[data-state="live"]').waitFor({ timeout: 10000 })
  return { page, context, requests, problems }
}

/** Every request the page made went to this host (data: URLs aside), and nothing was reported. */
function assertStayedHome (v: Visit, host: string) {
  for (const r of v.requests) {
    const u = new URL(r.url())
    assert.ok(u.protocol === 'data:' || u.host === host, `request to ${u.href} left ${host}`)
  }
  assert.deepEqual(v.problems, [])
}

/** Unfolds the WebSocket console (it starts folded) by its toggle, as a user would. */
async function openConsole (page: Page) {
  assert.equal(await page.locator('#ws-connect').isVisible(), false, 'the console starts folded')
  await page.click('#ws-console > summary')
  await page.locator('#ws-connect').waitFor()
}

const rowPaths = (page: Page) => page.locator('#rows tr:not([hidden]) td.path').allInnerTexts()

async function openRow (page: Page, path: string) {
  await page.locator('#rows tr td.path').filter({ hasText: path }).first().click()
  await page.locator('#detail .request-line').filter({ hasText: path }).waitFor()
}

/** The headers table of the detail view, as [name, value] pairs in the order shown. */
async function shownHeaders (page: Page): Promise<string[][]> {
  return page.locator('#detail table.headers tr').evaluateAll(trs => trs.map(tr => [tr.children[0].textContent ?? '', tr.children[1].textContent ?? '']))
}

/** Runs a copied command in sh; the server's echo of the replayed request is what curl prints. */
function replay (command: string, cwd?: string): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { timeout: 10000, cwd }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

const ignoredOnReplay = new Set(['host', 'content-length', 'connection'])
const comparable = (raw: [string, string][]) => raw.filter(([n]) => !ignoredOnReplay.has(n.toLowerCase()))

test('requests appear live, newest on top, with replica and status; a click shows headers in wire order and the body', async (t) => {
  const context = await browserContext(t)
  const { url, port } = await startEcho(t, { instance: 'replica-a' })
  await fetch(`${url}/before?x=1`)
  const v = await visit(context, `${url}/inspect`)
  const { page } = v
  assert.deepEqual(await rowPaths(page), ['/before?x=1'], 'what came before the page is loaded first')

  const body = '{"id":7,"name":"ü"}'
  await rawRequest(port, `POST /orders/7?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Dup: a\r\nContent-Type: application/json\r\nx-dup: b\r\nX-Empty:\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  await fetch(`${url}/missing?echo_status=404`, { method: 'DELETE' })
  await page.locator('#rows tr').nth(2).waitFor()
  assert.deepEqual(await rowPaths(page), ['/missing?echo_status=404', '/orders/7?x=1', '/before?x=1'], 'newest on top')
  const top = page.locator('#rows tr').first()
  assert.equal(await top.locator('td.method').innerText(), 'DELETE')
  assert.equal(await top.locator('td.status').innerText(), '404')
  assert.equal(await top.locator('td.replica').innerText(), 'replica-a')
  assert.match(await top.locator('td.time').innerText(), /^\d\d:\d\d:\d\d\.\d{3}$/)
  assert.equal(await page.locator('#count').innerText(), '3 requests')

  // Filters: path substring, method.
  await page.fill('#filter-path', 'ORDERS')
  assert.deepEqual(await rowPaths(page), ['/orders/7?x=1'])
  await page.fill('#filter-path', '')
  await page.selectOption('#filter-method', 'DELETE')
  assert.deepEqual(await rowPaths(page), ['/missing?echo_status=404'])
  assert.equal(await page.locator('#count').innerText(), '1 of 3 requests')
  await page.selectOption('#filter-method', '')

  await openRow(page, '/orders/7?x=1')
  assert.equal(await page.locator('#detail .request-line').innerText(), 'POST /orders/7?x=1 HTTP/1.1')
  assert.deepEqual(await shownHeaders(page), [
    ['Host', `127.0.0.1:${port}`], ['X-Dup', 'a'], ['Content-Type', 'application/json'], ['x-dup', 'b'], ['X-Empty', ''],
    ['Content-Length', String(Buffer.byteLength(body))], ['Connection', 'close']
  ], 'wire order, original case, duplicates kept')
  assert.equal(await page.locator('#detail pre.code').first().innerText(), JSON.stringify(JSON.parse(body), null, 2), 'JSON pretty-printed')
  const detail = await page.locator('#detail').innerText()
  assert.match(detail, /sha256\s+[0-9a-f]{64}/)
  assert.match(detail, /bytes\s+20/)
  assert.match(detail, /replica\s+replica-a/)
  // What echoscope sent back, from the entry's response.
  assert.match(detail, /Response sent \(200\)\s+x-echoscope\s+replica-a\s+x-request-id\s+[0-9a-f-]{36}\s+content-type\s+application\/json; charset=utf-8/)

  // The proxy analysis: hops, the gateway recognised, warnings set apart.
  await fetch(`${url}/proxied`, { headers: { 'x-forwarded-for': '1.2.3.4, 10.0.0.1', via: '1.1 nginx', 'x-real-ip': '9.9.9.9' } })
  await openRow(page, '/proxied')
  const { proxy } = (await getJson(fetch(`${url}/requests?path=/proxied`))).requests[0]
  assert.equal(proxy.warnings.length, 2)
  assert.deepEqual(await page.locator('#detail .warnings li.warn').allInnerTexts(), proxy.warnings)
  assert.deepEqual(await page.locator('#detail .grid tbody tr td:nth-child(3)').allInnerTexts(), ['1.2.3.4', '10.0.0.1', '', '127.0.0.1'])
  assert.equal(await page.locator('#detail .gateways li').innerText(), 'nginx — via')
  assertStayedHome(v, `127.0.0.1:${port}`)
})

test('copy as curl: the command is shown, copied to the clipboard, and replays the request byte for byte', async (t) => {
  const context = await browserContext(t)
  const { url, port } = await startEcho(t)
  const v = await visit(context, `${url}/inspect`)
  const { page } = v
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url })

  const body = '{"id":7,"name":"ü","quote":"it\'s"}'
  await rawRequest(port, `PATCH /orders/7?x=1&y=a%20b HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Dup: a\r\nContent-Type: application/json\r\nx-dup: b\r\nX-Empty:\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  await openRow(page, '/orders/7')
  const expected = [
    `curl -X PATCH 'http://127.0.0.1:${port}/orders/7?x=1&y=a%20b'`,
    "-H 'X-Dup: a'",
    "-H 'Content-Type: application/json'",
    "-H 'x-dup: b'",
    "-H 'X-Empty;'",
    "-H 'User-Agent:'",
    "-H 'Accept:'",
    '--data-binary \'{"id":7,"name":"ü","quote":"it\'\\\'\'s"}\''
  ].join(' \\\n  ')
  assert.equal(await page.locator('#curl').inputValue(), expected)
  await page.locator('#detail .notes .exact').waitFor()
  await page.click('#copy-curl')
  await page.locator('#curl-done', { hasText: 'copied' }).waitFor()
  assert.equal(await page.evaluate((): Promise<string> => (globalThis as any).navigator.clipboard.readText()), expected)

  const original = (await getJson(fetch(`${url}/requests?path=/orders`))).requests[0]
  const replayed = await replay(expected)
  assert.equal(replayed.method, 'PATCH')
  assert.equal(replayed.url, original.url)
  assert.equal(replayed.bodySha256, original.bodySha256)
  assert.deepEqual(comparable(replayed.rawHeaders), comparable(original.rawHeaders))

  // Binary body on a GET, dot segments and braces in the path, no Content-Type, no User-Agent.
  const bytes = Buffer.from([0x2d, 0x00, 0x01, 0x25, 0x27, 0x5c, 0xff, 0x0d, 0x0a, 0x41])
  await rawRequest(port, [`GET /a/../b/{x} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`, bytes])
  await openRow(page, '/a/../b/{x}')
  assert.equal(await page.locator('#detail pre.hex').innerText(), '00000000  2d 00 01 25 27 5c ff 0d  0a 41                    |-..%\'\\...A|')
  const binary = await page.locator('#curl').inputValue()
  assert.equal(binary, `printf '\\055\\000\\001%%\\047\\134\\377\\015\\012A' | curl -X GET --path-as-is --globoff 'http://127.0.0.1:${port}/a/../b/{x}' \\\n  ` +
    "-H 'User-Agent:' \\\n  -H 'Accept:' \\\n  -H 'Content-Type:' \\\n  --data-binary @-")
  const again = await replay(binary)
  assert.equal(again.method, 'GET')
  assert.equal(again.url, '/a/../b/{x}')
  assert.equal(again.bodySha256, createHash('sha256').update(bytes).digest('hex'))
  assert.deepEqual(comparable(again.rawHeaders), [], 'curl added none of its own headers')

  // A text body starting with @ is data, not a file name; HEAD becomes --head.
  await rawRequest(port, `PUT /at HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\n@etc/passwd`)
  await openRow(page, '/at')
  const at = await page.locator('#curl').inputValue()
  assert.match(at, /--data-raw '@etc\/passwd'$/)
  assert.equal((await replay(at)).body, '@etc/passwd')
  await fetch(`${url}/head-me`, { method: 'HEAD' })
  await openRow(page, '/head-me')
  assert.match(await page.locator('#curl').inputValue(), /^curl --head http:\/\/127\.0\.0\.1:\d+\/head-me /)

  // Multipart: fields as they were (a leading @ too), files read from the current directory by name.
  const form = new FormData()
  form.append('name', 'ada')
  form.append('name', '@lovelace')
  form.append('upload', new Blob(['hello file'], { type: 'text/plain' }), 'a b.txt')
  await fetch(`${url}/multipart`, { method: 'POST', body: form })
  await openRow(page, '/multipart')
  const multipart = await page.locator('#curl').inputValue()
  assert.match(multipart, / \\\n {2}--form-string 'name=ada' \\\n {2}--form-string 'name=@lovelace' \\\n {2}-F 'upload=@a b\.txt;type=text\/plain'$/)
  assert.ok(!/Content-Type/i.test(multipart), 'curl writes its own boundary')
  assert.match(await page.locator('#detail .notes').innerText(), /current directory/)
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-curl-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'a b.txt'), 'hello file')
  const sent = (await getJson(fetch(`${url}/requests?path=/multipart`))).requests[0].body
  assert.deepEqual((await replay(multipart, dir)).body, sent)
  assertStayedHome(v, `127.0.0.1:${port}`)
})

test('hostile headers, paths and bodies are shown as text and never run', async (t) => {
  const context = await browserContext(t)
  const { url, port } = await startEcho(t, { instance: '<b id="inst">replica</b>' })
  const v = await visit(context, `${url}/inspect`)
  const { page } = v
  const img = '<img src=x onerror="window.__pwned=1">'
  const script = '<script>window.__pwned=2</script>'
  const body = JSON.stringify({ img, script, [img]: script })
  await rawRequest(port, `POST /x/${script}?q=<img%20src=x> HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Evil: ${img}\r\nCookie: ${script}=1\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  await rawRequest(port, `POST /text HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/html\r\nContent-Length: ${img.length}\r\nConnection: close\r\n\r\n${img}`)
  await page.locator('#rows tr').nth(1).waitFor()
  assert.deepEqual(await rowPaths(page), ['/text', `/x/${script}?q=<img%20src=x>`])
  assert.equal(await page.locator('#rows tr').nth(1).locator('td.replica').innerText(), '<b id="inst">replica</b>')

  await openRow(page, '/x/')
  const detail = await page.locator('#detail').innerText()
  assert.ok(detail.includes(`POST /x/${script}?q=<img%20src=x> HTTP/1.1`), 'the path, literally')
  assert.ok(detail.includes(`X-Evil\t${img}`), 'the header, literally')
  assert.ok(detail.includes(`"img": ${JSON.stringify(img)}`), 'the body, literally')
  assert.ok(detail.includes('<img src=x>'), 'the query, literally')
  assert.ok((await page.locator('#curl').inputValue()).includes(`-H 'X-Evil: ${img}'`))
  await openRow(page, '/text')
  assert.equal(await page.locator('#detail pre.code').first().innerText(), img)

  // Give an injected image time to fail and fire onerror, had there been one.
  await page.waitForTimeout(300)
  assert.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined)
  assert.equal(await page.locator('img').count(), 0)
  assert.equal(await page.locator('script').count(), 1, 'only the page\'s own script')
  assert.equal(await page.locator('#inst').count(), 0)
  assert.ok(!v.requests.some(r => new URL(r.url()).pathname.endsWith('/x')), 'no image was fetched')
  assertStayedHome(v, `127.0.0.1:${port}`)
})

test('the WebSocket console connects, echoes text and binary, and shows close codes and reasons', async (t) => {
  const context = await browserContext(t)
  const { url, port } = await startEcho(t, { wsMaxMessageSize: 64 })
  const v = await visit(context, `${url}/inspect`)
  const { page } = v
  const last = (kind: string) => page.locator(`#ws-log li.${kind}`).last().locator('.text')

  await openConsole(page)
  assert.equal(await page.inputValue('#ws-path'), '/ws')
  await page.click('#ws-connect')
  await page.locator('#ws-state[data-state="open"]').waitFor()
  assert.equal(await last('info').innerText(), `connecting to ws://127.0.0.1:${port}/ws`)

  await page.fill('#ws-text', 'hello ✓ <b>')
  await page.click('#ws-send-text')
  await page.locator('#ws-log li.echo-text').waitFor()
  assert.equal(await last('sent-text').innerText(), 'hello ✓ <b>')
  assert.equal(await last('echo-text').innerText(), 'hello ✓ <b>')

  await page.fill('#ws-hex', '00 01 fe FF')
  await page.press('#ws-hex', 'Enter')
  await page.locator('#ws-log li.echo-binary').waitFor()
  assert.equal(await last('sent-binary').innerText(), '4 bytes: 00 01 fe ff')
  assert.equal(await last('echo-binary').innerText(), '4 bytes: 00 01 fe ff')

  await page.fill('#ws-hex', 'abc')
  await page.click('#ws-send-hex')
  assert.match(await last('error').innerText(), /^not hex/)

  // Over --ws-max-message-size: the server closes with 1009 and says why.
  await page.fill('#ws-text', 'x'.repeat(100))
  await page.click('#ws-send-text')
  await page.locator('#ws-state[data-state="closed"]').waitFor()
  assert.match(await last('close').innerText(), /^code 1009\b/)

  await page.fill('#ws-path', '/other/path?info=1')
  await page.click('#ws-connect')
  await page.locator('#ws-state[data-state="open"]').waitFor()
  await page.locator('#ws-log li.echo-text').nth(1).waitFor()
  assert.equal(JSON.parse(await last('echo-text').innerText()).path, '/other/path', '?info=1 sends the upgrade\'s echo first')
  await page.click('#ws-connect')
  await page.locator('#ws-state[data-state="closed"]').waitFor()
  assert.equal(await last('close').innerText(), 'code 1000 reason "closed from the inspector"')
  assertStayedHome(v, `127.0.0.1:${port}`)
})

test('the WebSocket console folds away behind its toggle, keeps working while folded, and stays as it was left across a reload', async (t) => {
  const context = await browserContext(t)
  const { url, port } = await startEcho(t)
  const v = await visit(context, `${url}/inspect`)
  const { page } = v
  const toggle = page.locator('#ws-console > summary')
  const shown = () => page.locator('#ws-console .ws-body').isVisible()
  assert.equal(await toggle.innerText(), 'WebSocket console closed', 'the toggle names the console and its state')
  assert.equal(await shown(), false, 'folded at first: the request list gets the room')
  const folded = await page.locator('#ws').boundingBox()

  await toggle.click()
  assert.equal(await shown(), true)
  assert.equal(await page.locator('#ws-console').evaluate(d => (d as any).open), true)
  const unfolded = await page.locator('#ws').boundingBox()
  assert.ok(folded !== null && unfolded !== null && unfolded.height > folded.height + 100, `the console takes room only when open (${folded?.height} → ${unfolded?.height})`)
  await page.click('#ws-connect')
  await page.locator('#ws-state[data-state="open"]').waitFor()
  await page.fill('#ws-text', 'before folding')
  await page.press('#ws-text', 'Enter')
  await page.locator('#ws-log li.echo-text .text', { hasText: 'before folding' }).waitFor()

  // Folded, the connection stays open and its state shows on the toggle.
  await toggle.click()
  assert.equal(await shown(), false)
  assert.equal(await toggle.innerText(), 'WebSocket console open')
  await page.waitForTimeout(200)
  assert.equal(await page.locator('#ws-state').getAttribute('data-state'), 'open')
  await toggle.click()
  assert.equal(await shown(), true)
  await page.fill('#ws-text', 'after unfolding')
  await page.click('#ws-send-text')
  await page.locator('#ws-log li.echo-text .text', { hasText: 'after unfolding' }).waitFor()
  assert.deepEqual(await page.locator('#ws-log li.echo-text .text').allInnerTexts(), ['before folding', 'after unfolding'])

  // Left open, it is open after a reload; left folded, folded.
  await page.reload()
  await page.locator('#feed[data-state="live"]').waitFor()
  assert.equal(await shown(), true, 'left open, open again after a reload')
  await toggle.click()
  assert.equal(await shown(), false)
  await page.reload()
  await page.locator('#feed[data-state="live"]').waitFor()
  assert.equal(await shown(), false, 'left folded, folded again after a reload')
  assertStayedHome(v, `127.0.0.1:${port}`)
})

test('the HTML echo (Accept: text/html) renders under its own CSP, with the # column of the headers table only as wide as its numbers', async (t) => {
  const context = await browserContext(t)
  const { url } = await startEcho(t)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()) })
  page.on('pageerror', e => problems.push(e.message))
  await page.setViewportSize({ width: 1280, height: 800 })
  // A long value and many headers: the table spans the page, and there are two-digit numbers.
  const extra: Record<string, string> = { 'x-long': 'v'.repeat(400) }
  for (let i = 0; i < 12; i++) extra[`x-extra-${i}`] = String(i)
  await page.setExtraHTTPHeaders(extra)
  const res = await page.goto(`${url}/html-view`)
  assert.equal(res?.status(), 200)
  assert.match(res?.headers()['content-type'] ?? '', /^text\/html/)
  const table = page.locator('section').first().locator('table')
  const widths = await table.locator('tr').evaluateAll(trs => trs.map(tr => [...tr.children].map(c => c.getBoundingClientRect().width)))
  assert.ok(widths.length > 20, `${widths.length} rows`)
  const tableWidth = (await table.boundingBox())?.width ?? 0
  assert.ok(tableWidth > 900, `the table spans the page (${tableWidth}px)`)
  for (const [n, name, value] of widths) {
    assert.ok(n < 60, `# column ${n}px wide`)
    assert.ok(value > name && value > tableWidth / 2, `the value column gets the room (${n} / ${name} / ${value})`)
  }
  assert.equal(await table.locator('tr').nth(20).locator('td.n').innerText(), '20')
  // The page's style applied (so its CSP hash matched): the # column is right-aligned, and nothing was blocked.
  assert.equal(await table.locator('td.n').first().evaluate(td => (globalThis as any).getComputedStyle(td).textAlign), 'right')
  assert.deepEqual(problems, [])
})

/** A gateway in miniature: /echo/* goes to echoscope as /*, WebSocket upgrades too, with X-Forwarded-Prefix: /echo. */
async function prefixStrippingProxy (t: TestContext, upstreamPort: number): Promise<string> {
  const sockets = new Set<Socket>()
  const strip = (url: string) => url === '/echo' || url.startsWith('/echo/') || url.startsWith('/echo?') ? url.slice('/echo'.length) || '/' : null
  const proxy: Server = createServer((req, res) => {
    const path = strip(req.url ?? '/')
    if (path === null) {
      res.writeHead(404).end('not behind /echo')
      return
    }
    const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers: { ...req.headers, 'x-forwarded-prefix': '/echo' } }, up => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  proxy.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const path = strip(req.url ?? '/')
    if (path === null) {
      socket.destroy()
      return
    }
    const upstream = connect(upstreamPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${path} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      lines.push('X-Forwarded-Prefix: /echo')
      upstream.write(lines.join('\r\n') + '\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    for (const s of [socket, upstream]) {
      sockets.add(s)
      s.on('error', () => { socket.destroy(); upstream.destroy() })
      s.on('close', () => sockets.delete(s))
    }
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => {
    for (const s of sockets) s.destroy()
    proxy.close(() => resolve())
    proxy.closeAllConnections()
  }))
  const address = proxy.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

test('behind a gateway that strips /echo, with --system-prefix: the page, its feed and its WebSocket all go through the gateway', async (t) => {
  const context = await browserContext(t)
  const { port } = await startEcho(t, { systemPrefix: '/_' })
  const gateway = await prefixStrippingProxy(t, port)
  const v = await visit(context, `${gateway}/echo/_/inspect`)
  const { page } = v

  await fetch(`${gateway}/echo/through/the/gateway`)
  await page.locator('#rows tr').first().waitFor()
  assert.deepEqual(await rowPaths(page), ['/through/the/gateway'])
  await openRow(page, '/through/the/gateway')
  assert.ok((await shownHeaders(page)).some(([n, value]) => n === 'x-forwarded-prefix' && value === '/echo'))

  await openConsole(page)
  await page.click('#ws-connect')
  await page.locator('#ws-state[data-state="open"]').waitFor()
  assert.equal(await page.locator('#ws-log li.info .text').last().innerText(), `connecting to ${gateway.replace('http:', 'ws:')}/echo/ws`)
  await page.fill('#ws-text', 'via the gateway')
  await page.press('#ws-text', 'Enter')
  await page.locator('#ws-log li.echo-text').waitFor()
  assert.equal(await page.locator('#ws-log li.echo-text .text').innerText(), 'via the gateway')

  const origin = new URL(gateway)
  for (const r of v.requests) {
    const u = new URL(r.url())
    if (u.protocol === 'data:') continue
    assert.equal(u.host, origin.host, `${u.href} bypassed the gateway`)
    assert.ok(u.pathname.startsWith('/echo/'), `${u.href} lost the gateway's prefix`)
  }
  const paths = v.requests.map(r => new URL(r.url()).pathname)
  for (const p of ['/echo/_/inspect/inspect.js', '/echo/_/inspect/inspect.css', '/echo/_/requests', '/echo/_/requests/stream']) assert.ok(paths.includes(p), p)
  assert.deepEqual(v.problems, [])
})

test('--admin-token: opened with ?token=, the page sends it as a Bearer header to the API and keeps it out of every other URL', async (t) => {
  const context = await browserContext(t)
  const { url, port } = await startEcho(t, { adminToken: 's3cret' })
  const v = await visit(context, `${url}/inspect?token=s3cret`)
  const { page } = v
  await fetch(`${url}/while-locked`)
  await page.locator('#rows tr').first().waitFor()
  assert.deepEqual(await rowPaths(page), ['/while-locked'])

  const api = v.requests.filter(r => new URL(r.url()).pathname.startsWith('/requests'))
  assert.deepEqual(api.map(r => new URL(r.url()).pathname).sort(), ['/requests', '/requests/stream'])
  for (const r of api) assert.equal(r.headers().authorization, 'Bearer s3cret', r.url())
  for (const r of v.requests.slice(1)) assert.ok(!r.url().includes('s3cret'), `${r.url()} carries the token`)

  // A wrong token: the page says so instead of retrying for ever.
  const p2 = await context.newPage()
  await p2.route(`${url}/inspect?token=nope`, async route => {
    // The page itself is fetched with the right token; only its API calls carry the wrong one.
    const res = await route.fetch({ headers: { authorization: 'Bearer s3cret' } })
    await route.fulfill({ response: res })
  })
  await p2.goto(`${url}/inspect?token=nope`)
  await p2.locator('#feed[data-state="unauthorized"]').waitFor()
  assert.match(await p2.locator('#feed').innerText(), /admin token/)
  assertStayedHome(v, `127.0.0.1:${port}`)
})
