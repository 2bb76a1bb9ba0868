// The request log line, as a real server writes it to stdout: one line per request, with pino's fields
// and then the request's, at the level the request calls for, whatever the target holds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { createHash } from 'node:crypto'
import { rawRequest, spawnServer, waitFor } from '../helper.ts'

// Quotes, backslashes and percent-encoded UTF-8 stay intact in the line; echo_status=500 is a 5xx (an error-level line);
// /healthz is one of --log-ignore-paths by default (no line, even at debug), with a query too; /healthzz is not.
const TARGETS = ['/plain', '/q?a=1&b=%22x%22', '/quote"back\\slash', '/%C3%BCn%C3%AF?x=%E2%82%AC', '/teapot?echo_status=418', '/boom?echo_status=500', '/healthz', '/healthz?probe=1', '/healthzz']

interface Line { level: number, time: number, msg: string, reqId?: string, url?: string, [field: string]: unknown }

function lines (output: string): Line[] {
  return output.trim().split('\n').map(l => JSON.parse(l) as Line)
}

async function requestAll (port: number): Promise<string[]> {
  const ids: string[] = []
  for (const target of TARGETS) {
    const res = await rawRequest(port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    assert.ok(res.status > 0, target)
    const id = res.headers.get('x-request-id')?.[0]
    assert.ok(id !== undefined, target)
    ids.push(id)
  }
  return ids
}

test('one line per request, pino\'s fields then the request\'s, none for the ignored health paths, error for a 5xx', async (t) => {
  const { child, port, output } = await spawnServer(['--log-level', 'debug'])
  t.after(() => child.kill('SIGKILL'))
  const started = Date.now()
  const ids = await requestAll(port)
  const ignored = (target: string) => target.startsWith('/healthz') && !target.startsWith('/healthzz')
  await waitFor(() => ids.every((id, i) => ignored(TARGETS[i]) || output().includes(id)))
  const byId = new Map(lines(output()).filter(l => l.msg === 'request').map(l => [l.reqId, l]))
  assert.equal(lines(output()).filter(l => ids.includes(String(l.reqId))).length, TARGETS.length - 2, 'one line for each, nothing else')
  for (const [i, target] of TARGETS.entries()) {
    if (ignored(target)) continue
    const line = byId.get(ids[i])
    assert.ok(line !== undefined, target)
    assert.deepEqual(Object.keys(line), ['level', 'time', 'pid', 'hostname', 'reqId', 'method', 'url', 'statusCode', 'ip', 'responseTime', 'msg'], target)
    assert.equal(line.url, target)
    assert.equal(line.method, 'GET')
    assert.equal(line.ip, '127.0.0.1')
    assert.equal(line.pid, child.pid)
    assert.equal(line.hostname, hostname())
    assert.ok(typeof line.responseTime === 'number' && line.responseTime >= 0)
    assert.ok(Number.isInteger(line.time) && line.time >= started && line.time <= Date.now(), `time ${line.time} is when the request was logged`)
  }
  const level = (target: string) => byId.get(ids[TARGETS.indexOf(target)])?.level
  assert.equal(level('/plain'), 30)
  assert.equal(level('/teapot?echo_status=418'), 30)
  assert.equal(byId.get(ids[TARGETS.indexOf('/teapot?echo_status=418')])?.statusCode, 418)
  assert.equal(level('/boom?echo_status=500'), 50)
  assert.equal(level('/healthz'), undefined)
  assert.equal(level('/healthz?probe=1'), undefined)
  assert.equal(level('/healthzz'), 30)
})

test('at the default level the health probes are not logged; --no-log-requests logs no request at all', async (t) => {
  const { child, port, output } = await spawnServer([])
  t.after(() => child.kill('SIGKILL'))
  const ids = await requestAll(port)
  const logged = (id: string) => output().includes(id)
  await waitFor(() => logged(ids[TARGETS.indexOf('/healthzz')]))
  // /healthzz was the last request: the probes before it would have been written by now.
  assert.ok(!logged(ids[TARGETS.indexOf('/healthz')]) && !logged(ids[TARGETS.indexOf('/healthz?probe=1')]), output())
  assert.equal(lines(output()).filter(l => l.msg === 'request').length, TARGETS.length - 2)

  const quiet = await spawnServer(['--no-log-requests'])
  t.after(() => quiet.child.kill('SIGKILL'))
  await requestAll(quiet.port)
  // SIGTERM writes whatever is pending and exits: everything this server was going to log is out then.
  const exited = new Promise(resolve => quiet.child.on('exit', resolve))
  quiet.child.kill('SIGTERM')
  await exited
  assert.ok(quiet.output().includes('shutting down'), quiet.output())
  assert.deepEqual(lines(quiet.output()).filter(l => l.reqId !== undefined), [], quiet.output())
})

/** The request line of the request with this id, once it is written. */
async function lineOf (output: () => string, id: string): Promise<Line> {
  await waitFor(() => lines(output()).some(l => l.reqId === id && l.msg === 'request'))
  return lines(output()).find(l => l.reqId === id && l.msg === 'request') as Line
}

async function post (port: number, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers, body })
  await res.arrayBuffer()
  return res.headers.get('x-request-id') ?? ''
}

