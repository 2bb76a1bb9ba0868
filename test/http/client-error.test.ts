// Requests Node's HTTP parser rejects (and the two node:http refuses in the request path) get the right
// status, Fastify's JSON error naming the reason, Connection: close, the whole answer before the close
// (also while the client keeps sending), one log line each, and the server goes on serving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { describeClientError, escapeBytes } from '../../src/http/client-error.ts'
import { parseResponse, spawnServer, startEcho, waitFor, type RawResponse } from '../helper.ts'

interface Exchange {
  response: RawResponse
  /** the client's local port: the log line names it */
  localPort: number
  /** a socket error the client saw, if any (a reset before the answer was read would show here) */
  error: string | null
}

/**
 * Sends `data` and `more` bytes with it, then `after` bytes in 16 KiB writes as fast as the socket takes
 * them, reads until the server closes. The response must be whole: its Content-Length matches what arrived.
 */
function exchange (port: number, data: string, more = 0, after = 0): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let error: string | null = null
    let localPort = 0
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no close within 10 s')) }, 10000)
    socket.on('connect', () => {
      localPort = socket.localPort ?? 0
      // The first megabyte goes with the bad request in one write: it is in the server's kernel buffer,
      // unread, when the server answers (what makes an immediate close a reset).
      socket.write(more > 0 ? Buffer.concat([Buffer.from(data, 'latin1'), Buffer.alloc(more, 'x')]) : data)
      let left = after
      const chunk = Buffer.alloc(16 * 1024, 'x')
      const pump = () => {
        while (left > 0) {
          left -= chunk.length
          if (!socket.write(chunk)) { socket.once('drain', pump); return }
        }
      }
      pump()
    })
    socket.on('data', c => chunks.push(c))
    socket.on('error', err => { error = (err as NodeJS.ErrnoException).code ?? err.message })
    socket.on('close', () => {
      clearTimeout(timer)
      try {
        resolve({ response: parseResponse(Buffer.concat(chunks)), localPort, error })
      } catch (err) {
        reject(new Error(`no whole response (client error: ${error}): ${(err as Error).message}`))
      }
    })
  })
}

