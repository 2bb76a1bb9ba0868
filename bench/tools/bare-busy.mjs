// The bare node:http echo plus N µs of busy CPU per request (--busy-us N): a yardstick for reading ratios.
// On a 2-vCPU VM the benchmark's ratio falls much faster than the added CPU alone would
// explain (each response wakes the load generator's idle vCPU, and that costs more the longer it slept),
// so "echoscope/bare = 0.66" is best read as "echoscope does as much as bare plus ~6 µs per request".
//   bench/tools/ab.sh "bare|dist/bench/bare-http.js" "bare+2|bench/tools/bare-busy.mjs --busy-us 2" …
import http from 'node:http'
import { syncBuiltinESMExports } from 'node:module'

const at = process.argv.indexOf('--busy-us')
const busyMs = (at === -1 ? 0 : Number(process.argv[at + 1])) / 1000
const createServer = http.createServer
http.createServer = (handler) => createServer((req, res) => {
  const end = performance.now() + busyMs
  while (performance.now() < end);
  handler(req, res)
})
syncBuiltinESMExports()
await import('../../dist/bench/bare-http.js')
