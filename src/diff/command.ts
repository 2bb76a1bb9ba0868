// `echoscope diff URL`: send one fully known request through whatever stands in front of an echoscope
// server, and report what arrived differently, both ways. Exit 0 when done, 1 when an expectation is unmet or
// the gateway answered itself, 2 on a usage or connection error or when echoscope answered without an echo.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { buildRequest, decodedBody, exchange, type WireRequest, type WireResponse } from './wire.ts'
import { checkSticky, checkWeights, findArrivals, gatewayCookie, parseWeights, renderArrivals, renderReplicas, replicaProblems, tally, whoAnswered, type Arrivals, type ReplicaReport } from './replicas.ts'
import { randomUUID } from 'node:crypto'
import { compare, fromEchoscope, gatewayAnswer, isEcho, parseExpectation, unmet, type Expectation } from './compare.ts'
import { render, renderGatewayAnswer } from './render.ts'

export const DIFF_HELP = `Usage: echoscope diff URL [options]

Sends one request whose every header echoscope knows (Host, User-Agent, Content-Length included) to URL —
a gateway, proxy or load balancer in front of an echoscope server — and shows what the server received
differently: method, path, query, headers added / removed / changed (name case too) / reordered, body,
which instance answered, and the proxy analysis; then the way back: the status and headers the gateway
added, removed or changed on echoscope's response. A response without echoscope's x-echoscope header was
made by the gateway itself, and is shown as such (status, headers, the start of its body).

Options:
  -X, --request METHOD        method (default GET, or POST with --data)
  -H, --header 'Name: value'  add a request header (repeatable)
  -d, --data DATA             request body; @file reads a file, @- reads stdin
      --ws                    diff a WebSocket upgrade instead (also implied by ws:// and wss:// URLs)
      --json                  print the diff as JSON
      --count N               send the request N times (default 1) and report which instances answered,
                              how often, and whether a cookie the gateway sets keeps a client on one
      --weights a=3,b=1       with --count: exit 1 unless each instance's share is within --tolerance of its weight's
      --tolerance PERCENT     how far a share may be off its weight, in percentage points (default 10)
      --expect-sticky         with --count: exit 1 unless the gateway's cookie keeps a client on one instance
      --history URL           the echoscope history (http://echoscope:8080/requests, shared by the replicas
                              with --redis-url): report requests that arrived more than once (retries, mirrors);
                              the admin token, if any, from ECHOSCOPE_ADMIN_TOKEN
      --expect-once           with --history: exit 1 when a request arrived more than once
      --expect-header NAME[=VALUE]   exit 1 unless the server received this header (with this value)
      --expect-no-header NAME        exit 1 if the server received this header
  -k, --insecure              accept any TLS certificate
      --timeout MS            give up after this long (default 10000)
  -h, --help                  this help

Exit status: 0 done, 1 an expectation unmet or the gateway answered itself, 2 a usage or connection error.`

class UsageError extends Error {}

function readData (raw: string): Buffer {
  if (raw.startsWith('@')) {
    const file = raw.slice(1)
    try {
      return readFileSync(file === '-' ? 0 : file)
    } catch (err) {
      throw new UsageError(`cannot read --data file ${file}: ${(err as Error).message}`)
    }
  }
  return Buffer.from(raw)
}

function parseHeader (raw: string): [string, string] {
  const i = raw.indexOf(':')
  if (i <= 0) throw new UsageError(`invalid --header ${JSON.stringify(raw)}: must be "Name: value"`)
  const name = raw.slice(0, i).trim()
  const value = raw.slice(i + 1).trim()
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`invalid --header ${JSON.stringify(raw)}: the name is not a valid HTTP token`)
  if (/[\r\n\0]/.test(value)) throw new UsageError(`invalid --header ${JSON.stringify(raw)}: the value contains CR, LF or NUL`)
  return [name, value]
}

export interface Io { out: (text: string) => void, err: (text: string) => void, color: boolean }

