// receivedAt's ISO string comes from a per-second cached prefix; it must always equal toISOString().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isoString } from '../../src/echo/build.ts'

test('isoString equals Date.prototype.toISOString, across seconds, in any order, at the edges', () => {
  const now = Date.now()
  const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, now, now + 1, now - 1, now + 1000, now, 253402300799999, 253402300800000, -1, -62167219200000, -62167219200001, 8.64e15, -8.64e15]
  for (let i = 0; i < 5000; i++) times.push(Math.floor(Math.random() * 4e12), now + Math.floor(Math.random() * 5000) - 2500)
  for (const t of times) {
    const d = new Date(t)
    assert.equal(isoString(d), d.toISOString(), `${t}`)
  }
})