const CASES: Array<{ name: string, data: string, status: number, code: string, message: RegExp }> = [
  { name: 'garbage', data: 'NOT HTTP AT ALL\r\n\r\n', status: 400, code: 'HPE_INVALID_METHOD', message: /^invalid request method .*\(HPE_INVALID_METHOD\)$/ },
  { name: 'TLS to the plain port', data: '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03', status: 400, code: 'HPE_INVALID_METHOD', message: /\(HPE_INVALID_METHOD\)$/ },
  { name: 'NUL in a header value', data: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', status: 400, code: 'HPE_INVALID_HEADER_TOKEN', message: /^invalid header value \(HPE_INVALID_HEADER_TOKEN\)$/ },
  { name: 'space before the colon', data: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', status: 400, code: 'HPE_INVALID_HEADER_TOKEN', message: /^invalid header name \(HPE_INVALID_HEADER_TOKEN\)$/ },
  { name: 'HTTP/0.9 request line', data: 'GET /\r\nHost: x\r\n\r\n', status: 400, code: 'HTTP_09', message: /^HTTP\/0\.9 request .*\(HTTP_09\)$/ },
  { name: 'bad version', data: 'GET / HTTP/1.7\r\nHost: x\r\n\r\n', status: 400, code: 'HPE_INVALID_VERSION', message: /^invalid HTTP version \(HPE_INVALID_VERSION\)$/ },
  { name: 'control byte in the target', data: 'GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, code: 'HPE_INVALID_URL', message: /^invalid character in the request target \(HPE_INVALID_URL\)$/ },
  {
    name: 'Content-Length and Transfer-Encoding',
    data: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
    // llhttp names it HPE_INVALID_TRANSFER_ENCODING on Node 20, HPE_UNEXPECTED_CONTENT_LENGTH on others
    code: 'HPE_',
    message: /^both Content-Length and Transfer-Encoding \(HPE_(INVALID_TRANSFER_ENCODING|UNEXPECTED_CONTENT_LENGTH)\)$/
  },
  { name: 'bad chunk size', data: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', status: 400, code: 'HPE_INVALID_CHUNK_SIZE', message: /^invalid chunk size in a chunked body \(HPE_INVALID_CHUNK_SIZE\)$/ },
  { name: 'bad Content-Length', data: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', status: 400, code: 'HPE_INVALID_CONTENT_LENGTH', message: /^invalid Content-Length \(HPE_INVALID_CONTENT_LENGTH\)$/ },
  { name: 'no Host on HTTP/1.1', data: 'GET / HTTP/1.1\r\n\r\n', status: 400, code: 'HOST_MISSING', message: /^HTTP\/1\.1 request without a Host header \(HOST_MISSING\)$/ },
  { name: 'head over --max-header-size', data: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`, status: 431, code: 'HPE_HEADER_OVERFLOW', message: /^request head larger than --max-header-size \(HPE_HEADER_OVERFLOW\)$/ }
]

function assertAnswer (res: RawResponse, status: number, message: RegExp): void {
  assert.equal(res.status, status)
  assert.equal(res.headers.get('connection')?.[0]?.toLowerCase(), 'close')
  assert.equal(res.body.length, Number(res.headers.get('content-length')?.[0]), 'the whole body arrived')
  assert.match(res.headers.get('content-type')?.[0] ?? '', /^application\/json/)
  const body = JSON.parse(res.body.toString('utf8')) as { statusCode: number, error: string, message: string }
  assert.equal(body.statusCode, status)
  assert.equal(body.error, status === 431 ? 'Request Header Fields Too Large' : 'Bad Request')
  assert.match(body.message, message)
}

function logLines (output: string): Array<Record<string, unknown>> {
  return output.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
}

test('every kind of rejected request: its status and reason, Connection: close, one log line, and the server goes on', async (t) => {
  const { child, port, output } = await spawnServer(['--max-header-size', '2048', '--rate-limit-max', '0'])
  t.after(() => { child.kill() })
  const seen: Array<{ name: string, localPort: number, code: string }> = []
  for (const c of CASES) {
    const { response, localPort, error } = await exchange(port, c.data)
    assert.equal(error, null, `${c.name}: no socket error at the client`)
    assertAnswer(response, c.status, c.message)
    seen.push({ name: c.name, localPort, code: c.code })
  }
  const after = await fetch(`http://127.0.0.1:${port}/still-serving`)
  assert.equal(after.status, 200)
  await waitFor(() => logLines(output()).some(l => l.url === '/still-serving'))
  const lines = logLines(output())
  for (const s of seen) {
    const mine = lines.filter(l => l.port === s.localPort)
    assert.equal(mine.length, 1, `${s.name}: one line for the connection, got ${JSON.stringify(mine)}`)
    const line = mine[0]
    assert.equal(line.msg, 'request rejected by the HTTP parser')
    assert.equal(line.level, 40)
    assert.equal(line.ip, '127.0.0.1')
    assert.ok(String(line.code).startsWith(s.code), `${s.name}: code ${String(line.code)}`)
    assert.equal(typeof line.reason, 'string')
  }
  // The parser's own bytes are in the line, escaped and capped.
  const nul = lines.find(l => l.port === seen.find(s => s.name === 'NUL in a header value')?.localPort)
  assert.equal(nul?.rawPacket, 'GET / HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\x00b\\r\\n\\r\\n')
  const big = lines.find(l => l.port === seen.find(s => s.name === 'head over --max-header-size')?.localPort)
  assert.equal(big?.statusCode, 431)
  assert.equal(big?.rawPacket, `GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: ${'a'.repeat(168)}…`, 'the first 200 bytes')
  // A body the parser cut off is the server's answer, not a client that went away.
  assert.ok(!output().includes('request aborted by the client'), 'no rejected request is logged as aborted')
})

test('a bad request followed by 2 MB more: the answer still arrives whole, without a reset before it', async (t) => {
  const { port, url } = await startEcho(t, { rateLimitMax: 0 })
  for (const bad of ['NOT HTTP AT ALL\r\n\r\n', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
    const { response, error } = await exchange(port, bad, 1024 * 1024, 1024 * 1024)
    assert.equal(error, null, 'no ECONNRESET or EPIPE at the client')
    assertAnswer(response, 400, /\(HPE_INVALID_(METHOD|CHUNK_SIZE)\)$/)
  }
  assert.equal((await fetch(`${url}/after`)).status, 200)
})

test('a client that keeps its side open after its bad request is let go after the lingering time', async (t) => {
  const { app, port } = await startEcho(t)
  const connections = () => new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  const started = Date.now()
  // allowHalfOpen: the client does not end its side when the server ends its own.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write('NOT HTTP\r\n\r\n'))
  t.after(() => { socket.destroy() })
  const chunks: Buffer[] = []
  socket.on('data', c => chunks.push(c))
  await new Promise(resolve => socket.once('end', resolve))
  const endAfter = Date.now() - started
  assertAnswer(parseResponse(Buffer.concat(chunks)), 400, /\(HPE_INVALID_METHOD\)$/)
  assert.ok(endAfter < 1000, `the answer and the server's end came at once (${endAfter} ms)`)
  assert.equal(await connections(), 1, 'the server still reads the connection')
  let n = 1
  while (n > 0 && Date.now() - started < 4000) {
    await new Promise(resolve => setTimeout(resolve, 50))
    n = await connections()
  }
  const closedAfter = Date.now() - started
  assert.equal(n, 0)
  assert.ok(closedAfter >= 1500 && closedAfter < 3000, `the server let the connection go after ${closedAfter} ms`)
})

test('a request answered earlier in the same read still gets its 200 before the 400', async (t) => {
  const { port } = await startEcho(t, { rateLimitMax: 0 })
  const { response } = await exchange(port, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n')
  assert.equal(response.status, 200)
  const raw = response.raw
  const rest = raw.subarray(raw.indexOf('\r\n\r\n') + 4 + response.body.length)
  assertAnswer(parseResponse(rest), 400, /\(HPE_INVALID_METHOD\)$/)
})

test('rejections are logged with --log-requests=false too (they are not request lines)', async (t) => {
  const { child, port, output } = await spawnServer(['--log-requests=false'])
  t.after(() => { child.kill() })
  const { response, localPort } = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n')
  assert.equal(response.status, 400)
  const noHost = await exchange(port, 'GET /no-host HTTP/1.1\r\n\r\n')
  assert.equal(noHost.response.status, 400)
  await waitFor(() => logLines(output()).filter(l => l.msg === 'request rejected by the HTTP parser').length === 2)
  const lines = logLines(output())
  assert.equal(lines.find(l => l.port === localPort)?.code, 'HPE_INVALID_HEADER_TOKEN')
  assert.equal(lines.find(l => l.port === noHost.localPort)?.url, '/no-host')
  assert.ok(!lines.some(l => l.msg === 'request'), 'no request lines')
})

test('the no-Host request has the rejection line instead of a request line', async (t) => {
  const { child, port, output } = await spawnServer([])
  t.after(() => { child.kill() })
  const { localPort } = await exchange(port, 'GET /no-host HTTP/1.1\r\n\r\n')
  const ok = await fetch(`http://127.0.0.1:${port}/with-host`)
  assert.equal(ok.status, 200)
  await waitFor(() => logLines(output()).some(l => l.url === '/with-host'))
  const lines = logLines(output()).filter(l => l.url === '/no-host')
  assert.equal(lines.length, 1)
  assert.equal(lines[0].msg, 'request rejected by the HTTP parser')
  assert.equal(lines[0].port, localPort)
})

test('an unknown parser code falls back to the parser\'s reason, then to its message, with the code', () => {
  assert.deepEqual(describeClientError(Object.assign(new Error('Parse Error: Something new'), { code: 'HPE_SOMETHING_NEW', reason: 'Something new' })),
    { statusCode: 400, reason: 'Something new', message: 'Something new (HPE_SOMETHING_NEW)' })
  assert.equal(describeClientError(Object.assign(new Error('Parse Error'), { code: 'HPE_OTHER' })).message, 'Parse Error (HPE_OTHER)')
  assert.equal(describeClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })).statusCode, 408)
  assert.equal(escapeBytes(Buffer.from('a\\b\x7f\xff', 'latin1')), 'a\\\\b\\x7f\\xff')
  assert.equal(escapeBytes(Buffer.alloc(300, 0x41)), 'A'.repeat(200) + '…')
})
