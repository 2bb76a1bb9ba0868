// Start-up errors of the real `echoscope` command: one line on stderr naming the option, exit status 2,
// no stack trace, and nothing listening.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { generateKeyPairSync } from 'node:crypto'
import { generate } from 'selfsigned'
import { getJson, runCli, startEcho } from './helper.ts'

/** Runs the CLI and checks the failure is exactly `echoscope: <message>` on one line with exit status 2. */
async function failsWith (args: string[], message: string | RegExp): Promise<void> {
  const r = await runCli([...args, '--log-level', 'silent'])
  assert.equal(r.code, 2, `exit status for ${args.join(' ')} (stderr: ${r.stderr})`)
  assert.equal(r.stdout, '')
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  const lines = r.stderr.split('\n')
  assert.equal(lines.length, 2, `one line on stderr: ${JSON.stringify(r.stderr)}`)
  assert.equal(lines[1], '')
  if (typeof message === 'string') assert.equal(lines[0], `echoscope: ${message}`)
  else assert.match(lines[0], message)
}

test('a flag without its value is one line naming the flag and what it takes', async () => {
  await failsWith(['--port'], 'invalid --port: needs a value (an integer from 0 to 65535)')
  await failsWith(['--body-limit', '--port', '0'], /^echoscope: invalid --body-limit: needs a value \(a size from 1 byte to 1gb /)
})

test('a bad value, an unknown flag and a stray word are one line each', async () => {
  await failsWith(['--body-limit', '-5'], 'invalid --body-limit "-5": must be a size from 1 byte to 1gb (bytes, or a number with kb, mb or gb, like 64kb)')
  await failsWith(['--foo'], 'unknown option --foo (see echoscope --help)')
  await failsWith(['--foo=1'], 'unknown option --foo (see echoscope --help)')
  await failsWith(['-p', '80'], 'unknown option -p (see echoscope --help)')
  await failsWith(['--log-headers', 'maybe'], 'unexpected argument "maybe" (see echoscope --help)')
  await failsWith(['--tcp-framing', 'lines'], 'invalid --tcp-framing "lines": must be one of: none, length')
  await failsWith(['--log-format=xml'], 'invalid --log-format "xml": must be one of: auto, json, pretty')
  await failsWith(['--jwt-headers', 'bad header'], 'invalid --jwt-headers "bad header": must be a comma-separated list of header names')
})

test('TLS files are checked before listening: missing, not PEM, encrypted, a key of another certificate, a bad CA', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-cli-tls-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const one = await generate([{ name: 'commonName', value: 'one' }], { keyType: 'ec', algorithm: 'sha256' })
  const two = await generate([{ name: 'commonName', value: 'two' }], { keyType: 'ec', algorithm: 'sha256' })
  const file = (name: string, text: string) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }
  const cert = file('cert.pem', one.cert)
  const key = file('key.pem', one.private)
  const otherKey = file('other-key.pem', two.private)
  const notPem = file('notes.txt', 'hello, not a certificate\n')
  const encrypted = file('encrypted.pem', generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }
  }).privateKey)
  const q = JSON.stringify
  const missing = join(dir, 'x.pem')

  await failsWith(['--tls-cert', cert, '--tls-key', otherKey],
    `invalid --tls-key ${q(otherKey)}: it does not match the certificate in --tls-cert ${q(cert)}`)
  await failsWith(['--tls-cert', missing, '--tls-key', key], `invalid --tls-cert ${q(missing)}: no such file`)
  await failsWith(['--tls-cert', cert, '--tls-key', missing], `invalid --tls-key ${q(missing)}: no such file`)
  await failsWith(['--tls-cert', dir, '--tls-key', key], `invalid --tls-cert ${q(dir)}: it is a directory, not a file`)
  await failsWith(['--tls-cert', notPem, '--tls-key', key], `invalid --tls-cert ${q(notPem)}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`)
  // a key where the certificate belongs, and the other way round
  await failsWith(['--tls-cert', key, '--tls-key', key], `invalid --tls-cert ${q(key)}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`)
  await failsWith(['--tls-cert', cert, '--tls-key', cert], `invalid --tls-key ${q(cert)}: not a PEM private key (no -----BEGIN ... PRIVATE KEY----- line)`)
  await failsWith(['--tls-cert', cert, '--tls-key', encrypted], `invalid --tls-key ${q(encrypted)}: the key is encrypted; echoscope needs an unencrypted key`)
  await failsWith(['--tls-cert', cert, '--tls-key', key, '--tls-ca', notPem], `invalid --tls-ca ${q(notPem)}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`)
  await failsWith(['--tls-self-signed', '--tls-ca', missing], `invalid --tls-ca ${q(missing)}: no such file`)
  // a broken certificate body behind a correct BEGIN line
  const broken = file('broken.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n')
  await failsWith(['--tls-cert', broken, '--tls-key', key], `invalid --tls-cert ${q(broken)}: not a valid PEM certificate (it does not parse)`)
})

test('a gzip bomb\'s 413 names the flag that sets the limit', async (t) => {
  const { url } = await startEcho(t, { maxDecodedSize: 64 * 1024, maxDecodeRatio: 100000 })
  const res = await fetch(url, { method: 'POST', body: gzipSync(Buffer.alloc(1024 * 1024)), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
  assert.equal(res.status, 413)
  const err = await getJson(res)
  assert.equal(err.error, 'Payload Too Large')
  assert.match(err.message, /decoded size limit of 65536 bytes \(--max-decoded-size; maxDecodedSize when embedded\)/)
})

test('echoscope healthcheck: exit 0 against a serving echoscope on the configured port, 1 when nothing answers', async (t) => {
  const { app, port } = await startEcho(t, { systemPrefix: '/_' })
  const ok = await runCli(['healthcheck', '--port', String(port), '--system-prefix', '/_'])
  assert.equal(ok.code, 0, ok.stderr)
  // Without the prefix /healthz is an echo path: a 200, but not the health route's answer.
  const wrongPrefix = await runCli(['healthcheck', '--port', String(port)])
  assert.equal(wrongPrefix.code, 1)
  assert.match(wrongPrefix.stderr, /^echoscope healthcheck: .*not \{"status":"ok"\}/)
  // A health answer forced by PUT /healthz counts as the server's: 503 fails the check, a forced 200 passes.
  const force = (status: number) => fetch(`http://127.0.0.1:${port}/_/healthz`, { method: 'PUT', body: JSON.stringify({ status }) })
  await force(503)
  const forcedDown = await runCli(['healthcheck', '--port', String(port), '--system-prefix', '/_'])
  assert.equal(forcedDown.code, 1)
  assert.match(forcedDown.stderr, /answered 503/)
  await force(200)
  assert.equal((await runCli(['healthcheck', '--port', String(port), '--system-prefix', '/_'])).code, 0)
  await app.close()
  const down = await runCli(['healthcheck', '--port', String(port), '--system-prefix', '/_'])
  assert.equal(down.code, 1)
  assert.match(down.stderr, /ECONNREFUSED/)
})
