// `npm run bench`: echoscope against the floor Node allows. Per scenario both are measured in interleaved
// rounds (bare, echoscope, bare, echoscope, ...) so drift in the machine's load hits both alike, each round
// on a freshly started and warmed-up process, and the medians are compared. Besides the rate, the server's own CPU time per operation is read from /proc: on a
// shared VM it is far steadier than throughput, so its ratio is printed beside the judged one.
//
// Env: BENCH_DURATION (s per measurement, default 5), BENCH_WARMUP (s, default 2), BENCH_ROUNDS
// (default 5: fresh server processes differ by up to ±10%, the median of five is steadier),
// BENCH_CONNECTIONS (HTTP, default 50), BENCH_PIPELINING (HTTP, default 1),
// BENCH_TOOL (wrk|autocannon; default wrk when on PATH), BENCH_WS_CLIENTS (default 50),
// BENCH_WS_IDLE (idle WebSockets for the memory check, default 5000),
// BENCH_ONLY (bare|echoscope: run one side only), BENCH_PIN (0: do not pin CPUs, see affinity.ts), BENCH_ONLY_GROUP (http|ws),
// BENCH_ECHOSCOPE_ENTRY (script in echoscope's slot, default dist/src/cli.js; dist/bench/bare-http.js
// there checks the harness), BENCH_WS_ECHOSCOPE_ENTRY (the same for the WebSocket group, default
// BENCH_ECHOSCOPE_ENTRY; dist/bench/bare-ws.js there checks the harness).
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { hrtime } from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { planAffinity, pinSelf } from './affinity.ts'
import { httpGroup } from './http-group.ts'
import { pinServers } from './servers.ts'
import { pickHttpTool } from './http-load.ts'
import { assertProcfs, CLOCK_TICKS, readCpuTicks, readSystemTicks, ticksToSeconds } from './proc.ts'
import type { Measurement, MemoryMeasurement, Meter, Scenario, ScenarioGroup, Settings, Target, TargetSpec } from './types.ts'
import { wsGroup } from './ws-group.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const RESULTS_DIR = join(ROOT, 'bench', 'results')

function positiveInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}=${raw}: expected a whole number of at least 1`)
  return value
}

function readSettings (): Settings {
  return {
    durationSec: positiveInt('BENCH_DURATION', 5),
    warmupSec: positiveInt('BENCH_WARMUP', 2),
    rounds: positiveInt('BENCH_ROUNDS', 5),
    connections: positiveInt('BENCH_CONNECTIONS', 50),
    pipelining: positiveInt('BENCH_PIPELINING', 1),
    wsClients: positiveInt('BENCH_WS_CLIENTS', 50),
    wsIdle: positiveInt('BENCH_WS_IDLE', 5000)
  }
}

type Role = 'baseline' | 'subject' | 'reference'

function readOnly (): Role | undefined {
  const only = process.env.BENCH_ONLY
  if (only === undefined || only === '') return undefined
  if (only === 'bare') return 'baseline'
  if (only === 'echoscope') return 'subject'
  throw new Error(`BENCH_ONLY=${only}: expected bare or echoscope`)
}

const GROUP_NAMES = ['http', 'ws']

function readOnlyGroup (): string | undefined {
  const only = process.env.BENCH_ONLY_GROUP
  if (only === undefined || only === '') return undefined
  if (!GROUP_NAMES.includes(only)) throw new Error(`BENCH_ONLY_GROUP=${only}: expected ${GROUP_NAMES.join(' or ')}`)
  return only
}

/** One measurement, with what the CPU did meanwhile. Cores are CPU-seconds per wall second. */
interface Round extends Measurement {
  serverCpuUsPerOp: number
  serverCores: number
  /** the load generator: this process plus the children it reaped meanwhile (wrk) */
  loadCores: number
  loadCpuUsPerOp: number
  /** everything else on the machine: neither the server nor the load generator */
  otherCores: number
  /** CPU the hypervisor gave away: it slows the rate, not the CPU per operation */
  stealCores: number
}

/** The medians over the rounds of one server in one scenario. */
interface Side {
  rate: number
  p50Ms: number
  p99Ms: number
  serverCpuUsPerOp: number
  serverCores: number
  loadCores: number
  loadCpuUsPerOp: number
  /** half the range of the rounds' rates, relative to their median: the noise a reader should allow for */
  rateSpread: number
  /** the same for CPU per operation */
  cpuSpread: number
  rounds: Round[]
}

interface ScenarioResult {
  name: string
  baseline?: Side
  subject?: Side
  reference?: Side
  /** median subject rate / median reference rate: shown, not judged */
  referenceRatio?: number
  /** median subject rate / median baseline rate: the judged figure */
  rateRatio?: number
  /** median baseline CPU per op / median subject CPU per op: same direction as rateRatio, not judged */
  cpuRatio?: number
  meetsTarget?: boolean
}

interface MemoryResult {
  name: string
  target: number
  baseline?: MemoryMeasurement
  subject?: MemoryMeasurement
  /** subject / baseline RSS per connection */
  ratio?: number
  meetsTarget?: boolean
}

interface GroupResult {
  name: string
  unit: string
  op: string
  target: number
  judgedOn: string
  baselineLabel: string
  subjectLabel: string
  referenceLabel?: string
  notes: string[]
  /** cores other processes kept busy before the servers started */
  backgroundCores: number
  scenarios: ScenarioResult[]
  memory?: MemoryResult
  warnings: string[]
}

/** Share of all cores that others may use before the numbers stop meaning much. */
const BUSY_WARNING = 0.15
/**
 * Above this share of one core, the single-threaded load generator is what sets the pace. It does
 * too when it spends about as much CPU per operation as the server: every message passes through
 * both, so the costlier of the two bounds the rate, and a server cheaper than the client goes unseen.
 */
const LOAD_SATURATED = 0.9
const LOAD_COST_SHARE = 0.9
const CORES = cpus().length

function log (line: string): void {
  process.stderr.write(line + '\n')
}

/** Cores others kept busy while nothing of ours ran: on a shared 2-core box this decides whether numbers mean anything. */
async function backgroundCores (ms = 1000): Promise<number> {
  const before = readSystemTicks().busy
  await sleep(ms)
  return ticksToSeconds(readSystemTicks().busy - before) / (ms / 1000)
}

interface Snapshot {
  wall: bigint
  serverTicks: number
  childTicks: number
  selfCpuUs: number
  busyTicks: number
  stealTicks: number
}

function snapshot (pid: number): Snapshot {
  const { user, system } = process.cpuUsage()
  const { busy, steal } = readSystemTicks()
  return {
    wall: hrtime.bigint(),
    serverTicks: readCpuTicks(pid).self,
    childTicks: readCpuTicks('self').children,
    selfCpuUs: user + system,
    busyTicks: busy,
    stealTicks: steal
  }
}

interface Usage { wallSec: number, serverSec: number, loadSec: number, otherSec: number, stealSec: number }

function meterFor (pid: number): Meter & { usage(): Usage } {
  let start: Snapshot | undefined
  let stop: Snapshot | undefined
  return {
    start () { start = snapshot(pid) },
    stop () { stop = snapshot(pid) },
    usage () {
      if (start === undefined || stop === undefined) throw new Error('the scenario did not call meter.start() and meter.stop()')
      const wallSec = Number(stop.wall - start.wall) / 1e9
      const serverSec = ticksToSeconds(stop.serverTicks - start.serverTicks)
      const loadSec = (stop.selfCpuUs - start.selfCpuUs) / 1e6 + ticksToSeconds(stop.childTicks - start.childTicks)
      // clock-tick granularity can push this a little below zero
      const otherSec = Math.max(0, ticksToSeconds(stop.busyTicks - start.busyTicks) - serverSec - loadSec)
      const stealSec = ticksToSeconds(stop.stealTicks - start.stealTicks)
      return { wallSec, serverSec, loadSec, otherSec, stealSec }
    }
  }
}

const noMeter: Meter = { start () {}, stop () {} }

async function measureRound (scenario: Scenario, target: Target, durationSec: number): Promise<Round> {
  const meter = meterFor(target.pid)
  const m = await scenario.measure(target, durationSec, meter)
  const u = meter.usage()
  return {
    ...m,
    serverCpuUsPerOp: u.serverSec * 1e6 / m.completed,
    serverCores: u.serverSec / u.wallSec,
    loadCores: u.loadSec / u.wallSec,
    loadCpuUsPerOp: u.loadSec * 1e6 / m.completed,
    otherCores: u.otherSec / u.wallSec,
    stealCores: u.stealSec / u.wallSec
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function spread (values: number[]): number {
  return (Math.max(...values) - Math.min(...values)) / 2 / median(values)
}

function summarize (rounds: Round[]): Side {
  const of = (pick: (r: Round) => number): number => median(rounds.map(pick))
  return {
    rate: of((r) => r.rate),
    p50Ms: of((r) => r.p50Ms),
    p99Ms: of((r) => r.p99Ms),
    serverCpuUsPerOp: of((r) => r.serverCpuUsPerOp),
    serverCores: of((r) => r.serverCores),
    loadCores: of((r) => r.loadCores),
    loadCpuUsPerOp: of((r) => r.loadCpuUsPerOp),
    rateSpread: spread(rounds.map((r) => r.rate)),
    cpuSpread: spread(rounds.map((r) => r.serverCpuUsPerOp)),
    rounds
  }
}

type Labelled = { role: Role, label: string }

function roles (group: ScenarioGroup, only: Role | undefined): Labelled[] {
  const all: Labelled[] = [{ role: 'baseline', label: group.baseline.label }, { role: 'subject', label: group.subject.label }]
  if (group.reference !== undefined) all.push({ role: 'reference', label: group.reference.label })
  return all.filter((r) => only === undefined || r.role === only)
}

function specOf (group: ScenarioGroup, role: Role): TargetSpec {
  const spec = role === 'reference' ? group.reference : group[role]
  if (spec === undefined) throw new Error(`${group.name}: no ${role} server`)
  return spec
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US')

async function runScenarios (group: ScenarioGroup, settings: Settings, sides: Labelled[]): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  for (const scenario of group.scenarios) {
    const rounds = new Map<Role, Round[]>(sides.map(({ role }) => [role, []]))
    for (let i = 1; i <= settings.rounds; i++) {
      for (const { role, label } of sides) {
        // A fresh process each round: a process keeps the speed it starts with (where its memory and code
        // landed, how the JIT settled) for its whole life, ±10% between starts of the same build here; the
        // median over fresh processes samples that instead of betting the result on one start.
        const target = await specOf(group, role).start()
        try {
          await scenario.probe(target)
          await scenario.measure(target, settings.warmupSec, noMeter)
          const round = await measureRound(scenario, target, settings.durationSec)
          rounds.get(role)!.push(round)
          log(`[${group.name}] ${scenario.name}: round ${i}/${settings.rounds} ${label} ${fmtInt(round.rate)} ${group.unit}, ` +
            `${round.serverCpuUsPerOp.toFixed(1)} µs CPU/${group.op} (load generator ${round.loadCpuUsPerOp.toFixed(1)}), ` +
            `cores: server ${round.serverCores.toFixed(2)}, load ${round.loadCores.toFixed(2)}, other ${round.otherCores.toFixed(2)}, steal ${round.stealCores.toFixed(2)}`)
        } finally {
          await target.stop()
        }
      }
    }
    const baseline = rounds.has('baseline') ? summarize(rounds.get('baseline')!) : undefined
    const subject = rounds.has('subject') ? summarize(rounds.get('subject')!) : undefined
    const reference = rounds.has('reference') ? summarize(rounds.get('reference')!) : undefined
    const both = baseline !== undefined && subject !== undefined
    const rateRatio = both ? subject.rate / baseline.rate : undefined
    results.push({
      name: scenario.name,
      baseline,
      subject,
      reference,
      referenceRatio: subject !== undefined && reference !== undefined ? subject.rate / reference.rate : undefined,
      rateRatio,
      cpuRatio: both ? baseline.serverCpuUsPerOp / subject.serverCpuUsPerOp : undefined,
      meetsTarget: rateRatio === undefined ? undefined : rateRatio >= group.target
    })
  }
  return results
}

/** Memory is measured on freshly started servers, one at a time: load runs leave heaps grown and would hide the cost. */
async function runMemory (group: ScenarioGroup, sides: Labelled[]): Promise<MemoryResult | undefined> {
  const check = group.memory
  if (check === undefined) return undefined
  const result: MemoryResult = { name: check.name, target: check.target }
  for (const { role, label } of sides) {
    if (role === 'reference') continue
    log(`[${group.name}] ${check.name}: starting a fresh ${label}`)
    const target = await group[role].start()
    try {
      const m = await check.measure(target)
      log(`[${group.name}] ${check.name}: ${label} ${m.perConnectionKiB.toFixed(2)} KiB/connection (opened in ${m.openSec.toFixed(1)} s)`)
      result[role] = m
    } finally {
      await target.stop()
    }
  }
  if (result.baseline !== undefined && result.subject !== undefined) {
    result.ratio = result.subject.perConnectionKiB / result.baseline.perConnectionKiB
    result.meetsTarget = result.ratio <= check.target
  }
  return result
}

function warningsFor (group: ScenarioGroup, background: number, scenarios: ScenarioResult[]): string[] {
  const warnings: string[] = []
  const busyLimit = BUSY_WARNING * CORES
  if (background > busyLimit) {
    warnings.push(`other processes kept ${background.toFixed(2)} of ${CORES} cores busy before the servers started; rerun on an idle machine before trusting the ratios`)
  }
  for (const s of scenarios) {
    const sides = (['baseline', 'subject'] as const).filter((role) => s[role] !== undefined)
    const rounds = sides.flatMap((role) => s[role]!.rounds)
    const noisy = rounds.filter((r) => r.otherCores + r.stealCores > busyLimit)
    if (noisy.length > 0) {
      const worst = (pick: (r: Round) => number): string => Math.max(...noisy.map(pick)).toFixed(2)
      warnings.push(`${s.name}: other processes used up to ${worst((r) => r.otherCores)} cores and the hypervisor took up to ` +
        `${worst((r) => r.stealCores)} in ${noisy.length} of ${rounds.length} measurements; the rates are suspect, CPU per ${group.op} much less so`)
    }
    for (const role of sides) {
      const side = s[role]!
      if (side.loadCores >= LOAD_SATURATED || side.loadCpuUsPerOp >= LOAD_COST_SHARE * side.serverCpuUsPerOp) {
        warnings.push(`${s.name}, ${group[role].label}: the load generator (one process) spent ${side.loadCpuUsPerOp.toFixed(1)} µs CPU ` +
          `per ${group.op} to the server's ${side.serverCpuUsPerOp.toFixed(1)} (${side.loadCores.toFixed(2)} vs ` +
          `${side.serverCores.toFixed(2)} cores): it cannot saturate this server, so ${group.unit} is partly the client's ` +
          'limit and the rate ratio is squeezed toward 1; the CPU ratio is the sounder figure here')
      }
    }
  }
  return warnings
}

