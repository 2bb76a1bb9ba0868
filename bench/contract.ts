// `npm run bench:contract`: how long `echoscope test` takes to run a file of 50 route contracts through a
// real nginx in front of two echoscope replicas, against a yardstick: the same 50 requests sent one after
// the other by a plain node:http client that checks nothing. Each is run BENCH_ROUNDS times (default 5) and
// the medians are reported, with the date, the Node version and the machine's CPU count.
//
// Needs Debian's nginx (/usr/sbin/nginx). Env: BENCH_ROUNDS, BENCH_CASES (default 50), BENCH_CONCURRENCY
// (echoscope test's --concurrency, default 4, its own default).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort, httpReady, nodeServer } from './servers.ts'

const NGINX = '/usr/sbin/nginx'
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist', 'src', 'cli.js')

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}=${process.env[name]}: expected a whole number of at least 1`)
  return v
}
const ROUNDS = int('BENCH_ROUNDS', 5)
const CASES = int('BENCH_CASES', 50)
const CONCURRENCY = int('BENCH_CONCURRENCY', 4)

/** Cases of every kind the file format has: upstream and response matchers, bodies, the gateway's own 404, repeats. */
export function contractFile (cases: number): string {
  const out = ['cases:']
  for (let i = 0; i < cases; i++) {
    switch (i % 5) {
      case 0: out.push(`  - name: orders ${i} strips the prefix and the auth
    request: { method: POST, path: /api/orders/${i}?id=${i}, headers: { authorization: Bearer t, x-team: payments }, json: { n: ${i} } }
    expect:
      upstream: { path: /orders/${i}, query: { id: "${i}" }, headers: { authorization: absent, x-gateway: nginx, host: orders.internal, x-team: same }, body: same }
      response: { status: 200, headers: { strict-transport-security: present, content-type: same } }`); break
      case 1: out.push(`  - name: route ${i} is nginx's own 404
    request: { path: /nowhere/${i} }
    expect: { response: { status: 404, body: /nginx/ }, answeredBy: gateway }`); break
      case 2: out.push(`  - name: route ${i} keeps the query and the method
    request: { method: DELETE, path: "/api/items/${i}?a=1&b=two" }
    expect: { upstream: { method: DELETE, query: { a: "1", b: two }, headers: { x-request-id: "/^[0-9a-f]{32}$/" } }, response: { status: 2xx } }`); break
      case 3: out.push(`  - name: route ${i} is spread over both replicas
    request: { path: /api/spread/${i} }
    repeat: 4
    replicas: { exactly: 2 }`); break
      default: out.push(`  - name: route ${i} passes a form body byte for byte
    request: { method: PUT, path: /api/forms/${i}, form: { a: "${i}", b: "x y" } }
    expect: { upstream: { body: same, headers: { content-type: same } } }`)
    }
  }
  return out.join('\n') + '\n'
}

/** The requests the file sends, in order, as the yardstick sends them (repeats included). */
function yardstickRequests (cases: number): Array<{ method: string, path: string, headers: Record<string, string>, body?: string }> {
  const out = []
  for (let i = 0; i < cases; i++) {
    switch (i % 5) {
      case 0: out.push({ method: 'POST', path: `/api/orders/${i}?id=${i}`, headers: { authorization: 'Bearer t', 'x-team': 'payments', 'content-type': 'application/json' }, body: JSON.stringify({ n: i }) }); break
      case 1: out.push({ method: 'GET', path: `/nowhere/${i}`, headers: {} }); break
      case 2: out.push({ method: 'DELETE', path: `/api/items/${i}?a=1&b=two`, headers: {} }); break
      case 3: for (let r = 0; r < 4; r++) out.push({ method: 'GET', path: `/api/spread/${i}`, headers: {} }); break
      default: out.push({ method: 'PUT', path: `/api/forms/${i}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${i}&b=x+y` })
    }
  }
  return out
}

function send (base: string, r: { method: string, path: string, headers: Record<string, string>, body?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    // A connection per request, as `echoscope test` opens one per request.
    const req = request(base + r.path, { method: r.method, headers: { ...r.headers, connection: 'close' }, agent: false }, res => {
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(r.body)
  })
}

async function yardstick (base: string, cases: number, concurrency: number): Promise<number> {
  // The same order as `echoscope test`: cases `concurrency` at a time, then those judging the replicas
  // one by one, a case's repeats one after the other.
  const all = yardstickRequests(cases)
  const shared: typeof all[] = []
  const alone: typeof all[] = []
  for (let i = 0, c = 0; c < cases; c++) {
    const n = c % 5 === 3 ? 4 : 1
    ;(n > 1 ? alone : shared).push(all.slice(i, i + n))
    i += n
  }
  const start = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < shared.length) {
      for (const r of shared[next++]) await send(base, r)
    }
  }))
  for (const group of alone) for (const r of group) await send(base, r)
  return performance.now() - start
}

function runTest (file: string, gateway: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(process.execPath, [CLI, 'test', file, '--gateway', gateway, '--concurrency', String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += String(d) })
    child.on('exit', code => {
      if (code !== 0) reject(new Error(`echoscope test exited ${code}:\n${out}`))
      else resolve(performance.now() - start)
    })
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main (): Promise<void> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: apt-get install nginx`)
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist (run npm run build first)`)
  const a = await nodeServer('a', CLI, httpReady('/healthz'), { args: ['--instance', 'a', '--no-log-requests'] }).start()
  const b = await nodeServer('b', CLI, httpReady('/healthz'), { args: ['--instance', 'b', '--no-log-requests'] }).start()
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-bench-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), `events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  upstream echo { server ${a.baseUrl.slice(7)}; server ${b.baseUrl.slice(7)}; }
  server {
    listen 127.0.0.1:${port};
    location /api/ {
      proxy_pass http://echo/;
      proxy_http_version 1.1;
      proxy_set_header Host orders.internal;
      proxy_set_header Authorization "";
      proxy_set_header X-Gateway nginx;
      proxy_set_header X-Request-Id $request_id;
      add_header Strict-Transport-Security "max-age=63072000" always;
    }
    location / { return 404; }
  }
}
`)
  const nginx = spawn(NGINX, ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf'), '-g', `daemon off; master_process off; pid ${dir}/nginx.pid; error_log stderr;`], { stdio: 'ignore' })
  const gateway = `http://127.0.0.1:${port}`
  try {
    for (let i = 0; i < 50; i++) {
      if (await new Promise<boolean>(resolve => request(gateway + '/api/healthz', res => { res.resume(); resolve(res.statusCode === 200) }).on('error', () => resolve(false)).end())) break
      await sleep(100)
    }
    const file = join(dir, 'contracts.yaml')
    writeFileSync(file, contractFile(CASES))
    const requests = yardstickRequests(CASES).length
    await runTest(file, gateway) // warm-up: the file's first run also checks that every case passes
    await yardstick(gateway, CASES, CONCURRENCY)
    const tool: number[] = []
    const bare: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      tool.push(await runTest(file, gateway))
      bare.push(await yardstick(gateway, CASES, CONCURRENCY))
    }
    const date = new Date().toISOString().slice(0, 10)
    const ms = (x: number) => `${Math.round(x)} ms`
    console.log(`echoscope test: ${CASES} cases (${requests} requests) through nginx to two replicas, --concurrency ${CONCURRENCY}`)
    console.log(`${date}, Node ${process.version}, ${cpus().length} CPUs, medians of ${ROUNDS} rounds`)
    console.log(`  echoscope test (the whole CLI run: start, parse, send, check, report)  ${ms(median(tool))}`)
    console.log(`  yardstick: the same requests from node:http, nothing checked           ${ms(median(bare))}`)
    const start = median(Array.from({ length: ROUNDS }, startup))
    console.log(`  of which starting the process (echoscope test --help)                  ${ms(start)}`)
    console.log(`  echoscope test / yardstick: ${(median(tool) / median(bare)).toFixed(2)}; without the start: ${((median(tool) - start) / median(bare)).toFixed(2)}`)
  } finally {
    nginx.kill('SIGTERM')
    await Promise.all([a.stop(), b.stop()])
    rmSync(dir, { recursive: true, force: true })
  }
}

/** How long `echoscope test --help` takes: what a run pays before it sends anything. */
function startup (): number {
  const start = performance.now()
  spawnSync(process.execPath, [CLI, 'test', '--help'], { stdio: 'ignore' })
  return performance.now() - start
}

main().catch((err: Error) => {
  console.error(`bench:contract: ${err.message}`)
  process.exit(1)
})
