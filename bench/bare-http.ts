// The same-work yardstick: a plain node:http server, as a user would write it, doing echoscope's
// per-request work (its core fields, the query and JSON body parsed, a SHA-256 of the body, a request id)
// and nothing else (no framework, no logging, no validation). echoscope's throughput and p99 are judged
// against this, so keep it honest — it must do the work echoscope does for an echo, no less.
// The same start-up fix echoscope has (src/perf/pin-next-tick.ts), so both sides get Node's fast nextTick.
import '../src/perf/pin-next-tick.ts'
import { hash, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'

type Query = Record<string, string | string[]>

function parseQuery (search: string): Query {
  const query: Query = {}
  for (const [name, value] of new URLSearchParams(search)) {
    const seen = query[name]
    if (seen === undefined) query[name] = value
    else if (Array.isArray(seen)) seen.push(value)
    else query[name] = [seen, value]
  }
  return query
}

function pairs (raw: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]])
  return out
}

function isJson (contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const mime = contentType.split(';', 1)[0].trim().toLowerCase()
  return mime === 'application/json' || mime.endsWith('+json')
}

function decodeBody (bytes: Buffer, contentType: string | undefined): { body: unknown, bodyEncoding: string } {
  if (bytes.length === 0) return { body: null, bodyEncoding: 'none' }
  const text = bytes.toString('utf8')
  if (isJson(contentType)) {
    // A malformed JSON body is still echoed (as text), like echoscope does.
    try { return { body: JSON.parse(text), bodyEncoding: 'json' } } catch {}
  }
  return { body: text, bodyEncoding: 'text' }
}

function echo (req: IncomingMessage, res: ServerResponse, bytes: Buffer, receivedAt: Date): void {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const requestId = randomUUID()
  const socket = req.socket
  const address = socket.remoteAddress ?? ''
  const payload = JSON.stringify({
    method: req.method,
    url,
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? {} : parseQuery(url.slice(q + 1)),
    headers: req.headers,
    rawHeaders: pairs(req.rawHeaders),
    ...decodeBody(bytes, req.headers['content-type']),
    bodyBytes: bytes.length,
    bodySha256: hash('sha256', bytes, 'hex'),
    httpVersion: req.httpVersion,
    remote: { address, port: socket.remotePort ?? 0, family: socket.remoteFamily ?? '' },
    ip: address,
    requestId,
    receivedAt: receivedAt.toISOString()
  })
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'x-request-id': requestId
  })
  res.end(payload)
}

function handle (req: IncomingMessage, res: ServerResponse): void {
  const receivedAt = new Date()
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => echo(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), receivedAt))
}

// strict: false so this can stand in echoscope's slot (BENCH_ECHOSCOPE_ENTRY), which passes
// echoscope's own flags along.
const { values } = parseArgs({
  strict: false,
  options: { port: { type: 'string' }, host: { type: 'string' }, 'coalesce-writes': { type: 'boolean' } }
})
const port = Number(values.port ?? process.env.PORT ?? 8080)
const host = String(values.host ?? process.env.HOST ?? '127.0.0.1')

// --coalesce-writes: the same end-of-turn write coalescing echoscope does (src/perf/write-coalescing.ts), for the
// bench's opt-in extra row (BENCH_COALESCING=1). Loaded only then: the plain yardstick stays plain.
const options = values['coalesce-writes'] === true
  ? { ServerResponse: (await import('../src/perf/write-coalescing.ts')).coalescingResponse }
  : {}
createServer(options, handle).listen(port, host)
