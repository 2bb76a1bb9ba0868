// echoscope's live inspector. Plain browser code, no dependencies. Every value that comes from a request is
// put into the page as text (el() and text nodes), never parsed as HTML: the page shows hostile input as is.
// URLs are relative to the page (data-api, data-app on <body>), so it works under --system-prefix and
// behind a gateway that strips a path prefix.
/* global location */

const { body } = document
const API = new URL(body.dataset.api, location.href)
const APP = new URL(body.dataset.app, location.href)
// With --admin-token the page is opened as inspect?token=…; the API gets it as a Bearer header, which is why
// the live feed is read with fetch rather than EventSource (which cannot send headers).
const TOKEN = new URLSearchParams(location.search).get('token')
const AUTH = TOKEN === null ? {} : { authorization: 'Bearer ' + TOKEN }
const MAX_ROWS = 1000
const MAX_LOG = 500

// ---- DOM ----

/** el('td', { class: 'x', onclick: fn }, 'text', child…): attributes by setAttribute, children as text nodes. */
function el (tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'function') node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  add(node, children)
  return node
}

function add (node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue
    if (Array.isArray(child)) add(node, child)
    else node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }
}

const $ = id => document.getElementById(id)

// ---- formatting ----

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const pad = (n, w = 2) => String(n).padStart(w, '0')

function clock (date) {
  const d = new Date(date)
  if (Number.isNaN(d.getTime())) return String(date)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** Any value as one line of text for a table cell. */
function cell (value) {
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

function decodeBase64 (text) {
  try {
    const binary = atob(String(text))
    const bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
    return bytes
  } catch {
    return new Uint8Array(0)
  }
}

const utf8 = new TextEncoder()
const toHex = bytes => Array.from(bytes, b => HEX[b]).join(' ')

/** offset, 16 bytes in hex, and the printable ASCII, like `hexdump -C`. */
function hexDump (bytes, max = 65536) {
  const n = Math.min(bytes.length, max)
  const lines = []
  for (let off = 0; off < n; off += 16) {
    let hex = ''
    let text = ''
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' '
      if (off + i < n) {
        const b = bytes[off + i]
        hex += HEX[b] + ' '
        text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'
      } else {
        hex += '   '
      }
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${text}|`)
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`)
  return lines.join('\n')
}

// ---- copy as curl ----

// Not forwarded as they are: hop-by-hop headers, and what curl writes itself from the URL and the body.
const NOT_COPIED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'host', 'content-length'])
const SHELL_SAFE = /^[\w@%+=:,./-]+$/
const MAX_INLINE = 256 * 1024

/** Bodies with control characters other than tab and newline go through printf: a terminal may mangle them when pasted. */
function hasControl (text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f) return true
  }
  return false
}

const quote = s => "'" + s.replace(/'/g, "'\\''") + "'"
const sh = s => SHELL_SAFE.test(s) ? s : quote(s)

/** A printf command writing exactly these bytes (POSIX octal escapes, so sh, bash and zsh agree). */
function printfBytes (bytes) {
  let s = ''
  bytes.forEach((b, i) => {
    if (b === 0x25) s += '%%'
    else if (b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c && !(i === 0 && b === 0x2d)) s += String.fromCharCode(b)
    else s += '\\' + b.toString(8).padStart(3, '0')
  })
  return `printf '${s}'`
}

function formEncode (fields) {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(fields ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, cell(v))
  }
  return params.toString()
}

function decodesAsText (bytes) {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    return null
  }
}

/** curl's arguments for a body of these bytes (`text` when they are that UTF-8 text). */
function dataArgs (bytes, text, notes) {
  if (bytes.length > MAX_INLINE) {
    notes.push(`The body (${bytes.length} bytes) is too big to inline: save it as body.bin.`)
    return { args: ['--data-binary', '@body.bin'] }
  }
  if (text !== null && !hasControl(text)) {
    // --data-binary would read a file named by a leading @; --data-raw takes it literally.
    return { args: [text.startsWith('@') ? '--data-raw' : '--data-binary', text] }
  }
  return { args: ['--data-binary', '@-'], stdin: printfBytes(bytes) }
}

