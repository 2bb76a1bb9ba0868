// Sends one request whose every byte is known — request line, each header in order and case, body — over
// a plain or TLS socket, and reads the response. Node's http client would add, drop or re-case headers,
// which would make a diff of "what the gateway changed" lie.
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { VERSION } from '../echo/identity.ts'

export interface WireRequest {
  method: string
  /** path + query exactly as sent */
  target: string
  /** headers exactly as put on the wire, in order */
  headers: [string, string][]
  body: Buffer
}

export interface WireResponse {
  status: number
  headers: [string, string][]
  body: Buffer
  /** the protocol of the status line, e.g. HTTP/1.1 */
  version?: string
}

export interface Target { url: URL, insecure: boolean, timeoutMs: number }

/** The request echoscope diff sends: the user's method, headers and body, plus the framing headers it must add. */
export function buildRequest (url: URL, method: string, userHeaders: [string, string][], body: Buffer, websocket: boolean,
  /** the target as given, when the URL parser must not normalise it (dot segments, percent-encoding) */
  rawTarget?: string): WireRequest {
  const has = (name: string) => userHeaders.some(([n]) => n.toLowerCase() === name)
  const headers: [string, string][] = []
  if (!has('host')) headers.push(['Host', url.host])
  if (!has('user-agent')) headers.push(['User-Agent', `echoscope-diff/${VERSION}`])
  if (!has('accept') && !websocket) headers.push(['Accept', 'application/json'])
  headers.push(...userHeaders)
  let target = rawTarget ?? url.pathname + url.search
  if (websocket) {
    // The echo of the upgrade request arrives as the first message when ?info=1 is on the upgrade.
    target += (target.includes('?') ? '&' : '?') + 'info=1'
    headers.push(['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', randomBytes(16).toString('base64')])
  } else {
    if (body.length > 0 && !has('content-length') && !has('transfer-encoding')) headers.push(['Content-Length', String(body.length)])
    if (!has('connection')) headers.push(['Connection', 'close'])
  }
  return { method, target, headers, body }
}

function serialize (req: WireRequest): Buffer {
  const head = `${req.method} ${req.target} HTTP/1.1\r\n` + req.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n'
  return Buffer.concat([Buffer.from(head, 'latin1'), req.body])
}

function open (t: Target): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const https = t.url.protocol === 'https:' || t.url.protocol === 'wss:'
    const port = Number(t.url.port || (https ? 443 : 80))
    const host = t.url.hostname.replace(/^\[|\]$/g, '')
    const socket = https
      ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: !t.insecure, ALPNProtocols: ['http/1.1'] }, () => resolve(socket))
      : tcpConnect({ host, port }, () => resolve(socket))
    socket.setTimeout(t.timeoutMs, () => socket.destroy(new Error(`no answer from ${t.url.host} within ${t.timeoutMs} ms`)))
    socket.once('error', reject)
  })
}

