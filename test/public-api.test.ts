// echoscope uses only the documented API of Node and of its dependencies. The one exception is opt-in and
// lives in one module (src/perf/write-coalescing.ts, `--coalesce-writes`); these checks keep it that way.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const EXCEPTION = 'src/perf/write-coalescing.ts'

function sources (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') || e.name.endsWith('.js') ? [`${dir}/${e.name}`] : [])
}

/** The code of a file without its comments (line comments and block comments), line numbers kept. */
function code (file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, m => m.replace(/[^\n]/g, ' '))
  return text.split('\n').map(line => line.replace(/(^|\s)\/\/.*$/, ''))
}

function hits (pattern: RegExp, files: string[]): string[] {
  return files.flatMap(file => code(file).flatMap((line, i) => pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []))
}

const SRC = sources('src').filter(f => f !== EXCEPTION)
/** `x._y`, `x?._y`, `x['_y']`: the underscore members Node and libraries keep for themselves. */
const UNDERSCORE_MEMBER = /[\w)\]]\??\._[A-Za-z]|\[\s*['"`]_[A-Za-z]/
/** Listener surgery on Fastify's server (serverFactory is the documented way in), prom-client's storage. */
const INTERNALS = /removeAllListeners\(\s*['"](request|upgrade)['"]|\.emit\(\s*['"](request|upgrade|connection)['"]|\bhashMap\b/

test('no `_`-prefixed member of a Node or library object is used outside the opt-in module', () => {
  assert.deepEqual(hits(UNDERSCORE_MEMBER, SRC), [])
})

test('no library internals without an underscore either: listener surgery, prom-client storage', () => {
  assert.deepEqual(hits(INTERNALS, SRC), [])
})

test('every import of a package subpath goes through the subpaths the package exports', () => {
  const problems: string[] = []
  const spec = /(?:from\s+|import\(\s*)['"](@[^/'"]+\/[^/'"]+|[^@/.'"][^/'"]*)\/([^'"]+)['"]/g
  for (const file of sources('src')) {
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(spec)) {
      const [, pkg, sub] = m
      if (pkg.startsWith('node:')) continue
      const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'))
      const exported = manifest.exports !== undefined && typeof manifest.exports === 'object' &&
        Object.keys(manifest.exports).some(k => k === `./${sub}` || (k.endsWith('/*') && `./${sub}`.startsWith(k.slice(0, -1))))
      if (!exported) problems.push(`${file}: ${pkg}/${sub} is not among the subpaths ${pkg} exports`)
    }
  }
  assert.deepEqual(problems, [])
})

test('the checks above can fail: they catch the patterns they are for', () => {
  for (const line of ['res._writeRaw(data)', "socket['_httpMessage']", 'req?._parsedUrl']) assert.equal(UNDERSCORE_MEMBER.test(line), true, line)
  assert.equal(UNDERSCORE_MEMBER.test('function f (..._args) {}'), false, 'a rest parameter is no member access')
  assert.equal(UNDERSCORE_MEMBER.test('const _unused = 1'), false, 'a local name is no member access')
  for (const line of ["server.emit('request', req, res)", "app.server.removeAllListeners('request')", 'this.hashMap[k] = v']) assert.equal(INTERNALS.test(line), true, line)
})
