import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadOptions, resolveOptions, helpText, OPTION_NAMES, kebab, formatSize, formatDuration, type OptionName } from '../../src/config/options.ts'
import { getJson, runCli, spawnServer } from '../helper.ts'

test('defaults: 127.0.0.1:8080, 1 MiB bodies, 72 s keep-alive, controls on', () => {
  const o = loadOptions([], {})
  assert.equal(o.port, 8080)
  assert.equal(o.host, '127.0.0.1')
  assert.equal(o.bodyLimit, 1024 * 1024)
  assert.ok(o.keepAliveTimeout >= 72000)
  assert.equal(o.noControls, false)
  assert.equal(o.trustProxy, false)
  assert.ok(o.redactHeaders.includes('authorization'))
})

test('flags beat ECHOSCOPE_* env, which beats PORT/HOST', () => {
  assert.equal(loadOptions([], { PORT: '9000' }).port, 9000)
  assert.equal(loadOptions([], { PORT: '9000', ECHOSCOPE_PORT: '9001' }).port, 9001)
  assert.equal(loadOptions(['--port', '9002'], { PORT: '9000', ECHOSCOPE_PORT: '9001' }).port, 9002)
  assert.equal(loadOptions([], { HOST: '::1' }).host, '::1')
})

test('sizes and durations take units', () => {
  const o = loadOptions(['--body-limit', '10mb', '--max-delay', '2s', '--max-header-size=32kb'], {})
  assert.equal(o.bodyLimit, 10 * 1024 * 1024)
  assert.equal(o.maxDelay, 2000)
  assert.equal(o.maxHeaderSize, 32 * 1024)
})

