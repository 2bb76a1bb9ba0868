import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadOptions, resolveOptions, helpText, OPTION_NAMES, kebab, envName } from '../src/config.ts'
import { runCli } from './helper.ts'

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

test('bad values name the option, the value and what is allowed', () => {
  assert.throws(() => loadOptions(['--port', 'abc'], {}), { message: 'invalid --port "abc": must be an integer from 0 to 65535' })
  assert.throws(() => loadOptions([], { PORT: '70000' }), { message: 'invalid PORT "70000": must be an integer from 0 to 65535' })
  assert.throws(() => loadOptions([], { ECHOSCOPE_LOG_LEVEL: 'loud' }), { message: 'invalid ECHOSCOPE_LOG_LEVEL "loud": must be fatal, error, warn, info, debug, trace, silent' })
  assert.throws(() => loadOptions(['--body-limit', '5 potatoes'], {}), /invalid --body-limit "5 potatoes": must be an integer from 1 to \d+ bytes/)
  assert.throws(() => loadOptions(['--system-prefix', 'docs/'], {}), /invalid --system-prefix "docs\/": must be empty or a path/)
  assert.throws(() => loadOptions(['--no-controls=maybe'], {}), ConfigError)
  assert.throws(() => loadOptions([], { ECHOSCOPE_NO_CONTROLS: 'maybe' }), /invalid ECHOSCOPE_NO_CONTROLS "maybe": must be true or false/)
  assert.throws(() => loadOptions(['--prot', '1'], {}), /Unknown option '--prot' \(see echoscope --help\)/)
})

test('options in code are checked the same way, unknown keys included', () => {
  assert.throws(() => resolveOptions({ port: -1 }), { message: 'invalid option port -1: must be an integer from 0 to 65535' })
  assert.throws(() => resolveOptions({ bodyLimt: 5 } as never), /unknown option bodyLimt/)
  assert.equal(resolveOptions({ trustProxy: ['127.0.0.1', '10.0.0.0/8'] as never }).trustProxy, '127.0.0.1,10.0.0.0/8')
})

test('--help lists every option with its env var', () => {
  const help = helpText()
  for (const name of OPTION_NAMES) {
    assert.ok(help.includes('--' + kebab(name)), name)
    assert.ok(help.includes(envName(name)), envName(name))
  }
})

test('the CLI prints one line and exits non-zero on a bad value, no stack trace', async () => {
  const r = await runCli(['--port', 'eighty'])
  assert.equal(r.code, 2)
  assert.equal(r.stderr, 'echoscope: invalid --port "eighty": must be an integer from 0 to 65535\n')
  const e = await runCli([], { ECHOSCOPE_MAX_DELAY: '-5' })
  assert.equal(e.code, 2)
  assert.equal(e.stderr.trim().split('\n').length, 1)
  assert.match(e.stderr, /ECHOSCOPE_MAX_DELAY "-5"/)
})

test('npx echoscope --help and --version', async () => {
  const h = await runCli(['--help'])
  assert.equal(h.code, 0)
  assert.match(h.stdout, /--body-limit <value>/)
  assert.match(h.stdout, /ECHOSCOPE_BODY_LIMIT/)
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

test('README documents every option with its env var', async () => {
  const { readFileSync } = await import('node:fs')
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  for (const name of OPTION_NAMES) {
    assert.ok(readme.includes('`--' + kebab(name) + '`'), `README lacks --${kebab(name)}`)
    assert.ok(readme.includes('`' + envName(name) + '`'), `README lacks ${envName(name)}`)
  }
})

test('boolean flags take --flag, --flag=false/true and --no-flag', () => {
  assert.equal(loadOptions(['--log-headers'], {}).logHeaders, true)
  assert.equal(loadOptions(['--log-requests=false'], {}).logRequests, false)
  assert.equal(loadOptions(['--no-log-requests'], {}).logRequests, false)
  assert.equal(loadOptions(['--no-metrics'], {}).metrics, false)
  assert.equal(loadOptions(['--no-controls'], {}).noControls, true)
  assert.equal(loadOptions(['--no-controls=false'], {}).noControls, false)
  assert.throws(() => loadOptions(['--metrics=maybe'], {}), { message: 'invalid --metrics "maybe": must be true or false' })
})
