// The HTTP scenario group: echoscope (defaults on, request logging included) against a bare
// node:http echo, on a GET with typical headers and a POST with a 1 KiB JSON body.
import { fileURLToPath } from 'node:url'
import type { HttpLoadTool, HttpRequestSpec } from './http-load.ts'
import { httpReady, nodeServer, send } from './servers.ts'
import type { Scenario, ScenarioGroup, Settings, Target, TargetSpec } from './types.ts'

const TARGET_RATIO = 0.75

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

function fail (spec: HttpRequestSpec, why: string): never {
  throw new Error(`probe ${spec.method} ${spec.path}: ${why}`)
}

/** Checks one answer is the echo of what was sent, not merely a 2xx. */
export async function probeEcho (target: Target, spec: HttpRequestSpec): Promise<void> {
  const reply = await send(target.baseUrl + spec.path, spec)
  if (reply.status < 200 || reply.status > 299) fail(spec, `HTTP ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`)
  const type = String(reply.headers['content-type'] ?? '')
  if (!type.startsWith('application/json')) fail(spec, `content-type is ${type || 'missing'}, not application/json`)
  let echo: { method?: unknown, path?: unknown, bodyBytes?: unknown }
  try {
    echo = JSON.parse(reply.body.toString('utf8'))
  } catch {
    fail(spec, 'the body is not JSON')
  }
  const expectedPath = spec.path.split('?', 1)[0]
  const expectedBytes = spec.body === undefined ? 0 : Buffer.byteLength(spec.body)
  if (echo.method !== spec.method) fail(spec, `echoed method ${String(echo.method)}`)
  if (echo.path !== expectedPath) fail(spec, `echoed path ${String(echo.path)}`)
  if (echo.bodyBytes !== expectedBytes) fail(spec, `echoed bodyBytes ${String(echo.bodyBytes)}, sent ${expectedBytes}`)
}

function httpScenario (spec: HttpRequestSpec, tool: HttpLoadTool, settings: Settings): Scenario {
  return {
    name: `${spec.method} ${spec.path}`,
    probe: (target) => probeEcho(target, spec),
    async measure (target, durationSec, meter) {
      const opts = { durationSec, connections: settings.connections, pipelining: settings.pipelining }
      // wrk's start-up and connects fall inside the interval too; a few ms in seconds, alike for both servers
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
  /** script started in echoscope's slot; pointing it at the bare server checks the harness itself */
  echoscopeEntry: string
}

/**
 * All load comes from one address, so echoscope's default rate limit (6000 per minute per client)
 * would answer 429 within a second; raised out of reach, it still counts every request. Loopback is on
 * the default allow list (never counted), so the list is emptied: the bench pays for the limiter.
 */
export const ECHOSCOPE_HTTP_ARGS = ['--rate-limit-max', '100000000', '--rate-limit-allow', '']

export function httpGroup ({ settings, tool, echoscopeEntry }: HttpGroupOptions): ScenarioGroup {
  const bare: TargetSpec = nodeServer('bare', fileURLToPath(new URL('./bare-http.js', import.meta.url)), httpReady('/'))
  const echoscope: TargetSpec = nodeServer('echoscope', echoscopeEntry, httpReady('/healthz'), ECHOSCOPE_HTTP_ARGS)
  // echoscope writes the responses finished in one event-loop turn together (src/write-coalescing.ts); the
  // same bare echo with that one change shows how much of the ratio it makes.
  const bareCoalescing: TargetSpec = nodeServer('bare+coalescing', fileURLToPath(new URL('./bare-http.js', import.meta.url)), httpReady('/'), ['--coalesce-writes'])
  return {
    name: 'http',
    unit: 'req/s',
    op: 'req',
    baseline: bare,
    subject: echoscope,
    reference: bareCoalescing,
    scenarios: [httpScenario(GET_SPEC, tool, settings), httpScenario(POST_SPEC, tool, settings)],
    target: TARGET_RATIO,
    notes: [
      `echoscope runs with its defaults (request logging on, to /dev/null) except ${ECHOSCOPE_HTTP_ARGS.join(' ')} ` +
        '(the default 6000/min per client would answer this load with 429; the limiter still counts every request)',
      `load: ${tool.name}, ${settings.connections} connections, pipelining ${settings.pipelining}`
    ]
  }
}
