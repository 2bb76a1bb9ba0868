// TLS, mTLS and HTTP/2 over real sockets, and client certificates forwarded by gateways.
import { test, type TestContext } from 'node:test'
import { once } from 'node:events'
import assert from 'node:assert/strict'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import WebSocket from 'ws'
import { freePort, getJson, parseResponse, runCli, spawnServer, startEcho, waitFor } from '../helper.ts'

interface Got { status: number, json: any, alpn: string | false | null }

/** One HTTP/2 request on `session`: its status and body. */
function h2Request (session: ClientHttp2Session, headers: Record<string, string>): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers)
    let status = 0
    let body = ''
    req.setEncoding('utf8')
    req.on('response', h => { status = Number(h[':status']) })
    req.on('data', (d: string) => { body += d })
    req.on('end', () => resolve({ status, body }))
    req.on('error', reject)
    req.end()
  })
}

function get (port: number, path: string, opts: Record<string, unknown> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: 'localhost', rejectUnauthorized: false, agent: false, ...opts }, res => {
      const alpn = (res.socket as import('node:tls').TLSSocket).alpnProtocol
      let body = ''
      res.setEncoding('utf8')
      res.on('data', d => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(body), alpn }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A CA, a client, a stranger and a server certificate; the files are removed when the test ends. */
async function pki (t: TestContext) {
  const ca = await generate([{ name: 'commonName', value: 'Test CA' }], { keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true }] })
  const client = await generate([{ name: 'commonName', value: 'client-one' }, { name: 'organizationName', value: 'Echo Corp' }], { keyType: 'ec', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert }, extensions: [{ name: 'extKeyUsage', clientAuth: true }, { name: 'subjectAltName', altNames: [{ type: 2, value: 'client.example' }] }] })
  const stranger = await generate([{ name: 'commonName', value: 'stranger' }], { keyType: 'ec', algorithm: 'sha256' })
  const server = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }] })
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-tls-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const files = { caCert: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server.key') }
  writeFileSync(files.caCert, ca.cert)
  writeFileSync(files.serverCert, server.cert)
  writeFileSync(files.serverKey, server.private)
  return { ca, client, stranger, server, files }
}

test('--tls-self-signed serves HTTPS on --port; the echo reports the TLS session', async (t) => {
  const { port } = await startEcho(t, { tlsSelfSigned: true })
  const { status, json } = await get(port, '/secure?x=1')
  assert.equal(status, 200)
  assert.equal(json.protocol, 'https')
  assert.equal(json.tls.servername, 'localhost')
  assert.equal(json.tls.version, 'TLSv1.3')
  assert.equal(typeof json.tls.cipher, 'string')
  assert.equal(json.tls.clientCertificate, undefined)
})

test('the start-up line names the scheme each port serves: https on a TLS --port, http beside --https-port', async (t) => {
  const tls = await spawnServer(['--tls-self-signed'])
  t.after(() => tls.child.kill('SIGKILL'))
  assert.match(tls.output(), new RegExp(`Server listening at https://127\\.0\\.0\\.1:${tls.port}`))
  const plain = await spawnServer(['--tls-self-signed', '--https-port', String(await freePort())])
  t.after(() => plain.child.kill('SIGKILL'))
  assert.match(plain.output(), new RegExp(`Server listening at http://127\\.0\\.0\\.1:${plain.port}`))
})

