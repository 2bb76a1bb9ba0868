// HTTP load generators: wrk when it is on PATH (C, lighter on the shared CPU), autocannon otherwise.
// Both run in a different process from the server under test.
import { spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { Measurement } from './types.ts'

export interface HttpRequestSpec {
  method: string
  /** path and query, e.g. /some/path?x=1 */
  path: string
  headers: Record<string, string>
  body?: string
}

export interface LoadOptions {
  durationSec: number
  connections: number
  pipelining: number
}

export interface HttpLoadTool {
  name: string
  run(baseUrl: string, spec: HttpRequestSpec, opts: LoadOptions): Promise<Measurement>
}

/** Thrown when the server answered anything but 2xx, or a request failed: such numbers are worthless. */
export class LoadFailure extends Error {}

// --- autocannon ------------------------------------------------------------------------------------

interface Histogram { average: number, p50: number, p99: number, total: number }
interface AutocannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
  statusCodeStats: Record<string, { count: number }>
  latency: Histogram
  requests: Histogram
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>

// autocannon ships no types; only the fields read below are declared.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export const autocannonTool: HttpLoadTool = {
  name: 'autocannon',
  async run (baseUrl, spec, opts) {
    const result = await autocannon({
      url: baseUrl + spec.path,
      method: spec.method,
      headers: spec.headers,
      body: spec.body,
      connections: opts.connections,
      pipelining: opts.pipelining,
      duration: opts.durationSec
    })
    const failed = result.errors + result.timeouts + result.non2xx
    if (failed > 0 || result['2xx'] === 0) {
      throw new LoadFailure(`${spec.method} ${spec.path}: ${result['2xx']} 2xx, ${result.non2xx} non-2xx ` +
        `(by status: ${JSON.stringify(result.statusCodeStats)}), ${result.errors} errors, ${result.timeouts} timeouts`)
    }
    return {
      rate: result.requests.average,
      // autocannon's latency histogram has 1 ms resolution
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      completed: result.requests.total,
      durationSec: result.duration,
      tool: 'autocannon'
    }
  }
}

// --- wrk -------------------------------------------------------------------------------------------

/** A Lua string literal for any bytes: printable ASCII as is, everything else as \ddd. */
export function luaString (text: string): string {
  let out = '"'
  for (const byte of Buffer.from(text, 'utf8')) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
    out += printable ? String.fromCharCode(byte) : '\\' + String(byte).padStart(3, '0')
  }
  return out + '"'
}

const RESULT_MARK = 'BENCH_RESULT '

/**
 * wrk's own summary is made for humans; the done() hook prints the numbers as one JSON line
 * instead. Pipelining has no wrk flag: a request() that returns N requests at once is the way.
 */
export function wrkScript (spec: HttpRequestSpec, pipelining: number): string {
  const lines = [`wrk.method = ${luaString(spec.method)}`]
  for (const [name, value] of Object.entries(spec.headers)) lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`)
  if (spec.body !== undefined) lines.push(`wrk.body = ${luaString(spec.body)}`)
  if (pipelining > 1) {
    lines.push(
      'local batch',
      `init = function (args) local r = {} for i = 1, ${pipelining} do r[i] = wrk.format() end batch = table.concat(r) end`,
      'request = function () return batch end'
    )
  }
  lines.push(
    'done = function (summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${RESULT_MARK}{"requests":%.0f,"durationUs":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,` +
      '"status":%.0f,"timeout":%.0f,"p50Us":%.3f,"p99Us":%.3f}\\n\', summary.requests, summary.duration, ' +
      'e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))',
    'end'
  )
  return lines.join('\n') + '\n'
}

interface WrkSummary {
  requests: number
  durationUs: number
  connect: number
  read: number
  write: number
  /** responses with a status of 400 or above (wrk counts 3xx as success; the probe rules those out) */
  status: number
  timeout: number
  p50Us: number
  p99Us: number
}

export function parseWrkOutput (stdout: string): WrkSummary {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK))
  if (line === undefined) throw new Error(`wrk printed no result line:\n${stdout}`)
  return JSON.parse(line.slice(RESULT_MARK.length)) as WrkSummary
}

function runProcess (command: string, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export const wrkTool: HttpLoadTool = {
  name: 'wrk',
  async run (baseUrl, spec, opts) {
    const dir = mkdtempSync(join(tmpdir(), 'echoscope-bench-'))
    try {
      const script = join(dir, 'scenario.lua')
      writeFileSync(script, wrkScript(spec, opts.pipelining))
      // One thread: on 2 cores the other one belongs to the server under test.
      const args = ['-t', '1', '-c', String(opts.connections), '-d', `${opts.durationSec}s`, '-s', script, baseUrl + spec.path]
      const { code, stdout, stderr } = await runProcess('wrk', args)
      if (code !== 0) throw new Error(`wrk exited with ${code}: ${stderr || stdout}`)
      const s = parseWrkOutput(stdout)
      const errors = s.connect + s.read + s.write + s.timeout
      if (errors + s.status > 0 || s.requests === 0) {
        throw new LoadFailure(`${spec.method} ${spec.path}: ${s.requests} responses, ${s.status} with status >= 400, ` +
          `socket errors: connect ${s.connect}, read ${s.read}, write ${s.write}, timeout ${s.timeout}`)
      }
      const durationSec = s.durationUs / 1e6
      return {
        rate: s.requests / durationSec,
        p50Ms: s.p50Us / 1000,
        p99Ms: s.p99Us / 1000,
        completed: s.requests,
        durationSec,
        tool: 'wrk'
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

function onPath (command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {}
  }
  return false
}

/** BENCH_TOOL=wrk|autocannon forces one; otherwise wrk when installed. */
export function pickHttpTool (forced: string | undefined): HttpLoadTool {
  if (forced === 'autocannon') return autocannonTool
  if (forced === 'wrk') {
    if (!onPath('wrk')) throw new Error('BENCH_TOOL=wrk but wrk is not on PATH')
    return wrkTool
  }
  if (forced !== undefined && forced !== '') throw new Error(`BENCH_TOOL=${forced}: expected wrk or autocannon`)
  return onPath('wrk') ? wrkTool : autocannonTool
}
