// The server-wide default response (--response-*), started the way users start it: the CLI, over real sockets.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getJson, runCli, spawnServer } from '../helper.ts'

async function serve (t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { child, port } = await spawnServer(args, env)
  t.after(() => { child.kill() })
  return `http://127.0.0.1:${port}`
}

function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-default-response-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('status, headers and body for every echo path; the system paths stay as they are', async (t) => {
  const url = await serve(t, ['--response-status', '202', '--response-header', 'X-Team: payments', '--response-header', 'Set-Cookie: a=1; Path=/',
    '--response-header', 'Set-Cookie: b=2, c=3', '--response-body', 'accepted'])
  for (const path of ['/', '/hooks/github', '/any/thing?x=1']) {
    const res = await fetch(url + path, { method: 'POST', body: '{"event":"push"}' })
    assert.equal(res.status, 202, path)
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
    assert.equal(res.headers.get('x-team'), 'payments')
    assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2, c=3'], 'a comma inside a value stays in its header')
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/)
    assert.equal(await res.text(), 'accepted')
  }
  const health = await fetch(url + '/healthz')
  assert.equal(health.status, 200)
  assert.equal(health.headers.get('x-team'), null)
  assert.equal((await getJson(health)).status, 'ok')
  // What arrived is still recorded, with the status that was sent.
  const entry = (await getJson(fetch(url + '/requests?limit=1'))).requests[0]
  assert.equal(entry.path, '/any/thing')
  assert.equal(entry.statusCode, 202)
})

test('per-request controls win over the default response; a format asked for by name shows the echo', async (t) => {
  const url = await serve(t, ['--response-status', '202', '--response-header', 'X-Team: payments', '--response-body', 'accepted'])
  let res = await fetch(url + '/?echo_status=500')
  assert.equal(res.status, 500)
  assert.equal(await res.text(), 'accepted')
  res = await fetch(url + '/', { headers: { 'x-echo-header': 'X-Team: billing', 'x-echo-body': '{"a":1}', 'x-echo-content-type': 'application/json' } })
  assert.equal(res.status, 202, 'the default status stays when no control sets one')
  assert.equal(res.headers.get('x-team'), 'billing')
  assert.equal(res.headers.get('content-type'), 'application/json')
  assert.equal(await res.text(), '{"a":1}')
  res = await fetch(url + '/orders?format=json', { headers: { 'x-probe': '1' } })
  assert.equal(res.status, 202)
  const echo = await getJson(res)
  assert.equal(echo.path, '/orders')
  assert.equal(echo.headers['x-probe'], '1')
  // A browser asks by Accept only: it gets the default body, not the echo page.
  res = await fetch(url + '/', { headers: { accept: 'text/html' } })
  assert.equal(await res.text(), 'accepted')
})

test('a status and headers alone keep the echo as the body', async (t) => {
  const url = await serve(t, ['--response-status', '201', '--response-header', 'Cache-Control: no-store'])
  const res = await fetch(url + '/created')
  assert.equal(res.status, 201)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  assert.equal((await getJson(res)).path, '/created')
})

test('--response-body-file is served byte for byte, typed by its extension or by --response-content-type', async (t) => {
  const dir = tempDir(t)
  const json = join(dir, 'reply.json')
  writeFileSync(json, '{"ok":true}\n')
  const bin = join(dir, 'blob.bin')
  const bytes = Buffer.from([0, 1, 2, 255, 254, 13, 10, 0])
  writeFileSync(bin, bytes)
  let url = await serve(t, ['--response-body-file', json])
  let res = await fetch(url + '/')
  assert.equal(res.headers.get('content-type'), 'application/json')
  assert.equal(await res.text(), '{"ok":true}\n')
  url = await serve(t, ['--response-body-file', bin])
  res = await fetch(url + '/')
  assert.equal(res.headers.get('content-type'), 'application/octet-stream')
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes)
  url = await serve(t, ['--response-body-file', bin, '--response-content-type', 'application/vnd.example+cbor'])
  res = await fetch(url + '/')
  assert.equal(res.headers.get('content-type'), 'application/vnd.example+cbor')
})

test('--response-path scopes the default response to whole segments or globs', async (t) => {
  const url = await serve(t, ['--response-path', '/webhook,/hooks/*/events', '--response-status', '204'])
  for (const path of ['/webhook', '/webhook/', '/webhook/github?x=1', '/hooks/acme/events']) {
    assert.equal((await fetch(url + path)).status, 204, path)
  }
  for (const path of ['/webhooks', '/', '/hooks/acme/events/2', '/other/webhook']) {
    const res = await fetch(url + path)
    assert.equal(res.status, 200, path)
    assert.equal((await getJson(res)).method, 'GET')
  }
})

test('headers come from the environment one per line, so values may hold commas', async (t) => {
  const url = await serve(t, [], {
    ECHOSCOPE_RESPONSE_HEADER: 'Link: </a>; rel="next", </b>; rel="last"\nX-Env: yes',
    ECHOSCOPE_RESPONSE_BODY: 'from env'
  })
  const res = await fetch(url + '/')
  assert.equal(res.headers.get('link'), '</a>; rel="next", </b>; rel="last"')
  assert.equal(res.headers.get('x-env'), 'yes')
  assert.equal(await res.text(), 'from env')
})

test('a bad default response is one line at start naming the option, exit 2', async (t) => {
  const dir = tempDir(t)
  const big = join(dir, 'big.txt')
  writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 97))
  const missing = join(dir, 'missing.json')
  const cases: Array<[string[], string | RegExp]> = [
    [['--response-body-file', missing], `invalid --response-body-file ${JSON.stringify(missing)}: no such file`],
    [['--response-body-file', dir], `invalid --response-body-file ${JSON.stringify(dir)}: it is a directory, not a file`],
    [['--response-body-file', big], `invalid --response-body-file ${JSON.stringify(big)}: larger than 1mb`],
    [['--response-body', 'a', '--response-body-file', big], 'invalid default response: use either --response-body or --response-body-file'],
    [['--response-status', '150'], 'invalid --response-status "150": must be 0 or a status code from 200 to 599'],
    [['--response-header', 'Content-Length: 5'], /^invalid --response-header "Content-Length: 5": must be "Name: value"/],
    [['--response-header', 'no colon'], /^invalid --response-header "no colon": must be "Name: value"/],
    [['--response-header', 'Content-Type: text/html'], /Content-Type \(use --response-content-type\)$/],
    [['--response-content-type', 'text/html'], 'invalid --response-content-type: it is the type of --response-body or --response-body-file, and neither is set'],
    [['--response-body', 'x', '--response-content-type', 'html'], 'invalid --response-content-type "html": must be a media type like application/json'],
    [['--response-path', 'webhook'], /^invalid --response-path "webhook": must be a comma-separated list of paths starting with \//]
  ]
  for (const [args, message] of cases) {
    const r = await runCli(['--port', '0', ...args])
    assert.equal(r.code, 2, args.join(' '))
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    if (typeof message === 'string') assert.equal(lines[0], 'echoscope: ' + message)
    else assert.match(lines[0].replace(/^echoscope: /, ''), message)
  }
})
