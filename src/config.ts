// ONE schema for every option. It drives the CLI flags, the ECHOSCOPE_* environment variables, the
// embedded plugin's options, --help and the validation messages, so the four can never disagree.
import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'

const KiB = 1024
const MiB = 1024 * KiB

/** Extra facts the schema carries for the CLI/env layer. */
interface OptionMeta {
  /** how a raw string becomes a value: integers may carry size units, lists split on commas */
  kind: 'int' | 'size' | 'duration' | 'bool' | 'string' | 'enum' | 'list' | 'portList' | 'trustProxy'
  /** a short human phrase for "what is allowed", used in error messages and --help */
  allowed: string
  /** extra env vars honoured besides ECHOSCOPE_* (PORT, HOST) */
  env?: string[]
}

function opt<T extends TSchema> (schema: T, meta: OptionMeta): T {
  return Object.assign(schema, { 'x-echoscope': meta })
}

const int = (min: number, max: number, def: number, description: string, kind: 'int' | 'size' | 'duration' = 'int') => {
  const unit = kind === 'size' ? ' bytes (or with kb/mb/gb)' : kind === 'duration' ? ' ms (or with s/m)' : ''
  return opt(Type.Integer({ minimum: min, maximum: max, default: def, description }),
    { kind, allowed: `an integer from ${min} to ${max}${unit}` })
}

const bool = (def: boolean, description: string) =>
  opt(Type.Boolean({ default: def, description }), { kind: 'bool', allowed: 'true or false' })

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const DEFAULT_REDACTED_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key',
  'x-auth-token', 'x-amz-security-token', 'x-csrf-token', 'x-xsrf-token'
]

