// The request log line, as a real server writes it to stdout: one line per request, with pino's fields
// and then the request's, at the level the request calls for, whatever the target holds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { rawRequest, spawnServer, waitFor } from '../helper.ts'

// Quotes, backslashes and percent-encoded UTF-8 stay intact in the line; echo_status=500 is a 5xx (an error-level line);
// /healthz is quiet (debug), with a query too, /healthzz is not.
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

test('one line per request, pino\'s fields then the request\'s, at debug for probes, error for a 5xx', async (t) => {
  const { child, port, output } = await spawnServer(['--log-level', 'debug'])
  t.after(() => child.kill('SIGKILL'))
  const started = Date.now()
  const ids = await requestAll(port)
  await waitFor(() => ids.every(id => output().includes(id)))
  const byId = new Map(lines(output()).filter(l => l.msg === 'request').map(l => [l.reqId, l]))
  assert.equal(lines(output()).filter(l => ids.includes(String(l.reqId))).length, TARGETS.length, 'one line for each, nothing else')
  for (const [i, target] of TARGETS.entries()) {
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
  assert.equal(level('/healthz'), 20)
  assert.equal(level('/healthz?probe=1'), 20)
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
