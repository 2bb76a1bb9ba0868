// A minimal Fastify echo, as a user would write it: one catch-all route returning method, url, headers
// and the body (as text), the logger off, every content type read as a buffer. Shown beside echoscope
// (which is built on Fastify) so a reader sees what the framework itself costs; not a yardstick.
// The same start-up fix echoscope has (src/perf/pin-next-tick.ts), so both sides get Node's fast nextTick.
import '../src/perf/pin-next-tick.ts'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

const { values } = parseArgs({ strict: false, options: { port: { type: 'string' }, host: { type: 'string' } } })
const port = Number(values.port ?? process.env.PORT ?? 8080)
const host = String(values.host ?? process.env.HOST ?? '127.0.0.1')

const app = Fastify({ logger: false })
// Fastify's JSON and text parsers would reject or reshape some bodies; an echo takes any bytes.
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
app.all('/*', async (request) => ({
  method: request.method,
  url: request.url,
  headers: request.headers,
  body: Buffer.isBuffer(request.body) ? request.body.toString('utf8') : ''
}))
await app.listen({ port, host })
