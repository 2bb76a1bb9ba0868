// The shape of an `echoscope test` file: one TypeBox schema that types the loader, validates the file and,
// written out as JSON Schema (`echoscope test --print-schema`), lets editors complete and check it.
import { Type, type Static, type TSchema } from 'typebox'

const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema)
const closed = { additionalProperties: false } as const

export const MATCHER_HELP = 'an exact value, "present", "absent", "/regex/" (flags after the last slash), or "same" (as it was sent)'

const Matcher = Type.Union([Type.String(), Type.Number(), Type.Boolean()], { description: MATCHER_HELP })
const Matchers = (description: string) => Type.Record(Type.String(), Matcher, { description })

export const DURATION_HELP = 'milliseconds, or a number with ms, s or m, like 5s'
const Duration = (description: string) => Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*$' })], {
  description: `${description}: ${DURATION_HELP}`
})

export const STATUS_HELP = 'a status code (200), a class ("2xx"), a range ("200-299") or a list of codes ([200, 204])'
const Code = Type.Integer({ minimum: 100, maximum: 599 })
const Status = Type.Union([Code, Type.String({ pattern: '^\\s*([1-5]xx|[1-5][0-9]{2}\\s*-\\s*[1-5][0-9]{2}|[1-5][0-9]{2})\\s*$' }), Type.Array(Code, { minItems: 1 })], {
  description: STATUS_HELP
})

const RequestHeaders = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Array(Type.String(), { minItems: 1 })]), {
  description: 'headers to send, in this order and letter case; a list sends the header once per item'
})

const Request = Type.Object({
  method: Opt(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'default GET, or POST when there is a body' })),
  path: Opt(Type.String({ pattern: '^/', description: 'path and query, appended to the gateway URL (default /)' })),
  url: Opt(Type.String({ pattern: '^(https?|wss?)://', description: 'the whole URL, instead of gateway + path' })),
  headers: Opt(RequestHeaders),
  body: Opt(Type.String({ description: 'the body as text, sent byte for byte' })),
  json: Opt(Type.Unknown({ description: 'a JSON body (Content-Type: application/json unless headers say otherwise)' })),
  form: Opt(Type.Record(Type.String(), Type.String(), { description: 'a form body (application/x-www-form-urlencoded)' })),
  websocket: Opt(Type.Boolean({ description: 'send a WebSocket upgrade; the echo of the upgrade request is what is checked' }))
}, { ...closed, description: 'what to send' })

const Upstream = Type.Object({
  method: Opt(Matcher),
  path: Opt(Matcher),
  query: Opt(Matchers('query parameter → matcher ("absent" for one that must not arrive)')),
  headers: Opt(Matchers('header name (any case) → matcher; repeated lines are joined with ", "')),
  body: Opt(Type.String({ description: '"same" (byte-identical to what was sent), "empty", an exact text or a /regex/' })),
  protocol: Opt(Type.Union([Type.Literal('http'), Type.Literal('https')], { description: 'how the gateway reached echoscope' })),
  httpVersion: Opt(Type.Union([Type.Literal('1.0'), Type.Literal('1.1'), Type.Literal('2.0')], { description: 'the HTTP version the gateway spoke to echoscope' }))
}, { ...closed, description: 'what arrived at echoscope' })

const Response = Type.Object({
  status: Opt(Status),
  headers: Opt(Matchers('header name (any case) → matcher; "same" means as echoscope sent it')),
  body: Opt(Type.String({ description: 'an exact text or a /regex/ for the body the client received (after content decoding)' }))
}, { ...closed, description: 'what came back to the client' })

const Expect = Type.Object({
  upstream: Opt(Upstream),
  response: Opt(Response),
  answeredBy: Opt(Type.Union([Type.Literal('echoscope'), Type.Literal('gateway')], {
    description: 'who made the response: echoscope (the default) or the gateway itself (its own 404, 401, 429…)'
  }))
}, closed)

const Replicas = Type.Object({
  atLeast: Opt(Type.Integer({ minimum: 1 })),
  atMost: Opt(Type.Integer({ minimum: 1 })),
  exactly: Opt(Type.Integer({ minimum: 1 })),
  weights: Opt(Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), {
    description: 'instance → the weight the gateway gives it: each instance\'s share of the repeats must be within tolerance of its weight\'s share'
  })),
  tolerance: Opt(Type.Number({ minimum: 0, maximum: 100, description: 'with weights: how far a share may be off, in percentage points (default 10)' })),
  sticky: Opt(Type.Boolean({
    description: 'the cookie the gateway sets keeps a client on one instance: as many requests again, carrying it, must all reach one instance'
  }))
}, { ...closed, description: 'which echoscope instances answered the repeats: how many, the split against weights, affinity' })

const Case = Type.Object({
  name: Type.String({ minLength: 1, description: 'shown in the report and as the JUnit test case' }),
  request: Opt(Request),
  expect: Opt(Expect),
  repeat: Opt(Type.Integer({ minimum: 1, maximum: 10000, description: 'send the request this many times, one after the other; every answer must meet the expectations' })),
  replicas: Opt(Replicas),
  timeout: Opt(Duration('how long one request may take (default: defaults.timeout, else --timeout)'))
}, closed)

const Defaults = Type.Object({
  headers: Opt(RequestHeaders),
  timeout: Opt(Duration('how long one request may take'))
}, { ...closed, description: 'applied to every case; a case\'s own header of the same name wins' })

export const TestFileSchema = Type.Object({
  $schema: Opt(Type.String()),
  gateway: Opt(Type.String({ pattern: '^(https?|wss?)://', description: 'the gateway\'s base URL; --gateway overrides it' })),
  insecure: Opt(Type.Boolean({ description: 'accept any TLS certificate (like -k)' })),
  timeout: Opt(Duration('how long the whole run may take')),
  defaults: Opt(Defaults),
  cases: Type.Array(Case, { minItems: 1 })
}, { ...closed, title: 'echoscope test file', description: 'Route contracts checked through a gateway by `echoscope test`' })

export type TestFile = Static<typeof TestFileSchema>
export type TestCase = TestFile['cases'][number]
export type CaseRequest = NonNullable<TestCase['request']>
export type CaseExpect = NonNullable<TestCase['expect']>
export type MatcherValue = Static<typeof Matcher>
export type StatusValue = Static<typeof Status>

/** The file's JSON Schema, as editors read it. */
export function jsonSchema (): Record<string, unknown> {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...JSON.parse(JSON.stringify(TestFileSchema)) }
}
