// The OpenAPI 3.1 document (@fastify/swagger, generated from the routes' schemas) at
// <system prefix>/openapi.json and /openapi.yaml, and Swagger UI (@fastify/swagger-ui, assets served from
// here) at <system prefix>/docs. Registered before the system routes and the echo so it sees every route.
// Nothing here runs per echo request: the document is built once, on first ask.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify'
import { VERSION } from '../echo/identity.ts'
import { ECHO_RESPONSE_NAMES, EchoComponent, echoDocumentation } from '../schemas/echo.ts'
import { ERROR_ID, ErrorComponent, errorDocumentation } from '../schemas/error.ts'
import { DOCS_ROUTE, HEALTH_OVERRIDE_PUT_DOCUMENT, HEALTH_OVERRIDE_PUT_ROUTE, METRICS_OPERATION, OPENAPI_JSON_ROUTE, OPENAPI_YAML_ROUTE } from '../schemas/system.ts'

/** JSON-ish objects of the document, loosely typed: it is walked and patched, not built here. */
type Doc = Record<string, any>

interface RenderedDocument {
  /** the document as served at /openapi.json and committed in openapi/openapi.json */
  json: string
  /** the document as served at /openapi.yaml and committed in openapi/openapi.yaml */
  yaml: string
}

const TAGS = [
  {
    name: 'echo',
    description: 'Every path and every method that is not a system path echoes what arrived. OpenAPI 3.1 names GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH and TRACE; ' +
      'every other method Node\'s HTTP parser accepts (PURGE, PROPFIND, MKCOL, LOCK, QUERY, SEARCH, REPORT, …) echoes the same way.'
  },
  { name: 'system', description: 'Health, this document, Swagger UI and metrics; all under --system-prefix and exempt from the rate limit.' }
]

const INFO = {
  title: 'echoscope',
  version: VERSION,
  summary: 'HTTP echo and inspection server',
  description: 'Point a gateway, proxy, load balancer or webhook at echoscope and it tells you exactly what arrived: method, target, headers (case, order, duplicates), ' +
    'body (byte-exact), client address chain, TLS details, trace headers, and which instance answered. It also echoes WebSocket messages.\n\n' +
    'Every error response has the shape `{ statusCode, error, message }` (Fastify\'s).',
  license: { name: 'MIT', identifier: 'MIT' }
}

// The fixed fields of an OpenAPI 3.1 Path Item besides its operations. @fastify/swagger writes methods
// 3.1 has no field for (PURGE, QUERY…) as fields too, which 3.1 does not allow: they are dropped, and the
// echo's descriptions name them instead.
const PATH_ITEM_FIELDS = new Set(['$ref', 'summary', 'description', 'servers', 'parameters'])
/** Operations in the order a reader expects them. */
const OPERATIONS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace']

/**
 * The server URL, relative to where the document is served (`<prefix>/openapi.json`), so it resolves to
 * the root of this echoscope whatever host it is reached by and whatever path prefix a gateway strips:
 * "Try it out" then targets the right base, and the document stays the same on every machine.
 */
export function serverUrl (systemPrefix: string): string {
  const depth = systemPrefix.split('/').length - 1
  return depth === 0 ? '.' : Array(depth).fill('..').join('/')
}

const capitalised = (word: string) => word === '' ? '' : word[0].toUpperCase() + word.slice(1)

/** An id for an operation its route did not name: `GET /requests/{id}` → getRequestsById. */
function operationIdFor (method: string, path: string): string {
  const words = path.split('/').map(s => s.startsWith('{') ? 'By' + capitalised(s.slice(1, -1)) : s)
    .flatMap(s => s.split(/[^A-Za-z0-9]+/))
  return method + words.map(capitalised).join('')
}

/**
 * The echo's sixteen operations share their parameters and responses: each is written once under
 * components and referenced, unless an operation's differs from the shared one.
 */
function share (components: Doc, kind: 'parameters' | 'responses', name: string, value: Doc): Doc {
  const table: Doc = (components[kind] ??= {})
  const shared = table[name]
  if (shared === undefined) table[name] = value
  else if (JSON.stringify(shared) !== JSON.stringify(value)) return value
  return { $ref: `#/components/${kind}/${name}` }
}

/** Per-method copies of the echo's operations, with the ids and request bodies each method needs. */
function finishEchoOperations (path: string, item: Doc, components: Doc): void {
  const suffix = path.endsWith('{path}') ? '' : 'Root'
  for (const method of OPERATIONS) {
    const op = item[method]
    if (op === undefined || op.tags?.[0] !== 'echo') continue
    const copy: Doc = { operationId: `echo${capitalised(method)}${suffix}`, ...op }
    const params: Doc[] = op.parameters ?? []
    // The path first: it is what a reader fills in before any control.
    copy.parameters = [...params.filter(p => p.in === 'path'), ...params.filter(p => p.in !== 'path')]
      // mendhak's names are headers and query parameters at once: the query one is stored as NAME.query.
      .map(p => share(components, 'parameters', p.in === 'query' && params.some(o => o.in === 'header' && o.name === p.name) ? `${p.name}.query` : p.name, p))
    copy.responses = Object.fromEntries(Object.entries(copy.responses as Doc).map(([status, r]) =>
      [status, ECHO_RESPONSE_NAMES[status] === undefined ? r : share(components, 'responses', ECHO_RESPONSE_NAMES[status], r)]))
    if (copy.requestBody !== undefined) {
      // A client must not send content with TRACE (RFC 9110); for the others a body is optional.
      if (method === 'trace') delete copy.requestBody
      else copy.requestBody = { ...copy.requestBody, required: false }
    }
    item[method] = copy
  }
}

