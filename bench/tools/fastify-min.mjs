// A minimal Fastify catch-all returning bare-http's fields (no logging, no plugins): the framework's own
// floor, to tell Fastify's cost from echoscope's. For performance work with ab.sh, not `npm run bench`.
//   bench/tools/ab.sh "bare|dist/bench/bare-http.js" "fastify|bench/tools/fastify-min.mjs"
import '../../dist/src/perf/pin-next-tick.js'
import { hash, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

function pairs (raw) {
  const out = []
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]])
  return out
}

const app = Fastify({ logger: false })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => done(null, body))
app.get('/healthz', async () => ({ status: 'ok' }))
app.all('/*', async (request, reply) => {
  const req = request.raw
  const bytes = request.body ?? Buffer.alloc(0)
  const url = req.url
  const q = url.indexOf('?')
  const requestId = randomUUID()
  const socket = req.socket
  let body = null
  let bodyEncoding = 'none'
  if (bytes.length > 0) {
    body = bytes.toString('utf8'); bodyEncoding = 'text'
    if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
      try { body = JSON.parse(body); bodyEncoding = 'json' } catch {}
    }
  }
  reply.header('x-request-id', requestId)
  return {
    method: req.method,
    url,
    path: q === -1 ? url : url.slice(0, q),
    query: request.query,
    headers: req.headers,
    rawHeaders: pairs(req.rawHeaders),
    body,
    bodyEncoding,
    bodyBytes: bytes.length,
    bodySha256: hash('sha256', bytes, 'hex'),
    httpVersion: req.httpVersion,
    remote: { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily },
    ip: request.ip,
    requestId,
    receivedAt: new Date().toISOString()
  }
})
const { values } = parseArgs({ strict: false, options: { port: { type: 'string' } } })
await app.listen({ port: Number(values.port ?? 8080), host: '127.0.0.1' })
