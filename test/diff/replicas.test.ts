import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addedCookies, checkWeights, parseWeights, tally } from '../../src/diff/replicas.ts'

test('weights: instance=weight pairs, anything else refused', () => {
  assert.deepEqual([...parseWeights('a=3, b=1')!], [['a', 3], ['b', 1]])
  assert.deepEqual([...parseWeights('blue=0.5,green=0.5')!], [['blue', 0.5], ['green', 0.5]])
  for (const bad of ['a', 'a=', 'a=x', 'a=1,a=2', 'a=0,b=0', '=1', 'a=-1']) assert.equal(parseWeights(bad), null, bad)
})

test('a share within the tolerance of its weight passes; one further off, or an instance with no weight, fails', () => {
  const checks = checkWeights(tally(['a', 'a', 'a', 'b', 'c']), new Map([['a', 1], ['b', 1]]), 5, 0.1)
  assert.deepEqual(checks.map(c => [c.instance, c.expectedShare, c.seenShare, c.ok]), [
    ['a', 0.5, 0.6, true],
    ['b', 0.5, 0.2, false],
    ['c', 0, 0.2, false]
  ])
  assert.equal(checkWeights({ a: 3, b: 1 }, new Map([['a', 3], ['b', 1]]), 4, 0)[0].ok, true)
})

test('an affinity cookie is one the response set that echoscope did not', () => {
  const received: [string, string][] = [['Set-Cookie', 'session=1; Path=/'], ['set-cookie', 'SRV=b; path=/'], ['Content-Type', 'x']]
  assert.deepEqual(addedCookies(['session=1; Path=/'], received), ['SRV=b'])
  assert.deepEqual(addedCookies(undefined, received), ['session=1', 'SRV=b'])
  assert.deepEqual(addedCookies('SRV=b', [['set-cookie', 'SRV=b']]), [])
})
