// Across replicas: which instances answered a run of the same request, and how often; whether that split
// matches the weights the gateway was given; whether a cookie the gateway set keeps a client on one; and, read
// from the shared history, which requests arrived more than once.
import { isEcho } from './compare.ts'
import { MARKER_HEADER } from '../echo/identity.ts'
import type { WireRequest, WireResponse } from './wire.ts'

/** Who answered: the echo's instance, else the marker, else the gateway itself with its status. */
export function whoAnswered (res: WireResponse, echo: unknown): string {
  if (isEcho(echo)) return echo.server.instance
  const marker = res.headers.find(([n]) => n.toLowerCase() === MARKER_HEADER)?.[1]
  return marker !== undefined ? decodeURIComponent(marker) : `gateway ${res.status}`
}

export interface WeightCheck { instance: string, expectedShare: number, seenShare: number, ok: boolean }

export interface StickyCheck {
  /** the cookie the gateway added on the way back (name=value), sent with every request of the second run */
  cookie: string
  answered: Record<string, number>
  /** every request that carried the cookie landed on one instance */
  kept: boolean
}

export interface ReplicaReport {
  requests: number
  /** instance → how many answered; answers the gateway made itself count as "gateway <status>" */
  answered: Record<string, number>
  weights?: WeightCheck[]
  sticky?: StickyCheck
}

export function tally (instances: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const i of instances) out[i] = (out[i] ?? 0) + 1
  return out
}

/** `a=3,b=1` → instance → weight; null when the text is not that shape. */
export function parseWeights (raw: string): Map<string, number> | null {
  const out = new Map<string, number>()
  for (const part of raw.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part)
    if (m === null || Number(m[2]) < 0 || out.has(m[1])) return null
    out.set(m[1], Number(m[2]))
  }
  const total = [...out.values()].reduce((a, b) => a + b, 0)
  return total > 0 ? out : null
}

/**
 * Each instance's share against its weight's share, within `tolerance` (a fraction: 0.1 is ten percentage
 * points). A fixed tolerance rather than a statistical one, so a build fails predictably: a round-robin
 * split is exact; for a random one, send more requests or allow more.
 */
export function checkWeights (answered: Record<string, number>, weights: Map<string, number>, requests: number, tolerance: number): WeightCheck[] {
  const total = [...weights.values()].reduce((a, b) => a + b, 0)
  const names = new Set([...weights.keys(), ...Object.keys(answered)])
  const out: WeightCheck[] = []
  for (const instance of names) {
    const p = (weights.get(instance) ?? 0) / total
    const seen = (answered[instance] ?? 0) / requests
    out.push({ instance, expectedShare: p, seenShare: seen, ok: Math.abs(seen - p) <= tolerance + 1e-9 })
  }
  return out
}

/** The cookies (name=value) set on the way back that echoscope did not send: a gateway's affinity cookie. */
export function addedCookies (sent: string | string[] | undefined, received: [string, string][]): string[] {
  const own = new Set((sent === undefined ? [] : Array.isArray(sent) ? sent : [sent]).map(c => c.split(';')[0].trim()))
  return received
    .filter(([n]) => n.toLowerCase() === 'set-cookie')
    .map(([, v]) => v.split(';')[0].trim())
    .filter(c => c.includes('=') && !own.has(c))
}

/** The affinity cookie a gateway set on this answer: the first cookie echoscope itself did not send. */
export function gatewayCookie (res: WireResponse, echo: unknown): string | undefined {
  return addedCookies(isEcho(echo) ? echo.response?.headers['set-cookie'] : undefined, res.headers)[0]
}

/** The request with the cookie added to its Cookie header (or a new one right after Host). */
export function withCookie (req: WireRequest, cookie: string): WireRequest {
  const i = req.headers.findIndex(([n]) => n.toLowerCase() === 'cookie')
  const headers: [string, string][] = i !== -1
    ? req.headers.map((h, j) => j === i ? [h[0], `${h[1]}; ${cookie}`] : h)
    : [...req.headers.slice(0, 1), ['Cookie', cookie], ...req.headers.slice(1)]
  return { ...req, headers }
}