function multipartArgs (parsed, notes) {
  const args = []
  for (const [name, value] of Object.entries(parsed?.fields ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) args.push('--form-string', `${name}=${cell(v)}`)
  }
  const files = Array.isArray(parsed?.files) ? parsed.files : []
  for (const f of files) {
    const filename = cell(f.filename)
    const quoted = /[;,"\\]/.test(filename) ? '"' + filename.replace(/["\\]/g, '\\$&') + '"' : filename
    args.push('-F', `${cell(f.field)}=@${quoted}${f.type ? ';type=' + cell(f.type) : ''}`)
  }
  if (files.length > 0) notes.push('Multipart file contents are not kept: curl reads each file from the current directory.')
  notes.push('curl writes its own multipart boundary, so the body bytes differ.')
  return { args, multipart: true }
}

/** curl's body arguments, and the bytes they send when they are known. */
function bodyArgs (e, notes) {
  if (e.bodyTruncated) {
    notes.push(`The body (${e.bodyBytes} bytes) was over --history-body-limit and not kept: save it as body.bin.`)
    return { args: ['--data-binary', '@body.bin'] }
  }
  if (e.body === null || e.body === undefined || e.bodyEncoding === 'none') return { args: [] }
  if (e.bodyEncoding === 'multipart') return multipartArgs(e.body, notes)
  if (e.bodyEncoding === 'base64') {
    const bytes = decodeBase64(e.body)
    return { ...dataArgs(bytes, decodesAsText(bytes), notes), bytes }
  }
  const text = e.bodyEncoding === 'json' ? JSON.stringify(e.body) : e.bodyEncoding === 'form' ? formEncode(e.body) : String(e.body)
  const bytes = utf8.encode(text)
  return { ...dataArgs(bytes, text, notes), bytes }
}

/**
 * A shell command that sends this request again: method, URL (Host header + target), headers in wire order
 * without the hop-by-hop ones, and the body. Returns { command, notes, bytes } — the body bytes it sends,
 * when known, so the caller can check them against bodySha256.
 */
function curlCommand (e) {
  const notes = []
  const headers = Array.isArray(e.rawHeaders) ? e.rawHeaders : []
  const first = name => headers.find(([n]) => String(n).toLowerCase() === name)?.[1]
  const host = first('host') ?? first(':authority')
  const scheme = first(':scheme') ?? e.protocol ?? 'http'
  const target = String(e.url)
  const flags = []
  let url
  if (/^https?:\/\//i.test(target)) {
    url = target
  } else {
    if (host === undefined) notes.push('The request had no Host header: put the server in place of localhost.')
    const origin = `${scheme}://${host ?? 'localhost'}`
    if (target.startsWith('/')) {
      url = origin + target
    } else {
      url = origin + '/'
      flags.push('--request-target', target)
    }
  }
  const path = target.split('?')[0]
  // curl would otherwise squash /./ and /../ before sending.
  if (/(^|\/)\.\.?(\/|$)/.test(path)) flags.push('--path-as-is')
  if (/[[\]{}]/.test(url)) flags.push('--globoff')
  if (e.httpVersion === '1.0') flags.push('--http1.0')

  const skip = new Set(NOT_COPIED)
  for (const [name, value] of headers) {
    if (String(name).toLowerCase() === 'connection') for (const token of String(value).split(',')) skip.add(token.trim().toLowerCase())
  }
  const data = bodyArgs(e, notes)
  if (data.multipart) skip.add('content-type')
  if (e.decodedBytes !== undefined) {
    skip.add('content-encoding')
    notes.push('The body arrived compressed (Content-Encoding); this sends it decoded, without that header.')
  }

  const lines = []
  const seen = new Set()
  let redacted = false
  for (const [name, value] of headers) {
    const lower = String(name).toLowerCase()
    seen.add(lower)
    if (lower.startsWith(':') || skip.has(lower)) continue
    if (value === '[redacted]') redacted = true
    // `Name:` alone would make curl drop the header; `Name;` sends it empty.
    lines.push('-H ' + quote(value === '' ? `${name};` : `${name}: ${value}`))
  }
  // curl adds these unless told not to, and the request did not have them.
  if (!seen.has('user-agent')) lines.push('-H ' + quote('User-Agent:'))
  if (!seen.has('accept')) lines.push('-H ' + quote('Accept:'))
  if (data.args.length > 0 && !data.multipart && !seen.has('content-type')) lines.push('-H ' + quote('Content-Type:'))
  if (redacted) notes.push('Secret header values were [redacted] in the history (--redact-headers): fill them in.')
  // Values quoted even when the shell would not need it, as a reader expects; @- and @body.bin are file names.
  for (let i = 0; i < data.args.length; i += 2) {
    const value = data.args[i + 1]
    lines.push(data.args[i] + ' ' + (value === '@-' || value === '@body.bin' ? value : quote(value)))
  }

  const hasBody = data.args.length > 0
  const method = String(e.method)
  const start = ['curl']
  if (method === 'HEAD' && !hasBody) start.push('--head')
  else if (method !== (hasBody ? 'POST' : 'GET')) start.push('-X', sh(method))
  for (let i = 0; i < flags.length; i++) start.push(flags[i].startsWith('--') ? flags[i] : sh(flags[i]))
  start.push(sh(url))
  const command = (data.stdin === undefined ? '' : data.stdin + ' | ') + [start.join(' '), ...lines].join(' \\\n  ')
  return { command, notes, bytes: data.bytes }
}

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

// ---- detail view ----

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
const note = text => el('p', { class: 'note' }, text)

function entries (obj) {
  const out = []
  for (const [k, v] of Object.entries(obj ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, x])
  }
  return out
}

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

