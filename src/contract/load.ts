// Reads an `echoscope test` file (YAML, or JSON, which is YAML too), checks it against its schema and the rules
// a schema cannot say, and turns it into a plan: every request built byte for byte, every matcher compiled.
// A bad file is reported as `FILE:LINE:COL: path: what is wrong` lines, before anything is sent.
import { readFileSync } from 'node:fs'
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml'
import { Value } from 'typebox/value'
import { parseDuration } from '../config/options.ts'
import { buildRequest, type WireRequest } from '../diff/wire.ts'
import { TestFileSchema, type CaseExpect, type MatcherValue, type StatusValue, type TestCase, type TestFile } from './schema.ts'
import { compileMatcher, statusMatcher, type Matcher, type StatusMatcher } from './match.ts'

export class TestFileError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(problems.join('\n'))
    this.problems = problems
  }
}

export interface PlannedUpstream {
  method?: Matcher
  path?: Matcher
  query: Array<[string, Matcher]>
  headers: Array<[string, Matcher]>
  /** `same` and `empty` or a text matcher */
  body?: Matcher | { kind: 'empty' }
  protocol?: string
  httpVersion?: string
}

export interface PlannedCase {
  name: string
  url: URL
  websocket: boolean
  insecure: boolean
  request: WireRequest
  timeoutMs: number
  repeat: number
  answeredBy: 'echoscope' | 'gateway'
  upstream?: PlannedUpstream
  response?: { status?: { test: StatusMatcher, raw: StatusValue }, headers: Array<[string, Matcher]>, body?: Matcher }
  replicas?: { atLeast?: number, atMost?: number, exactly?: number, weights?: Map<string, number>, tolerance: number, sticky: boolean }
}

export interface Plan { cases: PlannedCase[], totalTimeoutMs: number | null }

export interface LoadOptions { gateway?: string, insecure?: boolean, timeoutMs: number, env: NodeJS.ProcessEnv }

type Path = Array<string | number>

/** `cases[0].request.headers["x-team"]` */
export function formatPath (path: Path): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += (out === '' ? '' : '.') + p
    else out += `[${JSON.stringify(p)}]`
  }
  return out === '' ? '(top level)' : out
}

class Located {
  private readonly file: string
  private readonly doc: Document
  private readonly lines: LineCounter
  constructor (file: string, doc: Document, lines: LineCounter) {
    this.file = file
    this.doc = doc
    this.lines = lines
  }

  /** Where a path is in the file: the key itself when `key` is set (an unknown key), else its value. */
  at (path: Path, key = false): string {
    let probe = [...path]
    for (;;) {
      const last = probe[probe.length - 1]
      const parent = probe.length === 0 ? this.doc.contents : this.doc.getIn(probe.slice(0, -1), true)
      if (key && isMap(parent) && last !== undefined) {
        const pair = parent.items.find(p => isScalar(p.key) && String(p.key.value) === String(last))
        const range = (pair?.key as { range?: [number, number] } | undefined)?.range
        if (range !== undefined) return this.pos(range[0])
      }
      const node = probe.length === 0 ? this.doc.contents : this.doc.getIn(probe, true)
      const range = (node as { range?: [number, number] } | null | undefined)?.range
      if (range !== undefined) return this.pos(range[0])
      if (probe.length === 0) return this.file
      probe = probe.slice(0, -1)
      key = false
    }
  }

  private pos (offset: number): string {
    const { line, col } = this.lines.linePos(offset)
    return `${this.file}:${line}:${col}`
  }
}