/** `count` requests carrying the gateway's cookie, one after the other: did they all reach one instance? */
export async function checkSticky (req: WireRequest, cookie: string, count: number,
  send: (r: WireRequest) => Promise<{ res: WireResponse, echo: unknown }>): Promise<StickyCheck> {
  const withIt = withCookie(req, cookie)
  const who: string[] = []
  for (let i = 0; i < count; i++) {
    const { res, echo } = await send(withIt)
    who.push(whoAnswered(res, echo))
  }
  const answered = tally(who)
  return { cookie, answered, kept: Object.keys(answered).length === 1 && !Object.keys(answered)[0].startsWith('gateway ') }
}

/** What a replica report leaves unmet: each share off its weight, and with `sticky` a cookie missing or not keeping. */
export function replicaProblems (r: ReplicaReport, sticky: boolean): string[] {
  const out: string[] = []
  for (const w of r.weights ?? []) {
    if (!w.ok) out.push(`expected ${w.instance} to answer about ${Math.round(w.expectedShare * 100)}% of ${r.requests} requests, but it answered ${Math.round(w.seenShare * 100)}%`)
  }
  if (sticky) {
    if (r.sticky === undefined) out.push('expected the gateway to set an affinity cookie, but no response set one')
    else if (!r.sticky.kept) out.push(`expected cookie ${r.sticky.cookie.split('=')[0]} to keep the client on one instance, but ${Object.keys(r.sticky.answered).join(' and ')} answered`)
  }
  return out
}

const pct = (share: number) => `${Math.round(share * 100)}%`

/** The report as lines for a terminal. */
export function renderReplicas (r: ReplicaReport): string[] {
  const lines = [`replicas ${r.requests} requests: ${Object.entries(r.answered).sort((a, b) => b[1] - a[1]).map(([i, n]) => `${i} ${n} (${pct(n / r.requests)})`).join(', ')}`]
  for (const w of r.weights ?? []) lines.push(`  ${w.ok ? '✔' : '✘'} ${w.instance}: expected ${pct(w.expectedShare)}, seen ${pct(w.seenShare)}`)
  if (r.sticky !== undefined) {
    const s = r.sticky
    const where = Object.entries(s.answered).map(([i, n]) => `${i} ${n}`).join(', ')
    lines.push(`sticky   cookie ${s.cookie.split('=')[0]}: ${s.kept ? `kept the client on one instance (${where})` : `did not keep the client on one instance (${where})`}`)
  }
  return lines
}

export interface Arrivals {
  /** requests whose echo came back */
  requests: number
  /** of those, how many the history holds */
  found: number
  /** the ones that arrived more than once: a gateway's retry, or a mirror to another replica */
  repeated: Array<{ requestId: string, times: number, instances: string[] }>
}

/** How long copies (a mirror's, a retry's) get to reach the shared history after the answer came back. */
const SETTLE_MS = 300

/** Looks each answered request up in an echoscope history (`/requests?requestId=`), shared by the replicas. */
export async function findArrivals (history: URL, ids: string[], timeoutMs: number, token = process.env.ECHOSCOPE_ADMIN_TOKEN): Promise<Arrivals> {
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
  const unique = [...new Set(ids)]
  const out: Arrivals = { requests: unique.length, found: 0, repeated: [] }
  for (const id of unique) {
    const u = new URL(history)
    u.searchParams.set('requestId', id)
    u.searchParams.set('limit', '100')
    const res = await fetch(u, { headers: token !== undefined && token !== '' ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) throw new Error(`it answered ${res.status}${res.status === 401 ? ' (set ECHOSCOPE_ADMIN_TOKEN)' : ''}`)
    const { requests } = await res.json() as { requests: Array<{ server: { instance: string } }> }
    if (requests.length > 0) out.found++
    if (requests.length > 1) out.repeated.push({ requestId: id, times: requests.length, instances: requests.map(r => r.server.instance).reverse() })
  }
  return out
}

export function renderArrivals (a: Arrivals): string[] {
  const lines = [`arrived  ${a.found} of ${a.requests} request(s) found in the history; ${a.repeated.length === 0 ? 'each arrived once' : `${a.repeated.length} arrived more than once`}`]
  for (const r of a.repeated) lines.push(`  ${r.requestId}: ${r.times} times (${r.instances.join(', ')}): retried or mirrored by the gateway`)
  return lines
}
