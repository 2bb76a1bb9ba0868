// ONE schema for every option. It drives the CLI flags, the ECHOSCOPE_* environment variables, the
// embedded plugin's options, --help and the validation messages, so the four can never disagree.
import { isIP } from 'node:net'
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from 'typebox'
import { Value } from 'typebox/value'
import { FIELD_VALUE, FRAMING_HEADERS, MEDIA_TYPE, TOKEN } from '../http/syntax.ts'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** Extra facts the schema carries for the CLI/env layer. */
export interface OptionMeta {
  /** how a raw string becomes a value: integers may carry size units, lists split on commas, header lists on newlines */
  kind: 'int' | 'size' | 'duration' | 'bool' | 'string' | 'enum' | 'list' | 'headerList' | 'portList' | 'trustProxy'
  /** a short human phrase for "what is allowed", used in error messages, --help and docs/options.md */
  allowed: string
  /** the argument's name in --help (`--port <port>`); by default the kind's */
  arg?: string
  /** the default in words when the value alone says nothing (an empty string, an empty list) */
  defaultText?: string
  /** extra env vars honoured besides ECHOSCOPE_* (PORT, HOST) */
  env?: string[]
}

function opt<T extends TSchema> (schema: T, meta: OptionMeta): T {
  return Object.assign(schema, { 'x-echoscope': meta })
}

/** 1048576 → 1mb, 16384 → 16kb, 1000 → 1000: the largest unit that divides exactly, as people type it. */
export function formatSize (bytes: number): string {
  for (const [unit, factor] of [['gb', GiB], ['mb', MiB], ['kb', KiB]] as const) {
    if (bytes !== 0 && bytes % factor === 0) return `${bytes / factor}${unit}`
  }
  return String(bytes)
}

/** 72000 → 72s, 300000 → 5m, 1500 → 1500ms, 0 → 0. */
export function formatDuration (ms: number): string {
  if (ms === 0) return '0'
  for (const [unit, factor] of [['h', 3600000], ['m', 60000], ['s', 1000]] as const) {
    if (ms % factor === 0) return `${ms / factor}${unit}`
  }
  return `${ms}ms`
}

const int = (min: number, max: number, def: number, description: string, kind: 'int' | 'size' | 'duration' = 'int') => {
  const allowed = kind === 'size'
    ? `a size from ${min === 1 ? '1 byte' : formatSize(min)} to ${formatSize(max)} (bytes, or a number with kb, mb or gb, like 64kb)`
    : kind === 'duration'
      ? `a duration from ${formatDuration(min)} to ${formatDuration(max)} (milliseconds, or a number with ms, s, m or h, like 30s)`
      : `an integer from ${min} to ${max}`
  return opt(Type.Integer({ minimum: min, maximum: max, default: def, description }), { kind, allowed })
}

const port = (def: number, description: string, env?: string[]) =>
  opt(Type.Integer({ minimum: 0, maximum: 65535, default: def, description }),
    { kind: 'int', arg: 'port', allowed: 'an integer from 0 to 65535', ...(env !== undefined ? { env } : {}) })

const bool = (def: boolean, description: string) =>
  opt(Type.Boolean({ default: def, description }), { kind: 'bool', allowed: 'true or false (also yes/no, on/off, 1/0)' })

/** One of a few words (a union of literals); the allowed phrase lists them from the schema itself. */
function choice<T extends TUnion<TLiteral[]>> (schema: T, arg: string): T {
  return opt(schema, { kind: 'enum', arg, allowed: `one of: ${schema.anyOf.map(l => l.const).join(', ')}` })
}

const portList = (description: string) =>
  opt(Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { default: [], description }),
    { kind: 'portList', arg: 'port', defaultText: 'none (off)', allowed: 'port numbers from 0 to 65535 (repeat the flag, or a comma-separated list)' })