function showDetail (e) {
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
    e.jwt ? section('JWT (not verified)', json(e.jwt)) : null,
    e.tls ? section('TLS', json(e.tls)) : null,
    section('Server', json(e.server)),
    curlView(e)
  ])
}

// ---- the list ----

const known = new Map()
const rows = $('rows')
const pathFilter = $('filter-path')
const methodFilter = $('filter-method')
const methods = new Set(Array.from(methodFilter.options, o => o.value))
let selected = null

function visible (e) {
  const path = pathFilter.value.trim().toLowerCase()
  return (path === '' || String(e.url).toLowerCase().includes(path)) && (methodFilter.value === '' || e.method === methodFilter.value)
}

function updateCount () {
  let shown = 0
  for (const tr of rows.children) if (!tr.hidden) shown++
  $('count').textContent = known.size === 0 ? '' : shown === known.size ? `${known.size} requests` : `${shown} of ${known.size} requests`
  $('empty').hidden = known.size > 0
}

function row (e) {
  const replica = e.server?.pod ?? e.server?.instance
  const status = Number(e.statusCode)
  const tr = el('tr', { tabindex: 0, class: 'row' },
    el('td', { class: 'time', title: cell(e.receivedAt) }, clock(e.receivedAt)),
    el('td', { class: 'method' }, cell(e.method)),
    el('td', { class: 'path', title: cell(e.url) }, cell(e.url)),
    el('td', { class: `status s${Math.floor(status / 100)}` }, cell(e.statusCode)),
    el('td', { class: 'replica', title: cell(e.server?.hostname) }, cell(replica)))
  tr.dataset.id = e.requestId
  return tr
}

