// The error shape every error response has (Fastify's, kept by the error handler), as a schema for
// routes and as the OpenAPI document's shared `Error` component.
import { Type, type TSchema } from 'typebox'

export const ERROR_ID = 'Error'

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer({ minimum: 400, maximum: 599, description: 'the HTTP status', examples: [400] }),
  code: Type.Optional(Type.String({
    description: 'a stable code, on 4xx errors only (e.g. ECHOSCOPE_INVALID_CONTROL, FST_ERR_CTP_BODY_TOO_LARGE)',
    examples: ['ECHOSCOPE_INVALID_CONTROL']
  })),
  error: Type.String({ description: 'the status text', examples: ['Bad Request'] }),
  message: Type.String({
    description: 'what went wrong, naming the control, option or limit involved',
    examples: ['invalid echo_status "99": must be a status code from 200 to 599']
  })
}, { description: 'Fastify\'s JSON error shape. The internals of a 5xx are logged, never sent.' })

/** The schema registered with `addSchema`: the document's `#/components/schemas/Error`. */
export const ErrorComponent = { ...ErrorResponse, $id: ERROR_ID, title: ERROR_ID }

/** What one error response looks like, for the document's examples. */
export interface ErrorExample { statusCode: number, code?: string, error: string, message: string }

interface ErrorDoc { description: string, example?: ErrorExample, headers?: Record<string, TSchema> }

// Responses built by errorResponse(): the OpenAPI transform turns each into a reference to the shared
// component with its own example, so the document names the shape once while routes keep a schema
// Fastify can use on its own.
const errorResponses = new WeakMap<object, ErrorDoc>()

/** A response schema with the error shape, what this status means on this route, and an example of it. */
export function errorResponse (description: string, example?: ErrorExample, headers?: Record<string, TSchema>): typeof ErrorResponse {
  const schema = { ...ErrorResponse, description, ...(headers !== undefined ? { headers } : {}) }
  errorResponses.set(schema, { description, example, headers })
  return schema
}

/** The documentation of a response made by errorResponse(), or undefined for any other schema. */
export function errorDocumentation (schema: unknown): ErrorDoc | undefined {
  return typeof schema === 'object' && schema !== null ? errorResponses.get(schema) : undefined
}
