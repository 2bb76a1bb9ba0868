// Runs the planned cases through the gateway, a few at a time, and says for each which expectations went
// unmet and with what. The repeats of one case go one after the other, as successive clients would.
import { createHash } from 'node:crypto'
import type { Echo } from '../echo/types.ts'
import { compare, fromEchoscope, gatewayAnswer, isEcho, type DiffResult, type GatewayAnswer } from '../diff/compare.ts'
import { checkSticky, checkWeights, gatewayCookie, replicaProblems, tally, whoAnswered, type StickyCheck, type WeightCheck } from '../diff/replicas.ts'
import { decodedBody, exchange, type WireRequest, type WireResponse } from '../diff/wire.ts'
import { formatDuration } from '../config/options.ts'
import { check, describeStatus, type Matcher } from './match.ts'
import type { Plan, PlannedCase } from './load.ts'

export interface CaseResult {
  name: string
  method: string
  url: string
  status: 'passed' | 'failed' | 'error'
  durationMs: number
  /** requests sent (fewer than repeat when one could not be sent) */
  requests: number
  /** each unmet expectation; with repeats, how many of the answers missed it */
  unmet: string[]
  /** why the case could not run (connection refused, no answer in time) */
  error?: string
  /** what the gateway changed, both ways, on the first answer that missed an expectation (else the first) */
  diff?: DiffResult
  /** the gateway's own answer, when it made the response that is reported */
  gateway?: GatewayAnswer
  /** with repeat: instance → how many answered */
  answered?: Record<string, number>
  /** with replicas.weights: each instance's share against its weight's */
  weights?: WeightCheck[]
  /** with replicas.sticky: where the requests carrying the gateway's cookie went */
  sticky?: StickyCheck
}

export interface RunResult {
  cases: CaseResult[]
  passed: number
  failed: number
  errors: number
  durationMs: number
}

const joinedHeaders = (lines: [string, string][]): Map<string, string> => {
  const out = new Map<string, string>()
  for (const [n, v] of lines) {
    const k = n.toLowerCase()
    const had = out.get(k)
    out.set(k, had === undefined ? v : `${had}, ${v}`)
  }
  return out
}

const asList = (v: string | string[] | undefined) => v === undefined ? undefined : Array.isArray(v) ? v.join(', ') : v

function splitTarget (target: string): [string, URLSearchParams] {
  const q = target.indexOf('?')
  return q === -1 ? [target, new URLSearchParams()] : [target.slice(0, q), new URLSearchParams(target.slice(q + 1))]
}

/** The echo's body as text, for a text matcher: text as is, JSON compact, base64 decoded. */
function echoBodyText (echo: Echo): string {
  if (echo.bodyEncoding === 'text' && typeof echo.body === 'string') return echo.body
  if (echo.bodyEncoding === 'base64' && typeof echo.body === 'string') return Buffer.from(echo.body, 'base64').toString('utf8')
  if (echo.bodyEncoding === 'none') return ''
  return JSON.stringify(echo.body)
}

function checkBody (m: Matcher | { kind: 'empty' }, sent: Buffer, echo: Echo): string | null {
  if (m.kind === 'empty') return echo.bodyBytes === 0 ? null : `expected no upstream body, but ${echo.bodyBytes} bytes arrived`
  if (m.kind === 'same') {
    const digest = createHash('sha256').update(sent).digest('hex')
    return digest === echo.bodySha256 ? null : `expected the upstream body byte-identical to what was sent (${sent.length} bytes), but ${echo.bodyBytes} bytes arrived with another SHA-256`
  }
  return check('the upstream body', m, echoBodyText(echo))
}