export const OptionsSchema = Type.Object({
  port: opt(Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port for HTTP (0 picks a free one)' }),
    { kind: 'int', allowed: 'an integer from 0 to 65535', env: ['PORT'] }),
  host: opt(Type.String({ minLength: 1, default: '127.0.0.1', description: 'address to listen on (0.0.0.0 or :: for every interface)' }),
    { kind: 'string', allowed: 'an IP address or host name', env: ['HOST'] }),
  bodyLimit: int(1, 1024 * MiB, 1 * MiB, 'largest request body accepted, on the wire; larger gets 413', 'size'),
  maxDecodedSize: int(1, 1024 * MiB, 10 * MiB, 'largest body after gzip/deflate/br decoding; larger gets 413', 'size'),
  maxDecodeRatio: int(1, 100000, 100, 'largest decoded/wire size ratio of a compressed body; larger gets 413'),
  maxHeaderSize: int(1024, 1 * MiB, 16 * KiB, 'largest request head (request line + headers); larger gets 431', 'size'),
  maxDelay: int(0, 3600000, 30000, 'cap on the x-echo-delay control', 'duration'),
  trustProxy: opt(Type.Union([Type.Boolean(), Type.Integer({ minimum: 0 }), Type.String()], {
    default: false,
    description: 'which peers may set X-Forwarded-For: false, true, a hop count, or a comma list of IPs/CIDRs (also loopback, linklocal, uniquelocal)'
  }), { kind: 'trustProxy', allowed: 'true, false, a hop count, or a comma-separated list of IP addresses/CIDR ranges' }),
  systemPrefix: opt(Type.String({ default: '', pattern: '^(/[A-Za-z0-9._~!$&\'()*+,;=:@-]+)*$', description: 'path prefix for the system paths (/healthz, /docs, ...), e.g. /_' }),
    { kind: 'string', allowed: 'empty or a path like /_ or /echoscope (no trailing slash)' }),
  noControls: bool(false, 'ignore every x-echo-*/echo_* response control (strict mode for public instances)'),
  instance: opt(Type.String({ default: '', description: 'instance name reported in server.instance (default: the host name)' }),
    { kind: 'string', allowed: 'any text' }),
  logLevel: opt(Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info', description: 'log level' }),
    { kind: 'enum', allowed: LOG_LEVELS.join(', ') }),
  logFormat: opt(Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto', description: 'log format: pretty on a TTY when auto' }),
    { kind: 'enum', allowed: 'auto, json, pretty' }),
  logRequests: bool(true, 'log one line per request'),
  logHeaders: bool(false, 'include request headers in the request log line (redacted per --redact-headers)'),
  redactHeaders: opt(Type.Array(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), {
    default: DEFAULT_REDACTED_HEADERS,
    description: 'headers whose values are hidden in logs (empty to log them all)'
  }), { kind: 'list', allowed: 'a comma-separated list of header names' }),
  keepAliveTimeout: int(0, 3600000, 72000, 'idle keep-alive timeout; keep above your load balancer\'s (AWS ALB: 60 s)', 'duration'),
  requestTimeout: int(0, 3600000, 300000, 'time allowed to receive a whole request (0 = none)', 'duration'),
  headersTimeout: int(0, 3600000, 60000, 'time allowed to receive the request head', 'duration'),
  shutdownDelay: int(0, 3600000, 0, 'on SIGTERM/SIGINT, keep serving this long with /readyz failing before closing (give load balancers time to notice)', 'duration'),
  shutdownTimeout: int(0, 3600000, 10000, 'on SIGTERM/SIGINT, how long in-flight requests may take before exit', 'duration'),
  maxStreams: int(0, 100000, 100, 'concurrent SSE streams (format=sse); more get 503'),
  maxStreamSeconds: int(0, 86400, 60, 'cap on echo_stream, the seconds an SSE echo keeps ticking'),

  // WebSocket echo (/ws and an upgrade on any non-system path)
  wsMaxMessageSize: int(1, 256 * MiB, 1 * MiB, 'largest WebSocket message; larger closes with 1009', 'size'),
  wsIdleTimeout: int(0, 86400000, 300000, 'close a WebSocket with no message either way for this long (0 = never)', 'duration'),
  wsPingInterval: int(0, 3600000, 30000, 'ping every WebSocket this often; a peer that misses a pong is dropped (0 = off)', 'duration'),
  wsMaxConnections: int(0, 1000000, 10000, 'concurrent WebSockets; more get 503 on upgrade'),
  wsMaxBufferedBytes: int(1024, 1024 * MiB, 4 * MiB, 'bytes queued to a client that does not read before it is closed with 1008', 'size'),
  wsMaxMessageRate: int(0, 1000000, 1000, 'messages per second per WebSocket before it is closed with 1008 (0 = no limit)'),
  wsAllowedOrigins: opt(Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Origin values allowed to open a WebSocket (empty: any origin)' }),
    { kind: 'list', allowed: 'a comma-separated list of origins like https://app.example.com' }),

  // Raw TCP and UDP echo (off unless a port is given)
  tcpPort: opt(Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { default: [], description: 'raw TCP echo port (RFC 862), repeatable' }),
    { kind: 'portList', allowed: 'port numbers from 0 to 65535 (repeat the flag or use a comma list)' }),
  tcpFraming: opt(Type.Union([Type.Literal('none'), Type.Literal('length')], { default: 'none', description: 'none: echo bytes as they come; length: [4-byte big-endian length][payload] frames' }),
    { kind: 'enum', allowed: 'none, length' }),
  tcpMaxFrameSize: int(1, 1024 * MiB, 1 * MiB, 'largest length-prefixed TCP frame; larger closes the connection', 'size'),
  tcpMaxConnections: int(0, 1000000, 1000, 'concurrent TCP echo connections per listener; more are closed at once (0 = no limit)'),
  tcpTls: bool(false, 'serve the TCP echo over TLS with the HTTPS certificate (--tls-cert/--tls-key or --tls-self-signed)'),
  tcpIdleTimeout: int(0, 86400000, 300000, 'close a TCP echo connection idle this long (0 = never)', 'duration'),
  udpPort: opt(Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { default: [], description: 'UDP echo port, repeatable' }),
    { kind: 'portList', allowed: 'port numbers from 0 to 65535 (repeat the flag or use a comma list)' }),
  udpMaxDatagramSize: int(1, 65507, 8192, 'largest UDP datagram echoed; larger ones are dropped', 'size'),
  udpRateLimit: int(0, 1000000, 100, 'datagrams per second echoed to one source address; the rest are dropped (0 = no limit)'),

  // Request history (/requests, /inspect)
  historySize: int(0, 100000, 100, 'recent echo requests kept for /requests and /inspect (0 = off)'),
  historyBodyLimit: int(0, 64 * MiB, 64 * KiB, 'largest body kept in the history; larger bodies are kept as size and digest only', 'size'),

  // TLS and HTTP/2
  tlsCert: opt(Type.String({ default: '', description: 'PEM certificate (chain) file: serve HTTPS and WSS' }),
    { kind: 'string', allowed: 'a path to a PEM file' }),
  tlsKey: opt(Type.String({ default: '', description: 'PEM private key file for --tls-cert' }),
    { kind: 'string', allowed: 'a path to a PEM file' }),
  tlsCa: opt(Type.String({ default: '', description: 'PEM CA file: ask clients for certificates (mTLS) and report them in `tls`' }),
    { kind: 'string', allowed: 'a path to a PEM file' }),
  tlsSelfSigned: bool(false, 'make a throwaway self-signed certificate at start (localhost, 127.0.0.1, ::1, the host name)'),
  httpsPort: opt(Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: 'serve HTTPS on this port beside plain HTTP on --port (0 = TLS on --port itself when a certificate is given)' }),
    { kind: 'int', allowed: 'an integer from 0 to 65535' }),
  http2: bool(false, 'serve HTTP/2 over TLS, with HTTP/1.1 fallback by ALPN (needs a certificate)'),

  // Rate limit of the echo (HTTP requests and WebSocket upgrades; system paths are exempt)
  rateLimitMax: int(0, 100000000, 6000, 'requests per window per client before 429 (0 = no limit)'),
  rateLimitWindow: int(100, 86400000, 60000, 'rate limit window', 'duration'),
  rateLimitKey: opt(Type.String({ default: 'ip', pattern: '^(ip|header:[!#$%&\'*+.^_`|~0-9A-Za-z-]+)$', description: 'what identifies a client: ip (after --trust-proxy) or header:NAME' }),
    { kind: 'string', allowed: 'ip or header:NAME (e.g. header:x-api-key)' }),
  rateLimitAllow: opt(Type.Array(Type.String({ minLength: 1 }), { default: ['loopback', 'uniquelocal'], description: 'clients never limited: IPs, CIDR ranges, loopback/linklocal/uniquelocal, or header values (empty: limit everyone)' }),
    { kind: 'list', allowed: 'a comma-separated list of IP addresses, CIDR ranges, loopback/linklocal/uniquelocal, or header values' }),
  rateLimitHeaders: bool(false, 'send the RateLimit headers on every counted echo, not only on the 429'),
  redisUrl: opt(Type.String({ default: '', pattern: '^(|rediss?://.+)$', description: 'Redis for the shared rate limit (and history), e.g. redis://127.0.0.1:6379/0' }),
    { kind: 'string', allowed: 'empty or a redis:// or rediss:// URL' }),

  // Metrics and admin
  metrics: bool(true, 'serve Prometheus metrics at /metrics'),
  metricsPort: opt(Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: 'serve /metrics on this port only, not on the main port (0 = on the main port)' }),
    { kind: 'int', allowed: 'an integer from 0 to 65535' }),
  adminToken: opt(Type.String({ default: '', description: 'bearer token required for /metrics, /requests and /inspect (empty = open)' }),
    { kind: 'string', allowed: 'any text' })
})

