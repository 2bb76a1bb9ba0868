// Accept: text/html — a readable, self-contained page for a browser. Every echoed value is hostile input
// rendered into a page on our origin, so: every value goes through escapeHtml, no value is ever placed in an
// attribute, the page has no script and loads nothing, and HTML_CSP only admits the one stylesheet below
// (by hash), so even a missed escape could not run script or apply injected styles.
import { createHash } from 'node:crypto'
import type { Echo, ProxyAnalysis } from '../types.ts'

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;'
}
const ESCAPE_RE = /[&<>"']/g
const escapeChar = (c: string): string => ESCAPES[c]

/** Escapes & < > " ' so any string is inert both as element text and inside a quoted attribute. */
export function escapeHtml (value: unknown): string {
  const s = typeof value === 'string' ? value : String(value)
  return s.replace(ESCAPE_RE, escapeChar)
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1f;--muted:#667;--line:#d8d8e0;--code:#f4f4f7;--warn-bg:#fff4d6;--warn-fg:#6b4500}
@media (prefers-color-scheme:dark){:root{--bg:#16161a;--fg:#e6e6ea;--muted:#9a9aa8;--line:#33333b;--code:#202027;--warn-bg:#3d2f08;--warn-fg:#ffd479}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 20px 48px}
h1{font:600 18px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:15px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:13px;margin:14px 0 6px;color:var(--muted)}
p{margin:6px 0}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600;white-space:nowrap;width:1%}
.n{color:var(--muted);width:1%;white-space:nowrap;text-align:right}
th.v{width:auto}
pre{margin:0;padding:10px 12px;background:var(--code);border-radius:6px;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere;max-height:60vh;overflow:auto}
ul{margin:6px 0;padding-left:20px}
.warn{background:var(--warn-bg);color:var(--warn-fg);padding:6px 10px;border-radius:6px;margin:6px 0;list-style:none}
ul.warns{padding-left:0}
`

/**
 * The Content-Security-Policy to send with the page: nothing may load or run; only the page's own
 * stylesheet applies (by hash, so no injected <style> or style attribute would).
 */
export const HTML_CSP = "default-src 'none'; style-src 'sha256-" +
  createHash('sha256').update(STYLE).digest('base64') +
  "'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function pre (value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2)
  return '<pre>' + escapeHtml(text ?? String(value)) + '</pre>'
}

function cell (value: unknown): string {
  if (value === undefined || value === null) return '<span class="muted">—</span>'
  return escapeHtml(typeof value === 'object' ? JSON.stringify(value) : value)
}

/** A name/value table; rows whose value is undefined are left out. */
function kvTable (rows: [string, unknown][]): string {
  let out = '<table>'
  for (const [name, value] of rows) {
    if (value === undefined) continue
    out += '<tr><th>' + escapeHtml(name) + '</th><td>' + cell(value) + '</td></tr>'
  }
  return out + '</table>'
}

function section (title: string, content: string): string {
  return '<section><h2>' + escapeHtml(title) + '</h2>' + content + '</section>'
}

const NONE = '<p class="muted">none</p>'

function headersTable (echo: Echo): string {
  const raw = echo.rawHeaders
  if (raw.length === 0) return NONE
  // Every header cell but the value's is 1% wide (as narrow as its content): with the value's 1% too, the
  // browser shared the spare width among all three columns and # took a quarter of the page.
  let out = '<table><tr><th class="n">#</th><th>name</th><th class="v">value</th></tr>'
  for (let i = 0; i < raw.length; i++) {
    out += '<tr><td class="n">' + (i + 1) + '</td><th>' + escapeHtml(raw[i][0]) + '</th><td>' +
      escapeHtml(raw[i][1]) + '</td></tr>'
  }
  return out + '</table>'
}

function multiTable (record: Record<string, string | string[]>): string {
  const rows: [string, string][] = []
  for (const name of Object.keys(record)) {
    const value = record[name]
    if (Array.isArray(value)) for (const v of value) rows.push([name, v])
    else rows.push([name, value])
  }
  return rows.length === 0 ? NONE : kvTable(rows)
}

function bodySection (echo: Echo): string {
  let out = kvTable([
    ['encoding', echo.bodyEncoding],
    ['bytes', echo.bodyBytes],
    ['decoded bytes', echo.decodedBytes],
    ['sha256', echo.bodySha256]
  ])
  if (echo.bodyError !== undefined) out += '<p class="warn">' + escapeHtml(echo.bodyError) + '</p>'
  switch (echo.bodyEncoding) {
    case 'none':
      return out + '<p class="muted">no body</p>'
    case 'json':
    case 'form':
    case 'multipart':
      return out + pre(echo.body === undefined ? null : echo.body)
    case 'base64':
      return out + '<h3>base64</h3>' + pre(String(echo.body))
    default:
      return out + pre(typeof echo.body === 'string' ? echo.body : JSON.stringify(echo.body, null, 2))
  }
}

function warnings (list: string[] | undefined): string {
  if (list === undefined || list.length === 0) return ''
  let out = '<ul class="warns">'
  for (const w of list) out += '<li class="warn">' + escapeHtml(w) + '</li>'
  return out + '</ul>'
}

function proxyDetails (proxy: ProxyAnalysis): string {
  let out = warnings(proxy.warnings)
  if (proxy.hops.length > 0) {
    out += '<h3>hops (client first, TCP peer last)</h3><table><tr><th>source</th><th>address</th><th>by</th>' +
      '<th>proto</th><th>host</th><th>via</th></tr>'
    for (const h of proxy.hops) {
      out += '<tr><td>' + cell(h.source) + '</td><td>' + cell(h.address) + '</td><td>' + cell(h.by) +
        '</td><td>' + cell(h.proto) + '</td><td>' + cell(h.host) + '</td><td>' + cell(h.via) + '</td></tr>'
    }
    out += '</table>'
  }
  if (proxy.originalUrl !== undefined && proxy.originalUrl.length > 0) {
    out += '<h3>original URL reported by a gateway</h3>' +
      kvTable(proxy.originalUrl.map(o => [o.header, o.value]))
  }
  if (proxy.gateways.length > 0) {
    out += '<h3>gateways recognised</h3>' + kvTable(proxy.gateways.map(g => [g.name, g.evidence.join(', ')]))
  }
  return out
}

function clientSection (echo: Echo): string {
  let out = kvTable([
    ['remote', echo.remote.address + ' port ' + echo.remote.port + ' (' + echo.remote.family + ')'],
    ['client ip', echo.ip],
    ['protocol', echo.protocol]
  ])
  if (echo.forwarded !== undefined) out += '<h3>forwarded headers</h3>' + pre(echo.forwarded)
  if (echo.proxy !== undefined) out += proxyDetails(echo.proxy)
  return out
}

function jwtSection (echo: Echo): string {
  const tokens = echo.jwts
  if (tokens === undefined) return ''
  let out = '<p class="warn">signatures not verified: this is what the tokens claim, not what they prove</p>'
  for (const jwt of tokens) {
    out += '<h3>from ' + escapeHtml(jwt.source) + '</h3>'
    if (jwt.expired === true) out += '<p class="warn">expired at ' + escapeHtml(jwt.expiresAt) + '</p>'
    out += kvTable([['issued at', jwt.issuedAt], ['not before', jwt.notBefore], ['expires at', jwt.expiresAt]])
    out += '<h3>header</h3>' + pre(jwt.header) + '<h3>payload</h3>' + pre(jwt.payload)
  }
  return section(tokens.length === 1 ? 'JWT' : `JWTs (${tokens.length})`, out)
}

function tlsSection (echo: Echo): string {
  const tls = echo.tls
  if (tls === undefined) return ''
  let out = kvTable([
    ['server name (SNI)', tls.servername],
    ['ALPN', tls.alpn],
    ['version', tls.version],
    ['cipher', tls.cipher]
  ])
  if (tls.clientCertificate !== undefined) out += '<h3>client certificate</h3>' + pre(tls.clientCertificate)
  return section('TLS', out)
}

/** The echo as a complete HTML page. Serve with `Content-Security-Policy: HTML_CSP` and nosniff. */
export function formatHtml (echo: Echo): string {
  const requestLine = echo.method + ' ' + echo.url + ' HTTP/' + echo.httpVersion
  const s = echo.server
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="referrer" content="no-referrer">' +
    '<title>' + escapeHtml(echo.method + ' ' + echo.path) + ' · echoscope</title>' +
    '<style>' + STYLE + '</style></head><body><main>' +
    '<h1>' + escapeHtml(requestLine) + '</h1>' +
    '<p class="muted">request ' + escapeHtml(echo.requestId) + ' · received ' + escapeHtml(echo.receivedAt) +
    ' · answered by ' + escapeHtml(s.hostname) + '</p>' +
    section('Headers (' + echo.rawHeaders.length + ', in arrival order)', headersTable(echo)) +
    section('Query', multiTable(echo.query)) +
    section('Cookies', multiTable(echo.cookies)) +
    section('Body', bodySection(echo)) +
    section('Client and proxies', clientSection(echo)) +
    (echo.trace === undefined ? '' : section('Trace context', pre(echo.trace))) +
    jwtSection(echo) +
    tlsSection(echo) +
    section('Server', kvTable([
      ['hostname', s.hostname],
      ['instance', s.instance],
      ['version', s.version],
      ['pod', s.pod],
      ['namespace', s.namespace],
      ['node', s.node],
      ['request id', echo.requestId],
      ['received at', echo.receivedAt]
    ])) +
    '</main></body></html>\n'
}