const pemFile = (description: string) =>
  opt(Type.String({ default: '', description }), { kind: 'string', arg: 'file', defaultText: 'none', allowed: 'a path to a PEM file' })

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const DEFAULT_REDACTED_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key',
  'x-auth-token', 'x-amz-security-token', 'x-csrf-token', 'x-xsrf-token'
]

// The options in groups, in the order --help and docs/options.md show them.
const server = {
  // HTTP_PORT is what the Gateway API conformance echo server (echo-basic) reads, so its manifests work unchanged.
  port: port(8080, 'TCP port for HTTP (0 picks a free one)', ['PORT', 'HTTP_PORT']),
  host: opt(Type.String({ minLength: 1, default: '127.0.0.1', description: 'address to listen on (0.0.0.0 or :: for every interface)' }),
    { kind: 'string', arg: 'address', allowed: 'an IP address or host name', env: ['HOST'] }),
  trustProxy: opt(Type.Union([Type.Boolean(), Type.Integer({ minimum: 0 }), Type.String()], {
    default: false,
    description: 'which peers may set X-Forwarded-For: false, true, a hop count, or a comma list of IPs/CIDRs (also loopback, linklocal, uniquelocal)'
  }), { kind: 'trustProxy', allowed: 'true, false, a hop count, or a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal' }),
  systemPrefix: opt(Type.String({ default: '', pattern: '^(/[A-Za-z0-9._~!$&\'()*+,;=:@-]+)*$', description: 'path prefix for the system paths (/healthz, /docs, ...), e.g. /_' }),
    { kind: 'string', arg: 'path', defaultText: 'none (system paths at the root)', allowed: 'empty or a path like /_ or /echoscope (no trailing slash)' }),
  noControls: bool(false, 'ignore every x-echo-*/echo_* response control (strict mode for public instances)'),
  defaultFormat: choice(Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('html'), Type.Literal('har'), Type.Literal('gateway-api')], {
    default: 'json',
    description: 'echo format for a request that asks for none (no ?format, no Accept or Accept: */*); gateway-api also logs echo-basic\'s line per request'
  }), 'format'),
  cors: opt(Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'origins whose browser scripts may call the echo (CORS), or * for any origin; off when empty, so the echo carries no Access-Control-* header a gateway did not add' }),
    { kind: 'list', arg: 'origins', defaultText: 'none (off)', allowed: '* alone, or a comma-separated list of origins as browsers send them, like https://app.example.com or http://localhost:3000 (http or https, lower case, no path, no default port)' }),
  instance: opt(Type.String({ default: '', description: 'instance name reported in server.instance' }),
    { kind: 'string', arg: 'name', defaultText: 'the host name', allowed: 'any text' }),
  jwtHeaders: opt(Type.Array(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), {
    // Where gateways forward identity tokens: WSO2 API Manager, Cloudflare Access, AWS ALB, oauth2-proxy.
    default: ['authorization', 'x-jwt-assertion', 'cf-access-jwt-assertion', 'x-amzn-oidc-data', 'x-forwarded-access-token', 'x-auth-request-access-token'],
    description: 'request headers whose JWTs are decoded, not verified, into jwt and jwts: Authorization as Bearer, the others raw or Bearer (empty: decode none)'
  }), { kind: 'list', allowed: 'a comma-separated list of header names' }),
  keepAliveTimeout: int(0, 3600000, 72000, 'idle keep-alive timeout; keep above your load balancer\'s (AWS ALB: 60 s)', 'duration'),
  requestTimeout: int(0, 3600000, 300000, 'time allowed to receive a whole request (0 = none)', 'duration'),
  headersTimeout: int(0, 3600000, 60000, 'time allowed to receive the request head', 'duration'),
  shutdownDelay: int(0, 3600000, 0, 'on SIGTERM/SIGINT, keep serving this long with /readyz failing before closing (give load balancers time to notice)', 'duration'),
  shutdownTimeout: int(0, 3600000, 10000, 'on SIGTERM/SIGINT, how long in-flight requests may take before exit', 'duration'),
  coalesceWrites: bool(false, 'experimental throughput optimisation: write the HTTP/1.1 responses finished in one event-loop turn together at its end (uses node:http internals)')
}

