// Path patterns (--log-ignore-paths, --response-path): prefixes and globs compiled once into one test on the request target's path.

/** A path pattern: `*` matches within one segment, `**` across segments; without `*`, a prefix of whole segments. */
function compile (pattern: string): RegExp {
  if (!pattern.includes('*')) {
    const escaped = escape(pattern.replace(/\/+$/, ''))
    // `/static` covers /static, /static/ and /static/a, not /statics; `/` alone covers everything.
    return new RegExp(`^${escaped}(?:/.*)?$`)
  }
  const source = pattern.split(/(\*\*|\*)/).map(part => part === '**' ? '.*' : part === '*' ? '[^/]*' : escape(part)).join('')
  return new RegExp(`^${source}$`)
}

function escape (text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
}

/** A test on a request target (`/path?query`: the query is not part of the match), or null for an empty list. */
export function pathMatcher (patterns: readonly string[]): ((url: string) => boolean) | null {
  if (patterns.length === 0) return null
  const all = new RegExp(patterns.map(p => compile(p).source).join('|'))
  return (url) => {
    const q = url.indexOf('?')
    return all.test(q === -1 ? url : url.slice(0, q))
  }
}