async function runGroup (group: ScenarioGroup, settings: Settings, only: Role | undefined): Promise<GroupResult> {
  const sides = roles(group, only)
  const background = await backgroundCores()
  const scenarios = await runScenarios(group, settings, sides)
  const memory = await runMemory(group, sides)
  return {
    name: group.name,
    unit: group.unit,
    op: group.op,
    target: group.target,
    judgedOn: `median ${group.unit} ratio ${group.subject.label}/${group.baseline.label}`,
    baselineLabel: group.baseline.label,
    subjectLabel: group.subject.label,
    referenceLabel: group.reference?.label,
    notes: group.notes ?? [],
    backgroundCores: background,
    scenarios,
    memory,
    warnings: warningsFor(group, background, scenarios)
  }
}

// --- output ----------------------------------------------------------------------------------------

const fmtMs = (value: number | undefined): string => value === undefined ? '-' : value.toFixed(2)
const fmtRatio = (value: number | undefined): string => value === undefined ? '-' : value.toFixed(2)
const fmtSpread = (share: number): string => `±${Math.round(share * 100)}%`

function renderTable (header: string[], rows: string[][]): string {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col].length)))
  const line = (cells: string[]): string =>
    cells.map((cell, col) => col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col])).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function renderScenarios (result: GroupResult): string {
  const b = result.baselineLabel
  const s = result.subjectLabel
  const cpu = `CPU µs/${result.op}`
  const header = ['scenario', `${b} ${result.unit}`, 'p50 ms', 'p99 ms', cpu, `${s} ${result.unit}`, 'p50 ms', 'p99 ms', cpu,
    `${result.unit} ${s}/${b}`, `CPU ${b}/${s}`]
  const rows = result.scenarios.map((r) => {
    const side = (x: Side | undefined): string[] => x === undefined
      ? ['-', '-', '-', '-']
      : [`${fmtInt(x.rate)} ${fmtSpread(x.rateSpread)}`, fmtMs(x.p50Ms), fmtMs(x.p99Ms), `${x.serverCpuUsPerOp.toFixed(1)} ${fmtSpread(x.cpuSpread)}`]
    return [r.name, ...side(r.baseline), ...side(r.subject), fmtRatio(r.rateRatio), fmtRatio(r.cpuRatio)]
  })
  return renderTable(header, rows)
}

