// Picks the echo's output format from ?format= or the Accept header. Browsers get HTML, curl and
// programs get JSON; results are cached because clients send the same few Accept values over and over.

// body: the request body alone, with its content type (asked for by name only, never by Accept).
export const FORMATS = ['json', 'text', 'html', 'har', 'gateway-api', 'sse', 'body'] as const
export type Format = typeof FORMATS[number]

const BY_QUERY = new Map<string, Format>(FORMATS.map(f => [f, f]))
BY_QUERY.set('raw', 'text')
BY_QUERY.set('gateway', 'gateway-api')

/** Every name ?format= (and x-echo-format) takes. */
export const FORMAT_NAMES: ReadonlySet<string> = new Set(BY_QUERY.keys())

// In order of preference when an Accept header ranks several equally.
const MEDIA: [string, Format][] = [
  ['application/json', 'json'],
  ['text/html', 'html'],
  ['text/plain', 'text'],
  ['text/event-stream', 'sse']
]

const cache = new Map<string, Format>()
const CACHE_MAX = 500

function rank (accept: string): Format {
  let best: Format = 'json'
  let bestQ = -1
  let bestSpecific = -1
  const entries = accept.split(',').map(part => {
    const [range, ...params] = part.trim().toLowerCase().split(';')
    let q = 1
    for (const p of params) {
      const [k, v] = p.trim().split('=')
      if (k === 'q') q = Number(v)
    }
    return { range: range.trim(), q: Number.isFinite(q) ? q : 0 }
  })
  for (const [media, format] of MEDIA) {
    const type = media.slice(0, media.indexOf('/'))
    let q = -1
    let specific = -1
    for (const e of entries) {
      const s = e.range === media ? 2 : e.range === type + '/*' ? 1 : e.range === '*/*' ? 0 : -1
      if (s > specific) { specific = s; q = e.q }
    }
    if (specific < 0 || q <= 0) continue
    // A type the client named outranks one reached only through */*.
    if (q > bestQ || (q === bestQ && specific > bestSpecific)) {
      best = format
      bestQ = q
      bestSpecific = specific
    }
  }
  return best
}

/** `fallback` is the format of a request that states no preference (--default-format). */
export function negotiate (formatParam: unknown, accept: string | undefined, fallback: Format = 'json'): Format {
  if (typeof formatParam === 'string') {
    const f = BY_QUERY.get(formatParam.toLowerCase())
    if (f !== undefined) return f
  }
  if (accept === undefined || accept === '*/*' || accept === '') return fallback
  let f = cache.get(accept)
  if (f === undefined) {
    f = rank(accept)
    if (cache.size >= CACHE_MAX) cache.clear()
    cache.set(accept, f)
  }
  return f
}
