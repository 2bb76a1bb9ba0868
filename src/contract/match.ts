// The matchers of a test file: an exact value, `present`, `absent`, `/regex/flags` or `same`. Compiled once
// when the file is loaded (a bad regex is a file error), then checked against what was seen. Pure.
import type { MatcherValue, StatusValue } from './schema.ts'

export type Matcher =
  | { kind: 'exact', value: string }
  | { kind: 'present' }
  | { kind: 'absent' }
  | { kind: 'same' }
  | { kind: 'regex', re: RegExp, source: string }

/** A matcher from the file, or an error message for a regex that does not compile. */
export function compileMatcher (raw: MatcherValue): Matcher | string {
  if (typeof raw !== 'string') return { kind: 'exact', value: String(raw) }
  if (raw === 'present' || raw === 'absent' || raw === 'same') return { kind: raw }
  const m = /^\/(.*)\/([dgimsuvy]*)$/s.exec(raw)
  if (m !== null && raw.length > 1) {
    try {
      // Without g or y: test() must not carry lastIndex from one check to the next.
      return { kind: 'regex', re: new RegExp(m[1], m[2].replace(/[gy]/g, '')), source: raw }
    } catch (err) {
      return `invalid regular expression ${raw}: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`
    }
  }
  return { kind: 'exact', value: raw }
}

export function describeMatcher (m: Matcher): string {
  switch (m.kind) {
    case 'exact': return JSON.stringify(m.value)
    case 'regex': return `matching ${m.source}`
    default: return m.kind
  }
}

/**
 * Checks what was seen (undefined: not there) against a matcher; `sent` is what the client sent, for `same`.
 * Returns null when met, else what was expected and seen, as a phrase for "expected <what> …".
 */
export function check (what: string, m: Matcher, seen: string | undefined, sent?: string): string | null {
  const saw = seen === undefined ? 'none arrived' : `it was ${JSON.stringify(seen)}`
  switch (m.kind) {
    case 'present': return seen !== undefined ? null : `expected ${what} to be present, but ${saw}`
    case 'absent': return seen === undefined ? null : `expected ${what} to be absent, but ${saw}`
    case 'exact': return seen === m.value ? null : `expected ${what} = ${JSON.stringify(m.value)}, but ${saw}`
    case 'regex': return seen !== undefined && m.re.test(seen) ? null : `expected ${what} ${describeMatcher(m)}, but ${saw}`
    case 'same':
      if (seen === sent) return null
      return `expected ${what} as sent (${sent === undefined ? 'not sent' : JSON.stringify(sent)}), but ${saw}`
  }
}

export type StatusMatcher = (status: number) => boolean

/** A status expectation (200, "2xx", "200-299", [200, 204]) as a predicate. */
export function statusMatcher (raw: StatusValue): StatusMatcher {
  if (typeof raw === 'number') return s => s === raw
  if (Array.isArray(raw)) return s => raw.includes(s)
  const v = raw.trim()
  if (/^[1-5]xx$/.test(v)) return s => Math.floor(s / 100) === Number(v[0])
  const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(v)
  if (range !== null) return s => s >= Number(range[1]) && s <= Number(range[2])
  return s => s === Number(v)
}

export function describeStatus (raw: StatusValue): string {
  return Array.isArray(raw) ? `one of ${raw.join(', ')}` : String(raw).trim()
}
