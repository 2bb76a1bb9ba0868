// src/perf/pin-next-tick.ts: without it, a full GC while no nextTick entry is alive leaves V8's caches for
// Node's nextTick literal megamorphic for the rest of the process; with it they stay monomorphic, in the
// echoscope server too after it served requests. V8's own view of those caches (%DebugPrint of
// process.nextTick's feedback vector) is the evidence: a timing would be noise on a shared machine.
// The children run without NODE_V8_COVERAGE: coverage makes V8 allocate feedback at once, before any
// code of ours can run, which is not the process users run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { pinnedTickEntry } from '../../src/perf/pin-next-tick.ts'
import { CLI, waitFor } from '../helper.ts'

const run = promisify(execFile)
const PIN_MODULE = pathToFileURL(fileURLToPath(new URL('../../src/perf/pin-next-tick.js', import.meta.url))).href
const V8_FLAGS = ['--expose-gc', '--allow-natives-syntax']
// Node copies NODE_V8_COVERAGE into every child's environment unless the child's env names it.
const ENV = { PATH: process.env.PATH, NODE_V8_COVERAGE: '' }

function states (printed: string): string[] {
  return [...printed.matchAll(/slot #\d+ DefineKeyedOwnPropertyInLiteral (\w+)/g)].map(m => m[1])
}

/** States of the literal's caches after ticks, two full GCs with no entry alive, and one more tick. */
async function cacheStates (pin: boolean): Promise<string[]> {
  const script = `
    ${pin ? `await import(${JSON.stringify(PIN_MODULE)})` : ''}
    const turn = () => new Promise(resolve => setImmediate(resolve))
    for (let i = 0; i < 50; i++) { process.nextTick(() => {}); await turn() }
    globalThis.gc(); globalThis.gc()
    await turn()
    process.nextTick(() => {}); await turn()
    ;%DebugPrint(process.nextTick)
  `
  const { stdout } = await run(process.execPath, [...V8_FLAGS, '--input-type=module', '-e', script], { env: ENV, maxBuffer: 16 * 1024 * 1024 })
  return states(stdout)
}

test('the pinned object is a live nextTick queue entry', async () => {
  await new Promise(resolve => setImmediate(resolve))
  const entry = pinnedTickEntry()
  assert.ok(entry !== undefined)
  const keys = Object.getOwnPropertySymbols(entry).map(s => s.description)
  assert.ok(keys.includes('async_id_symbol'), `symbols: ${keys.join(', ')}`)
  assert.equal(typeof (entry as { callback?: unknown }).callback, 'function')
})

test('nextTick stays monomorphic across full GCs with the pin, and does not without it', async () => {
  const unpinned = await cacheStates(false)
  assert.ok(unpinned.length >= 3, `V8 printed no feedback for the nextTick literal: ${unpinned.join(', ')}`)
  // The control: without the pin the caches go megamorphic. Should a later Node keep them, this fails on
  // purpose: the pin (src/perf/pin-next-tick.ts) is then no longer needed and both may go.
  assert.ok(unpinned.includes('MEGAMORPHIC'), `this Node (${process.version}) keeps nextTick's feedback across GCs: ${unpinned.join(', ')}`)
  const pinned = await cacheStates(true)
  assert.ok(pinned.length >= 3)
  assert.deepEqual(pinned.filter(s => s !== 'MONOMORPHIC'), [], `pinned states: ${pinned.join(', ')}`)
})

test('the echoscope server keeps nextTick monomorphic after serving requests and full GCs', async (t) => {
  // Loaded before the CLI: on a line on stdin, two full GCs with nothing queued, one more tick, then V8's print.
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-pin-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const probe = join(dir, 'probe.cjs')
  writeFileSync(probe, `process.stdin.once('data', () => setImmediate(() => {
    globalThis.gc(); globalThis.gc()
    process.nextTick(() => setImmediate(() => { %DebugPrint(process.nextTick); console.log('PROBED') }))
  }))`)
  const child = spawn(process.execPath, [...V8_FLAGS, '-r', probe, CLI, '--port', '0', '--log-format', 'json'], { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] })
  t.after(() => { child.kill() })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d })
  child.stderr.on('data', (d: Buffer) => { out += d })
  await waitFor(() => /Server listening at/.test(out), 15000)
  const port = Number(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1])
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/warm/${i}?x=${i}`, { method: i % 3 === 0 ? 'POST' : 'GET', ...(i % 3 === 0 ? { body: '{"a":1}', headers: { 'content-type': 'application/json' } } : {}) })
    assert.equal(res.status, 200)
    await res.arrayBuffer()
  }
  child.stdin.write('probe\n')
  await waitFor(() => out.includes('PROBED'), 10000)
  const found = states(out)
  assert.ok(found.length >= 3, 'V8 printed the nextTick literal\'s feedback')
  assert.deepEqual(found.filter(s => s !== 'MONOMORPHIC'), [], `states: ${found.join(', ')}`)
})
