// The documentation holds to the product: the README stays short, every relative link and anchor in the
// README, CONTRIBUTING.md and docs/ resolves, every `--flag` they write is one the CLI accepts, and the docs
// and the source speak of the product, not of how it was developed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OPTION_NAMES, OptionsSchema, kebab } from '../src/config/options.ts'
import { DIFF_HELP } from '../src/diff/command.ts'
import { PROBE_HELP } from '../src/probe/command.ts'
import { TEST_HELP } from '../src/contract/command.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** README.md, CONTRIBUTING.md and every docs/*.md, as paths relative to the repository root. */
function docFiles (): string[] {
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`) : []
  return ['README.md', 'CONTRIBUTING.md', ...docs.sort()]
}

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

/** The text outside fenced code blocks, line numbers kept (fenced lines become empty). */
function prose (md: string): string[] {
  let fenced = false
  return md.split('\n').map(line => {
    if (/^\s*(```|~~~)/.test(line)) { fenced = !fenced; return '' }
    return fenced ? '' : line
  })
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function slug (heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-')
}

function anchors (md: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const line of prose(md)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (m === null) continue
    const base = slug(m[1])
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Every inline link target `[text](target)` outside code, with its line number. */
function links (md: string): { target: string, line: number }[] {
  const out: { target: string, line: number }[] = []
  prose(md).forEach((text, i) => {
    // Inline code may show link-like text; it is not a link.
    const plain = text.replace(/`[^`]*`/g, '')
    for (const m of plain.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1], line: i + 1 })
  })
  return out
}

test('the README is at most 300 lines', () => {
  const lines = read('README.md').split('\n')
  if (lines.at(-1) === '') lines.pop()
  assert.ok(lines.length <= 300, `README.md has ${lines.length} lines; move detail into docs/`)
})

test('the README links every docs page', () => {
  const readme = read('README.md')
  for (const file of docFiles().filter(f => f.startsWith('docs/'))) {
    assert.ok(readme.includes(`](${file})`), `README.md does not link ${file}`)
  }
  // Generated from the options schema by its own script; the README must point at it either way.
  assert.ok(readme.includes('](docs/options.md)'), 'README.md does not link docs/options.md')
})

test('GitHub heading slugs', () => {
  assert.equal(slug('What did my gateway change?'), 'what-did-my-gateway-change')
  assert.equal(slug('Deployment files (`deploy/`)'), 'deployment-files-deploy')
  assert.equal(slug('In CI: fail the build when the gateway changes behaviour'), 'in-ci-fail-the-build-when-the-gateway-changes-behaviour')
  assert.equal(slug('Dependencies, and why each'), 'dependencies-and-why-each')
  assert.deepEqual([...anchors('# A\n## B\n```\n# not a heading\n```\n## B\n')], ['a', 'b', 'b-1'])
})

test('every relative link in the README, CONTRIBUTING.md and docs/ resolves, anchors included', () => {
  const problems: string[] = []
  for (const file of docFiles()) {
    for (const { target, line } of links(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // http:, https:, mailto:
      const [path, anchor] = target.split('#', 2) as [string, string | undefined]
      const to = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path))
      const where = `${file}:${line}: ${target}`
      if (relative(ROOT, to).startsWith('..')) { problems.push(`${where} leaves the repository`); continue }
      if (!existsSync(to)) { problems.push(`${where}: no such file`); continue }
      if (anchor === undefined) continue
      if (statSync(to).isDirectory() || !to.endsWith('.md')) { problems.push(`${where}: an anchor into a file without headings`); continue }
      if (!anchors(readFileSync(to, 'utf8')).has(anchor)) problems.push(`${where}: no heading with that anchor`)
    }
  }
  assert.deepEqual(problems, [])
})

/** Flags that belong to the other commands the docs show (npm, npx, node, docker, the bench's servers). */
const OTHER_TOOLS: Record<string, string[]> = {
  npx: ['yes', 'package'],
  docker: ['rm', 'read-only', 'build', 'name', 'network'], // `docker run --rm --read-only --name --network`, `docker compose up --build`
  node: ['test', 'perf-basic-prof-only-functions', 'max-semi-space-size', 'single-threaded-gc', 'use-largepages', 'heap-prof'],
  // bench/bare-http.ts and bench/tools/bare-busy.mjs
  bench: ['coalesce-writes', 'busy-us']
}