function renderVerdicts (result: GroupResult): string[] {
  const b = result.baselineLabel
  const s = result.subjectLabel
  const lines = result.scenarios.map((r) => {
    const what = `${result.name} ${r.name}: ${s}/${b} ${result.unit}`
    if (r.rateRatio === undefined) return `SKIP ${what} not compared (BENCH_ONLY)`
    return `${r.meetsTarget === true ? 'PASS' : 'MISS'} ${what} = ${fmtRatio(r.rateRatio)} (target ≥ ${result.target}); ` +
      `CPU per ${result.op} ${b}/${s} = ${fmtRatio(r.cpuRatio)} (not judged)`
  })
  const m = result.memory
  if (m !== undefined) {
    const what = `${result.name} ${m.name}: ${s}/${b} RSS per connection`
    lines.push(m.ratio === undefined
      ? `SKIP ${what} not compared (BENCH_ONLY)`
      : `${m.meetsTarget === true ? 'PASS' : 'MISS'} ${what} = ${fmtRatio(m.ratio)} (target ≤ ${m.target})`)
  }
  return lines
}

/** The reference server's row per scenario, with the subject's rate against it (not judged). */
function renderReference (result: GroupResult): string | null {
  const r = result.referenceLabel
  if (r === undefined || !result.scenarios.some((x) => x.reference !== undefined)) return null
  const s = result.subjectLabel
  const rows = result.scenarios.map((x) => x.reference === undefined
    ? [x.name, '-', '-', '-', '-', '-']
    : [x.name, `${fmtInt(x.reference.rate)} ${fmtSpread(x.reference.rateSpread)}`, fmtMs(x.reference.p50Ms), fmtMs(x.reference.p99Ms),
        `${x.reference.serverCpuUsPerOp.toFixed(1)} ${fmtSpread(x.reference.cpuSpread)}`, fmtRatio(x.referenceRatio)])
  return renderTable(['reference (not judged)', `${r} ${result.unit}`, 'p50 ms', 'p99 ms', `CPU µs/${result.op}`, `${result.unit} ${s}/${r}`], rows)
}