/** The unmet expectations of one answer. */
export function evaluate (c: PlannedCase, req: WireRequest, res: WireResponse, body: Buffer, parsed: unknown): string[] {
  const out: string[] = []
  const made = fromEchoscope(res.headers)
  const echo = isEcho(parsed) ? parsed : null
  if (c.answeredBy === 'echoscope' && !made) out.push(`expected echoscope to answer, but the gateway answered ${res.status} itself (no x-echoscope header)`)
  if (c.answeredBy === 'gateway' && made) out.push(`expected the gateway to answer itself, but echoscope (${whoAnswered(res, parsed)}) answered ${res.status}`)
  const u = c.upstream
  if (u !== undefined && made) {
    if (echo === null) {
      out.push(`expected an echo to check what arrived upstream, but echoscope answered ${res.status} without one`)
    } else {
      const [sentPath, sentQuery] = splitTarget(req.target)
      const push = (p: string | null) => { if (p !== null) out.push(p) }
      if (u.method !== undefined) push(check('the upstream method', u.method, echo.method, req.method))
      if (u.path !== undefined) push(check('the upstream path', u.path, echo.path, sentPath))
      for (const [name, m] of u.query) {
        const sent = sentQuery.getAll(name)
        push(check(`upstream query ${name}`, m, asList(echo.query[name]), sent.length === 0 ? undefined : sent.join(', ')))
      }
      const got = joinedHeaders(echo.rawHeaders)
      const sentHeaders = joinedHeaders(req.headers)
      for (const [name, m] of u.headers) push(check(`upstream header ${name}`, m, got.get(name), sentHeaders.get(name)))
      if (u.body !== undefined) push(checkBody(u.body, req.body, echo))
      if (u.protocol !== undefined && echo.protocol !== u.protocol) out.push(`expected the gateway to reach echoscope over ${u.protocol}, but it came over ${echo.protocol}`)
      if (u.httpVersion !== undefined && echo.httpVersion !== u.httpVersion) out.push(`expected the gateway to speak HTTP/${u.httpVersion} to echoscope, but it spoke HTTP/${echo.httpVersion}`)
    }
  }
  const r = c.response
  if (r !== undefined) {
    if (r.status !== undefined && !r.status.test(res.status)) out.push(`expected status ${describeStatus(r.status.raw)}, but the client got ${res.status}`)
    const got = joinedHeaders(res.headers)
    const sent = echo?.response?.headers ?? {}
    const sentLower = new Map(Object.entries(sent).map(([k, v]) => [k.toLowerCase(), asList(v)]))
    for (const [name, m] of r.headers) {
      const p = check(`response header ${name}`, m, got.get(name), sentLower.get(name))
      if (p !== null) out.push(p.replace(/ as sent \(/, ' as echoscope sent it ('))
    }
    if (r.body !== undefined) {
      const p = check('the response body', r.body, body.toString('utf8'))
      if (p !== null) out.push(p.length > 300 ? p.slice(0, 300) + '…' : p)
    }
  }
  return out
}

interface Sent { res: WireResponse, body: Buffer, parsed: unknown }

async function sendOne (c: PlannedCase, req: WireRequest, timeoutMs: number): Promise<Sent> {
  const res = await exchange({ url: c.url, insecure: c.insecure, timeoutMs }, req, c.websocket)
  let body = res.body
  try {
    body = decodedBody(res)
  } catch {
    // A body that does not decode as its Content-Encoding says is reported as it came.
  }
  let parsed: unknown = null
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    parsed = null
  }
  return { res, body, parsed }
}

