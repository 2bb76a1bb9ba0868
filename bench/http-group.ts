// The HTTP scenario group: echoscope with its defaults (request logging included) beside three plain
// servers, on a GET with typical headers and a POST with a 1 KiB JSON body. echoscope is judged against
// the node:http server doing its per-request work (throughput, p99) and against the minimal node:http
// echo (idle memory); a minimal Fastify echo is shown beside, not judged.
import { hash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import type { HttpLoadTool, HttpRequestSpec } from './http-load.ts'
import { httpReady, nodeServer, send } from './servers.ts'
import type { Criterion, Scenario, ScenarioGroup, Settings, Target, TargetSpec } from './types.ts'

/** echoscope's req/s at least this share of bare-same-work's */
const MIN_RATE_RATIO = 0.85
/** echoscope's p99 at most this multiple of bare-same-work's */
const MAX_P99_RATIO = 1.25
/** echoscope's idle RSS at most this multiple of bare-minimal's */
const MAX_IDLE_RSS_RATIO = 1.5

/** A JSON document of exactly `size` bytes, shaped like a typical API payload. */
export function jsonOfSize (size: number): string {
  const doc = {
    id: 'item-0001',
    name: 'Benchmark item',
    tags: ['alpha', 'beta', 'gamma'],
    price: 12.5,
    inStock: true,
    attributes: { color: 'blue', size: 'M', weight: 0.35 },
    notes: ''
  }
  const padding = size - Buffer.byteLength(JSON.stringify(doc))
  if (padding < 0) throw new Error(`jsonOfSize: ${size} bytes is too small`)
  doc.notes = 'x'.repeat(padding)
  return JSON.stringify(doc)
}

export const GET_SPEC: HttpRequestSpec = {
  method: 'GET',
  path: '/some/path?x=1',
  headers: {
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    accept: 'application/json',
    'accept-language': 'en-US,en;q=0.9',
    'x-forwarded-for': '203.0.113.7'
  }
}

export const POST_SPEC: HttpRequestSpec = {
  method: 'POST',
  path: '/api/items',
  headers: { 'content-type': 'application/json' },
  body: jsonOfSize(1024)
}

function fail (spec: HttpRequestSpec, label: string, why: string): never {
  throw new Error(`self-check of ${label}, ${spec.method} ${spec.path}: ${why}`)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function queryOf (path: string): Record<string, string | string[]> {
  const q = path.indexOf('?')
  const query: Record<string, string | string[]> = {}
  if (q === -1) return query
  for (const [name, value] of new URLSearchParams(path.slice(q + 1))) {
    const seen = query[name]
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return query
}

/**
 * Sends `spec` once and throws unless the answer echoes it: a 2xx from a catch-all is not an echo, and
 * a target doing less than its label says would flatter (or sink) the comparison.
 */
export async function probeEcho (target: Target, spec: HttpRequestSpec, label: string, echo: TargetSpec['echo']): Promise<void> {
  const reply = await send(target.baseUrl + spec.path, spec)
  if (reply.status !== 200) fail(spec, label, `HTTP ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`)
  const type = String(reply.headers['content-type'] ?? '')
  if (!type.startsWith('application/json')) fail(spec, label, `content-type is ${type || 'missing'}, not application/json`)
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(reply.body.toString('utf8'))
  } catch {
    fail(spec, label, 'the body is not JSON')
  }
  const check = (field: string, expected: unknown): void => {
    if (!isDeepStrictEqual(doc[field], expected)) {
      fail(spec, label, `echoed ${field} ${JSON.stringify(doc[field])?.slice(0, 200)}, expected ${JSON.stringify(expected)?.slice(0, 200)}`)
    }
  }
  check('method', spec.method)
  check('url', spec.path)
  const headers = doc.headers as Record<string, unknown> | undefined
  for (const [name, value] of Object.entries(spec.headers)) {
    if (headers?.[name.toLowerCase()] !== value) fail(spec, label, `header ${name} echoed as ${JSON.stringify(headers?.[name.toLowerCase()])}`)
  }
  const bytes = Buffer.from(spec.body ?? '', 'utf8')
  if (echo === 'minimal') {
    check('body', bytes.toString('utf8'))
    return
  }
  check('path', spec.path.split('?', 1)[0])
  check('query', queryOf(spec.path))
  const json = /^application\/(.+\+)?json\b/.test(spec.headers['content-type'] ?? '')
  if (bytes.length === 0) {
    check('body', null)
    check('bodyEncoding', 'none')
  } else if (json) {
    check('body', JSON.parse(spec.body!))
    check('bodyEncoding', 'json')
  } else {
    check('body', spec.body)
  }
  check('bodyBytes', bytes.length)
  check('bodySha256', hash('sha256', bytes, 'hex'))
  if (typeof doc.requestId !== 'string' || !UUID.test(doc.requestId)) fail(spec, label, `requestId ${JSON.stringify(doc.requestId)} is not a UUID`)
  if (reply.headers['x-request-id'] !== doc.requestId) fail(spec, label, `x-request-id ${String(reply.headers['x-request-id'])} is not the echoed requestId`)
  if (typeof doc.receivedAt !== 'string' || Number.isNaN(Date.parse(doc.receivedAt))) fail(spec, label, `receivedAt ${JSON.stringify(doc.receivedAt)} is not a date`)
}

function httpScenario (spec: HttpRequestSpec, tool: HttpLoadTool, settings: Settings): Scenario {
  return {
    name: `${spec.method} ${spec.path}`,
    probe: (target, targetSpec) => probeEcho(target, spec, targetSpec.label, targetSpec.echo),
    async measure (target, durationSec, meter) {
      const opts = { durationSec, connections: settings.connections, pipelining: settings.pipelining }
      // wrk's start-up and connects fall inside the interval too; a few ms in seconds, alike for every server
      meter.start()
      try {
        return await tool.run(target.baseUrl, spec, opts)
      } finally {
        meter.stop()
      }
    }
  }
}

export interface HttpGroupOptions {
  settings: Settings
  tool: HttpLoadTool
  /** script started in echoscope's slot; dist/bench/bare-http.js there checks the harness itself */
  echoscopeEntry: string
  /** also measure bare-same-work with echoscope's write coalescing, as a target never judged */
  coalescing?: boolean
}

export const SUBJECT = 'echoscope'
export const BARE_SAME_WORK = 'bare-same-work'
export const BARE_MINIMAL = 'bare-minimal'
export const FASTIFY_MINIMAL = 'fastify-minimal'
export const BARE_COALESCING = 'bare-same-work+coalescing'

const benchScript = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url))

