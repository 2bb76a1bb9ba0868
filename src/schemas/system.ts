// Schemas of the system paths: health, the OpenAPI document, Swagger UI and metrics.
import { Type, type Static } from 'typebox'
import type { FastifySchema } from 'fastify'
import { errorResponse } from './error.ts'

const SYSTEM = ['system']

const Forced = Type.Object({
  status: Type.Literal('forced'),
  statusCode: Type.Integer({ description: 'The status set by PUT /healthz.' }),
  since: Type.String({ format: 'date-time', description: 'When it was set.' }),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it resets by itself; null: until DELETE /healthz.' })
}, { description: 'A status below 400 set by PUT /healthz.' })

const FORCED_ERROR = { statusCode: 503, code: 'ECHOSCOPE_HEALTH_FORCED', error: 'Service Unavailable', message: 'forced to 503 by PUT /healthz since 2026-01-01T00:00:00.000Z, until DELETE /healthz' }

export const HEALTHZ_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getHealthz',
  summary: 'Liveness',
  description: '200 while the process runs, unless PUT /healthz set another answer.',
  response: {
    200: Type.Union([Type.Object({ status: Type.Literal('ok') }), Forced], { description: 'Alive (or forced to 200).' }),
    '4xx': errorResponse('Forced by PUT /healthz.', { ...FORCED_ERROR, statusCode: 404, error: 'Not Found', message: FORCED_ERROR.message.replace('503', '404') }),
    '5xx': errorResponse('Forced by PUT /healthz.', FORCED_ERROR),
    default: Forced
  }
}

export const READYZ_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getReadyz',
  summary: 'Readiness',
  description: '200 while serving; 503 as soon as SIGTERM/SIGINT arrives, while the server drains (see --shutdown-delay), so load balancers stop sending traffic first. ' +
    'Otherwise what PUT /healthz set, if anything; draining wins over it.',
  response: {
    200: Type.Union([Type.Object({ status: Type.Literal('ready') }), Forced], { description: 'Ready for traffic (or forced to 200).' }),
    503: errorResponse('Draining: the server is shutting down; or forced by PUT /healthz.', { statusCode: 503, error: 'Service Unavailable', message: 'draining: shutting down' }),
    '4xx': errorResponse('Forced by PUT /healthz.', { ...FORCED_ERROR, statusCode: 404, error: 'Not Found', message: FORCED_ERROR.message.replace('503', '404') }),
    '5xx': errorResponse('Forced by PUT /healthz.', FORCED_ERROR),
    default: Forced
  }
}

export const HealthOverrideBodySchema = Type.Object({
  status: Type.Integer({ minimum: 200, maximum: 599, description: 'What /healthz and /readyz answer from now on, 200–599.' }),
  seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, description: 'Reset by itself after this many seconds (at most a day); without it, until DELETE /healthz.' }))
}, { additionalProperties: false })
export type HealthOverrideBody = Static<typeof HealthOverrideBodySchema>

export const HealthOverrideStateSchema = Type.Object({
  forced: Type.Boolean({ description: 'Whether an answer is set.' }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: 'The status set, or null.' }),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it resets by itself, or null.' }),
  draining: Type.Boolean({ description: 'Whether the server is shutting down (/readyz then answers 503 whatever is set).' }),
  instance: Type.String({ description: 'The replica that took the change (--instance): set each replica on its own address, not through a load balancer.' })
})
export type HealthOverrideState = Static<typeof HealthOverrideStateSchema>

const UNAUTHORIZED = errorResponse('Missing or wrong admin token (--admin-token).',
  { statusCode: 401, code: 'ECHOSCOPE_UNAUTHORIZED', error: 'Unauthorized', message: 'this path needs Authorization: Bearer <admin token> (--admin-token)' })

export const HEALTH_OVERRIDE_PUT_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'putHealthz',
  summary: 'Force what /healthz and /readyz answer',
  description: 'For load balancer failover tests: from now on this replica\'s /healthz and /readyz answer `status` (e.g. 503) until ' +
    'DELETE /healthz or `seconds` pass. Per replica, in memory; a restart resets it. Needs `Authorization: Bearer <token>` when --admin-token is set.',
  // The body is read by the route (routes take no body schema: see health.ts); the document shows it.
  response: { 200: HealthOverrideStateSchema, 400: errorResponse('The body is not JSON, or not {status, seconds?} with their ranges.', { statusCode: 400, code: 'ECHOSCOPE_INVALID_BODY', error: 'Bad Request', message: 'invalid body.status: must be <= 599' }), 401: UNAUTHORIZED, 413: errorResponse('The body is over 4 KiB.') }
}

