// src/pin-next-tick.ts: without it, a full GC while no nextTick entry is alive leaves V8's caches for
// Node's nextTick literal megamorphic for the rest of the process; with it they stay monomorphic.
// V8's own view of those caches (%DebugPrint of process.nextTick's feedback vector) is the evidence: a
// timing would be noise on a shared machine.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { pinnedTickEntry } from '../src/pin-next-tick.ts'

const run = promisify(execFile)
const PIN_MODULE = pathToFileURL(fileURLToPath(new URL('../src/pin-next-tick.js', import.meta.url))).href

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
  const { stdout } = await run(process.execPath, ['--expose-gc', '--allow-natives-syntax', '--input-type=module', '-e', script], { maxBuffer: 16 * 1024 * 1024 })
  return [...stdout.matchAll(/slot #\d+ DefineKeyedOwnPropertyInLiteral (\w+)/g)].map(m => m[1])
}

test('the pinned object is a live nextTick queue entry', async () => {
  await new Promise(resolve => setImmediate(resolve))
  const entry = pinnedTickEntry()
  assert.ok(entry !== undefined)
  const keys = Object.getOwnPropertySymbols(entry).map(s => s.description)
  assert.ok(keys.includes('async_id_symbol'), `symbols: ${keys.join(', ')}`)
  assert.equal(typeof (entry as { callback?: unknown }).callback, 'function')
})

test('nextTick stays monomorphic across full GCs with the pin, and does not without it', async (t) => {
  const unpinned = await cacheStates(false)
  assert.ok(unpinned.length >= 3, `V8 printed no feedback for the nextTick literal: ${unpinned.join(', ')}`)
  if (!unpinned.includes('MEGAMORPHIC')) {
    // A later V8 may keep the feedback; then the pin is harmless and there is nothing to show.
    t.skip(`this Node (${process.version}) keeps nextTick's feedback across GCs: ${unpinned.join(', ')}`)
    return
  }
  const pinned = await cacheStates(true)
  assert.ok(pinned.length >= 3)
  assert.deepEqual(pinned.filter(s => s !== 'MONOMORPHIC'), [], `pinned states: ${pinned.join(', ')}`)
})
