// The detail view: everything about one request, and its copy-as-curl command.
import { curlCommand } from './curl.js'
import { $, add, el, note } from './dom.js'
import { cell, entries } from './format.js'
import { decodeBase64, hexDump, toHex } from './hex.js'

async function sha256Hex (bytes) {
  if (globalThis.crypto?.subtle === undefined) return null
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))).replace(/ /g, '')
}

async function copyText (text, textarea) {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // No clipboard API (a plain-http page that is not localhost) or no permission: the old way.
    textarea.focus()
    textarea.select()
    return document.execCommand('copy')
  }
}

function section (title, ...content) {
  return el('section', { class: 'part' }, el('h3', null, title), ...content)
}

function kvTable (pairs, cls = 'kv') {
  return el('table', { class: cls }, el('tbody', null, pairs.map(([k, v]) => el('tr', null, el('th', null, cell(k)), el('td', null, cell(v))))))
}

function grid (columns, rows) {
  return el('table', { class: 'grid' },
    el('thead', null, el('tr', null, columns.map(c => el('th', null, c)))),
    el('tbody', null, rows.map(r => el('tr', null, r.map(v => el('td', null, cell(v)))))))
}

const json = value => el('pre', { class: 'code' }, JSON.stringify(value, null, 2))

function bodyView (e) {
  const facts = [['encoding', e.bodyEncoding], ['bytes', e.bodyBytes]]
  if (e.decodedBytes !== undefined) facts.push(['decoded bytes', e.decodedBytes])
  facts.push(['sha256', e.bodySha256])
  let content
  if (e.bodyTruncated) content = note(`Not kept: ${e.bodyBytes} bytes is over --history-body-limit.`)
  else if (e.body === null || e.body === undefined || e.bodyEncoding === 'none') content = note('(empty)')
  else if (e.bodyEncoding === 'base64') content = el('pre', { class: 'hex' }, hexDump(decodeBase64(e.body)))
  else if (e.bodyEncoding === 'text') content = el('pre', { class: 'code' }, String(e.body))
  else content = json(e.body)
  return section('Body', kvTable(facts), e.bodyError ? el('p', { class: 'warn' }, e.bodyError) : null, content)
}

function proxyView (p) {
  const hops = Array.isArray(p.hops) ? p.hops : []
  const gateways = Array.isArray(p.gateways) ? p.gateways : []
  const warnings = Array.isArray(p.warnings) ? p.warnings : []
  return section('Proxy analysis',
    warnings.length > 0 ? el('ul', { class: 'warnings' }, warnings.map(w => el('li', { class: 'warn' }, cell(w)))) : null,
    hops.length > 0 ? grid(['#', 'source', 'address', 'by', 'proto', 'host', 'via'], hops.map((h, i) => [i + 1, h.source, h.address, h.by, h.proto, h.host, h.via])) : null,
    Array.isArray(p.originalUrl) && p.originalUrl.length > 0 ? [el('h4', null, 'Original URL'), kvTable(p.originalUrl.map(o => [o.header, o.value]))] : null,
    gateways.length > 0
      ? [el('h4', null, 'Gateways'), el('ul', { class: 'gateways' }, gateways.map(g => el('li', null, el('strong', null, cell(g.name)), ' — ', cell(Array.isArray(g.evidence) ? g.evidence.join(', ') : g.evidence))))]
      : null,
    p.clientCertificates !== undefined ? [el('h4', null, 'Client certificates'), json(p.clientCertificates)] : null)
}

function curlView (e) {
  const { command, notes, bytes } = curlCommand(e)
  const text = el('textarea', { id: 'curl', readonly: true, rows: Math.min(command.split('\n').length + 1, 16), spellcheck: 'false' })
  text.value = command
  const done = el('span', { class: 'note', id: 'curl-done' })
  const list = el('ul', { class: 'notes' }, notes.map(n => el('li', null, n)))
  const button = el('button', {
    type: 'button',
    id: 'copy-curl',
    onclick: async () => { done.textContent = await copyText(command, text) ? 'copied' : 'select the text and copy it' }
  }, 'Copy as curl')
  if (bytes !== undefined && e.decodedBytes === undefined) {
    sha256Hex(bytes).then(digest => {
      const line = digest === null
        ? 'Whether the body is byte-exact could not be checked here (no Web Crypto on a plain-http page).'
        : digest === e.bodySha256 ? 'The body is byte-exact (SHA-256 matches).' : 'The body is rebuilt from its parsed form: its bytes differ from what arrived (SHA-256 does not match).'
      list.appendChild(el('li', { class: digest === e.bodySha256 ? 'exact' : 'inexact' }, line))
    })
  }
  return section('Copy as curl', el('div', { class: 'bar' }, button, done), text, list)
}

export function showDetail (e) {
  const headers = Array.isArray(e.rawHeaders) ? e.rawHeaders : []
  const replica = e.server ?? {}
  const detail = $('detail')
  detail.replaceChildren()
  add(detail, [
    el('h2', { class: 'request-line' }, `${cell(e.method)} ${cell(e.url)} HTTP/${cell(e.httpVersion)}`),
    kvTable([
      ['status', e.statusCode], ['received', e.receivedAt], ['request id', e.requestId],
      ['replica', replica.pod ?? replica.instance], ['client ip', e.ip],
      ['peer', e.remote ? `${cell(e.remote.address)} port ${cell(e.remote.port)}` : ''], ['protocol', e.protocol]
    ]),
    section(`Headers (${headers.length}, in wire order)`, el('table', { class: 'grid headers' }, el('tbody', null,
      headers.map(([name, value]) => el('tr', null, el('th', null, cell(name)), el('td', null, cell(value))))))),
    Object.keys(e.query ?? {}).length > 0 ? section('Query', kvTable(entries(e.query))) : null,
    Object.keys(e.cookies ?? {}).length > 0 ? section('Cookies', kvTable(entries(e.cookies))) : null,
    bodyView(e),
    e.proxy ? proxyView(e.proxy) : null,
    e.forwarded ? section('Forwarded', json(e.forwarded)) : null,
    e.trace ? section('Trace', json(e.trace)) : null,
    // every decoded token with the header it came from; an entry from an older replica has jwt only
    e.jwts ? section('JWTs (not verified)', json(e.jwts)) : e.jwt ? section('JWT (not verified)', json(e.jwt)) : null,
    e.tls ? section('TLS', json(e.tls)) : null,
    section('Server', json(e.server)),
    // what echoscope sent back: anything else the client got was added on the way
    e.response ? section(`Response sent (${e.response.status})`, kvTable(entries(e.response.headers))) : null,
    curlView(e)
  ])
}

export function clearDetail () {
  $('detail').replaceChildren(note('Click a request to see everything about it.'))
}
