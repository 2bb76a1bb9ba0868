// The OpenAPI document and Swagger UI's page, over real sockets: what is served, what is committed, what a
// validator says, and that documenting the echo changed nothing about what it accepts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { gzipSync } from 'node:zlib'
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse as parseYaml } from 'yaml'
import { Value } from 'typebox/value'
import { getJson, rawRequest, startEcho } from '../helper.ts'
import { CONTROL_HEADER_NAMES, CONTROL_QUERY_NAMES } from '../../src/echo/controls.ts'
import { CONTROL_ALIASES, describeControl } from '../../src/schemas/controls.ts'
import { EchoResponse } from '../../src/schemas/echo.ts'
import { forwardedPrefix, serverUrl } from '../../src/plugins/openapi.ts'

type Doc = Record<string, any>

const committed = (file: string) => readFile(new URL(`../../../openapi/${file}`, import.meta.url), 'utf8')
const OPERATIONS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace']

/** A `$ref` inside the document, followed. */
function resolve (doc: Doc, value: Doc): Doc {
  if (typeof value.$ref !== 'string') return value
  return value.$ref.slice(2).split('/').reduce((node: Doc, key: string) => node[key], doc)
}

function parameters (doc: Doc, op: Doc): Doc[] {
  return (op.parameters ?? []).map((p: Doc) => resolve(doc, p))
}

async function servedDocument (url: string): Promise<Doc> {
  const res = await fetch(`${url}/openapi.json`)
  assert.equal(res.status, 200)
  return await res.json() as Doc
}

test('the committed openapi/ files are exactly what the server serves (run `npm run openapi` after changing a route)', async (t) => {
  const { url } = await startEcho(t)
  const json = await fetch(`${url}/openapi.json`)
  const yaml = await fetch(`${url}/openapi.yaml`)
  assert.equal(json.headers.get('content-type'), 'application/json; charset=utf-8')
  assert.equal(yaml.headers.get('content-type'), 'application/yaml; charset=utf-8')
  const [servedJson, servedYaml] = [await json.text(), await yaml.text()]
  assert.ok(servedJson === await committed('openapi.json'), 'openapi/openapi.json is out of date: run `npm run openapi`')
  assert.ok(servedYaml === await committed('openapi.yaml'), 'openapi/openapi.yaml is out of date: run `npm run openapi`')
  assert.deepEqual(parseYaml(servedYaml), JSON.parse(servedJson))
})

test('the document is valid OpenAPI 3.1 (swagger-parser), with unique operation ids and nothing that varies by machine', async (t) => {
  const { url } = await startEcho(t)
  const doc = await servedDocument(url)
  assert.equal(doc.openapi, '3.1.0')
  await SwaggerParser.validate(structuredClone(doc) as any)
  const ids = Object.values(doc.paths as Doc).flatMap((item: Doc) => OPERATIONS.filter(m => item[m] !== undefined).map(m => item[m].operationId))
  assert.ok(ids.every(id => typeof id === 'string'), 'every operation has an id')
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique')
  // The server is relative (it works behind any host and path prefix); no host name or port is written.
  assert.deepEqual(doc.servers.map((s: Doc) => s.url), ['.'])
  const text = JSON.stringify(doc)
  for (const local of ['127.0.0.1', hostname(), new URL(url).host]) assert.ok(!text.includes(local), `${local} does not appear`)
})

test('every system path is tagged system with a summary and a description, the request history included', async (t) => {
  const { url } = await startEcho(t)
  const doc = await servedDocument(url)
  for (const path of ['/healthz', '/readyz', '/metrics', '/requests', '/requests/stream', '/requests/{id}', '/inspect']) {
    const op = doc.paths[path]?.get
    assert.ok(op !== undefined, `${path} is in the document`)
    assert.deepEqual(op.tags, ['system'], `${path} is tagged system`)
    assert.ok(typeof op.summary === 'string' && op.summary !== '', `${path} has a summary`)
    assert.ok(typeof op.description === 'string' && op.description.length > 20, `${path} has a description`)
  }
})