test('--tls-cert/--tls-key from files; --tls-ca reports client certificates (mTLS), verified or not', async (t) => {
  const p = await pki(t)
  const { port } = await startEcho(t, { tlsCert: p.files.serverCert, tlsKey: p.files.serverKey, tlsCa: p.files.caCert })
  const withCert = await get(port, '/', { cert: p.client.cert, key: p.client.private, ca: p.server.cert })
  const cc = withCert.json.tls.clientCertificate
  assert.match(cc.subject, /CN=client-one/)
  assert.match(cc.subject, /O=Echo Corp/)
  assert.match(cc.issuer, /CN=Test CA/)
  assert.equal(cc.subjectAltName, 'DNS:client.example')
  assert.equal(cc.authorized, true)
  assert.equal(cc.authorizationError, null)
  assert.match(cc.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  assert.ok(Date.parse(cc.validTo) > Date.now())
  assert.match(cc.pem, /^-----BEGIN CERTIFICATE-----/)

  const stranger = await get(port, '/', { cert: p.stranger.cert, key: p.stranger.private })
  assert.equal(stranger.json.tls.clientCertificate.authorized, false)
  assert.equal(typeof stranger.json.tls.clientCertificate.authorizationError, 'string')

  const none = await get(port, '/')
  assert.equal(none.json.tls.clientCertificate, undefined)
})

test('--https-port serves HTTPS and WSS beside plain HTTP on --port', async (t) => {
  const httpsPort = await freePort()
  const { url } = await startEcho(t, { tlsSelfSigned: true, httpsPort })
  assert.equal((await getJson(fetch(url + '/plain'))).protocol, 'http')
  const secure = await get(httpsPort, '/secure')
  assert.equal(secure.json.protocol, 'https')
  assert.equal(secure.json.path, '/secure')
  const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws?info=1`, { rejectUnauthorized: false })
  const info = await new Promise<any>((resolve, reject) => { ws.once('message', d => resolve(JSON.parse(String(d)))); ws.once('error', reject) })
  assert.equal(info.protocol, 'https')
  ws.send('over tls')
  assert.equal(String(await new Promise(resolve => ws.once('message', resolve))), 'over tls')
  ws.close()
})

/** Writes `data` over TLS (HTTP/1.1 by ALPN) and returns everything the server sends until it closes. */
function tlsExchange (port: number, data: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => socket.write(data))
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('close', () => resolve(Buffer.concat(chunks)))
    socket.on('error', err => { if (chunks.length > 0) resolve(Buffer.concat(chunks)); else reject(err) })
  })
}

test('--https-port: --max-header-size and the parser\'s rejections are answered as on --port', async (t) => {
  const httpsPort = await freePort()
  await startEcho(t, { tlsSelfSigned: true, httpsPort, maxHeaderSize: 2048 })
  const big = parseResponse(await tlsExchange(httpsPort, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`))
  assert.equal(big.status, 431)
  assert.deepEqual(JSON.parse(big.body.toString()), { statusCode: 431, error: 'Request Header Fields Too Large', message: 'request head larger than --max-header-size (HPE_HEADER_OVERFLOW)' })
  // With --http2 too, on its HTTP/1.1 fallback.
  for (const http2 of [false, true]) {
    const httpsPort = await freePort()
    await startEcho(t, { tlsSelfSigned: true, httpsPort, http2 })
    const garbage = parseResponse(await tlsExchange(httpsPort, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'))
    assert.equal(garbage.status, 400, `http2: ${http2}`)
    assert.equal(JSON.parse(garbage.body.toString()).message, 'both Content-Length and Transfer-Encoding (HPE_INVALID_TRANSFER_ENCODING)')
    const noHost = parseResponse(await tlsExchange(httpsPort, 'GET /no-host HTTP/1.1\r\n\r\n'))
    assert.equal(noHost.status, 400)
    assert.match(JSON.parse(noHost.body.toString()).message, /without a Host header/)
  }
})

test('--http2: HTTP/2 by ALPN, HTTP/1.1 fallback on the same port', async (t) => {
  const { port } = await startEcho(t, { tlsSelfSigned: true, http2: true })
  const session = http2Connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  const echo = await new Promise<any>((resolve, reject) => {
    const req = session.request({ ':path': '/h2?x=1', 'x-h2': 'yes' })
    let body = ''
    req.setEncoding('utf8')
    req.on('data', d => { body += d })
    req.on('end', () => resolve(JSON.parse(body)))
    req.on('error', reject)
    req.end()
  })
  assert.equal(echo.httpVersion, '2.0')
  assert.equal(echo.tls.alpn, 'h2')
  assert.equal(echo.path, '/h2')
  assert.equal(echo.headers['x-h2'], 'yes')
  session.close()
  const h1 = await get(port, '/h1', { ALPNProtocols: ['http/1.1'] })
  assert.equal(h1.json.httpVersion, '1.1')
  assert.equal(h1.alpn, 'http/1.1')
})

test('--https-port with --http2: HTTP/2 and HTTP/1.1 beside plain HTTP, and a drain that waits only for what is in flight', async (t) => {
  const httpsPort = await freePort()
  const { child, port, output } = await spawnServer(['--tls-self-signed', '--http2', '--https-port', String(httpsPort)])
  t.after(() => child.kill('SIGKILL'))
  const session = http2Connect(`https://localhost:${httpsPort}`, { rejectUnauthorized: false })
  t.after(() => session.destroy())
  const echo = JSON.parse((await h2Request(session, { ':path': '/h2?x=1' })).body)
  assert.equal(echo.httpVersion, '2.0')
  assert.equal(echo.protocol, 'https')
  assert.equal(echo.tls.alpn, 'h2')
  // The guard of the main port holds here too: a method no route knows is 501, not a 404 and a log flood.
  assert.equal((await h2Request(session, { ':method': 'X-ANYTHING', ':path': '/' })).status, 501)
  const h1 = await get(httpsPort, '/h1', { ALPNProtocols: ['http/1.1'] })
  assert.equal(h1.json.httpVersion, '1.1')
  assert.equal(h1.alpn, 'http/1.1')
  assert.equal((await getJson(fetch(`http://127.0.0.1:${port}/plain`))).protocol, 'http')
  const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, { rejectUnauthorized: false })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  ws.send('over h1 fallback')
  assert.equal(String(await new Promise(resolve => ws.once('message', resolve))), 'over h1 fallback')
  ws.close()
  assert.ok(!output().includes('default handler for 404'))

  // SIGTERM with an HTTP/2 stream in flight, the same session otherwise idle, and an idle HTTP/1.1
  // keep-alive connection: the stream gets its answer, then the process exits 0 without waiting for idles.
  const keepAlive = new (await import('node:https')).Agent({ keepAlive: true })
  t.after(() => keepAlive.destroy())
  await get(httpsPort, '/idle', { ALPNProtocols: ['http/1.1'], agent: keepAlive })
  const slow = h2Request(session, { ':path': '/slow?echo_delay=400' })
  await new Promise(resolve => setTimeout(resolve, 100))
  const started = Date.now()
  child.kill('SIGTERM')
  const answered = await slow
  assert.equal(answered.status, 200)
  assert.equal(JSON.parse(answered.body).path, '/slow')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)
  assert.ok(Date.now() - started < 3000, `exited after ${Date.now() - started} ms`)
})