/** Adds an entry in time order, newest on top (it is nearly always the newest: the loop stops at once). */
function addEntry (e, fresh) {
  if (typeof e !== 'object' || e === null || known.has(e.requestId)) return
  known.set(e.requestId, e)
  const method = cell(e.method)
  if (!methods.has(method)) {
    methods.add(method)
    methodFilter.appendChild(el('option', null, method))
  }
  const tr = row(e)
  if (fresh) {
    tr.classList.add('new')
    tr.addEventListener('animationend', () => tr.classList.remove('new'), { once: true })
  }
  tr.hidden = !visible(e)
  let before = rows.firstElementChild
  while (before !== null && known.get(before.dataset.id).receivedAt > e.receivedAt) before = before.nextElementSibling
  rows.insertBefore(tr, before)
  while (known.size > MAX_ROWS) {
    const last = rows.lastElementChild
    known.delete(last.dataset.id)
    last.remove()
  }
  updateCount()
}

function select (tr) {
  const e = known.get(tr.dataset.id)
  if (e === undefined) return
  selected?.classList.remove('selected')
  selected = tr
  tr.classList.add('selected')
  showDetail(e)
}

rows.addEventListener('click', ev => {
  const tr = ev.target.closest('tr')
  if (tr !== null) select(tr)
})
rows.addEventListener('keydown', ev => {
  if (ev.key === 'Enter' && ev.target.matches('tr')) select(ev.target)
})

function applyFilter () {
  for (const tr of rows.children) tr.hidden = !visible(known.get(tr.dataset.id))
  updateCount()
}
pathFilter.addEventListener('input', applyFilter)
methodFilter.addEventListener('change', applyFilter)
$('clear').addEventListener('click', () => {
  known.clear()
  rows.replaceChildren()
  selected = null
  $('detail').replaceChildren(note('Click a request to see everything about it.'))
  updateCount()
})

// ---- the live feed ----

function setFeed (state, text) {
  const feed = $('feed')
  feed.dataset.state = state
  feed.textContent = text ?? state
}

class Unauthorized extends Error {}

async function api (path) {
  const res = await fetch(new URL(path, API), { headers: AUTH, cache: 'no-store' })
  if (res.status === 401) throw new Unauthorized()
  if (!res.ok || res.body === null) throw new Error(`${path}: HTTP ${res.status}`)
  return res
}

/** Server-sent events from a fetch body (echoscope writes LF line ends); resolves when the stream ends. */
async function readEvents (stream, onEvent) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      }
      if (data.length > 0) onEvent(event, data.join('\n'))
    }
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function follow () {
  let delay = 1000
  for (;;) {
    try {
      // Subscribe first, then load what came before: nothing falls in between (duplicates are dropped).
      const stream = await api('requests/stream')
      const list = await (await api('requests?limit=100')).json()
      const recent = Array.isArray(list.requests) ? list.requests : []
      for (let i = recent.length - 1; i >= 0; i--) addEntry(recent[i], false)
      setFeed('live')
      delay = 1000
      await readEvents(stream.body, (event, data) => {
        if (event !== 'request') return
        try {
          addEntry(JSON.parse(data), true)
        } catch {}
      })
    } catch (err) {
      if (err instanceof Unauthorized) {
        setFeed('unauthorized', 'needs the admin token: open this page as …/inspect?token=<admin token>')
        return
      }
    }
    setFeed('reconnecting', 'reconnecting…')
    await sleep(delay)
    delay = Math.min(delay * 2, 15000)
  }
}

// ---- WebSocket console ----

let socket = null
const wsLog = $('ws-log')
const wsPath = $('ws-path')
const wsText = $('ws-text')
const wsHex = $('ws-hex')

const LABELS = { 'sent-text': '→ text', 'echo-text': '← text', 'sent-binary': '→ binary', 'echo-binary': '← binary', open: 'open', close: 'closed', error: 'error', info: '·' }

function log (kind, text) {
  wsLog.appendChild(el('li', { class: kind }, el('span', { class: 'time' }, clock(Date.now())), ' ', el('span', { class: 'kind' }, LABELS[kind]), ' ', el('span', { class: 'text' }, text)))
  while (wsLog.childElementCount > MAX_LOG) wsLog.firstElementChild.remove()
  wsLog.scrollTop = wsLog.scrollHeight
}

