// A real redis-server for tests: an ephemeral loopback port, nothing written to disk, stopped after the test.
// A machine without redis-server fails the test (CI installs it from .ci/apt-packages); it never skips.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestContext } from 'node:test'
import { freePort } from './helper.ts'

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server'

export interface RedisServer {
  port: number
  url: string
  /** SIGKILL: the outage a crash or a lost node looks like */
  kill: () => Promise<void>
  /** start again on the same port (after kill) and wait until it answers */
  restart: () => Promise<void>
}

/** One PING over a raw socket: true when Redis answers +PONG. */
export function ping (port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const finish = (ok: boolean) => { clearTimeout(timer); socket.destroy(); resolve(ok) }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', d => { reply += d; if (reply.includes('\r\n')) finish(reply.startsWith('+PONG')) })
    socket.on('error', () => finish(false))
  })
}

function launch (port: number): { child: ChildProcess, exited: Promise<string> } {
  const child = spawn(REDIS_SERVER, ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', d => { out += d })
  child.stderr?.on('data', d => { out += d })
  const exited = new Promise<string>(resolve => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'ENOENT'
        ? `${REDIS_SERVER} not found: install it (Debian: apt-get install redis-server; .ci/apt-packages lists it)`
        : `${REDIS_SERVER} failed to start: ${err.message}`)
    })
    child.on('exit', (code, signal) => resolve(`${REDIS_SERVER} exited (${code ?? signal}):\n${out}`))
  })
  return { child, exited }
}

async function untilAnswering (port: number, exited: Promise<string>, timeoutMs = 10000): Promise<void> {
  let failure: string | null = null
  exited.then(msg => { failure = msg }, () => {})
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (failure !== null) throw new Error(failure)
    if (await ping(port)) return
    await sleep(25)
  }
  throw new Error(`${REDIS_SERVER} did not answer PING on port ${port} within ${timeoutMs} ms`)
}

function stop (child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve()
  child.kill('SIGKILL')
  return exited.then(() => {})
}

/** Starts redis-server on a free loopback port and stops it when the test ends. */
export async function startRedis (t: TestContext): Promise<RedisServer> {
  let current: { child: ChildProcess, exited: Promise<string> } | null = null
  t.after(() => current === null ? undefined : stop(current.child, current.exited))
  let port = 0
  // Another process may take the free port between the probe and redis-server's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    current = launch(port)
    try {
      await untilAnswering(port, current.exited)
      break
    } catch (err) {
      await stop(current.child, current.exited)
      if (attempt === 3 || /not found/.test((err as Error).message)) throw err
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill () {
      if (current !== null) await stop(current.child, current.exited)
    },
    async restart () {
      if (current !== null) await stop(current.child, current.exited)
      current = launch(port)
      await untilAnswering(port, current.exited)
    }
  }
}
