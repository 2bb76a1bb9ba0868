// The bisection alone, on pure predicates: bounded tries, within the precision, the smallest refusal's evidence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bisect } from '../../src/probe/bisect.ts'

const upTo = (limit: number) => async (n: number) => ({ ok: n <= limit, evidence: `refused ${n}` })

test('finds a limit within 2% with few tries, the evidence being the smallest refusal', async () => {
  for (const limit of [1, 999, 65536, 12345, 8_000_000]) {
    const r = await bisect(upTo(limit), { start: 1024, max: 64 * 1024 * 1024, precision: 0.02, maxTries: 40 })
    assert.ok(r.refused !== null && r.refused > limit, `refused ${r.refused} for ${limit}`)
    assert.equal(r.evidence, `refused ${r.refused}`)
    if (limit >= 1024) {
      assert.ok(r.passed !== null && r.passed <= limit && r.passed >= limit * 0.98, `passed ${r.passed} for ${limit}`)
    } else {
      assert.ok(r.passed === null || r.passed <= limit)
      assert.ok(r.refused - (r.passed ?? 0) <= Math.max(1, 0.02 * limit) || r.passed === limit, `${r.passed}..${r.refused} for ${limit}`)
    }
    assert.ok(r.tries <= 30, `${r.tries} tries for ${limit}`)
    assert.equal(r.exhausted, false)
  }
})

test('passing the cap reports no refusal; a tight budget says it ran out', async () => {
  const all = await bisect(upTo(Infinity), { start: 1000, max: 5000, precision: 0.02, maxTries: 40 })
  assert.deepEqual(all, { passed: 5000, refused: null, evidence: null, tries: 4, exhausted: false })
  const short = await bisect(upTo(50_000), { start: 1000, max: 1_000_000, precision: 0.02, maxTries: 8 })
  assert.equal(short.tries, 8)
  assert.equal(short.exhausted, true)
  assert.ok(short.passed! <= 50_000 && short.refused! > 50_000)
})

test('a known refusal and a guess: two tries when the guess is right', async () => {
  const r = await bisect(upTo(1990), { start: 0, max: 5000, precision: 0.02, maxTries: 10, guess: 1970, refused: { value: 2000, evidence: 'timeout' } })
  assert.deepEqual(r, { passed: 1970, refused: 2000, evidence: 'timeout', tries: 1, exhausted: false })
})