function renderMemory (result: GroupResult): string {
  const m = result.memory!
  const mib = (kib: number): string => (kib / 1024).toFixed(1)
  const rows = (['baseline', 'subject'] as const).map((role) => {
    const x = m[role]
    const label = role === 'baseline' ? result.baselineLabel : result.subjectLabel
    return x === undefined
      ? [label, '-', '-', '-', '-']
      : [label, String(x.connections), `${mib(x.rssBeforeKiB)} → ${mib(x.rssAfterKiB)}`, x.perConnectionKiB.toFixed(2), x.openSec.toFixed(1)]
  })
  return renderTable(['idle memory', 'connections', 'RSS MiB', 'KiB/connection', 'open s'], rows)
}

function render (result: GroupResult, settings: Settings): string {
  const out = [
    `== ${result.name} ==`,
    ...result.notes,
    `figures are medians of ${settings.rounds} interleaved rounds (${result.baselineLabel}, ${result.subjectLabel}, ...; a fresh process each) of ` +
      `${settings.durationSec} s each; ± is half the range over the rounds; CPU is the server process's own (utime+stime) per ${result.op}`,
    `judged on the ${result.judgedOn} (target ≥ ${result.target}); the CPU ratio ${result.baselineLabel}/${result.subjectLabel} is printed beside it, not judged`,
    '',
    renderScenarios(result)
  ]
  const reference = renderReference(result)
  if (reference !== null) out.push('', reference)
  if (result.memory !== undefined) out.push('', renderMemory(result))
  out.push('', ...renderVerdicts(result))
  for (const warning of result.warnings) out.push(`WARNING: ${warning}`)
  return out.join('\n')
}

