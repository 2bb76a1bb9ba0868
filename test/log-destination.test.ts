// The batched stdout destination: lines keep their order, a turn's lines leave as one write, and nothing
// is lost when the process exits right after logging.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { BatchedDestination } from '../src/log-destination.ts'

function recorder () {
  const writes: string[] = []
  let syncFlushes = 0
  return {
    writes,
    syncFlushes: () => syncFlushes,
    boom: {
      write (data: string) { writes.push(data); return true },
      flush (cb?: (err?: Error) => void) { cb?.() },
      flushSync () { syncFlushes++ }
    }
  }
}

test('lines written in one event-loop turn reach the destination as one write, in order', async () => {
  const r = recorder()
  const dest = new BatchedDestination(r.boom)
  dest.write('a\n')
  dest.write('b\n')
  dest.write('c\n')
  assert.deepEqual(r.writes, [], 'nothing is written within the turn')
  await nextTurn()
  assert.deepEqual(r.writes, ['a\nb\nc\n'])
  dest.write('d\n')
  await nextTurn()
  assert.deepEqual(r.writes, ['a\nb\nc\n', 'd\n'])
})

test('flushSync writes what is pending at once, and flush calls back after it', async () => {
  const r = recorder()
  const dest = new BatchedDestination(r.boom)
  dest.write('x\n')
  dest.flushSync()
  assert.deepEqual(r.writes, ['x\n'])
  assert.equal(r.syncFlushes(), 1)
  dest.write('y\n')
  await new Promise<void>(resolve => dest.flush(() => resolve()))
  assert.deepEqual(r.writes, ['x\n', 'y\n'])
  await nextTurn()
  assert.deepEqual(r.writes, ['x\n', 'y\n'], 'the scheduled drain finds nothing left')
})

test('a process that logs 2000 lines through pino and exits at once loses none of them', async () => {
  const destination = fileURLToPath(new URL('../src/log-destination.js', import.meta.url))
  const script = `
    import pino from 'pino'
    import { stdoutDestination } from ${JSON.stringify(destination)}
    const log = pino({ level: 'info' }, stdoutDestination())
    for (let i = 0; i < 2000; i++) log.info({ i }, 'line')
    process.exit(0)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../../', import.meta.url)) })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  assert.equal(code, 0, err)
  const lines = out.trim().split('\n').map(l => JSON.parse(l) as { i: number, msg: string })
  assert.equal(lines.length, 2000)
  assert.deepEqual(lines.map(l => l.i), Array.from({ length: 2000 }, (_, i) => i))
})
