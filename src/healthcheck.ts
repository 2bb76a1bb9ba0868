// The container's health probe: asks the running server's /healthz, with the configuration read exactly as
// the server reads it (flags over ECHOSCOPE_* over PORT/HOST), so a port, prefix or TLS setting given to the
// server is never repeated for the probe. Exit 0 when healthy, 1 otherwise (Docker reserves 2).
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { isIPv6 } from 'node:net'
import { pathToFileURL } from 'node:url'
import { loadOptions } from './config/options.ts'

/** Docker's default --timeout is 30 s; the Dockerfile's is 3 s, and an answer takes milliseconds. */
const TIMEOUT_MS = 3000

/** A wildcard listen address is probed on the loopback address of the same family. */
export function probeHost (host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '::1'
  return host
}

function get (url: URL, tls: boolean): Promise<IncomingMessage> {
  const signal = AbortSignal.timeout(TIMEOUT_MS)
  return new Promise((resolve, reject) => {
    // agent: false — one request, no pooled keep-alive socket holding the process open.
    // TLS on --port: the server's own certificate (often self-signed) on an address of this machine, so
    // it is not verified; the probe asks "is it up", not "is it who it says".
    const req = tls
      ? httpsGet(url, { agent: false, signal, rejectUnauthorized: false }, resolve)
      : httpGet(url, { agent: false, signal }, resolve)
    req.on('error', reject)
  })
}

export async function healthcheck (argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`echoscope healthcheck: ${message}\n`)
    return 1
  }
  let opts
  try {
    opts = loadOptions(argv, env)
  } catch (err) {
    return fail((err as Error).message)
  }
  if (opts.port === 0) return fail('--port 0 picks a port at start; give the server a fixed --port to probe it')
  // Same rule as the server: a certificate puts TLS on --port unless --https-port gives it a listener of its own.
  const tls = (opts.tlsCert !== '' || opts.tlsSelfSigned) && opts.httpsPort === 0
  const host = probeHost(opts.host)
  const url = new URL(`${tls ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${opts.port}${opts.systemPrefix}/healthz`)
  try {
    const res = await get(url, tls)
    if (res.statusCode !== 200) {
      res.destroy()
      return fail(`${url.href} answered ${res.statusCode}`)
    }
    // The echo answers 200 on every other path, so a wrong prefix would look healthy by status alone: the
    // health route's own answer is the proof.
    let body = ''
    res.setEncoding('utf8')
    for await (const chunk of res) {
      body += chunk
      if (body.length > 1024) break
    }
    res.destroy()
    let status: unknown
    try { status = (JSON.parse(body) as { status?: unknown }).status } catch {}
    // 'forced': a 200 set by PUT /healthz, still the health route's own answer.
    if (status !== 'ok' && status !== 'forced') return fail(`${url.href} answered 200 but not {"status":"ok"}: is ECHOSCOPE_SYSTEM_PREFIX the server's?`)
    return 0
  } catch (err) {
    return fail(`${url.href}: ${(err as Error).message}`)
  }
}

// Runnable on its own (the Dockerfile's HEALTHCHECK): `node dist/src/healthcheck.js [options]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await healthcheck(process.argv.slice(2), process.env)
}
