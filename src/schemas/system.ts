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