test('--log-bodies puts the redacted headers and the body in the line: text as text, binary as base64, cut at --log-body-limit', async (t) => {
  const { child, port, output } = await spawnServer(['--log-bodies', '--log-body-limit', '16'])
  t.after(() => child.kill('SIGKILL'))
  const text = Buffer.from('{"event":"paid"}')
  const id = await post(port, '/hook', text, { 'content-type': 'application/json', authorization: 'Bearer hook-secret', 'x-signature': 'sig=abc' })
  const line = await lineOf(output, id)
  assert.equal(line.body, '{"event":"paid"}')
  assert.equal(line.bodyEncoding, 'utf8')
  assert.equal(line.bodyBytes, 16)
  assert.equal(line.bodySha256, createHash('sha256').update(text).digest('hex'))
  assert.equal(line.bodyTruncated, undefined)
  const headers = line.headers as Record<string, string>
  assert.equal(headers['x-signature'], 'sig=abc')
  assert.equal(headers.authorization, '[redacted]')
  assert.ok(!output().includes('hook-secret'))

  // 17 bytes of text, the 16th and 17th one character: cut before it, never in its middle.
  const long = Buffer.from('fifteen bytes..é')
  assert.equal(long.length, 17)
  const cut = await lineOf(output, await post(port, '/hook', long, { 'content-type': 'text/plain' }))
  assert.equal(cut.body, 'fifteen bytes..')
  assert.equal(cut.bodyTruncated, true)
  assert.equal(cut.bodyBytes, 17)
  assert.equal(cut.bodySha256, createHash('sha256').update(long).digest('hex'), 'the digest is of the whole body')

  const binary = Buffer.from([0xff, 0x00, 0xfe, 0x01, 0x80])
  const bin = await lineOf(output, await post(port, '/upload', binary, { 'content-type': 'application/octet-stream' }))
  assert.equal(bin.bodyEncoding, 'base64')
  assert.deepEqual(Buffer.from(String(bin.body), 'base64'), binary)

  // A request without a body has its headers and no body fields.
  const res = await fetch(`http://127.0.0.1:${port}/nobody`)
  await res.arrayBuffer()
  const none = await lineOf(output, res.headers.get('x-request-id') ?? '')
  assert.equal(none.body, undefined)
  assert.equal((none.headers as Record<string, string>).host, `127.0.0.1:${port}`)
})

test('without --log-bodies no body reaches the log', async (t) => {
  const { child, port, output } = await spawnServer([])
  t.after(() => child.kill('SIGKILL'))
  const line = await lineOf(output, await post(port, '/hook', Buffer.from('private-body-text')))
  assert.equal(line.body, undefined)
  assert.equal(line.headers, undefined)
  assert.ok(!output().includes('private-body-text'))
})

test('--log-ignore-paths: prefixes of whole segments and globs get no line, a 5xx on them still does; empty logs all', async (t) => {
  const { child, port, output } = await spawnServer(['--log-ignore-paths', '/static,/api/*/ping,/assets/**.js'])
  t.after(() => child.kill('SIGKILL'))
  const get = async (target: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${target}`)
    await res.arrayBuffer()
    return res.headers.get('x-request-id') ?? ''
  }
  const ignored = ['/static', '/static/app.css', '/static?v=1', '/api/v1/ping', '/assets/a/b/c.js']
  const logged = ['/statics', '/api/v1/v2/ping', '/api/v1/pong', '/assets/a.css', '/healthz']
  const ignoredIds = []
  for (const target of ignored) ignoredIds.push(await get(target))
  const loggedIds = []
  for (const target of logged) loggedIds.push(await get(target))
  const failing = await get('/static/broken?echo_status=503')
  for (const id of [...loggedIds, failing]) await lineOf(output, id)
  for (const [i, id] of ignoredIds.entries()) assert.ok(!output().includes(id), ignored[i])
  assert.equal((await lineOf(output, failing)).statusCode, 503)

  const all = await spawnServer([], { ECHOSCOPE_LOG_IGNORE_PATHS: '' })
  t.after(() => all.child.kill('SIGKILL'))
  const res = await fetch(`http://127.0.0.1:${all.port}/healthz`)
  await res.arrayBuffer()
  assert.equal((await lineOf(all.output, res.headers.get('x-request-id') ?? '')).url, '/healthz')
})

test('the default --log-ignore-paths follows --system-prefix: the health paths move, /healthz is then an echo path and logged', async (t) => {
  const { child, port, output } = await spawnServer(['--system-prefix', '/_'])
  t.after(() => child.kill('SIGKILL'))
  const health = await fetch(`http://127.0.0.1:${port}/_/healthz`)
  await health.arrayBuffer()
  const echo = await fetch(`http://127.0.0.1:${port}/healthz`)
  await echo.arrayBuffer()
  await lineOf(output, echo.headers.get('x-request-id') ?? '')
  assert.ok(!output().includes(health.headers.get('x-request-id') ?? 'none'))
})

test('--log-format pretty prints a logged text body as its own lines, control characters escaped', async (t) => {
  const { child, port, output } = await spawnServer(['--log-format', 'pretty', '--log-bodies'])
  t.after(() => child.kill('SIGKILL'))
  await post(port, '/hook', Buffer.from('{\n  "event": "paid\u001b[31m"\n}'), { 'content-type': 'application/json' })
  await waitFor(() => output().includes('bodySha256'))
  const out = output()
  assert.match(out, /INFO.*: request\n/)
  assert.match(out, /body:\n +\{\n +"event": "paid\\u001b\[31m"\n +\}\n/)
  assert.ok(!out.includes('\u001b[31m'), 'no escape sequence reaches the terminal')
})