export const HTTP_CRITERIA: Criterion[] = [
  { name: 'throughput', metric: 'rate', yardstick: BARE_SAME_WORK, bound: 'min', limit: MIN_RATE_RATIO },
  { name: 'p99 latency', metric: 'p99', yardstick: BARE_SAME_WORK, bound: 'max', limit: MAX_P99_RATIO },
  { name: 'idle RSS', metric: 'idleRss', yardstick: BARE_MINIMAL, bound: 'max', limit: MAX_IDLE_RSS_RATIO }
]

export function httpGroup ({ settings, tool, echoscopeEntry, coalescing = false }: HttpGroupOptions): ScenarioGroup {
  // echoscope exactly as a user starts it: no flags but where to listen. Its rate limiter never counts
  // loopback clients by default, so the load is not answered with 429.
  const targets: TargetSpec[] = [
    nodeServer(SUBJECT, echoscopeEntry, httpReady('/healthz')),
    nodeServer(BARE_SAME_WORK, benchScript('bare-http.js'), httpReady('/')),
    nodeServer(BARE_MINIMAL, benchScript('bare-minimal.js'), httpReady('/'), { echo: 'minimal' }),
    nodeServer(FASTIFY_MINIMAL, benchScript('fastify-minimal.js'), httpReady('/'), { echo: 'minimal' })
  ]
  // With --coalesce-writes echoscope writes the responses finished in one event-loop turn together
  // (src/perf/write-coalescing.ts); the same-work echo with that one change shows how much it is worth.
  // Opt-in, never a yardstick.
  if (coalescing) targets.push(nodeServer(BARE_COALESCING, benchScript('bare-http.js'), httpReady('/'), { args: ['--coalesce-writes'] }))
  return {
    name: 'http',
    unit: 'req/s',
    op: 'req',
    targets,
    subject: SUBJECT,
    scenarios: [httpScenario(GET_SPEC, tool, settings), httpScenario(POST_SPEC, tool, settings)],
    criteria: HTTP_CRITERIA,
    idleRss: true,
    notes: [
      'echoscope runs with its defaults (request logging on, to /dev/null; metrics; history; the rate limiter, ' +
        'which by default never counts loopback clients such as this load)',
      `${BARE_SAME_WORK}: plain node:http doing echoscope's per-request work (core fields, query and JSON body parsed, ` +
        `SHA-256 of the body, a UUID); ${BARE_MINIMAL}: plain node:http echoing method, url, headers and body; ` +
        `${FASTIFY_MINIMAL}: one Fastify catch-all route echoing the same, logger off (shown, not judged)` +
        (coalescing ? `; ${BARE_COALESCING}: ${BARE_SAME_WORK} with echoscope's write coalescing (shown, not judged)` : ''),
      `load: ${tool.name}, ${settings.connections} connections, pipelining ${settings.pipelining}`
    ]
  }
}