/** The schema object a `#/properties/…` path points at (to name a union's allowed forms, an object's keys). */
function schemaAt (pointer: string): Record<string, unknown> | undefined {
  let node: unknown = TestFileSchema
  for (const raw of pointer.replace(/^#\/?/, '').split('/').filter(s => s !== '')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return typeof node === 'object' && node !== null ? node as Record<string, unknown> : undefined
}

const toPath = (pointer: string): Path => pointer.split('/').slice(1).map(p => p.replace(/~1/g, '/').replace(/~0/g, '~')).map(p => /^\d+$/.test(p) ? Number(p) : p)

/** Schema errors as sentences: unknown keys with the allowed ones, a union's forms by its description. */
function schemaProblems (value: unknown, where: Located): string[] {
  const errors = [...Value.Errors(TestFileSchema, value)].filter(e => e.keyword !== 'boolean')
  const unions = errors.filter(e => e.keyword === 'anyOf')
  const out: string[] = []
  for (const e of errors) {
    // A union's branch errors say less than the union itself.
    if (unions.some(u => u !== e && u.instancePath === e.instancePath && e.schemaPath.startsWith(u.schemaPath + '/anyOf/'))) continue
    const path = toPath(e.instancePath)
    if (e.keyword === 'additionalProperties') {
      const allowed = Object.keys((schemaAt(e.schemaPath)?.properties ?? {}) as object).filter(k => k !== '$schema')
      for (const extra of (e.params as { additionalProperties: string[] }).additionalProperties) {
        out.push(`${where.at([...path, extra], true)}: ${formatPath([...path, extra])}: unknown key ${JSON.stringify(extra)} (allowed: ${allowed.join(', ')})`)
      }
      continue
    }
    if (e.keyword === 'required') {
      const missing = (e.params as { requiredProperties?: string[] }).requiredProperties ?? []
      out.push(`${where.at(path)}: ${formatPath(path)}: missing ${missing.map(m => JSON.stringify(m)).join(', ') || 'a required key'}`)
      continue
    }
    const schema = schemaAt(e.schemaPath)
    const description = typeof schema?.description === 'string' ? schema.description : undefined
    const message = e.keyword === 'anyOf' && description !== undefined
      ? `must be ${description.replace(/^[^:]*: /, '')}`
      : e.keyword === 'pattern' && description !== undefined ? `${e.message} (${description})` : e.message
    out.push(`${where.at(path)}: ${formatPath(path)}: ${message}`)
  }
  return out
}

/** `${NAME}` → the environment variable, so tokens stay out of the file; `$${` is a literal `${`. */
function expandEnv (value: unknown, env: NodeJS.ProcessEnv, path: Path, problems: Array<[Path, string]>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, escape: string, name: string) => {
      if (escape === '$') return all.slice(1)
      const v = env[name]
      if (v === undefined) problems.push([path, `environment variable ${name} is not set`])
      return v ?? ''
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], problems))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], problems)]))
  }
  return value
}

function duration (raw: number | string | undefined): number | undefined {
  if (raw === undefined) return undefined
  return typeof raw === 'number' ? raw : parseDuration(raw)
}

export function readTestFile (file: string, opts: LoadOptions): Plan {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new TestFileError([`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`])
  }
  return parseTestFile(text, file, opts)
}

export function parseTestFile (text: string, file: string, opts: LoadOptions): Plan {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  if (doc.errors.length > 0) {
    throw new TestFileError(doc.errors.slice(0, 5).map(e => {
      const pos = e.linePos?.[0]
      return `${file}${pos !== undefined ? `:${pos.line}:${pos.col}` : ''}: not valid YAML or JSON: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`
    }))
  }
  const where = new Located(file, doc, lines)
  const raw: unknown = doc.toJS({ maxAliasCount: 100 })
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TestFileError([`${file}: must be a map with a "cases" list`])
  const envProblems: Array<[Path, string]> = []
  const value = expandEnv(raw, opts.env, [], envProblems)
  const problems = schemaProblems(value, where)
  for (const [path, message] of envProblems) problems.push(`${where.at(path)}: ${formatPath(path)}: ${message}`)
  if (problems.length > 0) throw new TestFileError(cap(problems))

  const data = value as TestFile
  const plan: PlannedCase[] = []
  const names = new Map<string, number>()
  const gateway = opts.gateway ?? data.gateway
  data.cases.forEach((c, i) => {
    const here = (sub: Path, message: string) => problems.push(`${where.at(['cases', i, ...sub])}: ${formatPath(['cases', i, ...sub])}: ${message}`)
    const seen = names.get(c.name)
    if (seen !== undefined) here(['name'], `the name ${JSON.stringify(c.name)} is also case ${seen}'s: names must be unique (they name the JUnit test cases)`)
    names.set(c.name, i)
    const planned = planCase(c, data, gateway, opts, here)
    if (planned !== null) plan.push(planned)
  })
  if (problems.length > 0) throw new TestFileError(cap(problems))
  const total = duration(data.timeout)
  return { cases: plan, totalTimeoutMs: total ?? null }
}