/**
 * Parameter examples belong in the parameter's schema: Swagger UI fills "Try it out" with a parameter's
 * own `example`, which would send every control at once.
 */
function moveParameterExamples (op: Doc): void {
  if (!Array.isArray(op.parameters)) return
  op.parameters = op.parameters.map((p: Doc) => {
    const examples = p.examples !== undefined ? Object.values(p.examples).map((e: any) => e.value) : p.example !== undefined ? [p.example] : undefined
    if (examples === undefined) return p
    const { example: _e, examples: _es, ...rest } = p
    return { ...rest, schema: { ...p.schema, examples } }
  })
}

function finishDocument (app: FastifyInstance, doc: Doc, prefix: string): Doc {
  for (const [path, found] of Object.entries(doc.paths as Record<string, Doc>)) {
    const item: Doc = {}
    for (const [field, value] of Object.entries(found)) {
      if (PATH_ITEM_FIELDS.has(field) || field.startsWith('x-')) item[field] = value
    }
    for (const method of OPERATIONS) {
      if (found[method] === undefined) continue
      moveParameterExamples(found[method])
      item[method] = found[method]
    }
    finishEchoOperations(path, item, doc.components)
    for (const method of OPERATIONS) {
      if (item[method] !== undefined && item[method].operationId === undefined) item[method] = { operationId: operationIdFor(method, path), ...item[method] }
    }
    doc.paths[path] = item
  }
  const metrics = `${prefix}/metrics`
  if (doc.paths[metrics] === undefined && app.hasRoute({ method: 'GET', url: metrics })) {
    doc.paths[metrics] = { get: METRICS_OPERATION }
  }
  // The echo first, then the system paths, whatever order the routes were registered in.
  const isEcho = ([, item]: [string, Doc]) => item.get?.tags?.[0] === 'echo'
  const entries = Object.entries(doc.paths as Record<string, Doc>)
  doc.paths = Object.fromEntries([...entries.filter(isEcho), ...entries.filter(e => !isEcho(e))])
  // The order a reader looks for things in: what it is, where it runs, the paths, then the shared parts.
  const { openapi, info, servers, tags, paths, components, ...rest } = doc
  return { openapi, info, servers, tags, paths, components, ...rest }
}

/** Error responses become references to the shared Error component, keeping their own description and example. */
function withErrorRefs (schema: FastifySchema): FastifySchema {
  const response = schema.response as Record<string, unknown> | undefined
  if (response === undefined) return schema
  const out: Record<string, unknown> = {}
  for (const [status, s] of Object.entries(response)) {
    const error = errorDocumentation(s)
    out[status] = error === undefined
      ? s
      : {
          description: error.description,
          ...(error.headers !== undefined ? { headers: error.headers } : {}),
          content: { 'application/json': { schema: { $ref: ERROR_ID }, ...(error.example !== undefined ? { example: error.example } : {}) } }
        }
  }
  return { ...schema, response: out }
}

function transformRoute (prefix: string) {
  return function transform ({ schema, url, route }: { schema: FastifySchema, url: string, route: RouteOptions }) {
    const method = Array.isArray(route.method) ? route.method[0] : route.method
    const echo = echoDocumentation(schema, method, url)
    if (echo !== undefined) return { schema: withErrorRefs(echo.schema), url: echo.url }
    // HEAD is documented for the echo only; elsewhere it is what Fastify adds beside each GET.
    if (method === 'HEAD') return { schema: { hide: true }, url }
    // Fastify may report Swagger UI's page as `/docs/` or `/docs`: either way it is documented as `/docs`.
    if ((url === `${prefix}/docs` || url === `${prefix}/docs/`) && method === 'GET') return { schema: DOCS_ROUTE, url: `${prefix}/docs` }
    if (schema === HEALTH_OVERRIDE_PUT_ROUTE) return { schema: withErrorRefs(HEALTH_OVERRIDE_PUT_DOCUMENT), url }
    return { schema: schema === undefined ? schema : withErrorRefs(schema), url }
  }
}

/**
 * The document as text, exactly as served and committed. The YAML library is loaded on the first request
 * for the document, not at start: most servers are never asked, and it would stay in every idle process.
 */
async function renderDocument (doc: object): Promise<RenderedDocument> {
  const { stringify: toYaml } = await import('yaml')
  // Without aliases: the echo's operations share objects, and YAML anchors would make the file hard to read.
  return { json: JSON.stringify(doc, null, 2) + '\n', yaml: toYaml(doc, { aliasDuplicateObjects: false }) }
}