export type Options = Static<typeof OptionsSchema>
export type OptionName = keyof Options

/** A bad option value. Its message is the single line the CLI prints. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const properties = OptionsSchema.properties as unknown as Record<OptionName, TSchema & { 'x-echoscope': OptionMeta, default: unknown, description: string }>
export const OPTION_NAMES = Object.keys(properties) as OptionName[]

export const kebab = (name: string) => name.replace(/[A-Z]/g, c => '-' + c.toLowerCase())
export const envName = (name: string) => 'ECHOSCOPE_' + kebab(name).replace(/-/g, '_').toUpperCase()

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: KiB, kb: KiB, kib: KiB, m: MiB, mb: MiB, mib: MiB, g: 1024 * MiB, gb: 1024 * MiB, gib: 1024 * MiB }
const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60000, h: 3600000 }

function parseNumber (raw: string, units: Record<string, number> | null): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw)
  if (m === null) return NaN
  const unit = m[2].toLowerCase()
  if (units === null) return unit === '' && !m[1].includes('.') ? Number(m[1]) : NaN
  const factor = units[unit]
  if (factor === undefined) return NaN
  const n = Number(m[1]) * factor
  return Number.isInteger(n) ? n : NaN
}

const TRUST_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal'])

function validCidr (entry: string): boolean {
  if (TRUST_KEYWORDS.has(entry)) return true
  const [addr, bits, extra] = entry.split('/')
  if (extra !== undefined) return false
  const family = isIP(addr)
  if (family === 0) return false
  if (bits === undefined) return true
  if (!/^\d{1,3}$/.test(bits)) return false
  return Number(bits) <= (family === 4 ? 32 : 128)
}

/** Turn one raw string (flag or env) into the option's value, or undefined when it cannot be read. */
function coerce (name: OptionName, raw: string): unknown {
  const meta = properties[name]['x-echoscope']
  switch (meta.kind) {
    case 'int': return parseNumber(raw, null)
    case 'size': return parseNumber(raw, SIZE_UNITS)
    case 'duration': return parseNumber(raw, DURATION_UNITS)
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (v === 'true' || v === '1' || v === 'yes' || v === 'on' || v === '') return true
      if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false
      return undefined
    }
    case 'list': return raw.split(',').map(s => s.trim()).filter(s => s !== '')
    case 'portList': return raw.split(',').map(s => s.trim()).filter(s => s !== '').map(s => /^\d+$/.test(s) ? Number(s) : NaN)
    case 'trustProxy': {
      const v = raw.trim().toLowerCase()
      if (v === 'true') return true
      if (v === 'false' || v === '') return false
      if (/^\d+$/.test(v)) return Number(v)
      return raw.split(',').map(s => s.trim()).filter(s => s !== '').join(',')
    }
    default: return raw
  }
}

