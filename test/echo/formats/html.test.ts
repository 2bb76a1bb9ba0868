import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { escapeHtml, formatHtml, HTML_CSP } from '../../../src/echo/formats/html.ts'
import { BINARY_BODY, makeFixture } from './fixture.ts'

// Every tag the page itself emits, with the only attributes it uses. Escaped input contains no raw "<",
// so any other tag or attribute in the output would be injected markup.
const TAG_RE = /<[^>]*>/g
const ALLOWED_TAG = new RegExp(
  '^<(?:!doctype html|/?(?:html|head|meta|title|style|body|main|section|h1|h2|h3|p|span|table|tr|th|td|pre|ul|li))' +
  '(?: (?:lang|charset|name|content|class)="[^"<>]*")*>$')

function assertNoInjectedMarkup (html: string): void {
  const style = html.indexOf('<style>')
  const styleEnd = html.indexOf('</style>')
  const outsideStyle = html.slice(0, style) + html.slice(styleEnd)
  for (const tag of outsideStyle.match(TAG_RE) ?? []) {
    assert.match(tag, ALLOWED_TAG, `unexpected markup in the page: ${tag}`)
  }
  assert.doesNotMatch(outsideStyle, /<script/i)
  assert.doesNotMatch(outsideStyle, /<img/i)
}

test('escapeHtml neutralises & < > " and \'', () => {
  assert.equal(escapeHtml('<a href="x" title=\'y\'>&amp;</a>'),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;')
  assert.equal(escapeHtml(42), '42')
})

test('hostile header, cookie, query, body and proxy warning appear as text, never as markup', () => {
  const { echo } = makeFixture('json')
  const html = formatHtml(echo)
  assertNoInjectedMarkup(html)
  // header value
  assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'))
  // cookie (raw header and parsed table), trace id, body JSON string
  assert.ok(html.includes('theme=&lt;script&gt;alert(1)&lt;/script&gt;'))
  assert.ok(html.includes('<th>theme</th><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>'))
  assert.ok(html.includes('&quot;name&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;'))
  // decoded query value
  assert.ok(html.includes('<th>evil</th><td>&lt;script&gt;</td>'))
  // proxy warning is highlighted
  assert.match(html, /<li class="warn">left-most X-Forwarded-For 203\.0\.113\.7 is client-controlled &quot;&gt;&lt;img/)
})

test('hostile values in the method, URL, JWT, TLS and server identity are escaped too', () => {
  const { echo } = makeFixture('none', {
    method: 'GET<script>',
    url: '/<script>alert(1)</script>',
    path: '/<script>alert(1)</script>',
    jwts: [
      { source: 'authorization', header: { alg: '<script>' }, payload: { sub: '"><img src=x onerror=alert(1)>' }, verified: false, expired: true, expiresAt: '<b>' },
      { source: 'x-<i>-assertion', header: { alg: 'none' }, payload: { sub: '<u>' }, verified: false }
    ],
    tls: { servername: '<script>', alpn: 'h2', cipher: null, version: 'TLSv1.3', clientCertificate: { subject: '<img>' } as never },
    server: { hostname: '<script>host', instance: '<i>', version: '1', pod: '<pod>' },
    requestId: '<script>id'
  })
  const html = formatHtml(echo)
  assertNoInjectedMarkup(html)
  assert.ok(html.includes('<title>GET&lt;script&gt; /&lt;script&gt;alert(1)&lt;/script&gt; · echoscope</title>'))
  assert.ok(html.includes('<h1>GET&lt;script&gt; /&lt;script&gt;alert(1)&lt;/script&gt; HTTP/1.1</h1>'))
  assert.ok(html.includes('<p class="warn">expired at &lt;b&gt;</p>'))
  // each token under the name of the header it came from
  assert.ok(html.includes('<h2>JWTs (2)</h2>'))
  assert.ok(html.includes('<h3>from authorization</h3>'))
  assert.ok(html.includes('<h3>from x-&lt;i&gt;-assertion</h3>'))
  assert.ok(html.includes('&quot;sub&quot;: &quot;&lt;u&gt;&quot;'))
})

test('lists headers in arrival order with original case and duplicates', () => {
  const { echo } = makeFixture('json')
  const html = formatHtml(echo)
  const one = html.indexOf('<th>X-Custom</th><td>one</td>')
  const two = html.indexOf('<th>x-custom</th><td>two</td>')
  assert.ok(one > 0 && two > one)
  assert.ok(html.includes('Headers (10, in arrival order)'))
})

test('pretty-prints a JSON body and shows a binary body as base64', () => {
  const json = formatHtml(makeFixture('json').echo)
  assert.ok(json.includes('<pre>{\n  &quot;name&quot;'))
  const binary = formatHtml(makeFixture('binary').echo)
  assert.ok(binary.includes('<h3>base64</h3><pre>' + BINARY_BODY.toString('base64') + '</pre>'))
  const none = formatHtml(makeFixture('none').echo)
  assert.ok(none.includes('no body'))
})

test('a body parse error is shown as a warning', () => {
  const { echo } = makeFixture('json', { bodyEncoding: 'text', body: '{"oops', bodyError: 'Unexpected end of JSON <input>' })
  const html = formatHtml(echo)
  assert.ok(html.includes('<p class="warn">Unexpected end of JSON &lt;input&gt;</p>'))
  assert.ok(html.includes('<pre>{&quot;oops</pre>'))
})

test('is a complete page with no script and no external resource, styled only by the CSP-hashed sheet', () => {
  const html = formatHtml(makeFixture('json').echo)
  assert.ok(html.startsWith('<!doctype html><html lang="en"><head><meta charset="utf-8">'))
  assert.ok(html.endsWith('</html>\n'))
  assertNoInjectedMarkup(html) // the allowlist has no link, img, script, iframe, nor src/href attributes
  const style = html.slice(html.indexOf('<style>') + 7, html.indexOf('</style>'))
  assert.doesNotMatch(style, /url\(|@import/)
  const hash = createHash('sha256').update(style).digest('base64')
  assert.ok(HTML_CSP.includes(`style-src 'sha256-${hash}'`), 'the page style would be blocked by its own CSP')
  assert.match(HTML_CSP, /default-src 'none'/)
  assert.match(HTML_CSP, /frame-ancestors 'none'/)
  assert.doesNotMatch(HTML_CSP, /script-src/)
})

test('the # column of the headers table is as narrow as its numbers: its cells carry the class the stylesheet keeps at 1%, unwrapped', () => {
  const html = formatHtml(makeFixture('json').echo)
  const style = html.slice(html.indexOf('<style>') + 7, html.indexOf('</style>'))
  const rule = /(?:^|\n)\.n\{([^}]*)\}/.exec(style)
  assert.ok(rule !== null, 'a rule for the .n column')
  assert.match(rule[1], /(?:^|;)width:1%(?:;|$)/)
  assert.match(rule[1], /(?:^|;)white-space:nowrap(?:;|$)/)
  // th has width:1% for the name column; the value column's header must not, or the spare width is shared out.
  assert.match(style, /(?:^|\n)th\.v\{width:auto\}/)
  assert.ok(html.includes('<table><tr><th class="n">#</th><th>name</th><th class="v">value</th></tr>'))
  const rows = html.match(/<tr><td class="n">\d+<\/td><th>/g) ?? []
  assert.equal(rows.length, 10, 'every header row numbers itself in the narrow column')
})