export async function runCase (c: PlannedCase, deadline: number | null): Promise<CaseResult> {
  const started = performance.now()
  const result: CaseResult = { name: c.name, method: c.request.method, url: c.url.origin + c.request.target, status: 'passed', durationMs: 0, requests: 0, unmet: [] }
  const misses = new Map<string, number>()
  const who: string[] = []
  let reported: Sent | undefined
  let reportedMissed = false
  let cookie: string | undefined
  // One request within the case's and the run's time; null (with result.error set) when it could not be sent.
  const send = async (req: WireRequest, planned: number): Promise<Sent | null> => {
    const left = deadline === null ? Infinity : deadline - Date.now()
    if (left <= 0) {
      result.error = `the run's time ran out after ${result.requests} of ${planned} request(s)`
      return null
    }
    try {
      const sent = await sendOne(c, req, Math.max(1, Math.min(c.timeoutMs, left)))
      result.requests++
      return sent
    } catch (err) {
      result.error = `cannot reach ${c.url.host}: ${(err as Error).message}`
      return null
    }
  }
  const rep = c.replicas
  const planned = c.repeat * (rep?.sticky === true ? 2 : 1)
  for (let i = 0; i < c.repeat; i++) {
    const sent = await send(c.request, planned)
    if (sent === null) break
    who.push(whoAnswered(sent.res, sent.parsed))
    cookie ??= gatewayCookie(sent.res, sent.parsed)
    const unmet = evaluate(c, c.request, sent.res, sent.body, sent.parsed)
    for (const u of unmet) misses.set(u, (misses.get(u) ?? 0) + 1)
    if (reported === undefined || (unmet.length > 0 && !reportedMissed)) {
      reported = sent
      reportedMissed = unmet.length > 0
    }
  }
  const answered = who.length
  for (const [u, n] of misses) result.unmet.push(c.repeat > 1 ? `${u} (${n} of ${answered} requests)` : u)
  if (c.repeat > 1 && answered > 0) result.answered = tally(who)
  // The replicas are judged on a complete run only: a run cut short says nothing about the split.
  if (result.answered !== undefined && result.error === undefined && rep !== undefined) {
    const instances = Object.keys(result.answered).filter(k => !k.startsWith('gateway '))
    const n = instances.length
    const list = instances.length === 0 ? 'none' : instances.join(', ')
    if (rep.exactly !== undefined && n !== rep.exactly) result.unmet.push(`expected exactly ${rep.exactly} instance(s) to answer, but ${n} did (${list})`)
    if (rep.atLeast !== undefined && n < rep.atLeast) result.unmet.push(`expected at least ${rep.atLeast} instance(s) to answer ${answered} requests, but ${n} did (${list})`)
    if (rep.atMost !== undefined && n > rep.atMost) result.unmet.push(`expected at most ${rep.atMost} instance(s) to answer, but ${n} did (${list})`)
    if (rep.weights !== undefined) result.weights = checkWeights(result.answered, rep.weights, answered, rep.tolerance)
    if (rep.sticky && cookie !== undefined) {
      // The second run goes through the same send, so a request it cannot send is the case's error too.
      const sticky = await checkSticky(c.request, cookie, c.repeat, async r => {
        const sent = await send(r, planned)
        if (sent === null) throw new Error(result.error)
        return { res: sent.res, echo: sent.parsed }
      }).catch(() => undefined)
      if (sticky !== undefined) result.sticky = sticky
    }
    if (result.error === undefined) {
      result.unmet.push(...replicaProblems({ requests: answered, answered: result.answered, ...(result.weights !== undefined ? { weights: result.weights } : {}), ...(result.sticky !== undefined ? { sticky: result.sticky } : {}) }, rep.sticky))
    }
  }
  if (reported !== undefined) {
    if (isEcho(reported.parsed)) result.diff = compare(c.request, reported.res.status, reported.parsed, reported.res.headers)
    else if (!fromEchoscope(reported.res.headers)) result.gateway = gatewayAnswer(reported.res.status, reported.res.headers, reported.body)
  }
  result.status = result.error !== undefined ? 'error' : result.unmet.length > 0 ? 'failed' : 'passed'
  result.durationMs = Math.round(performance.now() - started)
  return result
}

/**
 * Runs every case, `concurrency` at a time; the results keep the file's order. A case that judges the
 * replicas runs alone, after the others: the other cases' requests through the same balancer would shift
 * the split it sees (round robin is exact only when nothing else is sent meanwhile).
 */
export async function runPlan (plan: Plan, concurrency: number, totalTimeoutMs: number | null): Promise<RunResult> {
  const started = performance.now()
  const limit = totalTimeoutMs ?? plan.totalTimeoutMs
  const deadline = limit === null ? null : Date.now() + limit
  const results: CaseResult[] = new Array(plan.cases.length)
  const order = plan.cases.map((c, i) => [c, i] as const)
  const shared = order.filter(([c]) => c.replicas === undefined)
  const alone = order.filter(([c]) => c.replicas !== undefined)
  const run = async (c: PlannedCase, i: number) => {
    if (deadline !== null && Date.now() >= deadline) {
      results[i] = { name: c.name, method: c.request.method, url: c.url.origin + c.request.target, status: 'error', durationMs: 0, requests: 0, unmet: [], error: `not run: the run's timeout of ${formatDuration(limit!)} passed` }
    } else {
      results[i] = await runCase(c, deadline)
    }
  }
  let next = 0
  const worker = async () => {
    while (next < shared.length) {
      const [c, i] = shared[next++]
      await run(c, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, shared.length) }, worker))
  for (const [c, i] of alone) await run(c, i)
  return {
    cases: results,
    passed: results.filter(r => r.status === 'passed').length,
    failed: results.filter(r => r.status === 'failed').length,
    errors: results.filter(r => r.status === 'error').length,
    durationMs: Math.round(performance.now() - started)
  }
}
