// Docker cannot run on the CI machines, so this replays the Dockerfile: the build stage's COPY and RUN steps
// in a temporary directory, then the runtime stage's COPY --from steps, ENV, CMD and HEALTHCHECK, and checks
// that the server it starts answers, runs without dev dependencies, and stops cleanly on SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './helper.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

interface Instruction { op: string, args: string }

function parseDockerfile (text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const stages: Instruction[][] = []
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? []
    if (op === 'FROM') stages.push([])
    stages.at(-1)?.push({ op, args })
  }
  return stages
}

const jsonArray = (args: string): string[] => JSON.parse(args.replace(/^CMD\s+/, ''))

test('the Dockerfile builds and runs: production deps only, answers, healthcheck passes, SIGTERM exits 0', { timeout: 600000 }, async (t) => {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
  assert.equal(stages.length, 2, 'a build stage and a runtime stage')
  const [build, runtime] = stages
  assert.match(build[0].args, /^node:\d+[\w.-]* AS build$/)
  assert.equal(runtime[0].args, build[0].args.replace(/ AS build$/, ''), 'both stages on the same Node LTS image')

  const work = mkdtempSync(join(tmpdir(), 'echoscope-docker-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const buildDir = join(work, 'build')
  const runDir = join(work, 'run')

  // Build stage: WORKDIR /app maps to buildDir.
  for (const { op, args } of build.slice(1)) {
    if (op === 'WORKDIR') { assert.equal(args, '/app'); continue }
    if (op === 'COPY') {
      const parts = args.split(/\s+/)
      const dest = parts.pop() as string
      for (const src of parts) {
        const to = dest.endsWith('/') || parts.length > 1 ? join(buildDir, dest, src) : join(buildDir, dest)
        cpSync(join(ROOT, src), to, { recursive: true })
      }
      continue
    }
    if (op === 'RUN') {
      execFileSync('bash', ['-c', args], { cwd: buildDir, stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } })
      continue
    }
    assert.fail(`unexpected instruction in the build stage: ${op}`)
  }

  // Runtime stage.
  const env: Record<string, string> = {}
  let cmd: string[] = []
  let entrypoint: string[] = []
  let healthcheck: string[] = []
  let user = ''
  for (const { op, args } of runtime.slice(1)) {
    if (op === 'WORKDIR') assert.equal(args, '/app')
    else if (op === 'RUN') assert.match(args, /^apt-get update && apt-get install -y --no-install-recommends tini && rm -rf \/var\/lib\/apt\/lists\/\*$/, 'only OS packages are installed at run stage')
    else if (op === 'ENV') for (const m of args.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2]
    else if (op === 'COPY') {
      const m = /^--from=build \/app\/(\S+) \.\/(\S+)$/.exec(args)
      assert.ok(m, `runtime COPY must copy from the build stage: ${args}`)
      cpSync(join(buildDir, m[1]), join(runDir, m[2]), { recursive: true })
    } else if (op === 'USER') user = args
    else if (op === 'EXPOSE') assert.equal(args, '8080')
    else if (op === 'HEALTHCHECK') healthcheck = jsonArray(args.replace(/^.*?CMD\s+/, 'CMD '))
    else if (op === 'ENTRYPOINT') entrypoint = JSON.parse(args)
    else if (op === 'CMD') cmd = JSON.parse(args)
    else assert.fail(`unexpected instruction in the runtime stage: ${op}`)
  }
  assert.equal(user, 'node', 'runs as the non-root node user')
  assert.deepEqual(entrypoint, ['/usr/bin/tini', '--'], 'an init process is PID 1')
  assert.equal(env.HOST, '0.0.0.0')
  assert.equal(env.PORT, '8080')
  assert.equal(env.NODE_ENV, 'production')

  // Production dependencies only: the compiler and test tools are gone, the runtime ones are there.
  assert.ok(existsSync(join(runDir, 'node_modules', 'fastify')))
  assert.ok(!existsSync(join(runDir, 'node_modules', 'typescript')))
  assert.ok(!existsSync(join(runDir, 'node_modules', 'borp')))
  assert.ok(!existsSync(join(runDir, 'src')), 'no TypeScript sources in the image')

  // Start it as the container would (tini aside), on loopback and a free port instead of 0.0.0.0:8080. The port
  // comes from ECHOSCOPE_PORT, which beats the image's PORT: PORT points at a port nothing listens on, so a
  // healthcheck that read PORT would fail.
  const port = await freePort()
  const runEnv = { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(await freePort()), ECHOSCOPE_PORT: String(port) }
  const [bin, ...args] = cmd
  assert.equal(bin, 'node')
  const start = async (startEnv: Record<string, string>, url: string) => {
    const child = spawn(process.execPath, args, { cwd: runDir, env: startEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => child.kill('SIGKILL'))
    let out = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { out += d })
    for (let i = 0; i < 100 && !out.includes('Server listening'); i++) await new Promise(resolve => setTimeout(resolve, 100))
    assert.ok(out.includes(`Server listening at ${url}`), out)
    return child
  }
  const child = await start(runEnv, `http://127.0.0.1:${port}`)

  const echo = await (await fetch(`http://127.0.0.1:${port}/from/container?x=1`)).json() as { path: string, query: unknown }
  assert.equal(echo.path, '/from/container')
  // The inspector's page and script are not TypeScript: the build must have copied them into the image.
  const page = await fetch(`http://127.0.0.1:${port}/inspect`)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(await page.text(), /inspect\.js/)
  const script = await fetch(`http://127.0.0.1:${port}/inspect/inspect.js`)
  assert.equal(script.status, 200)
  assert.match(script.headers.get('content-type') ?? '', /javascript/)
  // Swagger UI's assets are served from the image too (no CDN).
  assert.equal((await fetch(`http://127.0.0.1:${port}/docs`)).status, 200)

  const [hcBin, ...hcArgs] = healthcheck
  assert.equal(hcBin, 'node', 'the healthcheck uses node, not curl')
  // The image's /app is runDir here. Docker runs the probe with the container's environment and no flags.
  const probe = async (probeEnv: Record<string, string>) => {
    const hc = spawn(process.execPath, hcArgs.map(a => a.replace(/^\/app\//, runDir + '/')), { cwd: runDir, env: probeEnv, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    hc.stderr.on('data', d => { err += d })
    const [code] = await once(hc, 'exit')
    return { code, err }
  }
  assert.deepEqual(await probe(runEnv), { code: 0, err: '' }, 'HEALTHCHECK passes against the running server')

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)

  // And fails when nothing listens, saying what it tried.
  const down = await probe(runEnv)
  assert.equal(down.code, 1)
  assert.match(down.err, new RegExp(`^echoscope healthcheck: http://127\\.0\\.0\\.1:${port}/healthz: .*ECONNREFUSED`))

  // TLS on the main port with a self-signed certificate, system paths under a prefix, on the IPv6 loopback
  // (ECHOSCOPE_HOST beats the HOST=127.0.0.1 above): the probe speaks HTTPS to the server's own certificate
  // on [::1] and asks <prefix>/healthz (plain HTTP, another address, or /healthz without the prefix would not
  // get a 200).
  const tlsPort = await freePort()
  const tlsEnv = { ...runEnv, ECHOSCOPE_HOST: '::1', ECHOSCOPE_PORT: String(tlsPort), ECHOSCOPE_TLS_SELF_SIGNED: 'true', ECHOSCOPE_SYSTEM_PREFIX: '/_' }
  const tlsChild = await start(tlsEnv, `https://[::1]:${tlsPort}`)
  assert.deepEqual(await probe(tlsEnv), { code: 0, err: '' }, 'HEALTHCHECK passes against the TLS server')
  // Probed without its prefix, the same server's /healthz is an echo path (200, but an echo): the probe
  // tells the two apart, so the prefix is what made it pass.
  const noPrefix = await probe({ ...tlsEnv, ECHOSCOPE_SYSTEM_PREFIX: '' })
  assert.equal(noPrefix.code, 1)
  assert.match(noPrefix.err, /healthz answered 200 but not \{"status":"ok"\}/)
  // Plain HTTP to the TLS port does not pass either.
  const plain = await probe({ ...tlsEnv, ECHOSCOPE_TLS_SELF_SIGNED: 'false' })
  assert.equal(plain.code, 1)
  assert.match(plain.err, new RegExp(`^echoscope healthcheck: http://\\[::1\\]:${tlsPort}/_/healthz: `))
  tlsChild.kill('SIGTERM')
  assert.deepEqual(await once(tlsChild, 'exit'), [0, null])
  const tlsDown = await probe(tlsEnv)
  assert.equal(tlsDown.code, 1)
  assert.match(tlsDown.err, new RegExp(`^echoscope healthcheck: https://\\[::1\\]:${tlsPort}/_/healthz: .*ECONNREFUSED`))
})
