// echoscope as a drop-in for the Gateway API conformance echo server (echo-basic): started with
// --default-format gateway-api behind a real nginx configured like the suite's HTTPRoutes, a plain request
// (no ?format, no Accept, as the suite's Go client sends it) gets echo-basic's JSON, with the fields the
// suite's roundtripper compares (path, host, method, proto, headers, namespace, pod).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { CLI, freePort, runCli, spawnServer, waitFor } from '../helper.ts'
import { startNginx } from './nginx.ts'

interface Answer { status: number, contentType: string | undefined, body: any }

/** A request the way Go's http.Client sends it: no Accept header. */
function goGet (port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: 'example.com', ...headers } }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', d => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end()
  })
}

const ENV = { POD_NAME: 'infra-backend-v1-7d6c9f-abcde', NAMESPACE: 'gateway-conformance-infra' }

test('Gateway API conformance cases through nginx against --default-format gateway-api', async (t) => {
  const backend = await spawnServer(['--default-format', 'gateway-api'], ENV)
  const mirror = await spawnServer(['--default-format', 'gateway-api'], { POD_NAME: 'infra-backend-v2-mirror', NAMESPACE: ENV.NAMESPACE })
  t.after(() => { backend.child.kill(); mirror.child.kill() })
  const up = `127.0.0.1:${backend.port}`
  const gw = await startNginx(t, port => `
server {
  listen 127.0.0.1:${port};
  proxy_http_version 1.1;
  proxy_set_header Host $host;

  # HTTPRouteHeaderMatching: version: one goes to this backend, anything else is not routed
  location = /match {
    if ($http_version != "one") { return 404; }
    proxy_pass http://${up};
  }
  # HTTPRouteRequestHeaderModifier: set, add, remove
  location = /set {
    proxy_set_header X-Header-Set set-overwrites-values;
    proxy_pass http://${up};
  }
  location = /add {
    proxy_set_header X-Header-Add "$http_x_header_add,add-appends-values";
    proxy_pass http://${up};
  }
  location = /remove {
    proxy_set_header X-Header-Remove "";
    proxy_pass http://${up};
  }
  # HTTPRouteRewritePath: ReplacePrefixMatch /prefix/one -> /one
  location /prefix/one/ {
    proxy_pass http://${up}/one/;
  }
  # HTTPRouteRequestMirror: every request to /mirror also goes to the mirror backend
  location = /mirror {
    mirror /mirrored;
    proxy_pass http://${up};
  }
  location = /mirrored {
    internal;
    proxy_pass http://127.0.0.1:${mirror.port}/mirror;
  }
}`)

  await t.test('exact path with a matching header: echo-basic fields, namespace and pod from the env', async () => {
    const a = await goGet(gw.port, '/match', { version: 'one' })
    assert.equal(a.status, 200)
    assert.equal(a.contentType, 'application/json')
    assert.equal(a.body.path, '/match')
    assert.equal(a.body.host, 'example.com')
    assert.equal(a.body.method, 'GET')
    assert.equal(a.body.proto, 'HTTP/1.1')
    assert.deepEqual(a.body.headers.Version, ['one'])
    assert.equal(a.body.namespace, ENV.NAMESPACE)
    assert.equal(a.body.pod, ENV.POD_NAME)
    assert.equal(a.body.url, undefined, 'no echoscope fields in echo-basic mode')
  })

  await t.test('request header modifier: set overwrites, add appends, remove leaves the header absent', async () => {
    const set = await goGet(gw.port, '/set', { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' })
    assert.deepEqual(set.body.headers['X-Header-Set'], ['set-overwrites-values'])
    assert.deepEqual(set.body.headers['Some-Other-Header'], ['val'])
    const add = await goGet(gw.port, '/add', { 'X-Header-Add': 'some-other-value' })
    assert.deepEqual(add.body.headers['X-Header-Add'], ['some-other-value,add-appends-values'])
    const remove = await goGet(gw.port, '/remove', { 'X-Header-Remove': 'val', 'X-Header-Keep': 'kept' })
    assert.equal(remove.body.headers['X-Header-Remove'], undefined)
    assert.deepEqual(remove.body.headers['X-Header-Keep'], ['kept'])
  })

  await t.test('path rewrite: the backend sees the replaced prefix', async () => {
    const a = await goGet(gw.port, '/prefix/one/two?q=1')
    assert.equal(a.body.path, '/one/two?q=1')
  })

  await t.test('mirror: both backends log echo-basic\'s line, which the mirror tests grep for', async () => {
    const a = await goGet(gw.port, '/mirror')
    assert.equal(a.body.pod, ENV.POD_NAME)
    await waitFor(() => mirror.output().includes('Echoing back request made to /mirror to client (127.0.0.1:'))
    // Log lines are batched, so each backend's line is awaited rather than read once.
    await waitFor(() => /"msg":"Echoing back request made to \/mirror to client \(127\.0\.0\.1:\d+\)"/.test(backend.output()))
  })
})

test('a plain request still gets the JSON echo without --default-format, and no echo-basic line', async (t) => {
  const s = await spawnServer([])
  t.after(() => s.child.kill())
  const a = await goGet(s.port, '/plain')
  assert.equal(a.body.url, '/plain')
  assert.equal(a.body.proto, undefined)
  assert.doesNotMatch(s.output(), /Echoing back/)
})

test('with --default-format gateway-api, ?format= and Accept still choose', async (t) => {
  const s = await spawnServer(['--default-format', 'gateway-api'])
  t.after(() => s.child.kill())
  const json = await goGet(s.port, '/x?format=json')
  assert.equal(json.body.url, '/x?format=json')
  const accepted = await goGet(s.port, '/x', { accept: 'application/json' })
  assert.equal(accepted.body.url, '/x')
  const star = await goGet(s.port, '/x', { accept: '*/*' })
  assert.equal(star.body.proto, 'HTTP/1.1')
})

test('HTTP_PORT, echo-basic\'s port variable, sets the port; PORT and ECHOSCOPE_PORT win over it', async (t) => {
  const [httpPort, port] = [await freePort(), await freePort()]
  const listening = (env: NodeJS.ProcessEnv) => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--log-format', 'json'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => child.kill())
    let out = ''
    child.stdout.on('data', d => {
      out += d
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m !== null) resolve(m[1])
    })
    child.on('exit', code => reject(new Error(`exited with ${code}: ${out}`)))
  })
  assert.equal(await listening({ HTTP_PORT: String(httpPort) }), String(httpPort))
  assert.equal(await listening({ HTTP_PORT: '1', PORT: String(port) }), String(port))
})

test('a --default-format the echo cannot answer plain requests in is one line naming the choices, exit 2', async () => {
  const r = await runCli(['--default-format', 'sse'])
  assert.equal(r.code, 2)
  assert.equal(r.stderr.trim(), 'echoscope: invalid --default-format "sse": must be one of: json, text, html, har, gateway-api')
})