const limits = {
  bodyLimit: int(1, 1024 * MiB, 1 * MiB, 'largest request body accepted, on the wire; larger gets 413', 'size'),
  maxDecodedSize: int(1, 1024 * MiB, 10 * MiB, 'largest body after gzip/deflate/br decoding; larger gets 413', 'size'),
  maxDecodeRatio: int(1, 100000, 100, 'largest decoded/wire size ratio of a compressed body; larger gets 413'),
  maxHeaderSize: int(1024, 1 * MiB, 16 * KiB, 'largest request head (request line + headers); larger gets 431', 'size'),
  maxDelay: int(0, 3600000, 30000, 'cap on the x-echo-delay control', 'duration'),
  maxStreams: int(0, 100000, 100, 'concurrent SSE streams (format=sse); more get 503'),
  maxStreamSeconds: int(0, 86400, 60, 'cap on echo_stream, the seconds an SSE echo keeps ticking')
}

const logging = {
  logLevel: choice(Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info', description: 'log level' }), 'level'),
  logFormat: choice(Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto', description: 'log format: auto is pretty on a TTY, JSON otherwise' }), 'format'),
  logRequests: bool(true, 'log one line per request'),
  logHeaders: bool(false, 'include request headers in the request log line (redacted per --redact-headers)'),
  logBodies: bool(false, 'add the request headers (after --redact-headers) and body to the request log line, for callers that cannot show what they sent: UTF-8 as text, anything else as base64, with its sha256'),
  logBodyLimit: int(0, 1 * MiB, 4 * KiB, 'most body bytes a --log-bodies line carries; a longer body is cut and marked bodyTruncated', 'size'),
  logIgnorePaths: opt(Type.Array(Type.String({ pattern: '^/' }), { default: ['/healthz', '/readyz'], description: 'paths that get no request log line (a 5xx still does; the default health paths follow --system-prefix): a prefix of whole segments, or a glob with * (within a segment) and ** (across); empty to log every path' }),
    { kind: 'list', arg: 'paths', allowed: 'a comma-separated list of paths starting with /, like /healthz,/static/**' }),
  requestIdHeader: opt(Type.String({ default: 'x-request-id', pattern: '^([!#$%&\'*+.^_`|~0-9A-Za-z-]+)?$', description: 'request header whose id (1–200 of A-Z a-z 0-9 and -_.:;/+=@~) is kept as the request id, so logs correlate with the gateway\'s; otherwise one is generated. Empty: always generate' }),
    { kind: 'string', arg: 'name', allowed: 'a header name, or empty to always generate the id' }),
  redactHeaders: opt(Type.Array(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), {
    default: DEFAULT_REDACTED_HEADERS,
    description: 'headers whose values are hidden in logs (empty to log them all)'
  }), { kind: 'list', allowed: 'a comma-separated list of header names' })
}

// WebSocket echo (/ws and an upgrade on any non-system path)
const webSocket = {
  wsMaxMessageSize: int(1, 256 * MiB, 1 * MiB, 'largest WebSocket message; larger closes with 1009', 'size'),
  wsIdleTimeout: int(0, 86400000, 300000, 'close a WebSocket with no message either way for this long (0 = never)', 'duration'),
  wsPingInterval: int(0, 3600000, 30000, 'ping every WebSocket this often; a peer that misses a pong is dropped (0 = off)', 'duration'),
  wsMaxConnections: int(0, 1000000, 10000, 'concurrent WebSockets; more get 503 on upgrade'),
  wsMaxBufferedBytes: int(1024, 1024 * MiB, 4 * MiB, 'bytes queued to a client that does not read before it is closed with 1008', 'size'),
  wsMaxMessageRate: int(0, 1000000, 1000, 'messages per second per WebSocket before it is closed with 1008 (0 = no limit)'),
  wsAllowedOrigins: opt(Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Origin values allowed to open a WebSocket (empty: any origin)' }),
    { kind: 'list', defaultText: 'none (any origin)', allowed: 'a comma-separated list of origins like https://app.example.com' })
}

// Raw TCP and UDP echo (off unless a port is given)
const tcpUdp = {
  tcpPort: portList('raw TCP echo port (RFC 862), repeatable'),
  tcpFraming: choice(Type.Union([Type.Literal('none'), Type.Literal('length')], { default: 'none', description: 'none: echo bytes as they come; length: [4-byte big-endian length][payload] frames' }), 'framing'),
  tcpMaxFrameSize: int(1, 1024 * MiB, 1 * MiB, 'largest length-prefixed TCP frame; larger closes the connection', 'size'),
  tcpMaxConnections: int(0, 1000000, 1000, 'concurrent TCP echo connections per listener; more are closed at once (0 = no limit)'),
  tcpTls: bool(false, 'serve the TCP echo over TLS with the HTTPS certificate (--tls-cert/--tls-key or --tls-self-signed)'),
  tcpIdleTimeout: int(0, 86400000, 300000, 'close a TCP echo connection idle this long (0 = never)', 'duration'),
  udpPort: portList('UDP echo port, repeatable'),
  udpMaxDatagramSize: int(1, 65507, 8192, 'largest UDP datagram echoed; larger ones are dropped', 'size'),
  udpRateLimit: int(0, 1000000, 100, 'datagrams per second echoed to one source address; the rest are dropped (0 = no limit)')
}

// Request history (/requests, /inspect)
const history = {
  historySize: int(0, 100000, 100, 'recent echo requests kept for /requests and /inspect (0 = off)'),
  historyBodyLimit: int(0, 64 * MiB, 64 * KiB, 'largest body kept in the history; larger bodies are kept as size and digest only', 'size')
}

const tlsHttp2 = {
  tlsCert: pemFile('PEM certificate (chain) file: serve HTTPS and WSS'),
  tlsKey: pemFile('PEM private key file for --tls-cert'),
  tlsCa: pemFile('PEM CA file: ask clients for certificates (mTLS) and report them in `tls`'),
  tlsSelfSigned: bool(false, 'make a throwaway self-signed certificate at start (localhost, 127.0.0.1, ::1, the host name)'),
  httpsPort: port(0, 'serve HTTPS on this port beside plain HTTP on --port (0 = TLS on --port itself when a certificate is given)'),
  http2: bool(false, 'serve HTTP/2 over TLS, with HTTP/1.1 fallback by ALPN (needs a certificate)')
}

// Rate limit of the echo (HTTP requests and WebSocket upgrades; system paths are exempt)
const rateLimit = {
  rateLimitMax: int(0, 100000000, 6000, 'requests per window per client before 429 (0 = no limit)'),
  rateLimitWindow: int(100, 86400000, 60000, 'rate limit window', 'duration'),
  rateLimitKey: opt(Type.String({ default: 'ip', pattern: '^(ip|header:[!#$%&\'*+.^_`|~0-9A-Za-z-]+)$', description: 'what identifies a client: ip (after --trust-proxy) or header:NAME' }),
    { kind: 'string', arg: 'key', allowed: 'ip or header:NAME (like header:x-api-key)' }),
  rateLimitAllow: opt(Type.Array(Type.String({ minLength: 1 }), { default: ['loopback', 'uniquelocal'], description: 'clients never limited: IPs, CIDR ranges, loopback/linklocal/uniquelocal, or header values (empty: limit everyone)' }),
    { kind: 'list', allowed: 'a comma-separated list of IP addresses, CIDR ranges, loopback/linklocal/uniquelocal, or header values' }),
  rateLimitHeaders: bool(false, 'send the RateLimit headers on every counted echo, not only on the 429'),
  redisUrl: opt(Type.String({ default: '', pattern: '^(|rediss?://.+)$', description: 'Redis for the shared rate limit (and history), e.g. redis://127.0.0.1:6379/0' }),
    { kind: 'string', arg: 'url', defaultText: 'none (in memory, per process)', allowed: 'empty or a redis:// or rediss:// URL' })
}

// A server-wide default response, for callers that can only be given a URL (webhooks, health checkers, ingress
// annotations). Per-request controls still win over it.
export const RESPONSE_BODY_FILE_MAX = 1 * MiB
const response = {
  responseStatus: opt(Type.Integer({ minimum: 0, maximum: 599, default: 0, description: 'status of the echo responses (0: 200, the echo\'s own)' }),
    { kind: 'int', arg: 'status', allowed: '0 or a status code from 200 to 599' }),
  responseHeader: opt(Type.Array(Type.String(), { default: [], description: 'header added to the echo responses, "Name: value"; repeat the flag for more (in the environment, one per line)' }),
    { kind: 'headerList', arg: 'header', defaultText: 'none', allowed: '"Name: value" with a header name and a value without control characters; not Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, Trailer, TE or Content-Type (use --response-content-type)' }),
  responseBody: opt(Type.String({ default: '', description: 'body of the echo responses instead of the echo (empty: the echo)' }),
    { kind: 'string', arg: 'text', defaultText: 'none (the echo)', allowed: 'any text' }),
  responseBodyFile: opt(Type.String({ default: '', description: `file whose bytes are the body of the echo responses, read once at start (at most ${formatSize(RESPONSE_BODY_FILE_MAX)})` }),
    { kind: 'string', arg: 'file', defaultText: 'none', allowed: `a path to a readable file of at most ${formatSize(RESPONSE_BODY_FILE_MAX)}` }),
  responseContentType: opt(Type.String({ default: '', description: 'content type of --response-body or --response-body-file' }),
    { kind: 'string', arg: 'type', defaultText: 'none (text/plain; charset=utf-8 for --response-body; for a file, by its extension, else application/octet-stream)', allowed: 'a media type like application/json' }),
  responsePath: opt(Type.Array(Type.String({ pattern: '^/' }), { default: [], description: 'echo paths the default response applies to, as --log-ignore-paths takes them (prefixes of whole segments, or globs); others get the echo' }),
    { kind: 'list', arg: 'paths', defaultText: 'none (every echo path)', allowed: 'a comma-separated list of paths starting with /, like /webhook,/hooks/**' }),
  echoEnv: opt(Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), { default: [], description: 'environment variables reported in the echo\'s server.env and served by echo_env_body; no other variable ever is' }),
    { kind: 'list', arg: 'names', defaultText: 'none', allowed: 'a comma-separated list of environment variable names' })
}

