// What the kernel knows about a process, read from /proc (Linux only). Server CPU time per operation
// and RSS per connection come from here: both are far steadier on a shared VM than wall-clock rates.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'

/** Clock ticks per second of the utime/stime fields; getconf knows, 100 is the Linux norm. */
function readClockTicks (): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  const ticks = Number(out.stdout?.trim())
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
}

export const CLOCK_TICKS = readClockTicks()

export function assertProcfs (): void {
  if (!existsSync('/proc/self/stat')) throw new Error('the benchmark reads server CPU and memory from /proc: it needs Linux')
}

/**
 * Fields of /proc/<pid>/stat after the `(comm)` one, which may itself hold spaces and parentheses:
 * index 0 is field 3 (state), so field N is at N - 3.
 */
export function statFields (stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

export interface ProcCpu {
  /** utime + stime of the process, all its threads */
  self: number
  /** cutime + cstime: children it has waited for (a finished wrk run lands here) */
  children: number
}

/** CPU time in clock ticks. */
export function readCpuTicks (pid: number | 'self'): ProcCpu {
  const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  return { self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) }
}

export function ticksToSeconds (ticks: number): number {
  return ticks / CLOCK_TICKS
}

/** VmRSS of /proc/<pid>/status in KiB (the kernel's "kB" is KiB). */
export function parseRssKiB (status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (match === null) throw new Error('no VmRSS line in /proc/<pid>/status (has the process exited?)')
  return Number(match[1])
}

export function readRssKiB (pid: number): number {
  return parseRssKiB(readFileSync(`/proc/${pid}/status`, 'utf8'))
}

export interface SystemTicks {
  /** user + nice + system + irq over all cores: softirq is left out, as the loopback traffic of the load itself lands there */
  busy: number
  /** time the hypervisor gave our vCPUs to someone else: wall-clock rates suffer, CPU per operation does not */
  steal: number
}

/** The aggregate `cpu` line of /proc/stat, in clock ticks. */
export function parseProcStat (stat: string): SystemTicks {
  const line = stat.slice(0, stat.indexOf('\n')).split(/\s+/)
  const f = (i: number): number => Number(line[i] ?? 0)
  return { busy: f(1) + f(2) + f(3) + f(6), steal: f(8) }
}

export function readSystemTicks (): SystemTicks {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'))
}