const cap = (problems: string[]) => problems.length > 10 ? [...problems.slice(0, 10), `… and ${problems.length - 10} more`] : problems

function headerLines (headers: Record<string, string | number | string[]> | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [name, v] of Object.entries(headers ?? {})) {
    for (const line of Array.isArray(v) ? v : [v]) out.push([name, String(line)])
  }
  return out
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function planCase (c: TestCase, file: TestFile, gateway: string | undefined, opts: LoadOptions, here: (sub: Path, message: string) => void): PlannedCase | null {
  const r = c.request ?? {}
  const before = { ok: true }
  const bad = (sub: Path, message: string) => { before.ok = false; here(sub, message) }
  if (r.url !== undefined && r.path !== undefined) bad(['request', 'url'], 'give url or path, not both')
  const bodies = (['body', 'json', 'form'] as const).filter(k => r[k] !== undefined)
  if (bodies.length > 1) bad(['request', bodies[1]], `give one of body, json and form, not ${bodies.join(' and ')}`)

  let url: URL | undefined
  let target: string | undefined
  if (r.url !== undefined) {
    if (!URL.canParse(r.url)) bad(['request', 'url'], `not a URL: ${JSON.stringify(r.url)}`)
    else url = new URL(r.url)
  } else if (gateway === undefined) {
    bad(['request', 'path'], 'no gateway to send it to: set gateway at the top of the file or pass --gateway')
  } else if (!URL.canParse(gateway) || !/^(https?|wss?):$/.test(new URL(gateway).protocol)) {
    bad([], `the gateway ${JSON.stringify(gateway)} is not an http(s) or ws(s) URL`)
  } else {
    const base = new URL(gateway)
    // Joined as text, so that the path reaches the gateway exactly as written (dot segments, %2F and all).
    target = base.pathname.replace(/\/+$/, '') + (r.path ?? '/')
    url = new URL(base.origin)
  }
  for (const [name, value] of [...headerLines(file.defaults?.headers), ...headerLines(r.headers)]) {
    if (!TOKEN.test(name)) bad(['request', 'headers', name], `${JSON.stringify(name)} is not a valid header name`)
    else if (/[\r\n\0]/.test(value)) bad(['request', 'headers', name], 'a header value cannot hold CR, LF or NUL')
  }

  const websocket = r.websocket === true || url?.protocol === 'ws:' || url?.protocol === 'wss:'
  if (websocket && bodies.length > 0) bad(['request', bodies[0]], 'a WebSocket upgrade has no body')
  const method = (r.method ?? (bodies.length > 0 ? 'POST' : 'GET')).toUpperCase()
  if (websocket && method !== 'GET') bad(['request', 'method'], 'a WebSocket upgrade is a GET request')

  const e: CaseExpect = c.expect ?? {}
  const answeredBy = e.answeredBy ?? 'echoscope'
  if (answeredBy === 'gateway' && e.upstream !== undefined) bad(['expect', 'upstream'], 'nothing arrives upstream when the gateway answers itself: drop upstream or answeredBy')
  const compiled = (sub: Path, m: MatcherValue): Matcher => {
    const out = compileMatcher(m)
    if (typeof out === 'string') {
      bad(['expect', ...sub], out)
      return { kind: 'present' }
    }
    return out
  }
  const entries = (sub: Path, map: Record<string, MatcherValue> | undefined, lower: boolean): Array<[string, Matcher]> =>
    Object.entries(map ?? {}).map(([k, m]) => [lower ? k.toLowerCase() : k, compiled([...sub, k], m)])

  let upstream: PlannedUpstream | undefined
  if (e.upstream !== undefined) {
    const u = e.upstream
    let body: PlannedUpstream['body']
    if (u.body === 'empty' || u.body === 'absent') body = { kind: 'empty' }
    else if (u.body !== undefined) {
      body = compiled(['upstream', 'body'], u.body)
      if (body.kind === 'present') bad(['upstream', 'body'], 'use "same", "empty", an exact text or a /regex/')
    }
    upstream = {
      ...(u.method !== undefined ? { method: compiled(['upstream', 'method'], u.method) } : {}),
      ...(u.path !== undefined ? { path: compiled(['upstream', 'path'], u.path) } : {}),
      query: entries(['upstream', 'query'], u.query, false),
      headers: entries(['upstream', 'headers'], u.headers, true),
      ...(body !== undefined ? { body } : {}),
      ...(u.protocol !== undefined ? { protocol: u.protocol } : {}),
      ...(u.httpVersion !== undefined ? { httpVersion: u.httpVersion } : {})
    }
  }
  let response: PlannedCase['response']
  if (e.response !== undefined) {
    const rs = e.response
    response = {
      ...(rs.status !== undefined ? { status: { test: statusMatcher(rs.status), raw: rs.status } } : {}),
      headers: entries(['response', 'headers'], rs.headers, true),
      ...(rs.body !== undefined ? { body: compiled(['response', 'body'], rs.body) } : {})
    }
  }
  const repeat = c.repeat ?? 1
  if (c.replicas !== undefined) {
    const { atLeast, atMost, exactly } = c.replicas
    if (repeat < 2) bad(['replicas'], 'needs repeat of 2 or more')
    if (exactly !== undefined && (atLeast !== undefined || atMost !== undefined)) bad(['replicas'], 'give exactly, or atLeast/atMost, not both')
    if (atLeast !== undefined && atMost !== undefined && atLeast > atMost) bad(['replicas'], 'atLeast is more than atMost')
    if (Object.keys(c.replicas).length === 0) bad(['replicas'], 'give atLeast, atMost, exactly, weights or sticky')
    const w = c.replicas.weights
    if (w !== undefined && !Object.values(w).some(v => v > 0)) bad(['replicas', 'weights'], 'needs at least one weight above 0')
    if (c.replicas.tolerance !== undefined && w === undefined) bad(['replicas', 'tolerance'], 'applies to weights, which are not given')
  }
  const timeoutMs = duration(c.timeout) ?? duration(file.defaults?.timeout) ?? opts.timeoutMs
  if (!before.ok || url === undefined) return null

  const headers = mergedHeaders(headerLines(file.defaults?.headers), headerLines(r.headers))
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name)
  let body = Buffer.alloc(0)
  if (r.body !== undefined) body = Buffer.from(r.body)
  else if (r.json !== undefined) {
    body = Buffer.from(JSON.stringify(r.json))
    if (!has('content-type')) headers.push(['Content-Type', 'application/json'])
  } else if (r.form !== undefined) {
    body = Buffer.from(new URLSearchParams(r.form).toString())
    if (!has('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded'])
  }
  return {
    name: c.name,
    url,
    websocket,
    insecure: opts.insecure === true || file.insecure === true,
    request: buildRequest(url, method, headers, body, websocket, target),
    timeoutMs,
    repeat,
    answeredBy,
    ...(upstream !== undefined ? { upstream } : {}),
    ...(response !== undefined ? { response } : {}),
    ...(c.replicas !== undefined ? { replicas: plannedReplicas(c.replicas) } : {})
  }
}

function plannedReplicas (r: NonNullable<TestCase['replicas']>): NonNullable<PlannedCase['replicas']> {
  const { weights, tolerance, sticky, ...counts } = r
  return { ...counts, ...(weights !== undefined ? { weights: new Map(Object.entries(weights)) } : {}), tolerance: (tolerance ?? 10) / 100, sticky: sticky === true }
}

/** The defaults' headers, less those the case sets itself (any letter case), then the case's. */
function mergedHeaders (defaults: Array<[string, string]>, own: Array<[string, string]>): Array<[string, string]> {
  const mine = new Set(own.map(([n]) => n.toLowerCase()))
  return [...defaults.filter(([n]) => !mine.has(n.toLowerCase())), ...own]
}
