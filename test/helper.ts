// Test helpers: a real echoscope on an ephemeral loopback port, raw-socket requests for byte-level checks,
// and the CLI as a child process.
import { connect, createServer as createNetServer } from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildServer } from '../src/server.ts'
import type { Options } from '../src/config/options.ts'

export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url))

export interface Running { app: FastifyInstance, port: number, url: string }

export async function startEcho (t: TestContext, opts: Partial<Options> = {}): Promise<Running> {
  const app = await buildServer({ logLevel: 'silent', ...opts })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, port, url: `http://127.0.0.1:${port}` }
}

export interface RawResponse {
  status: number
  statusText: string
  /** lower-cased name → values in order */
  headers: Map<string, string[]>
  body: Buffer
  /** the whole response as received */
  raw: Buffer
}

function decodeChunked (buf: Buffer): Buffer {
  const parts: Buffer[] = []
  let pos = 0
  while (pos < buf.length) {
    const eol = buf.indexOf('\r\n', pos)
    if (eol === -1) break
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(buf.subarray(eol + 2, eol + 2 + size))
    pos = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}

export function parseResponse (raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  if (end === -1) throw new Error('no complete response head in: ' + raw.toString('latin1').slice(0, 200))
  const head = raw.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0])
  if (m === null) throw new Error('bad status line ' + head[0])
  const headers = new Map<string, string[]>()
  for (const line of head.slice(1)) {
    const i = line.indexOf(':')
    const name = line.slice(0, i).toLowerCase()
    const list = headers.get(name) ?? []
    list.push(line.slice(i + 1).trim())
    headers.set(name, list)
  }
  let body = raw.subarray(end + 4)
  if (headers.get('transfer-encoding')?.[0] === 'chunked') body = decodeChunked(body)
  const cl = headers.get('content-length')?.[0]
  if (cl !== undefined) body = body.subarray(0, Number(cl))
  return { status: Number(m[1]), statusText: m[2], headers, body, raw }
}

/**
 * Sends exactly these bytes and reads until the server closes or `timeoutMs` passes. The request should
 * carry `Connection: close` unless the test wants the raw stream of several responses.
 */
export function rawExchange (port: number, data: string | Buffer | Array<string | Buffer>, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); resolve(Buffer.concat(chunks)) }, timeoutMs)
    socket.on('data', c => chunks.push(c))
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)) })
    socket.on('error', err => {
      clearTimeout(timer)
      // A reset after the server answered (e.g. 413 while we still send) still gives a response to check.
      if (chunks.length > 0) resolve(Buffer.concat(chunks))
      else reject(err)
    })
    const parts = Array.isArray(data) ? data : [data]
    for (const p of parts) socket.write(p)
  })
}

export async function rawRequest (port: number, data: string | Buffer | Array<string | Buffer>): Promise<RawResponse> {
  return parseResponse(await rawExchange(port, data))
}

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

export function runCli (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

/** Starts the CLI as a server and resolves once it logs that it listens, with the port it chose. */
export function spawnServer (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess, port: number, output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--port', '0', '--log-format', 'json', ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      const m = /Server listening at https?:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m !== null) resolve({ child, port: Number(m[1]), output: () => out })
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', code => reject(new Error(`server exited with ${code} before listening:\n${out}`)))
  })
}

/** The JSON body of a fetch response, loosely typed: tests assert on its fields. */
export async function getJson (res: Response | Promise<Response>): Promise<any> {
  return (await res).json()
}

/** Polls until `check` is true (for output another process writes, or a state a request sees), failing after `timeoutMs`. */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting for a condition')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** A TCP port nothing listens on right now (for servers that cannot be told to pick one themselves). */
export async function freePort (): Promise<number> {
  const s = createNetServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as { port: number }).port
  await new Promise(resolve => s.close(resolve))
  return port
}