/** PUT /healthz as the OpenAPI document shows it: with its JSON body. */
export const HEALTH_OVERRIDE_PUT_DOCUMENT: FastifySchema = { ...HEALTH_OVERRIDE_PUT_ROUTE, body: HealthOverrideBodySchema }

export const HEALTH_OVERRIDE_DELETE_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'deleteHealthz',
  summary: 'Reset /healthz and /readyz to their own answers',
  description: 'Undoes PUT /healthz (nothing to undo is fine). Needs `Authorization: Bearer <token>` when --admin-token is set.',
  response: { 200: HealthOverrideStateSchema, 401: UNAUTHORIZED }
}

export const OPENAPI_JSON_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getOpenapiJson',
  summary: 'This OpenAPI document, JSON',
  description: 'The same document as `openapi/openapi.json` in the repository.',
  response: {
    200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } } }
  }
}

export const OPENAPI_YAML_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getOpenapiYaml',
  summary: 'This OpenAPI document, YAML',
  description: 'The same document as `openapi/openapi.yaml` in the repository.',
  response: {
    200: { description: 'The OpenAPI 3.1 document.', content: { 'application/yaml': { schema: Type.String() } } }
  }
}

/** Attached to Swagger UI's page by the OpenAPI transform (@fastify/swagger-ui hides its own routes). */
export const DOCS_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getDocs',
  summary: 'Swagger UI',
  description: 'This page. Its assets are served from `docs/static/`, nothing is loaded from the internet. Behind a gateway that strips a path prefix, send the prefix in `X-Forwarded-Prefix`.',
  response: {
    200: { description: 'The Swagger UI page.', content: { 'text/html': { schema: Type.String() } } }
  }
}

/** /metrics is registered by the metrics plugin before the OpenAPI plugin can see it, so it is added to the document from here. */
export const METRICS_OPERATION = {
  tags: SYSTEM,
  operationId: 'getMetrics',
  summary: 'Prometheus metrics',
  description: 'Prometheus text format: HTTP request durations by route pattern, method and status; process and Node.js metrics; WebSocket, TCP and UDP counters; rate-limited requests. ' +
    'Needs `Authorization: Bearer <token>` when --admin-token is set. With --metrics-port it is served on that port only.',
  responses: {
    200: { description: 'The metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
    401: {
      description: 'Missing or wrong admin token (--admin-token).',
      content: {
        'application/json': {
          schema: { $ref: '#/components/schemas/Error' },
          example: { statusCode: 401, code: 'ECHOSCOPE_UNAUTHORIZED', error: 'Unauthorized', message: 'this path needs Authorization: Bearer <admin token> (--admin-token)' }
        }
      }
    }
  }
}

// The history routes answer with echo objects whose fields vary per request, so they carry no response
// schema (a serializer would drop what it does not know); these are documentation only.
const ADMIN = 'Needs `Authorization: Bearer <token>` when --admin-token is set.'

export const REQUESTS_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getRequests',
  summary: 'Recent requests',
  description: 'The last --history-size echoed requests, newest first, each as its echo plus `statusCode`. Filters: ' +
    '`path` (prefix), `method`, `since` (ISO-8601 time or epoch ms), `requestId` (every copy of a request that arrived more than once: a gateway\'s retry or mirror), `limit` (default 50); a bad filter gets 400 naming it. ' +
    'Secret headers and cookie values are redacted as in the logs. ' + ADMIN
}

export const REQUESTS_STREAM_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getRequestsStream',
  summary: 'Live feed of requests (Server-Sent Events)',
  description: 'An `event: request` with the entry as JSON for every echoed request as it arrives (from every replica when ' +
    '--redis-url is shared), a `: keep-alive` comment every 15 s; a subscriber that stops reading is dropped; more than ' +
    '--max-streams feeds get 503. ' + ADMIN
}

export const REQUEST_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getRequest',
  summary: 'One recent request by its requestId',
  description: 'The history entry whose `requestId` (also the `x-request-id` response header of the echo) is given; 404 once it ' +
    'has left the history. ' + ADMIN
}
