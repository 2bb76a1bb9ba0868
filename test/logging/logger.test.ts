// The stdout log destination: lines keep their order, a quiet server's lines still come out within
// BATCH_MS, and nothing is lost when the process exits right after logging or is stopped with SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { BATCH_MS } from '../../src/logging/logger.ts'
import { rawRequest, spawnServer, waitFor } from '../helper.ts'

const logger = fileURLToPath(new URL('../../src/logging/logger.js', import.meta.url))

/** Runs an ES module script in the project's directory (so it finds pino); its stdout, stderr and exit code. */
function runScript (script: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    env: { ...process.env, ...env }
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  const exited = new Promise<number | null>(resolve => child.on('close', resolve))
  return { child, exited, out: () => out, err: () => err }
}

// CI once lost the first 808 lines here: a batch handed to libuv's thread pool had not been written when
// process.exit ran, and no flush can tell how much of an in-flight write landed. The pool is made one
// thread, busy with a slow hash, so a batch written through it would be lost (or come last) every time.
test('a process that logs 2000 lines through pino and exits at once loses none of them, even with a busy thread pool', async () => {
  const run = runScript(`
    import pino from 'pino'
    import { pbkdf2 } from 'node:crypto'
    import { stdoutDestination } from ${JSON.stringify(logger)}
    pbkdf2('x', 'y', 2e6, 32, 'sha512', () => {})
    const log = pino({ level: 'info' }, stdoutDestination())
    for (let i = 0; i < 2000; i++) log.info({ i }, 'line')
    process.exit(0)
  `, { UV_THREADPOOL_SIZE: '1' })
  assert.equal(await run.exited, 0, run.err())
  const lines = run.out().trim().split('\n').map(l => JSON.parse(l) as { i: number, msg: string })
  assert.equal(lines.length, 2000)
  assert.deepEqual(lines.map(l => l.i), Array.from({ length: 2000 }, (_, i) => i))
})

test('a line logged at a quiet moment comes out soon, without waiting for a batch to fill', async (t) => {
  // Two lines 300 ms apart, then nothing for a long while: the batch is far from full, the process keeps running.
  const run = runScript(`
    import pino from 'pino'
    import { writeSync } from 'node:fs'
    import { stdoutDestination } from ${JSON.stringify(logger)}
    const log = pino({ level: 'info' }, stdoutDestination())
    const say = (msg) => { log.info(msg); writeSync(2, msg + '\\n') }
    say('first')
    setTimeout(() => say('second'), 300)
    setTimeout(() => {}, 10000)
  `)
  t.after(() => run.child.kill('SIGKILL'))
  for (const msg of ['first', 'second']) {
    while (!run.err().includes(msg)) await sleep(2)
    const logged = Date.now()
    while (!run.out().includes(`"msg":"${msg}"`)) {
      // BATCH_MS, with room for a busy machine; without the periodic write it would take until exit.
      assert.ok(Date.now() - logged < 20 * BATCH_MS, `"${msg}" not written ${Date.now() - logged} ms after it was logged: ${JSON.stringify(run.out())}`)
      await sleep(2)
    }
  }
  assert.deepEqual(run.out().trim().split('\n').map(l => (JSON.parse(l) as { msg: string }).msg), ['first', 'second'])
})

test('when stdout is not read, logging waits for it instead of queueing lines in memory, and none are lost', async (t) => {
  const total = 100_000
  const run = runScript(`
    import pino from 'pino'
    import { writeSync } from 'node:fs'
    import { stdoutDestination } from ${JSON.stringify(logger)}
    const log = pino({ level: 'info' }, stdoutDestination())
    for (let i = 0; i < ${total}; i++) {
      log.info({ i }, 'line')
      if (i % 1000 === 0) writeSync(2, i + '\\n')
    }
  `)
  // A failed assertion leaves stdout unread; the child must not outlive the test.
  t.after(() => run.child.kill('SIGKILL'))
  // Nobody reads stdout for a while: the pipe and the batch fill up, then the logging process waits.
  run.child.stdout.pause()
  const progress = () => Number(run.err().trim().split('\n').pop())
  await waitFor(() => progress() > 0)
  await sleep(700)
  assert.ok(progress() < total / 4, `the child kept logging into memory while stdout was not read (${progress()} lines)`)
  run.child.stdout.resume()
  assert.equal(await run.exited, 0, run.err())
  const lines = run.out().trim().split('\n').map(l => (JSON.parse(l) as { i: number }).i)
  assert.equal(lines.length, total)
  assert.ok(lines.every((n, i) => n === i), 'in order, none missing')
})

test('SIGTERM right after a burst of requests: the server exits 0 and every request has its line, in order', async () => {
  const { child, port, output } = await spawnServer([])
  const total = 200
  // One keep-alive connection: requests are answered (and logged) in the order they were sent.
  const head = (i: number) => `GET /burst/${i} HTTP/1.1\r\nHost: x\r\n${i === total - 1 ? 'Connection: close\r\n' : ''}\r\n`
  const res = await rawRequest(port, Array.from({ length: total }, (_, i) => head(i)).join(''))
  assert.equal(res.status, 200)
  const exited = new Promise<number | null>(resolve => child.on('exit', resolve))
  child.kill('SIGTERM')
  assert.equal(await exited, 0, output())
  const lines = output().trim().split('\n').map(l => JSON.parse(l) as { msg: string, url?: string })
  assert.deepEqual(lines.filter(l => l.msg === 'request').map(l => l.url), Array.from({ length: total }, (_, i) => `/burst/${i}`))
  // The line logged as the drain begins, moments before the exit, is there too, last.
  assert.equal(lines.at(-1)?.msg, 'shutting down: finishing in-flight requests', output())
})