// ---- Swagger UI ----

// A gateway's path prefix is put into the page as a URL path, so only a plain path is taken: no scheme,
// host, `//`, query or quote can come through it.
const FORWARDED_PREFIX = /^(?:\/[\w.~%@:+-]+)+$/

/** The prefix a gateway stripped (`X-Forwarded-Prefix: /echo`), or '' when absent or not a plain path. */
export function forwardedPrefix (header: string | string[] | undefined): string {
  const first = Array.isArray(header) ? header[0] : header
  if (first === undefined) return ''
  const value = first.split(',')[0].trim().replace(/\/+$/, '')
  return value.length <= 256 && FORWARDED_PREFIX.test(value) ? value : ''
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Swagger UI's page; `assets` and `spec` are URLs as the browser must see them. */
function docsPage (assets: string, spec: string): string {
  const a = escapeHtml(assets)
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>echoscope API</title>
<link rel="stylesheet" href="${a}/swagger-ui.css">
<link rel="stylesheet" href="${a}/index.css">
<link rel="icon" type="image/png" href="${a}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui" data-spec-url="${escapeHtml(spec)}"></div>
<script src="${a}/swagger-ui-bundle.js"></script>
<script src="${a}/swagger-initializer.js"></script>
</body>
</html>
`
}

// Replaces @fastify/swagger-ui's initializer, which always loads the document from `./json` beside the
// page: this one loads <prefix>/openapi.json, named by the page. The URL is made absolute because
// Swagger UI resolves the document's relative server URL against it.
const INITIALIZER = `window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui')
  window.ui = SwaggerUIBundle({
    url: new URL(root.getAttribute('data-spec-url'), document.baseURI).href,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    displayRequestDuration: true
  })
})
`

// Everything from this origin: the page can reach nothing else, and nothing inline runs.
const DOCS_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"

/**
 * @fastify/swagger-ui writes absolute asset URLs into its page (wrong behind a gateway that strips a
 * prefix) and fixes the document URL; its routes take an onRequest hook, which answers for those few
 * routes here. Without X-Forwarded-Prefix the page's URLs are relative, which also works behind a
 * prefix-stripping gateway that does not say so.
 */
function docsHook (prefix: string) {
  const docs = `${prefix}/docs`
  return function docsPages (request: FastifyRequest, reply: FastifyReply, done: () => void) {
    const route = request.routeOptions.url
    if (route === docs || route === `${docs}/`) {
      const forwarded = forwardedPrefix(request.headers['x-forwarded-prefix'])
      // Relative URLs depend on the page's own URL: `/docs` and `/docs/` are one route.
      const slash = request.url.split('?')[0].endsWith('/')
      const page = forwarded !== ''
        ? docsPage(`${forwarded}${docs}/static`, `${forwarded}${prefix}/openapi.json`)
        : slash ? docsPage('static', '../openapi.json') : docsPage('docs/static', 'openapi.json')
      reply.header('vary', 'X-Forwarded-Prefix').header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page)
    } else if (route === `${docs}/static/swagger-initializer.js`) {
      reply.type('application/javascript; charset=utf-8').send(INITIALIZER)
    } else if (route === `${docs}/static/index.html`) {
      reply.redirect('../')
    } else {
      done()
    }
  }
}

export interface OpenapiPluginOptions {
  /** --system-prefix: where the document and Swagger UI are served */
  systemPrefix: string
}

async function openapiPlugin (app: FastifyInstance, opts: OpenapiPluginOptions) {
  const prefix = opts.systemPrefix
  app.addSchema(EchoComponent)
  app.addSchema(ErrorComponent)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: INFO,
      servers: [{ url: serverUrl(prefix), description: 'this echoscope (relative to this document, so it works behind a gateway\'s path prefix)' }],
      tags: TAGS
    },
    exposeHeadRoutes: true,
    // The relative server URL is no base path to strip (and @fastify/swagger cannot parse it as one).
    stripBasePath: false,
    // Shared schemas keep their $id as their component name (Echo, Error), not def-0, def-1.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    transform: transformRoute(prefix),
    transformObject: (document) => finishDocument(app, (document as { openapiObject: Doc }).openapiObject, prefix)
  })

  let rendered: Promise<RenderedDocument> | undefined
  const render = () => (rendered ??= renderDocument(app.swagger()))
  app.get(`${prefix}/openapi.json`, { schema: OPENAPI_JSON_ROUTE }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send((await render()).json))
  app.get(`${prefix}/openapi.yaml`, { schema: OPENAPI_YAML_ROUTE }, async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send((await render()).yaml))

  await app.register(swaggerUi, {
    routePrefix: `${prefix}/docs`,
    staticCSP: DOCS_CSP,
    uiHooks: { onRequest: docsHook(prefix) }
  })
}

export default fp(openapiPlugin, { fastify: '5.x', name: 'echoscope-openapi' })
