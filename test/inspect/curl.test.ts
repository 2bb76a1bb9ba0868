// Copy as curl without a browser: the inspector's builder (src/inspect/curl.js, plain browser code with no
// DOM) imported by Node, fed entries a real echoscope recorded. Each command is run by sh and bash with curl
// replaced by a function that writes down its arguments and standard input, which proves the quoting; some
// are replayed with the real curl against the server and must arrive as the original did.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getJson, rawRequest, startEcho } from '../helper.ts'

interface Curl { command: string, notes: string[], bytes?: Uint8Array }
// The page's own file, as the server serves it from a checkout (not a copy that could be stale).
const { curlCommand } = await import(new URL('../../../src/inspect/curl.js', import.meta.url).href) as { curlCommand: (entry: unknown) => Curl }

if (spawnSync('curl', ['--version']).status !== 0) throw new Error('curl is missing: install it (see .ci/apt-packages); the commands are replayed with it')

/** What a shell hands to curl for this command line: its arguments and the bytes on its standard input. */
function argvOf (shell: 'sh' | 'bash', command: string): { argv: string[], stdin: Buffer, files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'echoscope-argv-'))
  try {
    const stub = 'curl () { printf \'%s\\0\' "$@" > argv; cat > stdin; }\n'
    const run = spawnSync(shell, ['-c', stub + command], { cwd: dir, input: '', timeout: 10000 })
    assert.equal(run.status, 0, `${shell}: ${run.stderr}`)
    const argv = readFileSync(join(dir, 'argv'), 'latin1').split('\0')
    assert.equal(argv.pop(), '', 'every argument ends with its NUL')
    return {
      argv: argv.map(a => Buffer.from(a, 'latin1').toString('utf8')),
      stdin: readFileSync(join(dir, 'stdin')),
      files: readdirSync(dir).filter(f => f !== 'argv' && f !== 'stdin').sort()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** sh and bash agree on the command, nothing else ran, and this is what curl got. */
function assertArgs (command: string, argv: string[], stdin: Buffer | string = '') {
  for (const shell of ['sh', 'bash'] as const) {
    const got = argvOf(shell, command)
    assert.deepEqual(got.argv, argv, shell)
    assert.deepEqual(got.stdin, Buffer.from(stdin), `${shell}: standard input`)
    assert.deepEqual(got.files, [], `${shell}: the command made no file`)
  }
}

/** The real curl runs the command; the server's echo of the replay is what it prints. */
function replay (command: string): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

async function recorded (url: string, path: string): Promise<any> {
  const { requests } = await getJson(fetch(`${url}/requests?path=${encodeURIComponent(path)}`))
  assert.equal(requests.length, 1, path)
  return requests[0]
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')
const ignoredOnReplay = new Set(['host', 'content-length', 'connection'])
// Pseudo-headers come in the order each HTTP/2 client chooses; curl's is not node's.
const comparable = (raw: [string, string][]) => raw.filter(([n]) => !ignoredOnReplay.has(n.toLowerCase()) && !n.startsWith(':'))

test('method, headers with quotes and shell syntax, a JSON body: each value reaches curl as one literal argument', async (t) => {
  const { url, port } = await startEcho(t)
  const values = {
    quote: 'it\'s "quoted" \'twice\'',
    // eslint-disable-next-line no-template-curly-in-string -- a shell's parameter expansion, on purpose
    shell: '$(touch pwned) `touch pwned2` ${HOME} $HOME; touch pwned3 & | > out < in \\ !x',
    glob: '* ? [a-z] ~ #comment'
  }
  const body = '{"name":"it\'s","cmd":"$(touch body)","ü":"✓"}'
  await rawRequest(port, `PATCH /orders/7?x=1&y=a%20b HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Quote: ${values.quote}\r\nX-Shell: ${values.shell}\r\n` +
    `X-Glob: ${values.glob}\r\nX-Empty:\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  const entry = await recorded(url, '/orders/7')
  const { command, notes, bytes } = curlCommand(entry)
  assertArgs(command, [
    '-X', 'PATCH', `http://127.0.0.1:${port}/orders/7?x=1&y=a%20b`,
    '-H', `X-Quote: ${values.quote}`, '-H', `X-Shell: ${values.shell}`, '-H', `X-Glob: ${values.glob}`,
    '-H', 'X-Empty;', '-H', 'Content-Type: application/json', '-H', 'User-Agent:', '-H', 'Accept:',
    '--data-binary', body
  ])
  assert.deepEqual(notes, [])
  assert.equal(sha256(bytes as Uint8Array), entry.bodySha256, 'the JSON body is sent as it arrived')

  const again = await replay(command)
  assert.equal(again.method, 'PATCH')
  assert.equal(again.url, entry.url)
  assert.equal(again.bodySha256, entry.bodySha256)
  assert.deepEqual(comparable(again.rawHeaders), comparable(entry.rawHeaders))
})

test('a body that is not UTF-8 or has control characters goes through printf on standard input, byte for byte', async (t) => {
  const { url, port } = await startEcho(t)
  // A leading dash, NUL, %, quote, backslash, an invalid UTF-8 sequence, CR LF.
  const binary = Buffer.from([0x2d, 0x00, 0x01, 0x25, 0x27, 0x5c, 0xc3, 0x28, 0xff, 0x0d, 0x0a, 0x41])
  await rawRequest(port, [`POST /bin HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${binary.length}\r\nConnection: close\r\n\r\n`, binary])
  const entry = await recorded(url, '/bin')
  assert.equal(entry.bodyEncoding, 'base64')
  const { command, bytes } = curlCommand(entry)
  assert.equal(command, "printf '\\055\\000\\001%%\\047\\134\\303(\\377\\015\\012A' | " +
    `curl http://127.0.0.1:${port}/bin \\\n  -H 'Content-Type: application/octet-stream' \\\n  -H 'User-Agent:' \\\n  -H 'Accept:' \\\n  --data-binary @-`)
  assertArgs(command, [`http://127.0.0.1:${port}/bin`, '-H', 'Content-Type: application/octet-stream', '-H', 'User-Agent:', '-H', 'Accept:', '--data-binary', '@-'], binary)
  assert.deepEqual(Buffer.from(bytes as Uint8Array), binary)
  assert.equal((await replay(command)).bodySha256, sha256(binary))

  // Valid UTF-8 with an escape character: printf too, as a terminal could act on the escape when pasted.
  const text = 'ok \u001b[31m red ü'
  await rawRequest(port, `PUT /esc HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`)
  const esc = curlCommand(await recorded(url, '/esc'))
  assert.ok(!esc.command.includes('\u001b'), 'no raw escape character in the command')
  assertArgs(esc.command, ['-X', 'PUT', `http://127.0.0.1:${port}/esc`, '-H', 'Content-Type: text/plain', '-H', 'User-Agent:', '-H', 'Accept:', '--data-binary', '@-'], text)

  // Binary that happens to be UTF-8 text is inlined; a leading @ is data, not a file to read.
  await rawRequest(port, `POST /at HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: 11\r\nConnection: close\r\n\r\n@etc/passwd`)
  const at = curlCommand(await recorded(url, '/at'))
  assertArgs(at.command, [`http://127.0.0.1:${port}/at`, '-H', 'Content-Type: application/octet-stream', '-H', 'User-Agent:', '-H', 'Accept:', '--data-raw', '@etc/passwd'])
  assert.equal((await replay(at.command)).bodySha256, sha256('@etc/passwd'))
})

test('no body: GET and HEAD take no method flag or data, an empty POST keeps its method', async (t) => {
  const { url, port } = await startEcho(t)
  await fetch(`${url}/plain`, { headers: { 'user-agent': 'probe/1' } })
  await fetch(`${url}/head`, { method: 'HEAD' })
  await rawRequest(port, `POST /empty HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)

  const plain = await recorded(url, '/plain')
  const get = curlCommand(plain)
  assert.equal(get.bytes, undefined, 'no body to check')
  const { argv } = argvOf('sh', get.command)
  assert.deepEqual(argv.slice(0, 1), [`http://127.0.0.1:${port}/plain`])
  assert.ok(!argv.includes('-X') && !argv.some(a => a.startsWith('--data')), argv.join(' '))
  assert.ok(argv.includes('user-agent: probe/1'), 'its own User-Agent, not curl\'s')

  assert.match(curlCommand(await recorded(url, '/head')).command, /^curl --head http:\/\/127\.0\.0\.1:\d+\/head \\\n/)

  const empty = await recorded(url, '/empty')
  assert.equal(empty.bodyEncoding, 'none')
  const post = curlCommand(empty)
  assertArgs(post.command, ['-X', 'POST', `http://127.0.0.1:${port}/empty`, '-H', 'User-Agent:', '-H', 'Accept:'])
  const again = await replay(post.command)
  assert.equal(again.method, 'POST')
  assert.equal(again.bodyBytes, 0)
})

test('request targets: absolute-form, odd queries, dot segments and braces, asterisk-form, HTTP/1.0', async (t) => {
  const { url, port } = await startEcho(t)
  await rawRequest(port, 'GET http://example.test/abs?q=a%20b&cmd=$(id)&x=\'y\' HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n')
  const abs = await recorded(url, 'http://example.test/abs')
  assertArgs(curlCommand(abs).command, ['http://example.test/abs?q=a%20b&cmd=$(id)&x=\'y\'', '-H', 'User-Agent:', '-H', 'Accept:'])
  // Sent through echoscope as the proxy, curl writes the same absolute-form target.
  const proxied = await replay(curlCommand(abs).command + ` --proxy http://127.0.0.1:${port}`)
  assert.equal(proxied.url, abs.url)

  await rawRequest(port, `GET /a/./b/../c/{x}[1]?k=v HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const dots = curlCommand(await recorded(url, '/a/./b/../c/'))
  assertArgs(dots.command, ['--path-as-is', '--globoff', '--http1.0', `http://127.0.0.1:${port}/a/./b/../c/{x}[1]?k=v`, '-H', 'User-Agent:', '-H', 'Accept:'])
  const replayed = await replay(dots.command)
  assert.equal(replayed.url, '/a/./b/../c/{x}[1]?k=v')
  assert.equal(replayed.httpVersion, '1.0')

  await rawRequest(port, `OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
  const star = (await getJson(fetch(`${url}/requests?method=OPTIONS`))).requests.find((r: any) => r.url === '*')
  assert.ok(star, 'OPTIONS * was recorded')
  assertArgs(curlCommand(star).command, ['-X', 'OPTIONS', '--request-target', '*', `http://127.0.0.1:${port}/`, '-H', 'User-Agent:', '-H', 'Accept:'])

  // No Host header at all (HTTP/1.0 allows it): localhost stands in, and a note says so.
  await rawRequest(port, 'GET /nohost HTTP/1.0\r\n\r\n')
  const nohost = curlCommand(await recorded(url, '/nohost'))
  assert.match(nohost.command, /^curl --http1\.0 http:\/\/localhost\/nohost /)
  assert.match(nohost.notes.join(' '), /no Host header/)
})

function h2Request (session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers)
    let text = ''
    req.setEncoding('utf8')
    req.on('data', d => { text += d })
    req.on('end', () => resolve(text))
    req.on('error', reject)
    req.end(body)
  })
}

/** POSTs the body over HTTP/2, then reads back the entry it made from /requests on the same connection. */
async function sendOverH2 (session: ClientHttp2Session, body: Buffer): Promise<any> {
  await h2Request(session, {
    ':method': 'POST', ':path': '/h2/x?y=1', 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'x-quote': "it's"
  }, body)
  const { requests } = JSON.parse(await h2Request(session, { ':path': '/requests?path=/h2/' }))
  return requests[0]
}

test('an HTTP/2 request: the URL from :scheme and :authority, no pseudo-headers, and curl replays it over HTTP/2', async (t) => {
  const { port } = await startEcho(t, { tlsSelfSigned: true, http2: true })
  const body = Buffer.from([0x00, 0xff, 0x27, 0x41])
  const session = http2Connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  // Closed before the server is: the server's close waits for its open sessions.
  let entry
  try {
    entry = await sendOverH2(session, body)
  } finally {
    session.close()
  }
  assert.equal(entry.httpVersion, '2.0')
  assert.ok(entry.rawHeaders.some(([n]: [string]) => n === ':authority'), 'HTTP/2 has no Host header, only :authority')
  const { command } = curlCommand(entry)
  assertArgs(command, [`https://localhost:${port}/h2/x?y=1`, '-H', 'content-type: application/octet-stream', '-H', "x-quote: it's",
    '-H', 'User-Agent:', '-H', 'Accept:', '--data-binary', '@-'], body)
  // The server's certificate is self-signed, so this replay alone adds --insecure.
  const again = await replay(command + ' --insecure')
  assert.equal(again.httpVersion, '2.0', 'curl chose HTTP/2 by ALPN, as the original client did')
  assert.equal(again.method, 'POST')
  assert.equal(again.url, '/h2/x?y=1')
  assert.equal(again.bodySha256, entry.bodySha256)
  assert.deepEqual(comparable(again.rawHeaders), comparable(entry.rawHeaders))
})

test('what cannot be replayed as it was gets a note: multipart files, a body over the history limit, a compressed body, redacted headers', () => {
  const base = { method: 'POST', url: '/n', httpVersion: '1.1', protocol: 'http', bodyEncoding: 'none', body: null }
  const truncated = curlCommand({ ...base, rawHeaders: [['Host', 'h']], bodyTruncated: true, bodyBytes: 5000000 })
  assert.match(truncated.command, /--data-binary @body\.bin$/)
  assert.match(truncated.notes.join(' '), /5000000 bytes.*--history-body-limit/)

  const gz = curlCommand({ ...base, rawHeaders: [['Host', 'h'], ['Content-Encoding', 'gzip'], ['Content-Type', 'text/plain']], bodyEncoding: 'text', body: 'hi', decodedBytes: 2 })
  assert.ok(!/Content-Encoding/i.test(gz.command), gz.command)
  assert.match(gz.notes.join(' '), /arrived compressed/)

  const redacted = curlCommand({ ...base, rawHeaders: [['Host', 'h'], ['Authorization', '[redacted]']] })
  assert.match(redacted.command, /-H 'Authorization: \[redacted\]'/)
  assert.match(redacted.notes.join(' '), /fill them in/)

  const multipart = curlCommand({
    ...base,
    rawHeaders: [['Host', 'h'], ['Content-Type', 'multipart/form-data; boundary=x']],
    bodyEncoding: 'multipart',
    body: { fields: { name: ['ada', '@x'] }, files: [{ field: 'up', filename: 'a;b "c".txt', type: 'text/plain' }] }
  })
  assertArgs(multipart.command, ['http://h/n', '-H', 'User-Agent:', '-H', 'Accept:',
    '--form-string', 'name=ada', '--form-string', 'name=@x', '-F', 'up=@"a;b \\"c\\".txt";type=text/plain'])
  assert.match(multipart.notes.join(' '), /current directory/)
})