function parseHead (buf: Buffer, end: number): { status: number, headers: [string, string][], version: string } {
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^(HTTP\/\d(?:\.\d)?) (\d{3})/.exec(lines[0])
  if (m === null) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0].slice(0, 80))}`)
  const headers: [string, string][] = []
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i > 0) headers.push([line.slice(0, i), line.slice(i + 1).trim()])
  }
  return { status: Number(m[2]), headers, version: m[1] }
}

const header = (headers: [string, string][], name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1]

/** The chunked body once complete, else null; with `partial`, the data of the chunks complete so far. */
function dechunk (buf: Buffer, partial = false): Buffer | null {
  const parts: Buffer[] = []
  let pos = 0
  for (;;) {
    const eol = buf.indexOf('\r\n', pos)
    if (eol === -1) return partial ? Buffer.concat(parts) : null
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16)
    if (Number.isNaN(size)) throw new Error('bad chunked encoding in the response')
    if (size === 0) return Buffer.concat(parts)
    if (buf.length < eol + 2 + size + 2) return partial ? Buffer.concat(parts) : null
    parts.push(buf.subarray(eol + 2, eol + 2 + size))
    pos = eol + 2 + size + 2
  }
}

/** Reads the first text frame a WebSocket server sends (server frames are not masked). */
function firstFrame (buf: Buffer): string | null {
  if (buf.length < 2) return null
  let len = buf[1] & 0x7f
  let off = 2
  if (len === 126) {
    if (buf.length < 4) return null
    len = buf.readUInt16BE(2)
    off = 4
  } else if (len === 127) {
    if (buf.length < 10) return null
    len = Number(buf.readBigUInt64BE(2))
    off = 10
  }
  if (buf.length < off + len) return null
  return buf.subarray(off, off + len).toString('utf8')
}

const MAX_RESPONSE = 64 * 1024 * 1024

/**
 * Sends the request and resolves with the response (for a WebSocket upgrade: the 101 and the first message as body).
 * `onBody`, when given, sees the body received so far (de-chunked) after each read, for timing a streamed response.
 */
export async function exchange (t: Target, req: WireRequest, websocket: boolean, onBody?: (soFar: Buffer) => void): Promise<WireResponse> {
  const socket = await open(t)
  return await new Promise<WireResponse>((resolve, reject) => {
    let buf = Buffer.alloc(0)
    let head: { status: number, headers: [string, string][], version: string } | null = null
    let bodyStart = 0
    let done = false
    const finish = (body: Buffer) => {
      done = true
      socket.destroy()
      resolve({ status: head!.status, headers: head!.headers, body, version: head!.version })
    }
    const tryParse = (ended: boolean) => {
      if (head === null) {
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) {
          if (ended) reject(new Error('the connection closed before a complete response head arrived'))
          return
        }
        head = parseHead(buf, end)
        bodyStart = end + 4
      }
      const rest = buf.subarray(bodyStart)
      if (onBody !== undefined && !websocket) {
        const te = header(head.headers, 'transfer-encoding')
        onBody(te !== undefined && /chunked/i.test(te) ? dechunk(rest, true)! : rest)
      }
      if (websocket) {
        if (head.status !== 101) { if (ended || header(head.headers, 'content-length') !== undefined) finish(rest); return }
        const text = firstFrame(rest)
        if (text !== null) finish(Buffer.from(text))
        else if (ended) reject(new Error('the WebSocket closed before the echo of the upgrade arrived'))
        return
      }
      if (req.method === 'HEAD' || head.status === 204 || head.status === 304) { finish(Buffer.alloc(0)); return }
      const te = header(head.headers, 'transfer-encoding')
      const cl = header(head.headers, 'content-length')
      if (te !== undefined && /chunked/i.test(te)) {
        const body = dechunk(rest)
        if (body !== null) finish(body)
        else if (ended) reject(new Error('the connection closed inside a chunked response'))
      } else if (cl !== undefined) {
        if (rest.length >= Number(cl)) finish(rest.subarray(0, Number(cl)))
        else if (ended) reject(new Error('the connection closed before the whole response body arrived'))
      } else if (ended) {
        finish(rest)
      }
    }
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (buf.length > MAX_RESPONSE) { socket.destroy(); reject(new Error('the response is larger than 64 MiB')); return }
      try { tryParse(false) } catch (err) { socket.destroy(); reject(err) }
    })
    socket.on('end', () => { try { tryParse(true) } catch (err) { reject(err) } })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A server may answer early (a 413 before the whole body is sent) and close: the answer counts, not the reset.
      if (!done && head !== null && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) finish(buf.subarray(bodyStart))
      else reject(err)
    })
    socket.write(serialize(req))
  })
}

const MAX_DECODED = 64 * 1024 * 1024

/** The body without the content coding a gateway may have applied on the way back (gzip, deflate, br). */
export function decodedBody (res: WireResponse): Buffer {
  const coding = res.headers.find(([n]) => n.toLowerCase() === 'content-encoding')?.[1].trim().toLowerCase()
  if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(res.body, { maxOutputLength: MAX_DECODED })
  if (coding === 'deflate') return inflateSync(res.body, { maxOutputLength: MAX_DECODED })
  if (coding === 'br') return brotliDecompressSync(res.body, { maxOutputLength: MAX_DECODED })
  return res.body
}
