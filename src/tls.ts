// TLS material, read and checked once at start: a file that cannot be read or does not hold what its option
// says is a ConfigError naming the option, not a stack trace at the first handshake.
import { readFileSync } from 'node:fs'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { hostname } from 'node:os'
import { ConfigError, type Options } from './config.ts'

export interface TlsMaterial {
  key: string
  cert: string
  /** set with --tls-ca: client certificates are requested and checked against it (but not required) */
  ca?: string
  selfSigned: boolean
}

function read (option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`invalid ${option} ${JSON.stringify(path)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

function checkCert (option: string, path: string, pem: string): void {
  try {
    // eslint-disable-next-line no-new
    new X509Certificate(pem)
  } catch {
    throw new ConfigError(`invalid ${option} ${JSON.stringify(path)}: must be a PEM certificate`)
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
    checkCert('--tls-cert', opts.tlsCert, cert)
    const key = read('--tls-key', opts.tlsKey)
    try {
      createPrivateKey(key)
    } catch {
      throw new ConfigError(`invalid --tls-key ${JSON.stringify(opts.tlsKey)}: must be an unencrypted PEM private key`)
    }
    material = { key, cert, selfSigned: false }
  } else if (opts.tlsSelfSigned) {
    material = { ...await selfSigned(), selfSigned: true }
  }
  if (material !== null && opts.tlsCa !== '') {
    const ca = read('--tls-ca', opts.tlsCa)
    checkCert('--tls-ca', opts.tlsCa, ca)
    material.ca = ca
  }
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
