// Across replicas: which instances answered a run of the same request, and how often; whether that split
// matches the weights the gateway was given; whether a cookie the gateway set keeps a client on one. Pure.

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
