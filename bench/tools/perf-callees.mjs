// What a function's time is made of, from `perf record -g` of `node --perf-basic-prof`: its inclusive samples
// split by the direct callee (for performance work; not part of `npm run bench`).
//
//   node bench/tools/perf-callees.mjs perf.data 'JS:*echoHandler' [rows]
import { execSync } from 'node:child_process'

const [data, pattern, rows = '25'] = process.argv.slice(2)
const out = execSync(`perf script -i ${data} -F ip,sym 2>/dev/null`, { maxBuffer: 1 << 30 }).toString()
const tally = new Map()
let total = 0
let inside = 0
for (const stack of out.split('\n\n')) {
  const frames = stack.trim().split('\n').map(l => l.trim().replace(/^[0-9a-f]+\s+/, '')).filter(Boolean)
  if (frames.length === 0) continue
  total++
  const at = frames.findIndex(f => f.includes(pattern)) // frames[0] is the leaf
  if (at < 0) continue
  inside++
  const callee = at === 0 ? '(self)' : frames[at - 1]
  tally.set(callee, (tally.get(callee) ?? 0) + 1)
}
console.log(`${pattern}: ${(100 * inside / total).toFixed(1)}% of ${total} samples`)
for (const [callee, n] of [...tally].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) {
  console.log(`${(100 * n / total).toFixed(2).padStart(6)}%  ${callee.slice(0, 150)}`)
}
