// Schemas of the system paths: health, the OpenAPI document, Swagger UI and metrics.
import { Type } from 'typebox'
import type { FastifySchema } from 'fastify'
import { errorResponse } from './error.ts'

const SYSTEM = ['system']

export const HEALTHZ_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getHealthz',
  summary: 'Liveness',
  description: 'Always 200 while the process runs.',
  response: {
    200: Type.Object({ status: Type.Literal('ok') }, { description: 'Alive.' })
  }
}

export const READYZ_ROUTE: FastifySchema = {
  tags: SYSTEM,
  operationId: 'getReadyz',
  summary: 'Readiness',
  description: '200 while serving; 503 as soon as SIGTERM/SIGINT arrives, while the server drains (see --shutdown-delay), so load balancers stop sending traffic first.',
  response: {
    200: Type.Object({ status: Type.Literal('ready') }, { description: 'Ready for traffic.' }),
    503: errorResponse('Draining: the server is shutting down.', { statusCode: 503, error: 'Service Unavailable', message: 'draining: shutting down' })
  }
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
    '`path` (prefix), `method`, `since` (ISO-8601 time or epoch ms), `limit` (default 50); a bad filter gets 400 naming it. ' +
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
