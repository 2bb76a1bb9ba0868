// The README's quick start, run literally on a fresh clone: its first shell block is read from the README
// (so the two cannot drift), its first command must start a serving echo, and its test command must be
// the one CI runs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './helper.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** The commands of the README's first ```sh block, without their trailing comments. */
export function quickStart (readme: string): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(readme)
  assert.ok(block, 'the README has a ```sh block')
  return block[1].split('\n').map(l => l.replace(/\s+#.*$/, '').trim()).filter(l => l !== '')
}

test('the README quick start: two commands, the second is what CI runs', () => {
  const [run, check, ...rest] = quickStart(readFileSync(join(ROOT, 'README.md'), 'utf8'))
  assert.deepEqual(rest, [], 'the quick start is two commands')
  assert.match(run, /npm start/)
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').map(l => l.trim())
  assert.ok(ci.includes(check), `.ci/run runs the README's test command "${check}"`)
})

test('the README quick start serves an echo on a fresh clone', { timeout: 600000 }, async (t) => {
  const [run] = quickStart(readFileSync(join(ROOT, 'README.md'), 'utf8'))
  const work = mkdtempSync(join(tmpdir(), 'echoscope-clone-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))
  // A clone holds what is committed, nothing built or installed.
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, work], { stdio: 'pipe' })

  const port = await freePort()
  // The README's line as written; only the port is moved off 8080 so tests may run beside a real server.
  const child = spawn('bash', ['-c', run], {
    cwd: work,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), npm_config_loglevel: 'error', npm_config_audit: 'false', npm_config_fund: 'false' }
  })
  let output = ''
  child.stdout.on('data', (b: Buffer) => { output += b.toString() })
  child.stderr.on('data', (b: Buffer) => { output += b.toString() })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  t.after(() => { try { process.kill(-(child.pid as number), 'SIGTERM') } catch {} })

  const url = `http://127.0.0.1:${port}/from/the/readme?x=1`
  const deadline = Date.now() + 540000
  let echo: Record<string, unknown> | undefined
  while (echo === undefined) {
    const code = await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 500, 'running'))])
    if (code !== 'running') assert.fail(`"${run}" exited with ${String(code)} before serving:\n${output}`)
    if (Date.now() > deadline) assert.fail(`"${run}" did not serve within 9 minutes:\n${output}`)
    try {
      const res = await fetch(url, { method: 'POST', body: 'hello', headers: { 'x-readme': 'yes' } })
      echo = await res.json() as Record<string, unknown>
    } catch {}
  }
  assert.equal(echo.method, 'POST')
  assert.equal(echo.url, '/from/the/readme?x=1')
  assert.equal(echo.body, 'hello')
  assert.equal((echo.headers as Record<string, string>)['x-readme'], 'yes')

  process.kill(-(child.pid as number), 'SIGTERM')
  await exited
})
