// The request log line: written directly (plain JSON logs) it is byte for byte the line pino writes for the
// same request, whatever the target holds, at every level a request line takes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import pino from 'pino'
import { rawRequest } from '../helper.ts'
import { EpochDigits, RequestLogController, putHundredths, putJsonString, putUint } from '../../src/logging/request-log.ts'
import { BatchedDestination } from '../../src/logging/log-destination.ts'

/** A Fastify app logging through `controller`, pino writing into `lines` (the controller's direct lines too). */
async function app (lines: string[], direct: boolean) {
  const sink = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  // Direct lines go through the batch the server uses; each batch's lines are split back into lines.
  const batch = new BatchedDestination({
    write (data: Buffer) { lines.push(...data.toString('utf8').split(/(?<=\n)/)); return true },
    flush (cb) { cb?.() },
    flushSync () {}
  })
  const controller = new RequestLogController({
    logRequests: true,
    logHeaders: false,
    quietPaths: new Set(['/healthz']),
    ...(direct ? { direct: { dest: batch, base: { pid: process.pid, hostname: hostname() } } } : {})
  })
  let n = 0
  const fastify = Fastify({ loggerInstance: pino({ level: 'debug' }, sink), logController: controller, genReqId: () => `id-${++n}` })
  fastify.all('/*', (request, reply) => {
    if (request.url.includes('boom')) throw new Error('boom')
    reply.code(request.url.includes('teapot') ? 418 : 200).send('ok')
  })
  fastify.get('/healthz', () => 'ok')
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  return { fastify, port: (fastify.server.address() as { port: number }).port, flush: () => batch.flushSync() }
}

// Quotes and backslashes are escaped in the line; /boom fails (500: an error-level line); /healthz is quiet (debug).
const TARGETS = ['/plain', '/q?a=1&b=%22x%22', '/quote"back\\slash', '/%C3%BCn%C3%AF?x=%E2%82%AC', '/teapot', '/healthz', '/healthz?probe=1', '/healthzz', '/boom']

function normalise (line: string): string {
  return line.replace(/"time":\d+/, '"time":0').replace(/"responseTime":[\d.]+/, '"responseTime":0')
}

test('the direct request line is the line pino writes, byte for byte, for every kind of target and level', async (t) => {
  const viaPino: string[] = []
  const direct: string[] = []
  const started = Date.now()
  const a = await app(viaPino, false)
  const b = await app(direct, true)
  t.after(() => Promise.all([a.fastify.close(), b.fastify.close()]))
  for (const target of TARGETS) {
    for (const { port } of [a, b]) {
      const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.ok(res.status > 0, target)
    }
  }
  await new Promise(resolve => setTimeout(resolve, 20))
  b.flush()
  const requests = (lines: string[]) => lines.filter(l => l.includes('"msg":"request"')).map(normalise)
  assert.equal(requests(viaPino).length, TARGETS.length)
  assert.deepEqual(requests(direct), requests(viaPino))
  // The health probe is logged at debug (20), with a query too, a 500 at error (50), the rest at info (30).
  assert.match(requests(direct).find(l => l.includes('"url":"/healthz"')) ?? '', /^\{"level":20,/)
  assert.match(requests(direct).find(l => l.includes('"url":"/healthz?probe=1"')) ?? '', /^\{"level":20,/)
  assert.match(requests(direct).find(l => l.includes('"url":"/healthzz"')) ?? '', /^\{"level":30,/)
  assert.match(requests(direct).find(l => l.includes('"url":"/boom"')) ?? '', /^\{"level":50,.*"statusCode":500,/)
  assert.ok(requests(direct).some(l => l.includes('"url":"/quote\\"back\\\\slash"')), 'quote and backslash escaped')
  for (const line of direct.filter(l => l.includes('"msg":"request"'))) {
    const time = (JSON.parse(line) as { time: number }).time
    assert.ok(Number.isInteger(time) && time >= started && time <= Date.now(), `time ${time} is when the request was logged`)
  }
  assert.match(requests(direct)[0], new RegExp(`^\\{"level":30,"time":0,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"reqId":"id-1","method":"GET","url":"/plain","statusCode":200,"ip":"127.0.0.1","responseTime":0,"msg":"request"\\}\\n$`))
})

test('numbers and strings are encoded exactly as JavaScript and JSON.stringify print them', () => {
  const buf = Buffer.alloc(4096)
  const ms = [0, 0.001, 0.004, 0.005, 0.07, 0.1, 0.125, 1, 1.005, 9.99, 10, 12.5, 99.994, 100, 1234.56, 86400000.01, 3600000 * 24 * 365]
  for (let i = 0; i < 2000; i++) ms.push(Math.random() * 10 ** Math.floor(Math.random() * 9))
  for (const x of ms) {
    const hundredths = Math.round(x * 100)
    assert.equal(buf.toString('latin1', 0, putHundredths(buf, 0, hundredths)), String(hundredths / 100), `${x} ms`)
  }
  for (const n of [0, 7, 10, 99, 100, 200, 599, Date.now(), Number.MAX_SAFE_INTEGER]) {
    assert.equal(buf.toString('latin1', 0, putUint(buf, 0, n)), String(n))
  }
  for (const s of ['', 'id-1', 'GET', '/a?b=c&d=%22', '/quote"back\\slash', 'tab\there', 'del\u007f', 'ünï€', '\u00c3\u00bc', '\ud83d\ude00', 'lone\ud800', '::ffff:127.0.0.1']) {
    assert.equal(buf.toString('utf8', 0, putJsonString(buf, 0, s)), JSON.stringify(s), s)
  }
})

test('line times are the epoch milliseconds as JavaScript prints them, across second boundaries and eras', () => {
  const digits = new EpochDigits()
  const buf = Buffer.alloc(32)
  const now = Date.now()
  const samples = [now, now + 1, now + 999, now + 1000, now - 1, 1_700_000_000_000, 1_700_000_000_999, 1_700_000_001_000,
    1_700_000_000_005, 1_700_000_000_050, 999_999_999_999, 1_000_000_000_000, 0, 7, 9_999_999_999_999, 10_000_000_000_000]
  for (let i = 0; i < 5000; i++) samples.push(now + Math.floor(Math.random() * 5000))
  for (const ms of samples) {
    const end = digits.put(buf, 3, ms)
    assert.equal(buf.toString('latin1', 3, end), String(ms))
  }
})
