// Liveness and readiness. Readiness fails while the server drains on SIGTERM so load balancers and
// Kubernetes stop sending new traffic before the listener closes.
import type { FastifyInstance } from 'fastify'
import { HEALTHZ_ROUTE, READYZ_ROUTE } from '../schemas/system.ts'

export interface HealthState { draining: boolean }

export async function healthRoutes (app: FastifyInstance, opts: { state: HealthState }) {
  // Scoped to the system routes; the echo sets the header itself, without a hook on its hot path.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  app.get('/healthz', { schema: HEALTHZ_ROUTE }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: READYZ_ROUTE }, async (_request, reply) => {
    if (opts.state.draining) {
      reply.code(503)
      return { statusCode: 503, error: 'Service Unavailable', message: 'draining: shutting down' }
    }
    return { status: 'ready' }
  })
}
