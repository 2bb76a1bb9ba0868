// Liveness and readiness. Readiness fails while the server drains on SIGTERM so load balancers and
// Kubernetes stop sending new traffic before the listener closes. For failover tests an admin can set
// what both answer (`PUT /healthz`) until it is reset (`DELETE /healthz`) or its time runs out.
import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { Value } from 'typebox/value'
import { collectBody } from '../echo/read-body.ts'
import { HEALTHZ_ROUTE, READYZ_ROUTE, HEALTH_OVERRIDE_PUT_ROUTE, HEALTH_OVERRIDE_DELETE_ROUTE, HealthOverrideBodySchema, type HealthOverrideBody, type HealthOverrideState } from '../schemas/system.ts'

export interface HealthState { draining: boolean }

export interface HealthRoutesOptions {
  state: HealthState
  /** the admin-token hook of PUT/DELETE /healthz; undefined when --admin-token is not set */
  auth: onRequestHookHandler | undefined
  /** --instance, so the caller of PUT through a load balancer learns which replica it changed */
  instance: string
}

/** A health change is a few bytes of JSON; anything bigger is not one. */
const BODY_LIMIT = 4096

class BadBody extends Error {
  statusCode = 400
  code = 'ECHOSCOPE_INVALID_BODY'
}

/**
 * The body of PUT /healthz, read and checked here: every method is registered without Fastify's body
 * parsing (the echo reads bodies itself), so this route does the same with the same bounded reader.
 */
function readOverride (request: FastifyRequest): Promise<HealthOverrideBody> {
  return new Promise((resolve, reject) => {
    collectBody(request.raw, BODY_LIMIT, (err, raw) => {
      if (err !== null) { reject(err); return }
      let value: unknown
      try {
        value = JSON.parse(raw.toString('utf8'))
      } catch {
        reject(new BadBody('the body must be JSON like {"status": 503} or {"status": 503, "seconds": 30}'))
        return
      }
      if (Value.Check(HealthOverrideBodySchema, value)) { resolve(value); return }
      const errors = Value.Errors(HealthOverrideBodySchema, value)
      const extra = errors.find(e => e.keyword === 'additionalProperties')
      if (extra !== undefined) {
        const names = (extra.params as { additionalProperties: string[] }).additionalProperties
        reject(new BadBody(`unknown field ${JSON.stringify(names[0])} in the body: the fields are status and seconds`))
        return
      }
      const e = errors[0]
      reject(new BadBody(`invalid body${e.instancePath === '' ? '' : e.instancePath.replace(/^\//, '.')}: ${e.message}`))
    })
  })
}

interface Override { status: number, since: Date, until: Date | null, timer: NodeJS.Timeout | null }

export async function healthRoutes (app: FastifyInstance, opts: HealthRoutesOptions) {
  let override: Override | null = null
  const clear = () => {
    if (override?.timer != null) clearTimeout(override.timer)
    override = null
  }
  app.addHook('onClose', async () => { clear() })

  // Scoped to the system routes; the echo sets the header itself, without a hook on its hot path.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  /** A forced status of 400 and more is an error and has the error shape every error has; below, it says it is forced. */
  function forced (reply: FastifyReply, o: Override) {
    reply.code(o.status)
    const until = o.until?.toISOString() ?? null
    if (o.status >= 400) {
      return {
        statusCode: o.status,
        code: 'ECHOSCOPE_HEALTH_FORCED',
        error: STATUS_CODES[o.status] ?? 'Error',
        message: `forced to ${o.status} by PUT /healthz since ${o.since.toISOString()}, ${until === null ? 'until DELETE /healthz' : `until ${until}`}`
      }
    }
    return { status: 'forced' as const, statusCode: o.status, since: o.since.toISOString(), until }
  }

  function describe (): HealthOverrideState {
    return {
      forced: override !== null,
      status: override?.status ?? null,
      until: override?.until?.toISOString() ?? null,
      draining: opts.state.draining,
      instance: opts.instance
    }
  }

  app.get('/healthz', { schema: HEALTHZ_ROUTE }, async (_request, reply) => {
    if (override !== null) return forced(reply, override)
    return { status: 'ok' }
  })
  app.get('/readyz', { schema: READYZ_ROUTE }, async (_request, reply) => {
    // Draining wins over a forced answer: a shutting-down replica must leave the pool whatever was set.
    if (opts.state.draining) {
      reply.code(503)
      return { statusCode: 503, error: 'Service Unavailable', message: 'draining: shutting down' }
    }
    if (override !== null) return forced(reply, override)
    return { status: 'ready' }
  })

  app.put('/healthz', { schema: HEALTH_OVERRIDE_PUT_ROUTE, onRequest: opts.auth }, async (request) => {
    const { status, seconds } = await readOverride(request)
    clear()
    const since = new Date()
    const o: Override = { status, since, until: null, timer: null }
    if (seconds !== undefined) {
      o.until = new Date(since.getTime() + seconds * 1000)
      // unref: a pending reset must not keep a closing server alive.
      o.timer = setTimeout(() => { if (override === o) override = null }, seconds * 1000).unref()
    }
    override = o
    request.log.info({ health: { status, seconds: seconds ?? null } }, 'health answer forced by PUT /healthz')
    return describe()
  })
  app.delete('/healthz', { schema: HEALTH_OVERRIDE_DELETE_ROUTE, onRequest: opts.auth }, async (request) => {
    if (override !== null) request.log.info('forced health answer reset by DELETE /healthz')
    clear()
    return describe()
  })
}
