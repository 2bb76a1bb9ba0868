// Client certificates, seen directly (mTLS) or forwarded by a gateway in a header (Envoy's
// x-forwarded-client-cert, nginx's $ssl_client_escaped_cert, Traefik's X-Forwarded-Tls-Client-Cert).
import { X509Certificate } from 'node:crypto'
import type { ProxyAnalysis } from './types.ts'

/** A gateway-forwarded client certificate as the echo shows it (`proxy.clientCertificates`). */
export type ForwardedCertificate = NonNullable<ProxyAnalysis['clientCertificates']>[number]

/** What the echo shows of any certificate, forwarded or presented over mTLS. */
export type CertificateInfo = Omit<ForwardedCertificate, 'header'>

const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ')

export function describeCertificate (cert: X509Certificate, now = new Date()): CertificateInfo {
  const validTo = new Date(cert.validTo)
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    subjectAltName: cert.subjectAltName ?? null,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: validTo.toISOString(),
    expired: validTo.getTime() < now.getTime(),
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber
  }
}

function parsePem (text: string): X509Certificate | null {
  // nginx's deprecated $ssl_client_cert indents continuation lines with a tab; undo it.
  const pem = text.replace(/\t/g, '').replace(/(-----BEGIN CERTIFICATE-----)\s*/, '$1\n').replace(/\s*(-----END CERTIFICATE-----)/, '\n$1')
  try {
    return new X509Certificate(pem)
  } catch {
    return null
  }
}

function parseDerBase64 (b64: string): X509Certificate | null {
  try {
    return new X509Certificate(Buffer.from(b64, 'base64'))
  } catch {
    return null
  }
}

function decodeURIComponentSafe (s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Envoy XFCC: `By=...;Hash=...;Cert="<url-encoded PEM>";Subject="...";URI=...,By=...` (one element per hop). */
function fromXfcc (value: string): X509Certificate[] {
  const out: X509Certificate[] = []
  for (const m of value.matchAll(/(?:^|;|,)\s*Cert="?([^";,]+)"?/gi)) {
    const cert = parsePem(decodeURIComponentSafe(m[1]))
    if (cert !== null) out.push(cert)
  }
  return out
}

const HEADERS: Record<string, (value: string) => X509Certificate[]> = {
  'x-forwarded-client-cert': fromXfcc,
  'ssl-client-cert': v => [parsePem(decodeURIComponentSafe(v))].filter(c => c !== null),
  'x-ssl-client-cert': v => [parsePem(decodeURIComponentSafe(v))].filter(c => c !== null),
  'x-client-cert': v => [parsePem(decodeURIComponentSafe(v))].filter(c => c !== null),
  // Traefik: url-escaped, comma-separated base64 DER without PEM armour, leaf first.
  'x-forwarded-tls-client-cert': v => decodeURIComponentSafe(v).split(',').map(s => parseDerBase64(s.trim())).filter(c => c !== null)
}

/** Every header forwardedClientCertificates reads: a request with none of them skips it. */
export const CERTIFICATE_HEADERS: readonly string[] = Object.keys(HEADERS)

/** Certificates a gateway forwarded in headers, decoded; undefined when none of those headers is present. */
export function forwardedClientCertificates (headers: Record<string, string | string[] | undefined>, now = new Date()): ForwardedCertificate[] | undefined {
  let out: ForwardedCertificate[] | undefined
  for (const name in HEADERS) {
    const raw = headers[name]
    if (raw === undefined) continue
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      for (const cert of HEADERS[name](value)) {
        out ??= []
        out.push({ header: name, ...describeCertificate(cert, now) })
      }
    }
  }
  return out
}
