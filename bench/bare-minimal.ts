// The minimal yardstick: the smallest node:http echo a user would write — method, url, headers and
// the body (as text) back as JSON, nothing parsed, hashed or logged. echoscope's idle memory is judged
// against this one: it is what any Node HTTP server costs before it does anything.
// The same start-up fix echoscope has (src/perf/pin-next-tick.ts), so both sides get Node's fast nextTick.
import '../src/perf/pin-next-tick.ts'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ strict: false, options: { port: { type: 'string' }, host: { type: 'string' } } })
const port = Number(values.port ?? process.env.PORT ?? 8080)
const host = String(values.host ?? process.env.HOST ?? '127.0.0.1')

createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const payload = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) })
    res.end(payload)
  })
}).listen(port, host)
