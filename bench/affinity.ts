// CPU pinning for the benchmark: each server under test on a CPU of its own, the load generator (wrk, or the
// WebSocket clients in this process) on the others.
//
// Why: unpinned, the scheduler sometimes runs a server on the same CPU as the load generator and sometimes
// not, and on a VM the two regimes differ by ~25% in throughput (cross-CPU wake-ups are slow there). A
// server process keeps its regime for its whole life, so medians over rounds cannot average it out; ratios
// moved from 0.52 to 0.68 between runs of the same build. Pinned, both servers are measured alike, run
// after run. BENCH_PIN=0 turns it off.
import { spawnSync } from 'node:child_process'
import { cpus } from 'node:os'

export interface Affinity {
  /** taskset CPU list for the server under test */
  server: string
  /** taskset CPU list for the load generator (this process and its children) */
  load: string
}

function hasTaskset (): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
}

/** The plan, or null (BENCH_PIN=0, a single CPU, or no taskset) with the reason. */
export function planAffinity (env: NodeJS.ProcessEnv = process.env): { affinity: Affinity | null, why: string } {
  if (env.BENCH_PIN === '0') return { affinity: null, why: 'BENCH_PIN=0' }
  const n = cpus().length
  if (n < 2) return { affinity: null, why: 'one CPU only' }
  if (!hasTaskset()) return { affinity: null, why: 'taskset (util-linux) not found' }
  return { affinity: { server: String(n - 1), load: n === 2 ? '0' : `0-${n - 2}` }, why: '' }
}

/** Pins every thread of this process (and so the children it starts later) to the load generator's CPUs. */
export function pinSelf (affinity: Affinity): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', affinity.load, String(process.pid)], { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`taskset could not pin the benchmark to CPU ${affinity.load}`)
}

/** The command line that starts `argv` on the server's CPU (taskset execs it: the pid stays the server's). */
export function onServerCpu (affinity: Affinity | null, command: string, argv: string[]): [string, string[]] {
  return affinity === null ? [command, argv] : ['taskset', ['-c', affinity.server, command, ...argv]]
}