export async function runDiff (argv: string[], io: Io): Promise<number> {
  let values
  let positionals
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        request: { type: 'string', short: 'X' },
        header: { type: 'string', short: 'H', multiple: true },
        data: { type: 'string', short: 'd' },
        ws: { type: 'boolean' },
        json: { type: 'boolean' },
        count: { type: 'string' },
        weights: { type: 'string' },
        tolerance: { type: 'string' },
        'expect-sticky': { type: 'boolean' },
        history: { type: 'string' },
        'expect-once': { type: 'boolean' },
        'expect-header': { type: 'string', multiple: true },
        'expect-no-header': { type: 'string', multiple: true },
        insecure: { type: 'boolean', short: 'k' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    io.err(`echoscope diff: ${(err as Error).message.split('. ')[0]} (see echoscope diff --help)`)
    return 2
  }
  if (values.help === true) {
    io.out(DIFF_HELP)
    return 0
  }
  try {
    if (positionals.length !== 1) throw new UsageError('give exactly one URL, e.g. echoscope diff http://gateway.local/api/echo')
    let url: URL
    try {
      url = new URL(positionals[0])
    } catch {
      throw new UsageError(`invalid URL ${JSON.stringify(positionals[0])}`)
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) throw new UsageError(`invalid URL ${JSON.stringify(positionals[0])}: must be http, https, ws or wss`)
    const websocket = values.ws === true || url.protocol === 'ws:' || url.protocol === 'wss:'
    const timeoutMs = values.timeout === undefined ? 10000 : Number(values.timeout)
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`invalid --timeout ${JSON.stringify(values.timeout)}: must be a positive number of milliseconds`)
    const headers = (values.header ?? []).map(parseHeader)
    const body = values.data === undefined ? Buffer.alloc(0) : readData(values.data)
    if (websocket && body.length > 0) throw new UsageError('--data cannot be used with --ws (an upgrade has no body)')
    if (values.data !== undefined && !headers.some(([n]) => n.toLowerCase() === 'content-type')) {
      // As curl does for -d.
      headers.push(['Content-Type', 'application/x-www-form-urlencoded'])
    }
    const method = (values.request ?? (values.data !== undefined ? 'POST' : 'GET')).toUpperCase()
    if (websocket && method !== 'GET') throw new UsageError('a WebSocket upgrade is a GET request')
    const expectations: Expectation[] = [
      ...(values['expect-header'] ?? []).map(v => parseExpectation('header', v)),
      ...(values['expect-no-header'] ?? []).map(v => parseExpectation('no-header', v))
    ]

    const count = values.count === undefined ? 1 : Number(values.count)
    if (!Number.isInteger(count) || count < 1 || count > 10000) throw new UsageError(`invalid --count ${JSON.stringify(values.count)}: must be a whole number from 1 to 10000`)
    const weights = values.weights === undefined ? null : parseWeights(values.weights)
    if (values.weights !== undefined && weights === null) throw new UsageError(`invalid --weights ${JSON.stringify(values.weights)}: must be instance=weight pairs like a=3,b=1`)
    const tolerance = values.tolerance === undefined ? 10 : Number(values.tolerance)
    if (values.tolerance !== undefined && (values.tolerance.trim() === '' || !Number.isFinite(tolerance) || tolerance < 0 || tolerance > 100)) {
      throw new UsageError(`invalid --tolerance ${JSON.stringify(values.tolerance)}: must be percentage points from 0 to 100`)
    }
    if ((weights !== null || values['expect-sticky'] === true) && count < 2) throw new UsageError('--weights and --expect-sticky need --count 2 or more')

    let historyUrl: URL | null = null
    if (values.history !== undefined) {
      if (!URL.canParse(values.history) || !/^https?:$/.test(new URL(values.history).protocol)) throw new UsageError(`invalid --history ${JSON.stringify(values.history)}: must be the http(s) URL of an echoscope /requests`)
      historyUrl = new URL(values.history)
    } else if (values['expect-once'] === true) {
      throw new UsageError('--expect-once needs --history')
    }
    // With --history each request carries an id of its own, so that its copies can be found (unless the caller set one).
    const ownId = historyUrl !== null && !headers.some(([n]) => n.toLowerCase() === 'x-request-id')

    const target = { url, insecure: values.insecure === true, timeoutMs }
    const req = buildRequest(url, method, headers, body, websocket)
    const answeredIds: string[] = []
    const send = async (r: WireRequest): Promise<{ res: WireResponse, echo: unknown }> => {
      if (ownId) r = { ...r, headers: [...r.headers.slice(0, 1), ['X-Request-Id', randomUUID()], ...r.headers.slice(1)] }
      const res = await exchange(target, r, websocket)
      let echo: unknown
      try {
        echo = JSON.parse(decodedBody(res).toString('utf8'))
      } catch {
        echo = null
      }
      if (isEcho(echo)) answeredIds.push(echo.requestId)
      return { res, echo }
    }
    let res: WireResponse
    let echo: unknown
    let replicas: ReplicaReport | undefined
    try {
      ({ res, echo } = await send(req))
      if (count > 1) replicas = await acrossReplicas(req, res, echo, count, weights, tolerance / 100, send)
    } catch (err) {
      io.err(`echoscope diff: cannot reach ${url.host}: ${(err as Error).message}`)
      return 2
    }
    if (!isEcho(echo)) {
      if (!fromEchoscope(res.headers)) {
        // Something in front answered itself: that is the finding (a 404 route miss, a 413 limit, a 502 or 504).
        const answer = gatewayAnswer(res.status, res.headers, res.body)
        if (values.json === true) io.out(JSON.stringify(answer, null, 2))
        else io.out(renderGatewayAnswer(answer, method, url.toString(), { color: io.color }))
        io.err(`unmet: the gateway answered ${res.status} itself; the request did not reach echoscope` +
          (websocket && res.status !== 101 ? ' (the WebSocket upgrade was refused)' : ''))
        return 1
      }
      const type = res.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? 'no content type'
      io.err(`echoscope diff: echoscope answered ${res.status} (${type}) without an echo: ${JSON.stringify(res.body.subarray(0, 200).toString('utf8'))}`)
      return 2
    }
    let arrivals: Arrivals | undefined
    if (historyUrl !== null) {
      try {
        arrivals = await findArrivals(historyUrl, answeredIds, timeoutMs)
      } catch (err) {
        io.err(`echoscope diff: cannot read the history at ${historyUrl.toString()}: ${(err as Error).message}`)
        return 2
      }
    }
    const result = compare(req, res.status, echo, res.headers)
    const problems = unmet(expectations, echo)
    if (arrivals !== undefined && values['expect-once'] === true) {
      for (const d of arrivals.repeated) problems.push(`expected each request to arrive once, but ${d.requestId} arrived ${d.times} times (${d.instances.join(', ')})`)
    }
    if (replicas !== undefined) problems.push(...replicaProblems(replicas, values['expect-sticky'] === true))
    const full = { ...result, ...(replicas !== undefined ? { replicas } : {}), ...(arrivals !== undefined ? { arrivals } : {}), ...(problems.length > 0 ? { unmet: problems } : {}) }
    if (values.json === true) {
      io.out(JSON.stringify(full, null, 2))
    } else {
      io.out([render(result, url.toString(), { color: io.color }), ...(replicas !== undefined ? renderReplicas(replicas) : []),
        ...(arrivals !== undefined ? renderArrivals(arrivals) : [])].join('\n'))
    }
    for (const p of problems) io.err(`unmet: ${p}`)
    return problems.length > 0 ? 1 : 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`echoscope diff: ${err.message}`)
      return 2
    }
    throw err
  }
}

/**
 * The same request `count` times in a row (the first already sent), each on its own connection as a new
 * client would; then, if any answer set a cookie echoscope did not (a gateway's affinity cookie), `count`
 * more carrying it.
 */
async function acrossReplicas (req: WireRequest, first: WireResponse, firstEcho: unknown, count: number, weights: Map<string, number> | null, tolerance: number,
  send: (r: WireRequest) => Promise<{ res: WireResponse, echo: unknown }>): Promise<ReplicaReport> {
  const who = [whoAnswered(first, firstEcho)]
  let cookie = gatewayCookie(first, firstEcho)
  for (let i = 1; i < count; i++) {
    const { res, echo } = await send(req)
    who.push(whoAnswered(res, echo))
    cookie ??= gatewayCookie(res, echo)
  }
  const answered = tally(who)
  const report: ReplicaReport = { requests: count, answered, ...(weights !== null ? { weights: checkWeights(answered, weights, count, tolerance) } : {}) }
  if (cookie !== undefined) report.sticky = await checkSticky(req, cookie, count, send)
  return report
}
