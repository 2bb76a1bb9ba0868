// TLS material, read and checked once at start: a file that cannot be read or does not hold what its option
// says is a ConfigError naming the option, not a stack trace at the first handshake.
import { readFileSync } from 'node:fs'
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { hostname } from 'node:os'
import { ConfigError, type Options } from './options.ts'

export interface TlsMaterial {
  key: string
  cert: string
  /** set with --tls-ca: client certificates are requested and checked against it (but not required) */
  ca?: string
  selfSigned: boolean
}

export const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'no such file (a part of the path is not a directory)'
}

const label = (option: string, path: string) => `invalid ${option} ${JSON.stringify(path)}`

function read (option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    throw new ConfigError(`${label(option, path)}: ${READ_ERRORS[code] ?? `cannot read it (${code !== '' ? code : (err as Error).message})`}`)
  }
}

function parseCert (option: string, path: string, pem: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${label(option, path)}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`)
  }
  try {
    return new X509Certificate(pem)
  } catch {
    throw new ConfigError(`${label(option, path)}: not a valid PEM certificate (it does not parse)`)
  }
}

function parseKey (path: string, pem: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError(`${label('--tls-key', path)}: not a PEM private key (no -----BEGIN ... PRIVATE KEY----- line)`)
  }
  try {
    return createPrivateKey(pem)
  } catch (err) {
    const encrypted = (err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE' || pem.includes('ENCRYPTED')
    throw new ConfigError(`${label('--tls-key', path)}: ${encrypted ? 'the key is encrypted; echoscope needs an unencrypted key' : 'not a valid PEM private key (it does not parse)'}`)
  }
}

/** What OpenSSL itself still refuses (a chain it cannot use, a weak key), said for the option. */
function checkContext (opts: Options, m: TlsMaterial): void {
  try {
    createSecureContext(tlsServerOptions(m))
  } catch (err) {
    const reason = (err as Error).message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '')
    const option = m.ca !== undefined && (m.selfSigned || /ca|issuer/i.test(reason)) ? `--tls-ca ${JSON.stringify(opts.tlsCa)}` : `--tls-cert ${JSON.stringify(opts.tlsCert)}`
    throw new ConfigError(`invalid ${option}: TLS refuses it (${reason})`)
  }
}

/** A throwaway certificate for localhost, the loopback addresses and this host's name, valid for a year. */
export async function selfSigned (): Promise<{ key: string, cert: string }> {
  const host = hostname()
  const notAfter = new Date()
  notAfter.setFullYear(notAfter.getFullYear() + 1)
  // Imported on demand: certificate generation pulls in a large ASN.1 toolkit most runs never need.
  const { generate } = await import('selfsigned')
  const pems = await generate([{ name: 'commonName', value: 'echoscope self-signed' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: host },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' }
        ]
      }
    ]
  })
  return { key: pems.private, cert: pems.cert }
}

export async function loadTls (opts: Options): Promise<TlsMaterial | null> {
  let material: TlsMaterial | null = null
  if (opts.tlsCert !== '') {
    const cert = read('--tls-cert', opts.tlsCert)
    const x509 = parseCert('--tls-cert', opts.tlsCert, cert)
    const key = read('--tls-key', opts.tlsKey)
    if (!x509.checkPrivateKey(parseKey(opts.tlsKey, key))) {
      throw new ConfigError(`${label('--tls-key', opts.tlsKey)}: it does not match the certificate in --tls-cert ${JSON.stringify(opts.tlsCert)}`)
    }
    material = { key, cert, selfSigned: false }
  } else if (opts.tlsSelfSigned) {
    material = { ...await selfSigned(), selfSigned: true }
  }
  if (material !== null && opts.tlsCa !== '') {
    const ca = read('--tls-ca', opts.tlsCa)
    parseCert('--tls-ca', opts.tlsCa, ca)
    material.ca = ca
  }
  if (material !== null) checkContext(opts, material)
  return material
}

/** Node TLS server options from the material: client certificates asked for, never required (they are reported). */
export function tlsServerOptions (m: TlsMaterial) {
  return {
    key: m.key,
    cert: m.cert,
    ...(m.ca !== undefined ? { ca: m.ca, requestCert: true, rejectUnauthorized: false } : {})
  }
}
