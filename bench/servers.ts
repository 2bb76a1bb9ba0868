// Servers under test run as child processes so the load generator never shares an event loop
// (or, on a 2-core machine, a core) with them.
import { spawn } from 'node:child_process'
import { onServerCpu, type Affinity } from './affinity.ts'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import { relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { EchoShape, Target, TargetSpec } from './types.ts'

const HOST = '127.0.0.1'
const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000

export interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface HttpSend {
  method?: string
  headers?: Record<string, string>
  body?: string
}

/** One request on a fresh connection, so nothing stays open on the server during a measurement. */
export function send (url: string, { method = 'GET', headers = {}, body }: HttpSend = {}, timeoutMs = 2_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

// Killed on the way out too, so a failed run never leaves a server holding a port or a core.
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130))
}

function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function stopChild (child: ChildProcess): Promise<void> {
  child.kill('SIGTERM')
  const gone = await Promise.race([exited(child).then(() => true), sleep(STOP_TIMEOUT_MS, false, { ref: false })])
  if (!gone) {
    child.kill('SIGKILL')
    await exited(child)
  }
  running.delete(child)
}

/** Says whether a server is up: 'ready', or why not yet. Throws when waiting cannot help. */
export type ReadyCheck = (baseUrl: string) => Promise<'ready' | string>

/** Ready once `path` answers 2xx. */
export function httpReady (path: string): ReadyCheck {
  return async (baseUrl) => {
    const url = baseUrl + path
    const reply = await send(url, {}, 1_000).catch((err: Error) => err)
    if (reply instanceof Error) return reply.message
    if (reply.status >= 200 && reply.status < 300) return 'ready'
    // A missing route will not appear by waiting; anything else (503 while starting) might pass.
    if (reply.status === 404) throw new Error(`${url} answered 404`)
    return `HTTP ${reply.status}`
  }
}

async function waitUntilUp (child: ChildProcess, baseUrl: string, ready: ReadyCheck, label: string, command: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${label} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready; ` +
        `its output went to /dev/null, run \`${command}\` to see why`)
    }
    try {
      last = await ready(baseUrl)
    } catch (err) {
      throw new Error(`${label}: ${(err as Error).message}`)
    }
    if (last === 'ready') return
    await sleep(100)
  }
  throw new Error(`${label} was not ready at ${baseUrl} within ${START_TIMEOUT_MS / 1000} s (last: ${last})`)
}

/**
 * A Node script started as `node <script> --port <free port> --host 127.0.0.1 ...args`, with its
 * output discarded (stdio 'ignore') so logging costs what it costs in production, not a pipe to us.
 */
let serverAffinity: Affinity | null = null

/** Servers started from now on run on these CPUs (see affinity.ts); null: wherever the scheduler puts them. */
export function pinServers (affinity: Affinity | null): void {
  serverAffinity = affinity
}

export interface NodeServerOptions {
  /** arguments after --port and --host */
  args?: string[]
  /** what its answers hold, for the probe (WebSocket servers: unused) */
  echo?: EchoShape
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function nodeServer (label: string, script: string, ready: ReadyCheck, { args = [], echo = 'full' }: NodeServerOptions = {}): TargetSpec {
  const shown = relative(ROOT, script).startsWith('..') ? script : relative(ROOT, script)
  return {
    label,
    command: ['node', shown, ...args.map((a) => a === '' ? "''" : a)].join(' '),
    echo,
    async start (): Promise<Target> {
      if (!existsSync(script)) throw new Error(`${label}: ${script} does not exist (run npm run build first)`)
      const port = await freePort()
      const baseUrl = `http://${HOST}:${port}`
      const argv = [script, '--port', String(port), '--host', HOST, ...args]
      const [command, commandArgs] = onServerCpu(serverAffinity, process.execPath, argv)
      const child = spawn(command, commandArgs, { stdio: 'ignore' })
      running.add(child)
      try {
        if (child.pid === undefined) throw new Error(`${label}: could not start ${process.execPath}`)
        await waitUntilUp(child, baseUrl, ready, label, ['node', ...argv].join(' '))
      } catch (err) {
        await stopChild(child)
        throw err
      }
      return { baseUrl, pid: child.pid, stop: () => stopChild(child) }
    }
  }
}
