// `echoscope probe URL`: measure the limits of whatever stands in front of an echoscope server (body size,
// header size, URL length, response buffering, upstream read timeout, WebSocket upgrades, HTTP versions)
// with bounded searches. Exit 0 when done, 1 when the URL does not lead to echoscope, 2 on a usage or
// connection error.
import { parseArgs } from 'node:util'
import type { Target } from '../diff/wire.ts'
import {
  probeBody, probeHeaderBlock, probeHeaderLines, probeHeaderValue, probeStreaming, probeTimeout, probeUrl, probeVersions, probeWebSocket,
  LINE_MAX, type CountReport, type LimitReport, type Refusal, type StreamingReport, type TimeoutReport, type VersionsReport, type WebSocketReport
} from './probes.ts'

export const PROBES = ['body', 'headers', 'header', 'lines', 'url', 'buffering', 'timeout', 'websocket'] as const
type ProbeName = typeof PROBES[number]

export const PROBE_HELP = `Usage: echoscope probe URL [options]

Finds the limits of the gateway in front of an echoscope server, URL being the gateway's route to it:
the largest request body, request head and single header value, the most header lines, the longest URL, whether
streamed responses are buffered, the upstream read timeout, whether WebSocket upgrades pass, and the HTTP
versions on each side. Each limit is a bounded search (doubling, then halving to within 0.5%). An answer
without echoscope's x-echoscope header is the gateway's refusal; a refusal from echoscope itself means the
limit found is echoscope's own, and the server flag that raises it is named.

Options:
      --json                  print the results as JSON
      --max-time DURATION     longest upstream delay tried for the read timeout, like 500ms, 10s or 1m (default 30s)
      --only LIST             run only these probes, comma-separated: ${PROBES.join(', ')}
  -k, --insecure              accept any TLS certificate
      --timeout MS            give up on a request after this long without an answer (default 10000)
  -h, --help                  this help

Exit status: 0 done, 1 the URL does not lead to echoscope, 2 a usage or connection error.`

class UsageError extends Error {}

export interface Io { out: (text: string) => void, err: (text: string) => void }

export interface ProbeResult {
  url: string
  versions: VersionsReport
  body?: LimitReport
  headers?: LimitReport
  header?: LimitReport
  headerLines?: CountReport
  urlLength?: LimitReport
  buffering?: StreamingReport
  timeout?: TimeoutReport
  websocket?: WebSocketReport
  requests: number
}

/** `500ms`, `10s`, `1.5s`, `1m` → milliseconds; null when not such a duration. */
export function parseDuration (raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(raw.trim())
  if (m === null) return null
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60000)
  return Number.isFinite(ms) ? Math.round(ms) : null
}

const MAX_TIME_MIN = 100
const MAX_TIME_MAX = 3600000

export async function runProbe (argv: string[], io: Io): Promise<number> {
  let values
  let positionals
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        'max-time': { type: 'string' },
        only: { type: 'string' },
        insecure: { type: 'boolean', short: 'k' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    io.err(`echoscope probe: ${(err as Error).message.split('. ')[0]} (see echoscope probe --help)`)
    return 2
  }
  if (values.help === true) {
    io.out(PROBE_HELP)
    return 0
  }
  try {
    if (positionals.length !== 1) throw new UsageError('give exactly one URL, e.g. echoscope probe http://gateway.local/api/')
    let url: URL
    try {
      url = new URL(positionals[0])
    } catch {
      throw new UsageError(`invalid URL ${JSON.stringify(positionals[0])}`)
    }
    if (!['http:', 'https:'].includes(url.protocol)) throw new UsageError(`invalid URL ${JSON.stringify(positionals[0])}: must be http or https`)
    const timeoutMs = values.timeout === undefined ? 10000 : Number(values.timeout)
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`invalid --timeout ${JSON.stringify(values.timeout)}: must be a positive number of milliseconds`)
    const maxTime = values['max-time'] === undefined ? 30000 : parseDuration(values['max-time'])
    if (maxTime === null || maxTime < MAX_TIME_MIN || maxTime > MAX_TIME_MAX) {
      throw new UsageError(`invalid --max-time ${JSON.stringify(values['max-time'])}: must be a duration from 100ms to 60m, like 500ms, 10s or 1m`)
    }
    let only: Set<ProbeName> = new Set(PROBES)
    if (values.only !== undefined) {
      const names = values.only.split(',').map(s => s.trim())
      const bad = names.filter(n => !(PROBES as readonly string[]).includes(n))
      if (bad.length > 0 || names.length === 0) throw new UsageError(`invalid --only ${JSON.stringify(values.only)}: must be a comma-separated list of ${PROBES.join(', ')}`)
      only = new Set(names as ProbeName[])
    }

    const target: Target = { url, insecure: values.insecure === true, timeoutMs }
    const { report: versions, refusal } = await probeVersions(target)
    if (refusal !== null) {
      if (refusal.by === 'connection') {
        io.err(`echoscope probe: cannot reach ${url.host}: ${refusal.detail ?? 'no answer'}`)
        return 2
      }
      io.err(`echoscope probe: ${url.toString()} does not lead to an echoscope echo: ${refusal.status} from ${refusal.by === 'gateway' ? 'the gateway (no x-echoscope header)' : 'echoscope'}`)
      return 1
    }
    const result: ProbeResult = { url: url.toString(), versions, requests: 1 }
    if (only.has('body')) result.body = await probeBody(target)
    // The head is probed with lines as long as the gateway takes, so the single header's probe comes first.
    let header: LimitReport | undefined
    if (only.has('header') || only.has('headers')) header = await probeHeaderValue(target)
    if (only.has('header')) result.header = header
    if (only.has('headers')) {
      result.headers = await probeHeaderBlock(target, header?.bytes ?? LINE_MAX)
      if (!only.has('header')) result.headers.requests += header?.requests ?? 0
    }
    if (only.has('lines')) result.headerLines = await probeHeaderLines(target)
    if (only.has('url')) result.urlLength = await probeUrl(target)
    if (only.has('websocket')) result.websocket = await probeWebSocket(target)
    if (only.has('buffering')) result.buffering = await probeStreaming(target)
    if (only.has('timeout')) result.timeout = await probeTimeout(target, maxTime)
    for (const r of [result.body, result.headers, result.header, result.headerLines, result.urlLength, result.timeout]) result.requests += r?.requests ?? 0
    result.requests += (result.websocket !== undefined ? 1 : 0) + (result.buffering !== undefined ? 1 : 0)
    io.out(values.json === true ? JSON.stringify(result, null, 2) : render(result))
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`echoscope probe: ${err.message}`)
      return 2
    }
    throw err
  }
}

