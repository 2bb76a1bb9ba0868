// Where a server's CPU goes, from `perf record -g` of `node --perf-basic-prof` (for performance work; not
// part of `npm run bench`). Each sample is given to the innermost stack frame matching one of the markers.
//
//   node --perf-basic-prof dist/src/cli.js --port 9500 & perf record -F 2000 -g -p $! -- sleep 6 & wrk ...
//   node bench/tools/perf-phases.mjs perf.data [µs per request, to print µs instead of shares only]
import { execSync } from 'node:child_process'

const [data, usPerReq] = process.argv.slice(2)
const markers = [
  ['kernel-write', /writev/], ['pino', /pino\/lib|sonic-boom/], ['histogram', /prom-client/],
  ['rate-limit', /rate-limit/], ['writeHead', /writeHead node:_http_server/], ['res.end', /JS:\*end node:_http_outgoing/],
  ['buildEcho', /buildEcho/], ['history', /history\.js/], ['controls', /controls\.js/],
  ['uuid', /getBufferedUUID|randomUUID/], ['childLogger', /defaultChildLoggerFactory/],
  ['requestCompleted', /requestCompleted/], ['echoHandler', /echoHandler|respond file|answer file/],
  ['websocket-hooks', /@fastify\/websocket|beforeUpgrade/],
  ['fastify-routing', /fastify\/lib\/route\.js|find-my-way|fastify\.js/], ['fastify-hooks', /fastify\/lib\/hooks\.js/],
  ['fastify-reply', /fastify\/lib\/reply\.js/], ['http-parse', /parserOnHeadersComplete|parserOnIncoming|_http_common/],
  ['http-other', /_http_server|_http_outgoing|_http_incoming/], ['streams', /node:internal\/streams|node:net|stream_base/],
  ['microtasks', /processTicksAndRejections|runMicrotasks/], ['gc', /Scavenge|Heap::|MarkCompact|Sweeper|ConcurrentMarking/],
  ['event-loop', /epoll|uv__io_poll/]
]
function phaseOf (frames) {
  for (const frame of frames) {
    for (const [name, re] of markers) {
      if (re.test(frame)) return name
    }
  }
  return /kernel/.test(frames[0]) ? 'kernel-other' : 'other'
}

const out = execSync(`perf script -i ${data} -F ip,sym,dso 2>/dev/null`, { maxBuffer: 1 << 30 }).toString()
const tally = new Map()
let total = 0
for (const stack of out.split('\n\n')) {
  const frames = stack.trim().split('\n').map(l => l.trim().replace(/^[0-9a-f]+\s+/, '')).filter(Boolean)
  if (frames.length === 0) continue
  total++
  const phase = phaseOf(frames)
  tally.set(phase, (tally.get(phase) ?? 0) + 1)
}
for (const [phase, n] of [...tally].sort((a, b) => b[1] - a[1])) {
  const us = usPerReq ? (Number(usPerReq) * n / total).toFixed(1).padStart(7) + ' µs' : ''
  console.log(`${(100 * n / total).toFixed(1).padStart(5)}%${us}  ${phase}`)
}