test('the echo is documented for every OpenAPI method on / and /{path}, with every control as header and query parameters', async (t) => {
  const { url } = await startEcho(t)
  const doc = await servedDocument(url)
  for (const path of ['/', '/{path}']) {
    for (const method of OPERATIONS) {
      const op = doc.paths[path]?.[method]
      assert.ok(op !== undefined, `${method.toUpperCase()} ${path} is documented`)
      assert.deepEqual(op.tags, ['echo'])
      const params = parameters(doc, op)
      const names = (where: string) => new Set(params.filter(p => p.in === where).map(p => p.name))
      for (const name of CONTROL_HEADER_NAMES) assert.ok(names('header').has(name), `${method} ${path}: header ${name}`)
      for (const name of CONTROL_QUERY_NAMES) assert.ok(names('query').has(name), `${method} ${path}: query ${name}`)
      assert.ok(names('query').has('format'))
      assert.equal(names('query').has('info'), method === 'get', 'info (WebSocket upgrades) is on GET only')
      assert.equal(names('path').has('path'), path === '/{path}')
      for (const p of params) assert.ok(p.required !== true || p.in === 'path', `${p.name} is optional`)
      for (const status of ['400', '413', '429', '431', '503']) {
        const response = resolve(doc, op.responses[status])
        assert.equal(response.content['application/json'].schema.$ref, '#/components/schemas/Error', `${method} ${path} ${status}`)
      }
      if (method !== 'head') assert.equal(resolve(doc, op.responses['200']).content['application/json'].schema.$ref, '#/components/schemas/Echo')
      assert.equal(op.requestBody !== undefined, !['get', 'head', 'trace'].includes(method), `${method} documents a body`)
      if (op.requestBody !== undefined) assert.equal(op.requestBody.required, false)
    }
    assert.ok(doc.paths[path].get.responses['101'] !== undefined, 'the WebSocket upgrade is documented')
  }
  const status = parameters(doc, doc.paths['/'].get).find(p => p.name === 'x-echo-status')
  assert.deepEqual(status?.schema.examples, ['503', '500:0.2,200:0.8'])
  // Examples live in the schema, not on the parameter, so "Try it out" starts with no control set.
  for (const p of Object.values(doc.components.parameters as Doc)) assert.equal(p.example, undefined, p.name)
  assert.deepEqual(resolve(doc, doc.components.responses.RateLimited).headers['retry-after'].schema, { type: 'string' })
})

test('every control name is described, and each alias says which tool uses it', async (t) => {
  const { url } = await startEcho(t)
  const doc = await servedDocument(url)
  for (const name of [...CONTROL_HEADER_NAMES, ...CONTROL_QUERY_NAMES]) {
    assert.ok(describeControl(name) !== undefined, `${name} has documentation in src/schemas/controls.ts`)
  }
  const documented = doc.components.parameters as Record<string, Doc>
  for (const [name, alias] of Object.entries(CONTROL_ALIASES)) {
    assert.ok(CONTROL_HEADER_NAMES.includes(name) || CONTROL_QUERY_NAMES.includes(name), `${name} is a control the echo reads`)
    assert.match(documented[name].description, new RegExp(`the name ${alias.tool} uses`))
  }
  assert.match(documented['x-set-response-status-code'].description, /Same as `x-echo-status`: the name mendhak\/http-https-echo uses/)
  assert.match(documented.echo_time.description, /Same as `echo_delay`: the name ealen\/echo-server uses/)
  // mendhak's names work as query parameters too, documented apart from the headers of the same name.
  assert.equal(documented['x-set-response-status-code.query'].in, 'query')
  assert.match(documented['x-set-response-status-code.query'].description, /Same as `echo_status`: the name mendhak\/http-https-echo uses/)
  assert.match(documented.wait.description, /Go duration/)
  assert.match(documented['x-echo-set-header'].description, /Gateway API/)
})

test('the Echo schema documents every field of the echo, each with a description', async (t) => {
  const { url } = await startEcho(t)
  const doc = await servedDocument(url)
  const fields = ['method', 'url', 'path', 'query', 'headers', 'rawHeaders', 'body', 'bodyEncoding', 'bodyBytes', 'bodySha256',
    'bodyError', 'decodedBytes', 'httpVersion', 'protocol', 'remote', 'ip', 'forwarded', 'cookies', 'jwt', 'jwts', 'trace', 'tls', 'proxy',
    'server', 'requestId', 'receivedAt']
  const echo = doc.components.schemas.Echo
  for (const f of fields) assert.ok(typeof echo.properties[f]?.description === 'string', `${f} is documented`)
  for (const optional of ['bodyError', 'decodedBytes', 'forwarded', 'jwt', 'jwts', 'trace', 'tls', 'proxy']) assert.ok(!echo.required.includes(optional), optional)
  assert.deepEqual(Object.keys(doc.components.schemas.Error.properties), ['statusCode', 'code', 'error', 'message'])
  assert.deepEqual(doc.components.schemas.Error.required, ['statusCode', 'error', 'message'])
})

