// One log line per request, written when the response is done, carrying the request id. Fastify's
// built-in request logging (two lines, before and after) is switched off in server.ts.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'

export interface RequestLogOptions {
  logHeaders: boolean
  /** paths logged at debug instead of info (probes would drown everything else) */
  quietPaths: ReadonlySet<string>
}

async function requestLog (app: FastifyInstance, opts: RequestLogOptions) {
  app.addHook('onResponse', (request, reply, done) => {
    const raw = request.raw
    const url = raw.url ?? ''
    const q = url.indexOf('?')
    const quiet = opts.quietPaths.has(q === -1 ? url : url.slice(0, q))
    const level = quiet ? 'debug' : reply.statusCode >= 500 ? 'error' : 'info'
    if (!(request.log as unknown as Logger).isLevelEnabled(level)) return done()
    const req: Record<string, unknown> = { method: raw.method, url, ip: request.ip, httpVersion: raw.httpVersion }
    // Values of the secret headers are replaced by pino's redaction (server.ts).
    if (opts.logHeaders) req.headers = raw.headers
    request.log[level]({ req, res: { statusCode: reply.statusCode }, responseTime: Math.round(reply.elapsedTime * 100) / 100 }, 'request')
    done()
  })
}

export default fp(requestLog, { fastify: '5.x', name: 'echoscope-request-log' })