/** 65536 → "64.0 KiB (65536 bytes)". */
export function size (bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  const [v, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KiB'] : [bytes / 1024 / 1024, 'MiB']
  return `${v.toFixed(1)} ${unit} (${bytes} bytes)`
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`

function who (r: Refusal): string {
  if (r.by === 'connection') return r.detail ?? 'the connection failed'
  const base = `${r.status} from ${r.by === 'gateway' ? 'the gateway' : 'echoscope itself'}`
  return r.detail !== undefined ? `${base} (${r.detail})` : base
}

const lines = (n: number) => `${n} line${n === 1 ? '' : 's'}`

function limitRow (what: string, r: LimitReport | CountReport): [string, string, string] {
  const [found, show] = 'count' in r ? [r.count, lines] : [r.bytes, size]
  if (r.refusedAt === null) return [what, `at least ${show(found ?? r.max)}`, `passed at the probe's cap, ${show(r.max)}`]
  const result = found === null ? `below ${show(r.refusedAt)}` : show(found)
  const evidence = `${found !== null ? `passed at ${found}; ` : ''}${who(r.refusedBy!)} at ${r.refusedAt}`
  if (r.echoscopeLimit !== undefined) {
    return [what, `${result}, echoscope's own limit`, `${evidence}: the gateway's limit is higher or none; raise ${r.echoscopeLimit} on the echoscope server to measure it`]
  }
  return [what, result, evidence]
}

function rows (p: ProbeResult): [string, string, string][] {
  const out: [string, string, string][] = []
  if (p.body !== undefined) out.push(limitRow('request body', p.body))
  if (p.headers !== undefined) out.push(limitRow('request head', p.headers))
  if (p.header !== undefined) out.push(limitRow('one header value', p.header))
  if (p.headerLines !== undefined) out.push(limitRow('header lines', p.headerLines))
  if (p.urlLength !== undefined) out.push(limitRow('URL (path + query)', p.urlLength))
  if (p.buffering !== undefined) {
    const b = p.buffering
    const at = b.eventsAtMs.map(ms => (ms / 1000).toFixed(1)).join(', ')
    out.push(['streamed responses', b.buffered === null ? 'unknown' : b.buffered ? 'buffered' : 'passed through',
      b.detail ?? `SSE events arrived at ${at} s (echoscope sent them a second apart)`])
  }
  if (p.timeout !== undefined) {
    const t = p.timeout
    if (t.refusedAtMs === null) {
      out.push(t.echoscopeLimit !== undefined
        ? ['upstream read timeout', `more than ${seconds(t.ms!)}, echoscope's own cap`, `echoscope answered after ${seconds(t.ms!)} though ${seconds(t.maxMs)} was asked: raise --max-delay on the echoscope server to measure further`]
        : ['upstream read timeout', `more than ${seconds(t.maxMs)}`, `a ${seconds(t.maxMs)} delay was answered by echoscope (--max-time)`])
    } else {
      const result = t.ms === null ? `below ${seconds(t.refusedAtMs)}` : seconds(t.ms)
      out.push(['upstream read timeout', t.echoscopeLimit !== undefined ? `${result}, echoscope's own limit` : result,
        `${t.ms !== null ? `a ${seconds(t.ms)} delay passed; ` : ''}${who(t.refusedBy!)} at ${seconds(t.refusedAtMs)}`])
    }
  }
  if (p.websocket !== undefined) out.push(['WebSocket upgrade', p.websocket.passes ? 'passes' : 'refused', p.websocket.detail])
  const v = p.versions
  out.push(['HTTP versions', `client side ${v.client ?? '?'}, echoscope side ${v.upstream !== null ? `HTTP/${v.upstream.httpVersion} (${v.upstream.protocol})` : '?'}`,
    'the status line the client got; the version and scheme echoscope received'])
  return out
}

export function render (p: ProbeResult): string {
  const table: [string, string, string][] = [['what', 'result', 'evidence'], ...rows(p)]
  const w0 = Math.max(...table.map(r => r[0].length))
  const w1 = Math.max(...table.map(r => r[1].length))
  const lines = table.map(r => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`)
  lines.splice(1, 0, `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(8)}`)
  return [`echoscope probe ${p.url} (${p.requests} requests)`, '', ...lines].join('\n')
}