/** The schema with every object closed, so a field the server sends but the schema lacks fails the check. */
function closed (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Doc = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]))
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false
  return out
}

test('real echoes match the documented Echo schema, with no undocumented field', async (t) => {
  const { url } = await startEcho(t)
  const strict = closed(JSON.parse(JSON.stringify(EchoResponse))) as Doc
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoxfQ.c2ln'
  const requests: Array<[string, RequestInit]> = [
    ['/plain', {}],
    ['/a?x=1&x=2', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Bearer ${jwt}`,
        'x-jwt-assertion': jwt,
        cookie: 'a=1; b=2',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tracestate: 'congo=t61rcWkgMzE',
        b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1',
        'x-request-id': 'abc',
        'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793',
        forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43',
        'x-forwarded-for': '198.51.100.1, 10.0.0.1',
        'x-forwarded-host': 'example.test',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '443',
        'x-forwarded-prefix': '/echo',
        'x-real-ip': '198.51.100.1',
        via: '1.1 nginx',
        'x-envoy-expected-rq-timeout-ms': '15000'
      },
      body: gzipSync('{"id":7}')
    }],
    ['/broken', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{nope' }],
    ['/form', { method: 'POST', body: new URLSearchParams({ a: '1' }) }],
    ['/multi', { method: 'POST', body: (() => { const f = new FormData(); f.set('f', new Blob(['x']), 'x.txt'); f.set('g', 'v'); return f })() }],
    ['/bin', { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 255, 1]) }]
  ]
  for (const [path, init] of requests) {
    const echo = await getJson(fetch(url + path, init))
    const errors = [...Value.Errors(strict, echo)].map(e => `${e.instancePath} ${e.message}`)
    assert.deepEqual(errors, [], `${init.method ?? 'GET'} ${path}`)
  }
})

test('every system path is documented; /metrics only when it is served on this port', async (t) => {
  const { url } = await startEcho(t)
  const doc = await servedDocument(url)
  for (const path of ['/healthz', '/readyz', '/openapi.json', '/openapi.yaml', '/docs', '/metrics']) {
    assert.deepEqual(doc.paths[path]?.get?.tags, ['system'], path)
  }
  assert.equal(doc.paths['/readyz'].get.responses['503'].content['application/json'].schema.$ref, '#/components/schemas/Error')
  const off = await startEcho(t, { metrics: false })
  assert.equal((await servedDocument(off.url)).paths['/metrics'], undefined)
})

test('under --system-prefix the document, its paths and Swagger UI move, and the old paths echo', async (t) => {
  const { url } = await startEcho(t, { systemPrefix: '/_/ops' })
  const doc = await servedDocument(`${url}/_/ops`)
  assert.deepEqual(doc.servers.map((s: Doc) => s.url), ['../..'])
  assert.equal(new URL(doc.servers[0].url, `${url}/gw/_/ops/openapi.json`).pathname, '/gw/', 'the server resolves to the root behind a prefix')
  for (const path of ['/_/ops/healthz', '/_/ops/openapi.json', '/_/ops/openapi.yaml', '/_/ops/docs']) assert.ok(doc.paths[path] !== undefined, path)
  assert.ok(doc.paths['/'].get !== undefined)
  assert.equal((await fetch(`${url}/_/ops/openapi.yaml`)).status, 200)
  const page = await (await fetch(`${url}/_/ops/docs`)).text()
  assert.match(page, /src="docs\/static\/swagger-ui-bundle\.js"/)
  const echoed = await getJson(fetch(`${url}/openapi.json`))
  assert.equal(echoed.path, '/openapi.json', 'without the prefix it is an echo path')
})

test('documenting the echo changed nothing it accepts or sends', async (t) => {
  const { url, port } = await startEcho(t)
  // Values outside the documented enum or type are echoed, never refused by a schema.
  const bogus = await fetch(`${url}/x?format=bogus&info=whatever&echo_header=A: 1&echo_header=B: 2`)
  assert.equal(bogus.status, 200)
  assert.equal(bogus.headers.get('a'), '1')
  assert.equal(bogus.headers.get('b'), '2')
  assert.deepEqual((await getJson(bogus)).query.echo_header, ['A: 1', 'B: 2'])
  // An invalid control is still the control's own 400, not a schema validation error.
  const invalid = await getJson(fetch(`${url}/x`, { headers: { 'x-echo-status': 'abc' } }))
  assert.equal(invalid.statusCode, 400)
  assert.equal(invalid.code, 'ECHOSCOPE_INVALID_CONTROL')
  // Bodies of any shape on any method, GET included, come back whole: no serializer strips them.
  const body = '{"id":7,"nested":{"extra":[1,2]}}'
  const res = await rawRequest(port, `GET /get-body HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  const echo = JSON.parse(res.body.toString())
  assert.deepEqual(echo.body, { id: 7, nested: { extra: [1, 2] } })
  assert.ok(Array.isArray(echo.rawHeaders))
  const purge = await rawRequest(port, 'PURGE /cache HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.equal(JSON.parse(purge.body.toString()).method, 'PURGE')
})

test('the Swagger UI page loads its assets and the document relative to itself, or under X-Forwarded-Prefix', async (t) => {
  const { url } = await startEcho(t)
  const direct = await fetch(`${url}/docs`)
  assert.equal(direct.status, 200)
  assert.equal(direct.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.match(direct.headers.get('content-security-policy') ?? '', /default-src 'self'.*connect-src 'self'/)
  assert.match(direct.headers.get('vary') ?? '', /X-Forwarded-Prefix/i)
  const page = await direct.text()
  assert.match(page, /<script src="docs\/static\/swagger-ui-bundle\.js"><\/script>/)
  assert.match(page, /data-spec-url="openapi\.json"/)
  assert.doesNotMatch(page, /https?:\/\//, 'nothing from another origin')

  const slash = await (await fetch(`${url}/docs/`)).text()
  assert.match(slash, /src="static\/swagger-ui-bundle\.js"/)
  assert.match(slash, /data-spec-url="\.\.\/openapi\.json"/)

  const behind = await (await fetch(`${url}/docs`, { headers: { 'x-forwarded-prefix': '/echo/' } })).text()
  assert.match(behind, /src="\/echo\/docs\/static\/swagger-ui-bundle\.js"/)
  assert.match(behind, /data-spec-url="\/echo\/openapi\.json"/)

  for (const evil of ['//evil.example', 'https://evil.example', '/x"><script>alert(1)</script>', '/a?b', 'relative']) {
    const html = await (await fetch(`${url}/docs`, { headers: { 'x-forwarded-prefix': evil } })).text()
    assert.match(html, /src="docs\/static\/swagger-ui-bundle\.js"/, evil)
    assert.doesNotMatch(html, /evil|<script>alert/, evil)
  }

  const init = await fetch(`${url}/docs/static/swagger-initializer.js`)
  assert.equal(init.status, 200)
  assert.match(await init.text(), /data-spec-url/)
  const bundle = await fetch(`${url}/docs/static/swagger-ui-bundle.js`)
  assert.equal(bundle.status, 200)
  assert.match(bundle.headers.get('content-type') ?? '', /javascript/)
  await bundle.arrayBuffer()
  const index = await fetch(`${url}/docs/static/index.html`, { redirect: 'manual' })
  assert.equal(index.status, 302)
  assert.equal(index.headers.get('location'), '../')
})

test('forwardedPrefix takes a plain path only; serverUrl climbs out of the system prefix', () => {
  assert.equal(forwardedPrefix('/echo'), '/echo')
  assert.equal(forwardedPrefix('/a/b/'), '/a/b')
  assert.equal(forwardedPrefix('/a, /b'), '/a')
  assert.equal(forwardedPrefix(['/first', '/second']), '/first')
  assert.equal(forwardedPrefix(undefined), '')
  assert.equal(forwardedPrefix('/'), '')
  assert.equal(forwardedPrefix('//evil.example/x'), '')
  assert.equal(forwardedPrefix('/a\\b'), '')
  assert.equal(forwardedPrefix('/' + 'x'.repeat(300)), '')
  assert.equal(serverUrl(''), '.')
  assert.equal(serverUrl('/_'), '..')
  assert.equal(serverUrl('/a/b'), '../..')
})