test('--http2: a method token Fastify cannot route gets 501 JSON, no log flood, and the server goes on', async (t) => {
  const { child, port, output } = await spawnServer(['--tls-self-signed', '--http2'])
  t.after(() => child.kill('SIGKILL'))
  const session = http2Connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  t.after(() => session.close())
  const send = (headers: Record<string, string>) => h2Request(session, headers)
  for (let i = 0; i < 20; i++) {
    const r = await send({ ':method': `X-RANDOM-${i}`, ':path': '/h2' })
    assert.equal(r.status, 501)
    const err = JSON.parse(r.body)
    assert.equal(err.statusCode, 501)
    assert.equal(err.error, 'Not Implemented')
    assert.match(err.message, new RegExp(`"X-RANDOM-${i}"`))
  }
  const ok = await send({ ':method': 'PROPFIND', ':path': '/h2' })
  assert.equal(ok.status, 200)
  assert.equal(JSON.parse(ok.body).method, 'PROPFIND')
  await waitFor(() => output().includes('"method":"PROPFIND"'))
  assert.ok(!output().includes('likely a fastify bug'), 'Fastify\'s 404 fallback warnings never run')
  assert.ok(output().length < 4000, `${output().length} bytes of log for 21 requests`)
})

test('client certificates forwarded by gateways are decoded (Envoy XFCC, nginx, Traefik)', async (t) => {
  const p = await pki(t)
  const { url } = await startEcho(t)
  const pemEscaped = encodeURIComponent(p.client.cert)
  const der = p.client.cert.replace(/-----[^-]+-----|\s/g, '')
  const echo = await getJson(fetch(url, {
    headers: {
      'x-forwarded-client-cert': `By=spiffe://cluster.local/ns/default/sa/echo;Hash=abc;Cert="${pemEscaped}";Subject="CN=client-one";URI=spiffe://cluster.local/ns/default/sa/client`,
      'ssl-client-cert': pemEscaped,
      'x-forwarded-tls-client-cert': encodeURIComponent(der)
    }
  }))
  const certs = echo.proxy.clientCertificates
  assert.deepEqual(certs.map((c: any) => c.header), ['x-forwarded-client-cert', 'ssl-client-cert', 'x-forwarded-tls-client-cert'])
  for (const c of certs) {
    assert.match(c.subject, /CN=client-one/)
    assert.match(c.issuer, /CN=Test CA/)
  }

  // The proxy analysis of a header set is remembered and shared between requests: a certificate shown
  // for one request must not stick to the next one with the same proxy headers.
  const behindProxy = { 'x-forwarded-for': '198.51.100.23' }
  const withCert = await getJson(fetch(url, { headers: { ...behindProxy, 'ssl-client-cert': pemEscaped } }))
  assert.deepEqual(withCert.proxy.hops.map((h: any) => h.source), ['x-forwarded-for', 'peer'])
  assert.deepEqual(withCert.proxy.clientCertificates.map((c: any) => c.header), ['ssl-client-cert'])
  const without = await getJson(fetch(url, { headers: behindProxy }))
  assert.deepEqual(without.proxy.hops, withCert.proxy.hops)
  assert.equal(without.proxy.clientCertificates, undefined)
})

test('bad TLS settings stop the CLI with one line', async () => {
  const missing = await runCli(['--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.key'])
  assert.equal(missing.code, 2)
  assert.equal(missing.stderr, 'echoscope: invalid --tls-cert "/nonexistent.pem": no such file\n')
  const h2 = await runCli(['--http2'])
  assert.equal(h2.code, 2)
  assert.match(h2.stderr, /^echoscope: invalid --http2: HTTP\/2 needs TLS/)
  const half = await runCli(['--tls-cert', '/x.pem'])
  assert.match(half.stderr, /--tls-cert and --tls-key go together/)
})