test('trust-proxy: booleans, hop counts, CIDR lists', () => {
  assert.equal(loadOptions(['--trust-proxy', 'true'], {}).trustProxy, true)
  assert.equal(loadOptions(['--trust-proxy', '2'], {}).trustProxy, 2)
  assert.equal(loadOptions([], { ECHOSCOPE_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1/128,loopback' }).trustProxy, '10.0.0.0/8,127.0.0.1,::1/128,loopback')
  assert.throws(() => loadOptions(['--trust-proxy', '10.0.0.0/33'], {}), /invalid --trust-proxy "10.0.0.0\/33": must be true, false, a hop count/)
  assert.throws(() => loadOptions(['--trust-proxy', 'nginx'], {}), ConfigError)
})

test('repeatable list options take repeated flags or a comma list in env', () => {
  assert.deepEqual(loadOptions(['--redact-headers', 'a', '--redact-headers', 'b'], {}).redactHeaders, ['a', 'b'])
  assert.deepEqual(loadOptions([], { ECHOSCOPE_REDACT_HEADERS: 'x-secret, x-token' }).redactHeaders, ['x-secret', 'x-token'])
  assert.deepEqual(loadOptions([], { ECHOSCOPE_REDACT_HEADERS: '' }).redactHeaders, [])
})

test('--jwt-headers: the gateways\' token headers by default, a list of header names, empty for none', () => {
  assert.deepEqual(loadOptions([], {}).jwtHeaders, ['authorization', 'x-jwt-assertion', 'cf-access-jwt-assertion', 'x-amzn-oidc-data', 'x-forwarded-access-token', 'x-auth-request-access-token'])
  assert.deepEqual(loadOptions(['--jwt-headers', 'x-a', '--jwt-headers', 'X-B,authorization'], {}).jwtHeaders, ['x-a', 'X-B', 'authorization'])
  assert.deepEqual(loadOptions([], { ECHOSCOPE_JWT_HEADERS: 'x-user-jwt' }).jwtHeaders, ['x-user-jwt'])
  assert.deepEqual(loadOptions(['--jwt-headers', ''], {}).jwtHeaders, [])
  assert.throws(() => loadOptions(['--jwt-headers', 'bad header'], {}), { name: 'ConfigError', message: 'invalid --jwt-headers "bad header": must be a comma-separated list of header names' })
  assert.throws(() => loadOptions([], { ECHOSCOPE_JWT_HEADERS: 'x-ok,x:no' }), { message: 'invalid ECHOSCOPE_JWT_HEADERS "x-ok,x:no": must be a comma-separated list of header names' })
  assert.throws(() => resolveOptions({ jwtHeaders: ['x y'] }), { message: 'invalid option jwtHeaders "x y": must be a comma-separated list of header names' })
})

test('--cors: off by default; * alone or origins as browsers send them', () => {
  assert.deepEqual(loadOptions([], {}).cors, [])
  assert.deepEqual(loadOptions(['--cors', '*'], {}).cors, ['*'])
  assert.deepEqual(loadOptions(['--cors', 'https://app.example.com', '--cors', 'http://localhost:3000'], {}).cors, ['https://app.example.com', 'http://localhost:3000'])
  assert.deepEqual(loadOptions([], { ECHOSCOPE_CORS: 'https://a.example, http://[::1]:8080' }).cors, ['https://a.example', 'http://[::1]:8080'])
  const allowed = '* alone, or a comma-separated list of origins as browsers send them, like https://app.example.com or http://localhost:3000 (http or https, lower case, no path, no default port)'
  assert.throws(() => loadOptions(['--cors', 'app.example.com'], {}), { message: `invalid --cors "app.example.com": must be ${allowed}` })
  // Each of these never equals a browser's Origin header, so it would silently match nothing.
  for (const bad of ['https://app.example.com/', 'https://app.example.com/path', 'https://APP.example.com', 'https://app.example.com:443', 'ftp://files.example.com', '*,https://app.example.com', 'null']) {
    assert.throws(() => loadOptions(['--cors', bad], {}), { message: `invalid --cors ${JSON.stringify(bad)}: must be ${allowed}` }, bad)
  }
  assert.throws(() => loadOptions([], { ECHOSCOPE_CORS: 'https://a.example,*' }), /^ConfigError: invalid ECHOSCOPE_CORS "https:\/\/a.example,\*": must be \* alone/)
  assert.throws(() => resolveOptions({ cors: ['https://a.example/'] }), /^ConfigError: invalid option cors "https:\/\/a.example\/": must be \* alone/)
})

test('bad values name the option, the value and what is allowed', () => {
  assert.throws(() => loadOptions(['--port', 'abc'], {}), { message: 'invalid --port "abc": must be an integer from 0 to 65535' })
  assert.throws(() => loadOptions([], { PORT: '70000' }), { message: 'invalid PORT "70000": must be an integer from 0 to 65535' })
  assert.throws(() => loadOptions([], { ECHOSCOPE_LOG_LEVEL: 'loud' }), { message: 'invalid ECHOSCOPE_LOG_LEVEL "loud": must be one of: fatal, error, warn, info, debug, trace, silent' })
  assert.throws(() => loadOptions(['--body-limit', '5 potatoes'], {}), { message: 'invalid --body-limit "5 potatoes": must be a size from 1 byte to 1gb (bytes, or a number with kb, mb or gb, like 64kb)' })
  assert.throws(() => loadOptions(['--system-prefix', 'docs/'], {}), /invalid --system-prefix "docs\/": must be empty or a path/)
  assert.throws(() => loadOptions(['--no-controls=maybe'], {}), ConfigError)
  assert.throws(() => loadOptions([], { ECHOSCOPE_NO_CONTROLS: 'maybe' }), /invalid ECHOSCOPE_NO_CONTROLS "maybe": must be true or false/)
  assert.throws(() => loadOptions(['--prot', '1'], {}), { message: 'unknown option --prot (see echoscope --help)' })
  assert.throws(() => loadOptions(['--port'], {}), { message: 'invalid --port: needs a value (an integer from 0 to 65535)' })
  assert.throws(() => loadOptions(['--port', '--host', '::1'], {}), { message: 'invalid --port: needs a value (an integer from 0 to 65535)' })
  assert.throws(() => loadOptions(['--max-delay', '-5'], {}), /^ConfigError: invalid --max-delay "-5": must be a duration from 0 to 1h/)
  assert.throws(() => loadOptions(['--tcp-framing', 'lines'], {}), { message: 'invalid --tcp-framing "lines": must be one of: none, length' })
  assert.throws(() => loadOptions(['8080'], {}), { message: 'unexpected argument "8080" (see echoscope --help)' })
  assert.throws(() => loadOptions(['-p', '1'], {}), { message: 'unknown option -p (see echoscope --help)' })
  assert.throws(() => loadOptions(['--headers-timeout', '90s', '--request-timeout', '1m'], {}), { message: 'invalid --headers-timeout 90s: must not exceed --request-timeout (1m)' })
})

test('options in code are checked the same way, unknown keys included', () => {
  assert.throws(() => resolveOptions({ port: -1 }), { message: 'invalid option port -1: must be an integer from 0 to 65535' })
  assert.throws(() => resolveOptions({ bodyLimt: 5 } as never), /unknown option bodyLimt/)
  assert.equal(resolveOptions({ trustProxy: ['127.0.0.1', '10.0.0.0/8'] as never }).trustProxy, '127.0.0.1,10.0.0.0/8')
})

test('the CLI prints one line and exits non-zero on a bad value, no stack trace', async () => {
  const r = await runCli(['--port', 'eighty'])
  assert.equal(r.code, 2)
  assert.equal(r.stderr, 'echoscope: invalid --port "eighty": must be an integer from 0 to 65535\n')
  const e = await runCli([], { ECHOSCOPE_MAX_DELAY: '-5' })
  assert.equal(e.code, 2)
  assert.equal(e.stderr.trim().split('\n').length, 1)
  assert.match(e.stderr, /ECHOSCOPE_MAX_DELAY "-5"/)
  const c = await runCli(['--cors', 'https://app.example.com/'])
  assert.equal(c.code, 2)
  assert.match(c.stderr, /^echoscope: invalid --cors "https:\/\/app\.example\.com\/": must be \* alone, or a comma-separated list of origins[^\n]*\n$/)
})

test('npx echoscope --help and --version', async () => {
  const h = await runCli(['--help'])
  assert.equal(h.code, 0)
  assert.match(h.stdout, /\n {2}--body-limit <size> +largest request body/)
  assert.match(h.stdout, /ECHOSCOPE_BODY_LIMIT/)
  // the diff subcommand: in the usage, and described under Commands at the end
  assert.equal(h.stdout.split('echoscope diff URL [options]').length - 1, 2)
  assert.match(h.stdout, /Commands:\n {2}echoscope diff URL \[options\] +what did the gateway change\?.*\n {2}echoscope probe URL \[options\] +what are the gateway's limits\?.*\n(?: .*\n)? {2}echoscope test FILE \[options\] +does the gateway keep its route contracts\?.*\n(?: .*\n)? {2}echoscope healthcheck \[options\] +exit 0 when.*\n.*\n$/)
  const v = await runCli(['--version'])
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/)
})

test('a port in use is one clear line', async (t) => {
  const { createServer } = await import('node:net')
  const blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  t.after(() => blocker.close())
  const port = (blocker.address() as { port: number }).port
  const r = await runCli(['--port', String(port), '--log-level', 'silent'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^echoscope: cannot listen: address already in use .*choose another --port\n$/)
})

test('boolean flags take --flag, --flag=false/true and --no-flag', () => {
  assert.equal(loadOptions(['--log-headers'], {}).logHeaders, true)
  assert.equal(loadOptions(['--log-requests=false'], {}).logRequests, false)
  assert.equal(loadOptions(['--no-log-requests'], {}).logRequests, false)
  assert.equal(loadOptions(['--no-metrics'], {}).metrics, false)
  assert.equal(loadOptions(['--no-controls'], {}).noControls, true)
  assert.equal(loadOptions(['--no-controls=false'], {}).noControls, false)
  assert.throws(() => loadOptions(['--metrics=maybe'], {}), { message: 'invalid --metrics "maybe": must be true or false (also yes/no, on/off, 1/0)' })
  assert.throws(() => loadOptions(['--no-metrics=false'], {}), { message: 'invalid --no-metrics=false: --no-metrics takes no value (use --metrics=false)' })
})

test('sizes and durations are written in the units people type', () => {
  assert.equal(formatSize(1048576), '1mb')
  assert.equal(formatSize(16384), '16kb')
  assert.equal(formatSize(10 * 1024 * 1024), '10mb')
  assert.equal(formatSize(1024 * 1024 * 1024), '1gb')
  assert.equal(formatSize(1000), '1000')
  assert.equal(formatSize(0), '0')
  assert.equal(formatDuration(72000), '72s')
  assert.equal(formatDuration(300000), '5m')
  assert.equal(formatDuration(3600000), '1h')
  assert.equal(formatDuration(1500), '1500ms')
  assert.equal(formatDuration(0), '0')
})

/** The help entry of one option: its first line (usage) and the whole text, wrapped lines joined. */
function helpEntries (): Map<string, { usage: string, text: string }> {
  const entries = new Map<string, { usage: string, text: string }>()
  let current: { usage: string, text: string } | undefined
  for (const line of helpText().split('\n')) {
    const m = /^ {2}(--[a-z0-9-]+(?: <[a-z]+>(?:\.\.\.)?)?)(?: +(.*))?$/.exec(line)
    if (m !== null) {
      current = { usage: m[1], text: m[2] ?? '' }
      entries.set(m[1].split(' ')[0], current)
    } else if (current !== undefined && /^ {20,}\S/.test(line)) {
      current.text += ' ' + line.trim()
    } else {
      current = undefined
    }
  }
  return entries
}

test('--help: every line fits in 100 columns', () => {
  for (const line of helpText().split('\n')) assert.ok(line.length <= 100, `${line.length} columns: ${line}`)
})

test('--help: every option is shown with the kind of its argument and its real default', () => {
  const entries = helpEntries()
  const defaults = loadOptions([], {})
  const expectedArg: Partial<Record<OptionName, string>> = {
    port: '<port>',
    host: '<address>',
    bodyLimit: '<size>',
    maxDelay: '<duration>',
    redactHeaders: '<list>',
    tcpPort: '<port>...',
    udpPort: '<port>...',
    logLevel: '<level>',
    trustProxy: '<value>',
    tlsCert: '<file>',
    tlsKey: '<file>',
    tlsCa: '<file>',
    redisUrl: '<url>',
    adminToken: '<token>',
    httpsPort: '<port>',
    metricsPort: '<port>'
  }
  for (const name of OPTION_NAMES) {
    const value = defaults[name]
    // --trust-proxy defaults to false but takes more than a switch
    const isBool = typeof value === 'boolean' && name !== 'trustProxy'
    const flag = isBool && value ? `--no-${kebab(name)}` : `--${kebab(name)}`
    const entry = entries.get(flag)
    assert.ok(entry !== undefined, `--help lacks ${flag}`)
    if (isBool) {
      assert.equal(entry.usage, flag, `a switch takes no <value>: ${entry.usage}`)
      // a default-on switch is shown by the flag that turns it off, never as the positive flag too
      if (value) assert.ok(!entries.has(`--${kebab(name)}`), `--${kebab(name)} shown beside ${flag}`)
      assert.match(entry.text, value ? /\[on by default; this turns it off\]$/ : /\[default: off\]$/, flag)
      continue
    }
    assert.match(entry.usage, / <[a-z]+>/, `${flag} names its argument`)
    if (expectedArg[name] !== '<value>') assert.doesNotMatch(entry.usage, /<value>/, `${flag} says which kind of value`)
    if (expectedArg[name] !== undefined) assert.equal(entry.usage, `${flag} ${expectedArg[name]}`)
    const m = /\[default: ([^\]]*)\]$/.exec(entry.text)
    assert.ok(m !== null, `${flag} shows its default: ${entry.text}`)
    const shown = m[1]
    assert.ok(!/\d{5,}/.test(shown) || name === 'wsMaxConnections', `${flag} default ${shown} is in human units`)
    if (value === '' || (Array.isArray(value) && value.length === 0)) {
      // an empty default is said in words, once
      assert.match(shown, /^(none|the host name)/, `${flag} empty default: ${shown}`)
      assert.doesNotMatch(entry.text, /\(empty\)|default: .*default/, flag)
      continue
    }
    // what --help shows as the default, typed back as the flag, is the default
    assert.deepEqual(loadOptions([flag, shown], {})[name], value, `${flag} ${shown}`)
  }
})

test('--help: the defaults people look for, in their units', () => {
  const text = [...helpEntries().values()].map(e => `${e.usage} ${e.text}`)
  const defaultOf = (usage: string) => /\[default: ([^\]]*)\]$/.exec(text.find(t => t.startsWith(usage + ' ')) ?? '')?.[1]
  assert.equal(defaultOf('--body-limit <size>'), '1mb')
  assert.equal(defaultOf('--max-header-size <size>'), '16kb')
  assert.equal(defaultOf('--max-decoded-size <size>'), '10mb')
  assert.equal(defaultOf('--history-body-limit <size>'), '64kb')
  assert.equal(defaultOf('--max-delay <duration>'), '30s')
  assert.equal(defaultOf('--keep-alive-timeout <duration>'), '72s')
  assert.equal(defaultOf('--request-timeout <duration>'), '5m')
  assert.equal(defaultOf('--shutdown-delay <duration>'), '0')
  assert.equal(defaultOf('--instance <name>'), 'the host name')
  assert.match(text.find(t => t.startsWith('--log-level <level>')) ?? '', /one of: fatal, error, warn, info, debug, trace, silent/)
})

test('--help: options under headings, the environment explained once at the top', () => {
  const help = helpText()
  const headings = [...help.matchAll(/^([A-Z][A-Za-z0-9/ ]+):$/gm)].map(m => m[1])
  assert.deepEqual(headings, ['Server', 'Limits', 'Logging', 'WebSocket', 'TCP/UDP echo', 'History', 'TLS/HTTP2', 'Rate limit', 'Default response', 'Metrics/admin', 'Other', 'Commands'])
  assert.ok(help.indexOf('ECHOSCOPE_') < help.indexOf('Server:'))
  assert.equal(help.split('ECHOSCOPE_').length - 1, 2, 'ECHOSCOPE_ explained once, with one example')
})

test('a switch takes true/false/yes/no/on/off/1/0 as the next argument, and nothing else', () => {
  assert.equal(loadOptions(['--metrics', 'false'], {}).metrics, false)
  assert.equal(loadOptions(['--metrics', 'OFF'], {}).metrics, false)
  assert.equal(loadOptions(['--no-metrics', '--metrics', 'yes'], {}).metrics, true)
  assert.equal(loadOptions(['--log-headers', '0'], {}).logHeaders, false)
  assert.equal(loadOptions(['--no-controls', 'on'], {}).noControls, true)
  const o = loadOptions(['--log-headers', '--port', '1'], {})
  assert.equal(o.logHeaders, true)
  assert.equal(o.port, 1)
  assert.throws(() => loadOptions(['--log-headers', 'maybe'], {}), { message: 'unexpected argument "maybe" (see echoscope --help)' })
  assert.throws(() => loadOptions(['--no-metrics', 'false'], {}), { message: 'unexpected argument "false" (see echoscope --help)' })
})

test('echoscope --metrics false serves no metrics: /metrics is echoed like any path', async (t) => {
  const on = await spawnServer([])
  t.after(() => on.child.kill())
  const metrics = await fetch(`http://127.0.0.1:${on.port}/metrics`)
  assert.match(await metrics.text(), /^# HELP /m)
  const off = await spawnServer(['--metrics', 'false', '--log-level', 'info'])
  t.after(() => off.child.kill())
  const echo = await getJson(fetch(`http://127.0.0.1:${off.port}/metrics`))
  assert.equal(echo.path, '/metrics')
  assert.equal(echo.method, 'GET')
})
