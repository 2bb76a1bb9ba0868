// The npm package as a user gets it: `npm pack` of the built tree, installed into an empty directory, run
// through its bin, imported as a library, and run through npx. Also: every locked dependency supports the
// Node versions package.json's engines promises.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from './helper.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const run = promisify(execFile)
const npm = (args: string[], cwd: string, timeout = 300000) =>
  run('npm', args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } })

test('npm pack: the tarball installs into an empty directory and runs (bin, --help, import, npx)', { timeout: 600000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'echoscope-package-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))

  // What `npm run package` packs after its build:server step; the tests run on a built tree.
  const { stdout: packed } = await npm(['pack', '--json', '--pack-destination', work], ROOT)
  const [info] = JSON.parse(packed) as Array<{ filename: string, files: Array<{ path: string }> }>
  assert.equal(info.filename, `echoscope-${PKG.version}.tgz`)
  const tarball = join(work, info.filename)
  const files = info.files.map(f => f.path)
  for (const f of ['package.json', 'README.md', 'dist/src/cli.js', 'dist/src/cli.d.ts', 'dist/src/index.js', 'dist/src/index.d.ts',
    'dist/src/healthcheck.js', 'dist/src/inspect/inspect.html', 'dist/src/inspect/inspect.js', 'dist/src/inspect/inspect.css',
    'openapi/openapi.json', 'openapi/openapi.yaml']) {
    assert.ok(files.includes(f), `the package has ${f}`)
  }
  assert.deepEqual(files.filter(f => /^(test|bench|src|scripts|deploy|notes)\//.test(f) || /^dist\/(test|bench)\//.test(f)), [], 'no tests, benchmarks or sources')
  assert.deepEqual(files.filter(f => f.endsWith('.map')), [], 'no source maps (their sources are not shipped)')
  assert.deepEqual(files.filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources')

  const app = join(work, 'app')
  await npm(['install', '--prefix', app, '--prefer-offline', '--no-audit', '--no-fund', tarball], work)
  const bin = join(app, 'node_modules', '.bin', 'echoscope')

  const help = await run(bin, ['--help'], { cwd: app })
  assert.match(help.stdout, /^echoscope — HTTP echo and inspection server/)
  assert.match(help.stdout, /--port <port>/)
  assert.equal((await run(bin, ['--version'], { cwd: app })).stdout, `${PKG.version}\n`)

  // The installed bin serves: a real process on a free loopback port, a real request echoed back.
  const port = await freePort()
  const child = spawn(bin, ['--port', String(port), '--host', '127.0.0.1', '--log-format', 'json'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  for (let i = 0; i < 100 && !out.includes('Server listening'); i++) await new Promise(resolve => setTimeout(resolve, 100))
  assert.ok(out.includes(`Server listening at http://127.0.0.1:${port}`), out)
  const res = await fetch(`http://127.0.0.1:${port}/from/package?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hello":"package"}' })
  assert.equal(res.status, 200)
  const echo = await res.json() as { method: string, path: string, body: unknown }
  assert.equal(echo.method, 'POST')
  assert.equal(echo.path, '/from/package')
  assert.deepEqual(echo.body, { hello: 'package' })
  // The inspector's static files came along.
  assert.equal((await fetch(`http://127.0.0.1:${port}/inspect/inspect.js`)).status, 200)
  child.kill('SIGTERM')
  await new Promise(resolve => child.once('exit', resolve))

  // As a library: the package's exports, resolved by name from the installing project.
  writeFileSync(join(app, 'check.mjs'), [
    "import echoscope, { buildServer, loadOptions } from 'echoscope'",
    "const server = await buildServer({ port: 0, logLevel: 'silent' })",
    "const res = await server.inject('/from/import')",
    'await server.close()',
    'console.log(JSON.stringify({ plugin: typeof echoscope, buildServer: typeof buildServer, loadOptions: typeof loadOptions, path: res.json().path }))'
  ].join('\n'))
  const imported = JSON.parse((await run(process.execPath, ['check.mjs'], { cwd: app })).stdout)
  assert.deepEqual(imported, { plugin: 'function', buildServer: 'function', loadOptions: 'function', path: '/from/import' })

  // The one-liner the README offers.
  const npx = await run('npx', ['--yes', '--package', tarball, 'echoscope', '--version'], { cwd: work, timeout: 300000, env: { ...process.env, npm_config_update_notifier: 'false' } })
  assert.equal(npx.stdout, `${PKG.version}\n`)
})

/** Whether `version` (x.y.z) satisfies an npm range, for the forms engines fields use: ||, spaces (and),
 * >= > <= < =, ^, ~, x-ranges (20, 20.x, 10.*, *). */
export function satisfies (version: string, range: string): boolean {
  const v = version.replace(/^v/, '').split('.').map(Number)
  const cmp = (a: number[], b: number[]) => { for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i]; return 0 }
  const one = (token: string): boolean => {
    const [, op, rest] = /^(>=|<=|>|<|=|\^|~)?v?(.*)$/.exec(token) as RegExpExecArray
    const parts = rest.split('.').filter(p => p !== '' && p !== 'x' && p !== 'X' && p !== '*').map(Number)
    if (parts.some(Number.isNaN)) throw new Error(`unsupported range ${range}`)
    if (parts.length === 0) return op === undefined || op === '>=' || op === '<=' || op === '='
    const low = [parts[0], parts[1] ?? 0, parts[2] ?? 0]
    // The first version past a partial, ^ or ~ range.
    const bump = (i: number) => [...low.slice(0, i), low[i] + 1, 0, 0].slice(0, 3)
    switch (op) {
      case '>=': return cmp(v, low) >= 0
      case '>': return parts.length === 3 ? cmp(v, low) > 0 : cmp(v, bump(parts.length - 1)) >= 0
      case '<': return cmp(v, low) < 0
      case '<=': return parts.length === 3 ? cmp(v, low) <= 0 : cmp(v, bump(parts.length - 1)) < 0
      case '^': return cmp(v, low) >= 0 && cmp(v, bump(low[0] !== 0 || parts.length === 1 ? 0 : 1)) < 0
      case '~': return cmp(v, low) >= 0 && cmp(v, bump(parts.length === 1 ? 0 : 1)) < 0
      default: return cmp(v, low) >= 0 && cmp(v, bump(parts.length - 1)) < 0
    }
  }
  return range.split('||').some(set => set.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean).every(one))
}

test('the range check used below reads engines ranges as npm does', () => {
  assert.equal(satisfies('20.19.0', '>=22'), false)
  assert.equal(satisfies('22.0.0', '>=22'), true)
  assert.equal(satisfies('20.19.0', '^20.19.0 || >=22.12.0'), true)
  assert.equal(satisfies('22.11.0', '^20.19.0 || >=22.12.0'), false)
  assert.equal(satisfies('21.0.0', '20 || >=22'), false)
  assert.equal(satisfies('20.5.1', '>= 10.x'), true)
  assert.equal(satisfies('20.19.0', '^18.18.0 || ^20.9.0 || >=21.1.0'), true)
  assert.equal(satisfies('20.8.0', '^18.18.0 || ^20.9.0 || >=21.1.0'), false)
  assert.equal(satisfies('20.19.0', '>=9.3.0 || >=8.10.0 <9.0.0'), true)
  assert.equal(satisfies('8.11.0', '>=8.10.0 <9.0.0'), true)
  assert.equal(satisfies('20.19.0', '~20.18.0'), false)
  assert.equal(satisfies('20.19.0', '*'), true)
  assert.equal(satisfies('20.19.0', '>=16 || 14 >=14.17'), true)
  assert.equal(satisfies('14.16.0', '>=16 || 14 >=14.17'), false)
})

test('every locked package supports the Node versions engines promises (no EBADENGINE on install)', () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string, engines?: unknown }> }
  const floor = /^>=(\d+\.\d+(?:\.\d+)?)$/.exec(PKG.engines.node)?.[1]
  assert.ok(floor !== undefined, `engines.node is a plain floor: ${PKG.engines.node}`)
  // The lowest Node the package claims, and the one running the tests (CI runs 20, 22 and 24).
  const versions = [floor.split('.').length === 2 ? floor + '.0' : floor, process.versions.node]
  const bad: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    const node = (entry.engines as { node?: unknown } | undefined)?.node
    if (path === '' || typeof node !== 'string') continue
    for (const version of versions) {
      if (!satisfies(version, node)) bad.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${node}, not ${version}`)
    }
  }
  assert.deepEqual(bad, [])
})
