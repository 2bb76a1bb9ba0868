// Keeps Fastify's JSON error shape for every error and hides the internals of 5xx errors from clients.
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance } from 'fastify'

async function errorHandler (app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
    } else {
      request.log.debug({ err }, 'request rejected')
    }
    // A body we did not read (413) must not be left on a keep-alive connection.
    if (status === 413) reply.header('connection', 'close')
    reply.header('x-request-id', request.id)
    // Headers an error carries (a 429's RateLimit headers), as Fastify's own error handler sets them.
    const { headers } = err as { headers?: Record<string, string> }
    if (headers !== undefined) reply.headers(headers)
    reply.code(status).type('application/json; charset=utf-8').send({
      statusCode: status,
      ...(err.code && status < 500 ? { code: err.code } : {}),
      error: STATUS_CODES[status] ?? 'Error',
      message: status >= 500 ? 'Internal Server Error' : err.message
    })
  })
}

export default fp(errorHandler, { fastify: '5.x', name: 'echoscope-error-handler' })
