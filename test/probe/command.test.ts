// `echoscope probe` directly against echoscope (every limit found is echoscope's own) and its usage errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { freePort, runCli, startEcho } from '../helper.ts'

test('straight at echoscope: its own head and delay limits are named with the flags that raise them', async (t) => {
  const echo = await startEcho(t, { maxHeaderSize: 8 * 1024, maxDelay: 300 })
  const r = await runCli(['probe', echo.url + '/x', '--json', '--only', 'header,url,timeout', '--max-time', '1s'], {}, 20000)
  assert.equal(r.code, 0, r.stderr)
  const p = JSON.parse(r.stdout)
  for (const k of ['header', 'urlLength']) {
    assert.deepEqual(p[k].refusedBy, { by: 'echoscope', status: 431 }, k)
    assert.equal(p[k].echoscopeLimit, '--max-header-size')
    assert.ok(p[k].bytes > 7 * 1024 && p[k].bytes <= 8 * 1024, `${k}: ${p[k].bytes}`)
  }
  assert.equal(p.timeout.echoscopeLimit, '--max-delay')
  assert.equal(p.timeout.refusedAtMs, null)
  assert.ok(p.timeout.ms >= 280 && p.timeout.ms < 900, String(p.timeout.ms))
  assert.equal(p.websocket, undefined)

  const table = await runCli(['probe', echo.url + '/x', '--only', 'header,timeout', '--max-time', '1s'], {}, 20000)
  assert.equal(table.code, 0, table.stderr)
  assert.match(table.stdout, /one header value .*echoscope's own limit .*431 from echoscope itself.*raise --max-header-size/)
  assert.match(table.stdout, /upstream read timeout +more than 0\.\d+ s, echoscope's own cap .*raise --max-delay/)
  assert.match(table.stdout, /HTTP versions +client side HTTP\/1\.1, echoscope side HTTP\/1\.1 \(http\)/)
})

test('a URL that does not lead to echoscope exits 1 naming the answer', async (t) => {
  const other = createServer((_req, res) => { res.statusCode = 404; res.end('no') })
  await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
  t.after(() => other.close())
  const { port } = other.address() as { port: number }
  const r = await runCli(['probe', `http://127.0.0.1:${port}/`])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^echoscope probe: .* does not lead to an echoscope echo: 404 from the gateway \(no x-echoscope header\)\n$/)
})

test('bad input: one line naming the option, exit 2', async () => {
  const closed = await freePort()
  const cases: [string[], RegExp][] = [
    [[], /^echoscope probe: give exactly one URL/],
    [['not a url'], /^echoscope probe: invalid URL "not a url"\n$/],
    [['ftp://x/'], /^echoscope probe: invalid URL "ftp:\/\/x\/": must be http or https\n$/],
    [['http://x/', '--max-time', '10'], /^echoscope probe: invalid --max-time "10": must be a duration from 100ms to 60m, like 500ms, 10s or 1m\n$/],
    [['http://x/', '--max-time', '2h'], /invalid --max-time "2h"/],
    [['http://x/', '--timeout', '0'], /^echoscope probe: invalid --timeout "0": must be a positive number of milliseconds\n$/],
    [['http://x/', '--only', 'body,size'], /^echoscope probe: invalid --only "body,size": must be a comma-separated list of body, headers, header, lines, url, buffering, timeout, websocket\n$/],
    [['http://x/', '--bogus'], /^echoscope probe: Unknown option '--bogus' \(see echoscope probe --help\)\n$/],
    [[`http://127.0.0.1:${closed}/`], /^echoscope probe: cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED/]
  ]
  for (const [args, message] of cases) {
    const r = await runCli(['probe', ...args])
    assert.equal(r.code, 2, args.join(' '))
    assert.match(r.stderr, message, args.join(' '))
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1)
  }
  const help = await runCli(['probe', '--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^Usage: echoscope probe URL \[options\]/)
  assert.match(help.stdout, /--max-time DURATION/)
})