const metricsAdmin = {
  metrics: bool(true, 'serve Prometheus metrics at /metrics'),
  metricsPort: port(0, 'serve /metrics on this port only, not on the main port (0 = on the main port)'),
  adminToken: opt(Type.String({ default: '', description: 'bearer token required for /metrics, /requests and /inspect' }),
    { kind: 'string', arg: 'token', defaultText: 'none (open)', allowed: 'any text' })
}

/** Headings of --help and docs/options.md, each with its options. */
export const OPTION_GROUPS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['Server', Object.keys(server)],
  ['Limits', Object.keys(limits)],
  ['Logging', Object.keys(logging)],
  ['WebSocket', Object.keys(webSocket)],
  ['TCP/UDP echo', Object.keys(tcpUdp)],
  ['History', Object.keys(history)],
  ['TLS/HTTP2', Object.keys(tlsHttp2)],
  ['Rate limit', Object.keys(rateLimit)],
  ['Default response', Object.keys(response)],
  ['Metrics/admin', Object.keys(metricsAdmin)]
]

export const OptionsSchema = Type.Object({
  ...server, ...limits, ...logging, ...webSocket, ...tcpUdp, ...history, ...tlsHttp2, ...rateLimit, ...response, ...metricsAdmin
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

/** `30s`, `500ms`, `1m`, `2h` or plain milliseconds → milliseconds; NaN when it is none of those. */
export const parseDuration = (raw: string): number => parseNumber(raw, DURATION_UNITS)

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

/** `Name: value` that may go into every response: a token, a clean value, nothing the framing owns. */
function validResponseHeader (line: string): boolean {
  const colon = line.indexOf(':')
  if (colon <= 0) return false
  const name = line.slice(0, colon).trim()
  const lower = name.toLowerCase()
  return TOKEN.test(name) && FIELD_VALUE.test(line.slice(colon + 1)) && !FRAMING_HEADERS.has(lower) && lower !== 'content-type'
}

/** An origin exactly as a browser sends it in Origin (its URL's own serialisation): what CORS compares. */
function validOrigin (entry: string): boolean {
  if (!URL.canParse(entry)) return false
  const url = new URL(entry)
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === entry
}

/** Turn one raw string (flag or env) into the option's value, or undefined when it cannot be read. */
function coerce (name: OptionName, raw: string): unknown {
  const meta = properties[name]['x-echoscope']
  switch (meta.kind) {
    case 'int': return parseNumber(raw, null)
    case 'size': return parseNumber(raw, SIZE_UNITS)
    case 'duration': return parseDuration(raw)
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (v === 'true' || v === '1' || v === 'yes' || v === 'on' || v === '') return true
      if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false
      return undefined
    }
    case 'list': return raw.split(',').map(s => s.trim()).filter(s => s !== '')
    // Header values hold commas (dates, lists): one header per flag, or per line of the variable.
    case 'headerList': return raw.split(/\r?\n/).map(s => s.trim()).filter(s => s !== '')
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

/** Checks one value against its schema, including rules JSON Schema cannot say (CIDR lists, origins). */
function check (name: OptionName, value: unknown): boolean {
  if (value === undefined || (typeof value === 'number' && Number.isNaN(value))) return false
  if (Array.isArray(value) && value.some(v => typeof v === 'number' && Number.isNaN(v))) return false
  if (!Value.Check(properties[name], value)) return false
  if (name === 'trustProxy' && typeof value === 'string') {
    return value.split(',').every(s => validCidr(s.trim()))
  }
  if (name === 'responseStatus') return value === 0 || (value as number) >= 200
  if (name === 'responseHeader') return (value as string[]).every(validResponseHeader)
  if (name === 'responseContentType') return value === '' || (FIELD_VALUE.test(value as string) && MEDIA_TYPE.test((value as string).trim()))
  if (name === 'cors') {
    const origins = value as string[]
    // `*` means any origin, so it stands alone.
    return (origins.length === 1 && origins[0] === '*') || origins.every(validOrigin)
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
  if (o.responseBody !== '' && o.responseBodyFile !== '') throw new ConfigError('invalid default response: use either --response-body or --response-body-file')
  if (o.responseContentType !== '' && o.responseBody === '' && o.responseBodyFile === '') {
    throw new ConfigError('invalid --response-content-type: it is the type of --response-body or --response-body-file, and neither is set')
  }
  if (!tls && o.tlsCa !== '') throw new ConfigError('invalid --tls-ca: client certificates need TLS (--tls-cert/--tls-key or --tls-self-signed)')
  // Node refuses a head timeout longer than the whole-request timeout.
  if (o.requestTimeout > 0 && o.headersTimeout > o.requestTimeout) {
    throw new ConfigError(`invalid --headers-timeout ${formatDuration(o.headersTimeout)}: must not exceed --request-timeout (${formatDuration(o.requestTimeout)})`)
  }
  return o
}

const BY_FLAG = new Map<string, OptionName>(OPTION_NAMES.map(n => [kebab(n), n]))
// The words a boolean flag takes as a separate value (`--metrics false`); anything else after it is the next argument.
const BOOL_WORD = /^(true|false|yes|no|on|off|1|0)$/i

/** The raw flag values of argv, by option: the last wins, list options collect every occurrence. */
function parseFlags (argv: string[]): Map<OptionName, string | boolean | string[]> {
  const out = new Map<OptionName, string | boolean | string[]>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1) throw new ConfigError(`unknown option ${arg} (see echoscope --help)`)
      throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (see echoscope --help)`)
    }
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    const inline = eq === -1 ? undefined : arg.slice(eq + 1)
    let name = BY_FLAG.get(flag)
    let negated = false
    if (name === undefined && flag.startsWith('no-')) {
      const positive = BY_FLAG.get(flag.slice(3))
      if (positive !== undefined && properties[positive]['x-echoscope'].kind === 'bool') {
        name = positive
        negated = true
      }
    }
    if (name === undefined) throw new ConfigError(`unknown option --${flag} (see echoscope --help)`)
    const meta = properties[name]['x-echoscope']
    if (meta.kind === 'bool') {
      if (negated) {
        if (inline !== undefined) throw new ConfigError(`invalid ${arg}: --${flag} takes no value (use --${flag.slice(3)}=${inline})`)
        out.set(name, false)
        continue
      }
      let raw = inline
      if (raw === undefined && i + 1 < argv.length && BOOL_WORD.test(argv[i + 1])) raw = argv[++i]
      if (raw === undefined) {
        out.set(name, true)
        continue
      }
      const value = coerce(name, raw)
      if (typeof value !== 'boolean') throw invalid(name, raw, 'flag')
      out.set(name, value)
      continue
    }
    let raw = inline
    if (raw === undefined) {
      const next = argv[i + 1]
      // `--port --host ::1` is a forgotten value, not a port named "--host"; `--max-delay -5` is a bad value.
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`invalid --${flag}: needs a value (${meta.allowed})`)
      raw = next
      i++
    }
    if (meta.kind === 'list' || meta.kind === 'portList' || meta.kind === 'headerList') {
      const seen = out.get(name)
      out.set(name, [...(Array.isArray(seen) ? seen : []), raw])
    } else {
      out.set(name, raw)
    }
  }
  return out
}

/** Options from argv (flags) over env (ECHOSCOPE_*, PORT, HOST) over defaults. */
export function loadOptions (argv: string[], env: NodeJS.ProcessEnv): Options {
  const flags = parseFlags(argv)
  const values: Record<string, unknown> = {}
  for (const name of OPTION_NAMES) {
    const meta = properties[name]['x-echoscope']
    const flag = flags.get(name)
    if (flag !== undefined) {
      const raw = Array.isArray(flag) ? flag.join(meta.kind === 'headerList' ? '\n' : ',') : flag
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

/** What --help and docs/options.md say about one option, all from the schema. */
export interface OptionInfo {
  name: OptionName
  /** the flag as the help shows it: `--port <port>`, `--tcp-port <port>...`, `--no-metrics`, `--log-headers` */
  usage: string
  env: string[]
  /** integer, size, duration, port, switch, text, choice, list, ports */
  kind: string
  /** in the units people type: 1mb, 72s, on/off, or words for an empty default */
  default: string
  description: string
  allowed: string
}

const KIND_LABEL: Record<OptionMeta['kind'], string> = {
  int: 'integer', size: 'size', duration: 'duration', bool: 'switch', string: 'text', enum: 'choice', list: 'list', headerList: 'headers', portList: 'ports', trustProxy: 'proxy trust'
}
const KIND_ARG: Record<OptionMeta['kind'], string> = {
  int: 'number', size: 'size', duration: 'duration', bool: '', string: 'text', enum: 'value', list: 'list', headerList: 'header', portList: 'port', trustProxy: 'value'
}

function formatValue (kind: OptionMeta['kind'], value: unknown): string {
  if (kind === 'size') return formatSize(value as number)
  if (kind === 'duration') return formatDuration(value as number)
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ')
  return String(value)
}

export function optionInfo (name: OptionName): OptionInfo {
  const p = properties[name]
  const meta = p['x-echoscope']
  const flag = '--' + kebab(name)
  let usage: string
  let def: string
  if (meta.kind === 'bool') {
    // A default-on switch is shown as the flag that changes something: its --no- form.
    usage = p.default === true ? '--no-' + kebab(name) : flag
    def = p.default === true ? 'on' : 'off'
  } else {
    const arg = meta.arg ?? KIND_ARG[meta.kind]
    usage = `${flag} <${arg}>${meta.kind === 'portList' || meta.kind === 'headerList' ? '...' : ''}`
    def = meta.defaultText ?? formatValue(meta.kind, p.default)
  }
  const kind = meta.arg === 'port' && meta.kind === 'int' ? 'port' : KIND_LABEL[meta.kind]
  return { name, usage, env: [envName(name), ...(meta.env ?? [])], kind, default: def, description: p.description, allowed: meta.allowed }
}

export const HELP_WIDTH = 100
const FLAG_COLUMN = 35

/** Words of `text` in lines of at most `width` columns (a longer single word stays whole). */
export function wrap (text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(w => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines
}

function helpEntry (usage: string, text: string): string[] {
  const body = wrap(text, HELP_WIDTH - FLAG_COLUMN)
  const head = '  ' + usage
  const indent = ' '.repeat(FLAG_COLUMN)
  if (head.length >= FLAG_COLUMN - 1) return [head, ...body.map(l => indent + l)]
  return [head.padEnd(FLAG_COLUMN) + body[0], ...body.slice(1).map(l => indent + l)]
}

export function helpText (): string {
  const lines = [
    'echoscope — HTTP echo and inspection server',
    '',
    'Usage: echoscope [options]',
    '       echoscope diff URL [options]',
    '       echoscope probe URL [options]',
    '       echoscope test FILE [options]',
    '       echoscope healthcheck [options]',
    '',
    ...wrap('Every option is also an environment variable: ECHOSCOPE_ and the flag\'s name in capitals with ' +
      'underscores (--body-limit 2mb is ECHOSCOPE_BODY_LIMIT=2mb; lists comma-separated); PORT, HTTP_PORT and HOST ' +
      'work too. Flags beat the environment. Sizes take kb, mb or gb, durations ms, s, m or h. A switch ' +
      'takes --name, --no-name, --name=false or --name false.', HELP_WIDTH)
  ]
  for (const [heading, names] of OPTION_GROUPS) {
    lines.push('', heading + ':')
    for (const name of names as OptionName[]) {
      const o = optionInfo(name)
      const choices = properties[name]['x-echoscope'].kind === 'enum' ? `; ${o.allowed}` : ''
      const def = o.default === 'on' && o.kind === 'switch' ? 'on by default; this turns it off' : `default: ${o.default}`
      lines.push(...helpEntry(o.usage, `${o.description}${choices} [${def}]`))
    }
  }
  lines.push('', 'Other:', ...helpEntry('-h, --help', 'show this help'), ...helpEntry('--version', 'print the version'))
  lines.push('', 'Commands:', ...helpEntry('echoscope diff URL [options]', 'what did the gateway change? (echoscope diff --help)'),
    ...helpEntry('echoscope probe URL [options]', 'what are the gateway\'s limits? body, headers, URL, buffering, read timeout (echoscope probe --help)'),
    ...helpEntry('echoscope test FILE [options]', 'does the gateway keep its route contracts? cases from a YAML file, JUnit for CI (echoscope test --help)'),
    ...helpEntry('echoscope healthcheck [options]', 'exit 0 when the server these options describe answers /healthz (the container\'s HEALTHCHECK)'))
  return lines.join('\n')
}
