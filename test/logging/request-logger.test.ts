// request.log is pino's child logger, made only when something logs through it: lines logged through it
// carry the request id as before, and a request that logs nothing makes no child.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import Fastify, { LogController } from 'fastify'
import pino from 'pino'
import { LazyRequestLogger, lazyChildLoggerFactory } from '../../src/logging/request-logger.ts'

function sink (lines: Array<Record<string, unknown>>) {
  return new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
}

test('a request that logs nothing makes no child; one that logs gets its lines with the request id', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const seen: LazyRequestLogger[] = []
  let n = 0
  const fastify = Fastify({
    loggerInstance: pino({ level: 'info' }, sink(lines)),
    // No incoming/completed lines (as echoscope's own controller), Fastify's error log kept.
    logController: new (class extends LogController {
      override incomingRequest () {}
      override requestCompleted () {}
    })({}),
    genReqId: () => `req-${++n}`,
    childLoggerFactory: lazyChildLoggerFactory
  })
  fastify.get('/quiet', (request) => {
    seen.push(request.log as unknown as LazyRequestLogger)
    return { enabled: (request.log as unknown as LazyRequestLogger).isLevelEnabled('info') }
  })
  fastify.get('/loud', (request) => {
    request.log.warn({ detail: 1 }, 'something to say')
    request.log.debug('not at this level')
    return 'ok'
  })
  fastify.get('/boom', () => { throw new Error('kaput') })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => fastify.close())
  const base = `http://127.0.0.1:${(fastify.server.address() as { port: number }).port}`

  assert.deepEqual(await (await fetch(base + '/quiet')).json(), { enabled: true })
  assert.equal(seen[0].materialised, false, 'no child for a request that only asked for its level')
  assert.equal(lines.filter(l => l.reqId !== undefined).length, 0, 'nothing logged for the request')

  assert.equal((await fetch(base + '/loud')).status, 200)
  const warn = lines.find(l => l.msg === 'something to say')
  assert.ok(warn !== undefined, JSON.stringify(lines))
  assert.equal(warn.reqId, 'req-2')
  assert.equal(warn.detail, 1)
  assert.equal(warn.level, 40)
  assert.ok(!lines.some(l => l.msg === 'not at this level'))

  // Fastify's own error log for a 500 goes through reply.log, the same lazy logger.
  assert.equal((await fetch(base + '/boom')).status, 500)
  const err = lines.find(l => (l.err as { message?: string } | undefined)?.message === 'kaput')
  assert.ok(err !== undefined, JSON.stringify(lines))
  assert.equal(err.reqId, 'req-3')
})

test('level, child and bindings behave as on pino\'s child logger', () => {
  const lines: Array<Record<string, unknown>> = []
  const root = pino({ level: 'info' }, sink(lines))
  const log = lazyChildLoggerFactory(root, { reqId: 'r1' }, {}) as unknown as LazyRequestLogger
  assert.equal(log.level, 'info')
  assert.equal(log.isLevelEnabled('debug'), false)
  assert.deepEqual(log.bindings(), { reqId: 'r1' })
  assert.equal(log.materialised, false)
  log.level = 'debug'
  assert.equal(log.materialised, true)
  assert.equal(log.isLevelEnabled('debug'), true)
  assert.equal(root.level, 'info', 'the root logger keeps its level')
  log.debug('now visible')
  log.child({ sub: true }).info('from a grandchild')
  log.silent('never written')
  assert.deepEqual(lines.map(l => [l.msg, l.reqId, l.sub]), [['now visible', 'r1', undefined], ['from a grandchild', 'r1', true]])
})