/** The console's path is relative to echoscope's root as this page reached it (so a gateway's prefix stays). */
function wsUrl (path) {
  const url = new URL(path.trim().replace(/^\/+/, ''), APP)
  if (url.protocol === 'https:') url.protocol = 'wss:'
  else if (url.protocol === 'http:') url.protocol = 'ws:'
  return url.href
}

function parseHex (input) {
  const digits = input.replace(/\b0x/gi, '').replace(/[\s:,]+/g, '')
  if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) return null
  const bytes = new Uint8Array(digits.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

function setSocketState (state) {
  $('ws-state').dataset.state = state
  $('ws-state').textContent = state
  $('ws-connect').textContent = state === 'closed' ? 'Connect' : 'Disconnect'
  $('ws-send-text').disabled = state !== 'open'
  $('ws-send-hex').disabled = state !== 'open'
}

function connect () {
  let url
  try {
    url = wsUrl(wsPath.value)
    socket = new WebSocket(url)
  } catch (err) {
    log('error', `cannot connect to ${url ?? wsPath.value}: ${err.message}`)
    return
  }
  const ws = socket
  ws.binaryType = 'arraybuffer'
  setSocketState('connecting')
  log('info', `connecting to ${url}`)
  ws.addEventListener('open', () => {
    setSocketState('open')
    log('open', ws.protocol ? `subprotocol ${ws.protocol}` : url)
  })
  ws.addEventListener('message', ev => {
    if (typeof ev.data === 'string') log('echo-text', ev.data)
    else {
      const bytes = new Uint8Array(ev.data)
      log('echo-binary', `${bytes.length} bytes: ${toHex(bytes)}`)
    }
  })
  ws.addEventListener('error', () => log('error', 'connection error (the browser gives no detail)'))
  ws.addEventListener('close', ev => {
    log('close', `code ${ev.code}${ev.reason ? ` reason "${ev.reason}"` : ''}${ev.wasClean ? '' : ' (not clean)'}`)
    if (socket === ws) {
      socket = null
      setSocketState('closed')
    }
  })
}

$('ws-connect').addEventListener('click', () => {
  if (socket === null) connect()
  else socket.close(1000, 'closed from the inspector')
})

function sendText () {
  if (socket?.readyState !== WebSocket.OPEN) return
  socket.send(wsText.value)
  log('sent-text', wsText.value)
}

function sendHex () {
  if (socket?.readyState !== WebSocket.OPEN) return
  const bytes = parseHex(wsHex.value)
  if (bytes === null) {
    log('error', 'not hex: give pairs of hex digits, e.g. 00 01 fe ff')
    return
  }
  socket.send(bytes)
  log('sent-binary', `${bytes.length} bytes: ${toHex(bytes)}`)
}

$('ws-send-text').addEventListener('click', sendText)
$('ws-send-hex').addEventListener('click', sendHex)
wsText.addEventListener('keydown', ev => { if (ev.key === 'Enter') sendText() })
wsHex.addEventListener('keydown', ev => { if (ev.key === 'Enter') sendHex() })
wsPath.addEventListener('keydown', ev => { if (ev.key === 'Enter' && socket === null) connect() })

// The console folds away (a <details>, so it works without this script too); whether it is open is kept
// across reloads. Storage may be unavailable (disabled, or a sandboxed frame): the page works without it.
const wsConsole = $('ws-console')
const WS_OPEN_KEY = 'echoscope.inspect.wsConsoleOpen'
try {
  wsConsole.open = localStorage.getItem(WS_OPEN_KEY) === '1'
} catch {}
wsConsole.addEventListener('toggle', () => {
  try {
    localStorage.setItem(WS_OPEN_KEY, wsConsole.open ? '1' : '0')
  } catch {}
  if (wsConsole.open) wsLog.scrollTop = wsLog.scrollHeight
})

updateCount()
follow()