function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? JSON.stringify(value.join(',')) : String(value)
}

function invalid (name: OptionName, value: unknown, source: 'flag' | 'env' | 'option', envVar?: string): ConfigError {
  const label = source === 'flag' ? '--' + kebab(name) : source === 'env' ? (envVar ?? envName(name)) : `option ${name}`
  return new ConfigError(`invalid ${label} ${describe(value)}: must be ${properties[name]['x-echoscope'].allowed}`)
}

/** Checks one value against its schema, including rules JSON Schema cannot say (CIDR lists, prefixes). */
function check (name: OptionName, value: unknown): boolean {
  if (value === undefined || (typeof value === 'number' && Number.isNaN(value))) return false
  if (Array.isArray(value) && value.some(v => typeof v === 'number' && Number.isNaN(v))) return false
  if (!Value.Check(properties[name], value)) return false
  if (name === 'trustProxy' && typeof value === 'string') {
    return value.split(',').every(s => validCidr(s.trim()))
  }
  return true
}

/**
 * Validate and complete options given in code (embedded plugin, buildServer). Unknown keys are an
 * error too: a typo must not silently fall back to a default.
 */
export function resolveOptions (input: Partial<Options> & Record<string, unknown> = {}, known: ReadonlySet<string> = new Set()): Options {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(input)) {
    if (!(key in properties) && !known.has(key)) {
      throw new ConfigError(`unknown option ${key}: see echoscope --help for the options`)
    }
  }
  for (const name of OPTION_NAMES) {
    let value: unknown = input[name]
    if (value === undefined) {
      value = structuredClone(properties[name].default)
    } else if (name === 'trustProxy' && Array.isArray(value)) {
      value = value.join(',')
    }
    if (!check(name, value)) throw invalid(name, value, 'option')
    out[name] = value
  }
  const o = out as Options
  const tls = o.tlsCert !== '' || o.tlsSelfSigned
  if ((o.tlsCert === '') !== (o.tlsKey === '')) throw new ConfigError('invalid tls options: --tls-cert and --tls-key go together')
  if (o.tlsCert !== '' && o.tlsSelfSigned) throw new ConfigError('invalid tls options: use either --tls-cert/--tls-key or --tls-self-signed')
  if (!tls && o.httpsPort > 0) throw new ConfigError(`invalid --https-port ${o.httpsPort}: needs --tls-cert/--tls-key or --tls-self-signed`)
  if (!tls && o.http2) throw new ConfigError('invalid --http2: HTTP/2 needs TLS (--tls-cert/--tls-key or --tls-self-signed); browsers do not speak it in clear text')
  if (!tls && o.tcpTls) throw new ConfigError('invalid --tcp-tls: needs a certificate (--tls-cert/--tls-key or --tls-self-signed)')
  if (!tls && o.tlsCa !== '') throw new ConfigError('invalid --tls-ca: client certificates need TLS (--tls-cert/--tls-key or --tls-self-signed)')
  // Node refuses a head timeout longer than the whole-request timeout.
  if (o.requestTimeout > 0 && o.headersTimeout > o.requestTimeout) {
    throw new ConfigError(`invalid headers-timeout ${o.headersTimeout}: must not exceed request-timeout (${o.requestTimeout})`)
  }
  return o
}