test('every --flag written in the README, CONTRIBUTING.md and docs/ is a real option', () => {
  const props = OptionsSchema.properties as unknown as Record<string, { 'x-echoscope': { kind: string } }>
  const valid = new Set<string>(['help', 'version'])
  for (const name of OPTION_NAMES) {
    valid.add(kebab(name))
    if (props[name]['x-echoscope'].kind === 'bool') valid.add('no-' + kebab(name))
  }
  // `echoscope diff`'s own flags, read from its --help.
  const diffFlags = [...DIFF_HELP.matchAll(/--([a-z][a-z-]*)/g)].map(m => m[1])
  assert.ok(diffFlags.includes('expect-header'), 'the diff help lists its flags')
  for (const f of diffFlags) valid.add(f)
  // And `echoscope probe`'s.
  for (const m of PROBE_HELP.matchAll(/--([a-z][a-z-]*)/g)) valid.add(m[1])
  // And `echoscope test`'s.
  for (const m of TEST_HELP.matchAll(/--([a-z][a-z-]*)/g)) valid.add(m[1])
  for (const flags of Object.values(OTHER_TOOLS)) for (const f of flags) valid.add(f)

  const problems: string[] = []
  for (const file of docFiles()) {
    read(file).split('\n').forEach((text, i) => {
      // A bare `--` (npm's end of its own options) is not a flag; `---` is a table rule or a YAML separator.
      for (const m of text.matchAll(/(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g)) {
        if (!valid.has(m[1])) problems.push(`${file}:${i + 1}: --${m[1]}`)
      }
    })
  }
  assert.deepEqual(problems, [])
})

/** Words of a development diary, as opposed to facts about the product. */
const DIARY: RegExp[] = [
  /\bsessions? \d/i,
  /\bissues? #?\d/i,
  /\bcustomers?\b/i,
  /\bthe contract\b|\bcontract's\b|\bCONTRACT\.md\b/i,
  /\.\.\/shared\//,
  /\/work\//,
  /\bSTATUS\.md\b|\bnotes\//,
  /\b(?:dev|development) (?:VM|machine|box|host)\b/i,
  /\bthe brief\b/i,
  /\bnext time\b|\bfor later\b/i
]
/** In prose for readers, "helper" or "agent" would be about the people who wrote it (test/helper.ts is a file). */
const DIARY_IN_DOCS: RegExp[] = [
  /\bhelpers?\b(?!\.ts)/i,
  /(?<![\w-])agents?\b/i
]

function diaryHits (text: string, patterns: RegExp[]): string[] {
  const out: string[] = []
  text.split('\n').forEach((line, i) => {
    for (const p of patterns) if (p.test(line)) out.push(`${i + 1}: ${line.trim().slice(0, 100)}`)
  })
  return out
}

test('the diary patterns catch a diary and leave product words alone', () => {
  for (const line of ['Session 6 found it', 'as in issue 4', 'the customer asked', 'see CONTRACT.md', 'from ../shared/notes',
    'notes/STATUS.md says', 'on the dev VM', 'on the development VM']) {
    assert.notDeepEqual(diaryHits(line, DIARY), [], line)
  }
  for (const line of ['Cookie: session=abc', 'an HTTP/2 session is closed', 'the TLS session', 'User-Agent: curl',
    'on a 2-vCPU VM', 'the store interface', 'bodyIssues']) {
    assert.deepEqual(diaryHits(line, DIARY), [], line)
  }
  assert.notDeepEqual(diaryHits('a helper wrote this', DIARY_IN_DOCS), [])
  assert.deepEqual(diaryHits('startEcho in `test/helper.ts`; the user-agent header', DIARY_IN_DOCS), [])
})

function sourceFiles (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? sourceFiles(`${dir}/${e.name}`) : [`${dir}/${e.name}`])
}

test('the README, CONTRIBUTING.md, docs/ and src/ speak of the product, not of its development', () => {
  const problems: string[] = []
  for (const file of docFiles()) {
    for (const hit of diaryHits(read(file), [...DIARY, ...DIARY_IN_DOCS])) problems.push(`${file}:${hit}`)
  }
  const src = sourceFiles('src')
  assert.ok(src.includes('src/config/options.ts'), 'src/ is scanned')
  for (const file of src) {
    for (const hit of diaryHits(read(file), DIARY)) problems.push(`${file}:${hit}`)
  }
  assert.deepEqual(problems, [])
})
