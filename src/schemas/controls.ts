// The response controls as documented parameters, one per header and query name that
// src/echo/controls.ts reads, aliases included and attributed to the tool that uses the name.
// Documentation only: nothing here validates a request (an invalid value is the control's own 400).
import { Type, type TSchema } from 'typebox'
import { CONTROL_HEADER_NAMES, CONTROL_QUERY_NAMES, type ControlName } from '../echo/controls.ts'

type Control = ControlName

interface ControlDoc {
  /** the canonical names; a control of another tool may have only one of them */
  header?: string
  query?: string
  description: string
  examples: string[]
}

const SANDBOX = 'Served with `Content-Security-Policy: sandbox` and `X-Content-Type-Options: nosniff`.'

export const CONTROL_DOCS: Record<Control, ControlDoc> = {
  status: {
    header: 'x-echo-status',
    query: 'echo_status',
    description: 'Response status, 200–599. A weighted list like `500:0.2,200:0.8` picks one per request (a code without a weight counts 1).',
    examples: ['503', '500:0.2,200:0.8']
  },
  delay: {
    header: 'x-echo-delay',
    query: 'echo_delay',
    description: 'Wait this many milliseconds before answering; more than --max-delay (default 30000) waits --max-delay.',
    examples: ['1500']
  },
  header: {
    header: 'x-echo-header',
    query: 'echo_header',
    description: 'Add a response header `Name: value`. Repeatable (several Set-Cookie become several lines); one value may also list several as `A: 1, B: 2`. ' +
      'Framing headers (Content-Length, Transfer-Encoding, Connection…), Content-Security-Policy and X-Content-Type-Options cannot be set. ' + SANDBOX,
    examples: ['Cache-Control: no-store', 'Set-Cookie: session=abc; HttpOnly']
  },
  body: {
    header: 'x-echo-body',
    query: 'echo_body',
    description: 'Respond with this text instead of the echo (as text/plain unless a content type control says otherwise). ' + SANDBOX,
    examples: ['hello']
  },
  contentType: {
    header: 'x-echo-content-type',
    query: 'echo_content_type',
    description: 'Content type of the response, sent exactly as given. ' + SANDBOX,
    examples: ['application/xml']
  },
  stream: {
    header: 'x-echo-stream',
    query: 'echo_stream',
    description: 'Seconds a server-sent-events echo (`Accept: text/event-stream` or `?format=sse`) keeps ticking: default 5, capped by --max-stream-seconds.',
    examples: ['10']
  },
  failTimes: {
    header: 'x-echo-fail-times',
    query: 'echo_fail_times',
    description: 'The first N requests of a key fail (503, or the status control\'s code) and later ones get the normal answer; for retry and failover tests. ' +
      'Each answer carries `x-echo-attempt`. Counters live 10 minutes (10,000 keys in memory, or in Redis with --redis-url).',
    examples: ['2']
  },
  failKey: {
    header: 'x-echo-fail-key',
    query: 'echo_fail_key',
    description: 'Which counter a fail-times request counts against; default the method, path and client address. 1–200 visible ASCII characters.',
    examples: ['checkout-retry-1']
  },
  failMode: {
    header: 'x-echo-fail-mode',
    query: 'echo_fail_mode',
    description: '`status` (default) answers a failing attempt with a status; `reset` resets the connection (HTTP/2: the stream) instead.',
    examples: ['reset']
  },
  format: {
    header: 'x-echo-format',
    description: 'The output format, as `?format=` takes it (json, text, html, har, gateway-api, sse, body); beats `?format=`. `body` sends the request body back as it arrived, with its content type. ' + SANDBOX,
    examples: ['body']
  },
  envBody: {
    header: 'x-echo-env-body',
    query: 'echo_env_body',
    description: 'Respond with the value of this environment variable, for the variables --echo-env names only (any other gets 400); ealen/echo-server\'s name.',
    examples: ['DEPLOY_COLOR']
  },
  wait: {
    query: 'wait',
    description: 'Wait this Go duration (`100ms`, `1.5s`, `1m30s`) before answering, capped by --max-delay; traefik/whoami\'s name.',
    examples: ['100ms']
  },
  bodyOnly: {
    query: 'response_body_only',
    description: '`true` sends the request body back as it arrived, like `?format=body`; mendhak/http-https-echo\'s name.',
    examples: ['true']
  }
}

/** Names other echo servers use, so their test suites drop in unchanged. */
export const CONTROL_ALIASES: Record<string, { of: Control, tool: string }> = {
  'x-set-response-status-code': { of: 'status', tool: 'mendhak/http-https-echo' },
  'x-set-response-delay-ms': { of: 'delay', tool: 'mendhak/http-https-echo' },
  'x-set-response-content-type': { of: 'contentType', tool: 'mendhak/http-https-echo' },
  'x-echo-code': { of: 'status', tool: 'ealen/echo-server' },
  echo_code: { of: 'status', tool: 'ealen/echo-server' },
  'x-echo-time': { of: 'delay', tool: 'ealen/echo-server' },
  echo_time: { of: 'delay', tool: 'ealen/echo-server' },
  'x-echo-set-header': { of: 'header', tool: 'the Kubernetes Gateway API conformance echo server' }
}

const CANONICAL = new Map<string, Control>()
for (const [control, doc] of Object.entries(CONTROL_DOCS) as [Control, ControlDoc][]) {
  if (doc.header !== undefined) CANONICAL.set(doc.header, control)
  if (doc.query !== undefined) CANONICAL.set(doc.query, control)
}

/** What a control name does (as a header or a query parameter), or undefined for a name this file does not document yet. */
export function describeControl (name: string, where: 'header' | 'query' = name.startsWith('x-') ? 'header' : 'query'): { description: string, examples: string[] } | undefined {
  const control = CANONICAL.get(name)
  if (control !== undefined) return CONTROL_DOCS[control]
  const alias = CONTROL_ALIASES[name]
  if (alias === undefined) return undefined
  const doc = CONTROL_DOCS[alias.of]
  const canonical = (where === 'header' ? doc.header : doc.query) ?? doc.header ?? doc.query
  return { description: `Same as \`${canonical}\`: the name ${alias.tool} uses.`, examples: doc.examples }
}

function controlParameter (name: string, repeatable: boolean, where: 'header' | 'query'): TSchema {
  const doc = describeControl(name, where) ?? { description: 'A response control (see the README).', examples: [] }
  // Swagger UI shows a parameter's examples only by filling them in, so the text names them too.
  const description = doc.examples.length === 0 ? doc.description : `${doc.description} E.g. ${doc.examples.map(e => `\`${e}\``).join(' or ')}.`
  const value = Type.String({ description, examples: doc.examples })
  if (!repeatable) return Type.Optional(value)
  return Type.Optional(Type.Array(Type.String(), { description, examples: [doc.examples] }))
}

function isRepeatableQuery (name: string): boolean {
  return (CANONICAL.get(name) ?? CONTROL_ALIASES[name]?.of) === 'header'
}

/** Every control header, in the order controls.ts lists them (each canonical name, then its aliases). */
export const CONTROL_HEADERS: Record<string, TSchema> = Object.fromEntries(
  CONTROL_HEADER_NAMES.map(name => [name, controlParameter(name, false, 'header')]))

/** Every control query parameter; `echo_header` may repeat. */
export const CONTROL_QUERY: Record<string, TSchema> = Object.fromEntries(
  CONTROL_QUERY_NAMES.map(name => [name, controlParameter(name, isRepeatableQuery(name), 'query')]))