/** Options from argv (flags) over env (ECHOSCOPE_*, PORT, HOST) over defaults. */
export function loadOptions (argv: string[], env: NodeJS.ProcessEnv): Options {
  const spec: Record<string, { type: 'string' | 'boolean', multiple?: boolean }> = {}
  for (const name of OPTION_NAMES) {
    const kind = properties[name]['x-echoscope'].kind
    spec[kebab(name)] = { type: kind === 'bool' ? 'boolean' : 'string', multiple: kind === 'list' || kind === 'portList' }
  }
  // Booleans also take `--flag=false` / `--flag=true` and `--no-flag`, which parseArgs alone refuses.
  const boolOverrides: Record<string, boolean> = {}
  const args: string[] = []
  for (const arg of argv) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg)
    const negated = m !== null && m[2] === undefined && m[1].startsWith('no-') && spec[m[1]] === undefined ? m[1].slice(3) : undefined
    const name = negated ?? m?.[1]
    if (m === null || name === undefined || spec[name]?.type !== 'boolean' || (negated === undefined && m[2] === undefined)) {
      args.push(arg)
      continue
    }
    const optName = OPTION_NAMES.find(n => kebab(n) === name) as OptionName
    const value = negated !== undefined ? false : coerce(optName, m[2])
    if (typeof value !== 'boolean') throw invalid(optName, m[2], 'flag')
    boolOverrides[name] = value
  }
  let parsed
  try {
    parsed = parseArgs({ args, options: spec, strict: true, allowPositionals: false })
  } catch (err) {
    // parseArgs's messages are good but long; keep the first sentence and point at --help.
    const msg = (err as Error).message.split('. ')[0].replace(/\.$/, '')
    throw new ConfigError(`${msg} (see echoscope --help)`)
  }
  const values: Record<string, unknown> = {}
  for (const name of OPTION_NAMES) {
    const meta = properties[name]['x-echoscope']
    const flag = boolOverrides[kebab(name)] ?? parsed.values[kebab(name)]
    if (flag !== undefined) {
      const raw = Array.isArray(flag) ? flag.join(',') : flag
      const value = typeof raw === 'boolean' ? raw : coerce(name, raw)
      if (!check(name, value)) throw invalid(name, raw, 'flag')
      values[name] = value
      continue
    }
    for (const envVar of [envName(name), ...(meta.env ?? [])]) {
      const raw = env[envVar]
      if (raw === undefined) continue
      const value = coerce(name, raw)
      if (!check(name, value)) throw invalid(name, raw, 'env', envVar)
      values[name] = value
      break
    }
  }
  return resolveOptions(values)
}

export function helpText (): string {
  const lines = [
    'echoscope — HTTP echo and inspection server',
    '',
    'Usage: echoscope [options]',
    '',
    'Every option is also an environment variable ECHOSCOPE_<NAME> (lists: comma-separated); PORT and HOST work too.',
    'Flags beat environment variables.',
    '',
    'Options:'
  ]
  for (const name of OPTION_NAMES) {
    const p = properties[name]
    const meta = p['x-echoscope']
    const flag = '--' + kebab(name) + (meta.kind === 'bool' ? '' : ' <value>')
    const def = Array.isArray(p.default) ? p.default.join(',') : String(p.default)
    lines.push(`  ${flag.padEnd(30)} ${p.description}`)
    lines.push(`  ${''.padEnd(30)} env ${[envName(name), ...(meta.env ?? [])].join(', ')}; default ${def === '' ? '(empty)' : def}`)
  }
  lines.push('  --help                         show this help', '  --version                      print the version')
  return lines.join('\n')
}
