// The inspector page over real sockets: its security headers, its assets, its place under --system-prefix,
// and --admin-token. What the page does in a browser is in inspect-chromium.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { readdir, readFile } from 'node:fs/promises'
import { getJson, rawRequest, spawnServer, startEcho, waitFor } from '../helper.ts'
import { INSPECT_CSP, accepts } from '../../src/routes/inspect.ts'

const source = (file: string) => readFile(new URL(`../../../src/inspect/${file}`, import.meta.url))

/** The URLs a page's <script src> and <link href> point at, resolved against the page. */
function assetUrls (html: string, page: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"/g)]
    .map(m => m[1]).filter(u => !u.startsWith('data:')).map(u => new URL(u, page).href)
}

function bodyData (html: string): { api: string, app: string } {
  const m = /<body data-api="([^"]*)" data-app="([^"]*)">/.exec(html)
  assert.ok(m, 'the page names its API and app roots')
  return { api: m[1], app: m[2] }
}

/** A raw GET that does not decode the body, to see exactly what went on the wire. */
function rawGet (url: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

test('/inspect is a page with a strict CSP, nosniff and no referrer, no inline script or style, and its own assets', async (t) => {
  const { url } = await startEcho(t)
  const res = await fetch(`${url}/inspect`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.equal(res.headers.get('content-security-policy'), INSPECT_CSP)
  assert.match(INSPECT_CSP, /default-src 'none'; script-src 'self'; style-src 'self';/)
  assert.match(INSPECT_CSP, /frame-ancestors 'none'/)
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer')
  assert.match(res.headers.get('cache-control') ?? '', /no-store/)
  const html = await res.text()
  assert.ok(!html.includes('{{'), 'every placeholder is filled')
  assert.ok(!/<style/i.test(html) && !/\sstyle=/i.test(html), 'no inline style')
  assert.ok(!/\son\w+=/i.test(html), 'no inline event handler')
  for (const m of html.matchAll(/<script\b([^>]*)>/gi)) assert.match(m[1], /\bsrc="/, 'no inline script')
  assert.ok(!/https?:\/\//.test(html), 'nothing from another origin')

  const assets = assetUrls(html, `${url}/inspect`)
  assert.deepEqual(assets.map(a => new URL(a).pathname).sort(), ['/inspect/inspect.css', '/inspect/inspect.js'])
  const types: Record<string, string> = { '/inspect/inspect.js': 'text/javascript; charset=utf-8', '/inspect/inspect.css': 'text/css; charset=utf-8' }
  for (const asset of assets) {
    const r = await fetch(asset)
    assert.equal(r.status, 200, asset)
    assert.equal(r.headers.get('content-type'), types[new URL(asset).pathname])
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(await r.text(), (await source(new URL(asset).pathname.split('/').pop() as string)).toString(), 'served as written')
  }

  // `/inspect/` is the same page, with relative URLs that reach the same files and the same roots.
  const slash = await (await fetch(`${url}/inspect/`)).text()
  assert.deepEqual(assetUrls(slash, `${url}/inspect/`).sort(), assets.sort())
  for (const [page, text] of [[`${url}/inspect`, html], [`${url}/inspect/`, slash]]) {
    const { api, app } = bodyData(text)
    assert.equal(new URL(api, page).pathname, '/')
    assert.equal(new URL(app, page).pathname, '/')
  }
  // The page is a system path: it is not recorded, so opening it does not fill the list it shows.
  assert.deepEqual((await getJson(fetch(`${url}/requests`))).requests, [])
})

test('the assets go compressed when the client allows it, with a tag per coding and 304 on a match', async (t) => {
  const { url } = await startEcho(t)
  const js = await source('inspect.js')
  const br = await rawGet(`${url}/inspect/inspect.js`, { 'accept-encoding': 'gzip, deflate, br' })
  assert.equal(br.headers['content-encoding'], 'br')
  assert.equal(br.headers.vary, 'accept-encoding')
  assert.ok(br.body.length < js.length / 2, `${br.body.length} bytes on the wire for ${js.length}`)
  assert.deepEqual(brotliDecompressSync(br.body), js)
  const gz = await rawGet(`${url}/inspect/inspect.js`, { 'accept-encoding': 'gzip, br;q=0' })
  assert.equal(gz.headers['content-encoding'], 'gzip')
  assert.deepEqual(gunzipSync(gz.body), js)
  const plain = await rawGet(`${url}/inspect/inspect.js`, {})
  assert.equal(plain.headers['content-encoding'], undefined)
  assert.deepEqual(plain.body, js)
  assert.notEqual(plain.headers.etag, br.headers.etag)

  const again = await rawGet(`${url}/inspect/inspect.js`, { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })
  assert.equal(again.status, 304)
  assert.equal(again.body.length, 0)
  assert.equal((await rawGet(`${url}/inspect/inspect.js`, { 'if-none-match': String(br.headers.etag) })).status, 200, 'another coding is another representation')

  assert.equal(accepts('gzip;q=0.5, br', 'br'), true)
  assert.equal(accepts('br;q=0', 'br'), false)
  assert.equal(accepts('BR', 'br'), true)
  assert.equal(accepts('gzip', 'br'), false)
  assert.equal(accepts(undefined, 'gzip'), false)
})

/** The relative modules a script imports (`import … from './x.js'`), in order. */
function importsOf (code: string): string[] {
  return [...code.matchAll(/^import\b[^'"]*?\bfrom\s+'([^']+)'/gm)].map(m => m[1])
}

test('the page loads one ES module, and every module it imports (and only those) is served beside it like it, token or not', async (t) => {
  const modules = (await readdir(new URL('../../../src/inspect/', import.meta.url))).filter(f => f.endsWith('.js')).sort()
  assert.ok(modules.length > 5, `the page is split into modules: ${modules.join(', ')}`)
  for (const [opts, page, headers] of [
    [{}, '/inspect', {}],
    [{ systemPrefix: '/_/ops', adminToken: 'k3y' }, '/_/ops/inspect/', { authorization: 'Bearer k3y' }]
  ] as const) {
    const { url } = await startEcho(t, opts)
    const html = await (await fetch(`${url}${page}`, { headers })).text()
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map(m => m[1])
    assert.equal(scripts.length, 1, 'one script element')
    assert.match(scripts[0], /^ type="module" src="[^"]+"$/)
    const entry = new URL(/src="([^"]+)"/.exec(scripts[0])?.[1] ?? '', `${url}${page}`)

    // Follow the imports as a browser would: each resolves against the module that names it.
    const seen = new Map<string, string>()
    const queue = [entry.href]
    while (queue.length > 0) {
      const href = queue.shift() as string
      if (seen.has(href)) continue
      const res = await fetch(href)
      assert.equal(res.status, 200, href)
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8', `${href}: a module script needs a JavaScript type`)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', href)
      assert.equal(res.headers.get('cache-control'), 'no-cache', href)
      assert.match(res.headers.get('etag') ?? '', /^"[\w-]+-(br|gzip|identity)"$/, href)
      const code = await res.text()
      const name = new URL(href).pathname.split('/').pop() as string
      assert.equal(code, (await source(name)).toString(), `${name} served as written`)
      seen.set(href, name)
      for (const spec of importsOf(code)) {
        assert.match(spec, /^\.\/[\w-]+\.js$/, `${name} imports ${spec}: only its siblings, by relative URL (a browser resolves no bare name)`)
        queue.push(new URL(spec, href).href)
      }
    }
    assert.deepEqual([...seen.values()].sort(), modules, 'every module is reached from the page, and served')
    for (const href of seen.keys()) assert.ok(new URL(href).pathname.startsWith(new URL('./', entry).pathname), `${href} sits beside the page's script`)

    const sample = [...seen.keys()].find(h => h.endsWith('/curl.js')) as string
    const br = await rawGet(sample, { 'accept-encoding': 'br' })
    assert.equal(br.headers['content-encoding'], 'br')
    assert.deepEqual(brotliDecompressSync(br.body), await source('curl.js'))
  }
})

test('only the page\'s own files are served under inspect/: other names and paths out of the directory stay echo paths', async (t) => {
  const { url, port } = await startEcho(t)
  for (const target of ['/inspect/nope.js', '/inspect/inspect.html', '/inspect/curl.js.map', '/inspect/CURL.JS', '/inspect/sub/curl.js',
    '/inspect/../package.json', '/inspect/..%2fpackage.json', '/inspect/%2e%2e/%2e%2e/package.json', '/inspect/..%2f..%2fsrc%2froutes%2finspect.ts']) {
    const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
    assert.equal(res.status, 200, target)
    assert.match(res.headers.get('content-type')?.[0] ?? '', /^application\/json/, `${target} is not a file`)
    const echo = JSON.parse(res.body.toString())
    assert.equal(echo.url, target, `${target} is echoed`)
  }
  assert.equal((await getJson(fetch(`${url}/requests`))).requests.length, 9, 'and recorded like any echo')
})

test('under --system-prefix the page and its assets move, and the page finds /requests there and the echo at the root', async (t) => {
  const { url } = await startEcho(t, { systemPrefix: '/_/ops' })
  const res = await fetch(`${url}/_/ops/inspect`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-security-policy'), INSPECT_CSP)
  const html = await res.text()
  for (const asset of assetUrls(html, `${url}/_/ops/inspect`)) {
    assert.ok(new URL(asset).pathname.startsWith('/_/ops/inspect/'), asset)
    assert.equal((await fetch(asset)).status, 200, asset)
  }
  for (const page of [`${url}/_/ops/inspect`, `${url}/_/ops/inspect/`]) {
    const { api, app } = bodyData(await (await fetch(page)).text())
    assert.equal(new URL(api, page).pathname, '/_/ops/', page)
    assert.equal(new URL(app, page).pathname, '/', page)
  }
  // Behind a gateway that strips /gw, the same relative URLs keep the gateway's prefix.
  const { api, app } = bodyData(html)
  assert.equal(new URL('requests', new URL(api, 'http://gw.example/gw/_/ops/inspect')).pathname, '/gw/_/ops/requests')
  assert.equal(new URL(app, 'http://gw.example/gw/_/ops/inspect').pathname, '/gw/')

  const echoed = await getJson(fetch(`${url}/inspect`))
  assert.equal(echoed.path, '/inspect', 'without the prefix it is an echo path')
})

test('--admin-token: the page needs it, as a Bearer header or once as ?token=; the assets do not; the API takes only the header', async (t) => {
  const { url } = await startEcho(t, { adminToken: 't0ken' })
  const missing = await fetch(`${url}/inspect`)
  assert.equal(missing.status, 401)
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="echoscope"')
  const error = await getJson(missing)
  assert.equal(error.statusCode, 401)
  assert.equal(error.error, 'Unauthorized')
  assert.match(error.message, /inspect\?token=<admin token>/, 'a browser user learns how to give the token')

  const wrong = await fetch(`${url}/inspect?token=nope`)
  assert.equal(wrong.status, 401)
  assert.match((await getJson(wrong)).message, /invalid admin token/)
  assert.equal((await fetch(`${url}/inspect`, { headers: { authorization: 'Bearer nope' } })).status, 401)
  assert.equal((await fetch(`${url}/inspect/`)).status, 401)

  const viaQuery = await fetch(`${url}/inspect?token=t0ken`)
  assert.equal(viaQuery.status, 200)
  assert.equal(viaQuery.headers.get('content-security-policy'), INSPECT_CSP)
  assert.equal((await fetch(`${url}/inspect`, { headers: { authorization: 'Bearer t0ken' } })).status, 200)
  assert.equal((await fetch(`${url}/inspect?token=nope`, { headers: { authorization: 'Bearer t0ken' } })).status, 200, 'the header wins')

  for (const asset of assetUrls(await viaQuery.text(), `${url}/inspect?token=t0ken`)) {
    assert.ok(!asset.includes('t0ken'), 'the token is not passed on to the assets')
    assert.equal((await fetch(asset)).status, 200, `${asset} is public code`)
  }
  assert.equal((await fetch(`${url}/requests?token=t0ken`)).status, 401, 'the API takes the header only')
  assert.equal((await fetch(`${url}/requests/stream?token=t0ken`)).status, 401)
})

test('a ?token= given to the page is not written to the request log', async (t) => {
  const { child, port, output } = await spawnServer(['--admin-token', 'pa55-w0rd', '--log-level', 'info'])
  t.after(() => child.kill('SIGKILL'))
  assert.equal((await fetch(`http://127.0.0.1:${port}/inspect?a=1&token=pa55-w0rd&b=2`)).status, 200)
  assert.equal((await fetch(`http://127.0.0.1:${port}/inspect?token=wrong-one`)).status, 401)
  await waitFor(() => output().includes('token=[redacted]&b=2') && output().split('token=[redacted]').length >= 3)
  assert.ok(!output().includes('pa55-w0rd'), 'the token is not in the log')
  assert.ok(!output().includes('wrong-one'), 'nor a wrong one')
})

test('with --history-size 0 there is no history to show: /inspect is an ordinary echo path', async (t) => {
  const { url } = await startEcho(t, { historySize: 0 })
  const echo = await getJson(fetch(`${url}/inspect`))
  assert.equal(echo.path, '/inspect')
})
