// Copy as curl: a shell command that sends a recorded request again. A pure function of the history entry
// (no DOM, no browser-only API), so Node imports it too and the tests run its commands.
import { cell } from './format.js'
import { decodeBase64 } from './hex.js'

const utf8 = new TextEncoder()

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
export function curlCommand (e) {
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