function writeResults (result: GroupResult, settings: Settings, tool: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${result.name}-latest.json`)
  const doc = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: CORES,
    pinned: pinnedTo,
    clockTicks: CLOCK_TICKS,
    tool,
    settings,
    ...result
  }
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n')
  return file
}

/** 'server CPU x, load CPU y', or null when unpinned: recorded with the results. */
let pinnedTo: string | null = null

async function main (): Promise<void> {
  assertProcfs()
  const settings = readSettings()
  const only = readOnly()
  const onlyGroup = readOnlyGroup()
  const httpTool = pickHttpTool(process.env.BENCH_TOOL)
  const echoscopeEntry = resolve(process.env.BENCH_ECHOSCOPE_ENTRY || join(ROOT, 'dist', 'src', 'cli.js'))
  const wsEchoscopeEntry = resolve(process.env.BENCH_WS_ECHOSCOPE_ENTRY || echoscopeEntry)
  const groups: [ScenarioGroup, string][] = [
    [httpGroup({ settings, tool: httpTool, echoscopeEntry }), httpTool.name],
    [wsGroup({ settings, echoscopeEntry: wsEchoscopeEntry }), 'ws']
  ]
  const entries: Record<string, string> = { http: echoscopeEntry, ws: wsEchoscopeEntry }
  const defaultEntry = join(ROOT, 'dist', 'src', 'cli.js')
  const startedAt = Date.now()

  const { affinity, why } = planAffinity()
  if (affinity !== null) {
    pinSelf(affinity)
    pinServers(affinity)
    pinnedTo = `server CPU ${affinity.server}, load CPU ${affinity.load}`
    log(`servers pinned to CPU ${affinity.server}, the load generator to CPU ${affinity.load} (BENCH_PIN=0: unpinned)`)
  } else {
    log(`not pinned (${why}): throughput moves with where the scheduler puts the server`)
  }
  log(`${settings.rounds} interleaved rounds × ${settings.durationSec} s per server and scenario, after ${settings.warmupSec} s of warm-up each`)
  let failed = 0
  for (const [group, tool] of groups) {
    if (onlyGroup !== undefined && group.name !== onlyGroup) continue
    if (entries[group.name] !== defaultEntry) log(`[${group.name}] echoscope's slot runs ${entries[group.name]}`)
    try {
      const result = await runGroup(group, settings, only)
      const file = writeResults(result, settings, tool)
      console.log(`\n${render(result, settings)}\nresults: ${file}`)
    } catch (err) {
      failed++
      console.error(`\n${group.name} BENCHMARK FAILED: ${(err as Error).message}`)
    }
  }
  log(`\nfinished in ${Math.round((Date.now() - startedAt) / 1000)} s`)
  if (failed > 0) process.exitCode = 1
}

try {
  await main()
} catch (err) {
  console.error(`\nBENCHMARK FAILED: ${(err as Error).message}`)
  process.exitCode = 1
}
