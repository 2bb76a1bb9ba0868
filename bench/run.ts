// `npm run bench`: echoscope side by side with plain servers doing the same job. Per scenario every target
// is measured in interleaved rounds (each round runs every target in turn, the order rotated from round to
// round) so drift in the machine's load hits all alike, each round on a freshly started and warmed-up
// process, and the medians are compared. Besides the rate and latency, the server's own CPU time per
// operation is read from /proc: on a shared VM it is far steadier than throughput. Each target first
// answers one request per scenario that must be a correct echo, or the run stops.
//
// HTTP targets: echoscope (its defaults), bare-same-work (node:http doing echoscope's per-request work),
// bare-minimal (node:http echoing method, url, headers, body), fastify-minimal (one Fastify catch-all
// route). Judged: echoscope/bare-same-work req/s and p99, echoscope/bare-minimal idle RSS.
// WebSocket targets: bare (the ws package) and echoscope; judged: msg/s and RSS per idle connection.
//
// Env: BENCH_DURATION (s per measurement, default 5), BENCH_WARMUP (s, default 2), BENCH_ROUNDS
// (default 5: fresh server processes differ by up to ±10%, the median of five is steadier),
// BENCH_CONNECTIONS (HTTP, default 50), BENCH_PIPELINING (HTTP, default 1),
// BENCH_TOOL (wrk|autocannon; default wrk when on PATH), BENCH_WS_CLIENTS (default 50),
// BENCH_WS_IDLE (idle WebSockets for the memory check, default 5000),
// BENCH_IDLE_SETTLE (s a warmed-up HTTP server idles before its RSS is read, default 2),
// BENCH_COALESCING (1: add bare-same-work+coalescing, the same-work echo with echoscope's write
// coalescing, as an HTTP target shown but never judged),
// BENCH_ONLY (comma-separated target labels to run, e.g. echoscope,bare-minimal; `bare` stands for every
// bare-* target; criteria missing a side are skipped), BENCH_PIN (0: do not pin CPUs, see affinity.ts),
// BENCH_ONLY_GROUP (http|ws),
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
import { assertProcfs, CLOCK_TICKS, readCpuTicks, readRssKiB, readSystemTicks, ticksToSeconds } from './proc.ts'
import type { Criterion, Measurement, MemoryMeasurement, Meter, Scenario, ScenarioGroup, Settings, Target, TargetSpec } from './types.ts'
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
    wsIdle: positiveInt('BENCH_WS_IDLE', 5000),
    idleSettleSec: positiveInt('BENCH_IDLE_SETTLE', 2)
  }
}

function readFlag (name: string): boolean {
  const raw = process.env[name]
  if (raw === undefined || raw === '' || raw === '0') return false
  if (raw === '1') return true
  throw new Error(`${name}=${raw}: expected 1 or 0`)
}

/** BENCH_ONLY's labels, or undefined for every target. */
function readOnly (): string[] | undefined {
  const only = process.env.BENCH_ONLY
  if (only === undefined || only === '') return undefined
  return only.split(',').map((name) => name.trim()).filter((name) => name !== '')
}

function selected (label: string, only: string[] | undefined): boolean {
  return only === undefined || only.includes(label) || (only.includes('bare') && /^bare\b/.test(label))
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

/** The medians over the rounds of one target in one scenario. */
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
  /** the same for p99 */
  p99Spread: number
  /** the same for CPU per operation */
  cpuSpread: number
  rounds: Round[]
}

interface ScenarioResult {
  name: string
  /** by target label */
  targets: Record<string, Side>
}

/** RSS of fresh, warmed-up, idle processes of one target. */
interface IdleRss {
  /** median over the rounds */
  rssKiB: number
  spread: number
  roundsKiB: number[]
}

interface Verdict {
  criterion: string
  /** the scenario, for per-scenario criteria */
  scenario?: string
  subject: string
  yardstick: string
  /** subject / yardstick; undefined when it could not be formed (see skipped) */
  ratio?: number
  bound: 'min' | 'max'
  limit: number
  pass?: boolean
  /** why there is no ratio */
  skipped?: string
}

/** subject CPU per op / yardstick CPU per op: shown, never judged */
interface CpuRatio { scenario: string, yardstick: string, ratio: number }

interface GroupResult {
  name: string
  unit: string
  op: string
  subject: string
  targets: { label: string, command: string }[]
  criteria: Criterion[]
  notes: string[]
  /** cores other processes kept busy before the servers started */
  backgroundCores: number
  scenarios: ScenarioResult[]
  idleRss?: Record<string, IdleRss>
  memory?: { name: string, targets: Record<string, MemoryMeasurement> }
  verdicts: Verdict[]
  cpuRatios: CpuRatio[]
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
const CPU_MODEL = cpus()[0]?.model.trim() ?? 'unknown'

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
  const m = median(values)
  return m === 0 ? 0 : (Math.max(...values) - Math.min(...values)) / 2 / m
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
    p99Spread: spread(rounds.map((r) => r.p99Ms)),
    cpuSpread: spread(rounds.map((r) => r.serverCpuUsPerOp)),
    rounds
  }
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US')

/** Round i's order: every target once, started one further along each round, so none always follows the same one. */
function rotated<T> (items: T[], round: number): T[] {
  const k = (round - 1) % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

/** One request per scenario and target before any load: a target answering wrongly stops the run here, loudly. */
async function selfCheck (group: ScenarioGroup, targets: TargetSpec[]): Promise<void> {
  for (const spec of targets) {
    const target = await spec.start()
    try {
      for (const scenario of group.scenarios) await scenario.probe(target, spec)
    } finally {
      await target.stop()
    }
    log(`[${group.name}] self-check ${spec.label}: ${group.scenarios.map((s) => s.name).join(', ')} answered correctly`)
  }
}

async function runScenarios (group: ScenarioGroup, settings: Settings, targets: TargetSpec[]): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  for (const scenario of group.scenarios) {
    const rounds = new Map<string, Round[]>(targets.map(({ label }) => [label, []]))
    for (let i = 1; i <= settings.rounds; i++) {
      for (const spec of rotated(targets, i)) {
        // A fresh process each round: a process keeps the speed it starts with (where its memory and code
        // landed, how the JIT settled) for its whole life, ±10% between starts of the same build here; the
        // median over fresh processes samples that instead of betting the result on one start.
        const target = await spec.start()
        try {
          await scenario.probe(target, spec)
          await scenario.measure(target, settings.warmupSec, noMeter)
          const round = await measureRound(scenario, target, settings.durationSec)
          rounds.get(spec.label)!.push(round)
          log(`[${group.name}] ${scenario.name}: round ${i}/${settings.rounds} ${spec.label} ${fmtInt(round.rate)} ${group.unit}, ` +
            `p99 ${round.p99Ms.toFixed(2)} ms, ${round.serverCpuUsPerOp.toFixed(1)} µs CPU/${group.op} (load generator ${round.loadCpuUsPerOp.toFixed(1)}), ` +
            `cores: server ${round.serverCores.toFixed(2)}, load ${round.loadCores.toFixed(2)}, other ${round.otherCores.toFixed(2)}, steal ${round.stealCores.toFixed(2)}`)
        } finally {
          await target.stop()
        }
      }
    }
    results.push({ name: scenario.name, targets: Object.fromEntries([...rounds].map(([label, r]) => [label, summarize(r)])) })
  }
  return results
}

/**
 * Idle RSS: a fresh process, warmed up with every scenario's load (so its code is loaded and compiled as in
 * service), then left alone before VmRSS is read. Interleaved rounds like the load, the median kept.
 */
async function runIdleRss (group: ScenarioGroup, settings: Settings, targets: TargetSpec[]): Promise<Record<string, IdleRss> | undefined> {
  if (group.idleRss !== true) return undefined
  const kib = new Map<string, number[]>(targets.map(({ label }) => [label, []]))
  for (let i = 1; i <= settings.rounds; i++) {
    for (const spec of rotated(targets, i)) {
      const target = await spec.start()
      try {
        for (const scenario of group.scenarios) {
          await scenario.probe(target, spec)
          await scenario.measure(target, settings.warmupSec, noMeter)
        }
        await sleep(settings.idleSettleSec * 1000)
        const rss = readRssKiB(target.pid)
        kib.get(spec.label)!.push(rss)
        log(`[${group.name}] idle RSS: round ${i}/${settings.rounds} ${spec.label} ${(rss / 1024).toFixed(1)} MiB`)
      } finally {
        await target.stop()
      }
    }
  }
  return Object.fromEntries([...kib].map(([label, values]) => [label, { rssKiB: median(values), spread: spread(values), roundsKiB: values }]))
}

/** Memory per connection is measured on freshly started servers, one at a time: load runs leave heaps grown and would hide the cost. */
async function runMemory (group: ScenarioGroup, targets: TargetSpec[]): Promise<GroupResult['memory']> {
  const check = group.memory
  if (check === undefined) return undefined
  const result: Record<string, MemoryMeasurement> = {}
  for (const spec of targets) {
    log(`[${group.name}] ${check.name}: starting a fresh ${spec.label}`)
    const target = await spec.start()
    try {
      const m = await check.measure(target)
      log(`[${group.name}] ${check.name}: ${spec.label} ${m.perConnectionKiB.toFixed(2)} KiB/connection (opened in ${m.openSec.toFixed(1)} s)`)
      result[spec.label] = m
    } finally {
      await target.stop()
    }
  }
  return { name: check.name, targets: result }
}

function judge (group: ScenarioGroup, scenarios: ScenarioResult[], idleRss: GroupResult['idleRss'], memory: GroupResult['memory']): Verdict[] {
  const verdicts: Verdict[] = []
  const verdict = (c: Criterion, scenario: string | undefined, subject: number | undefined, yardstick: number | undefined): void => {
    const base = { criterion: c.name, scenario, subject: group.subject, yardstick: c.yardstick, bound: c.bound, limit: c.limit }
    if (subject === undefined || yardstick === undefined) {
      verdicts.push({ ...base, skipped: 'not compared (BENCH_ONLY)' })
    } else if (!(yardstick > 0)) {
      // RSS per connection over too few connections drowns in the garbage collector's noise and can come out negative
      verdicts.push({ ...base, skipped: `not compared: ${c.yardstick}'s figure is ${yardstick.toFixed(2)}, too small to divide by (measure more)` })
    } else {
      const ratio = subject / yardstick
      verdicts.push({ ...base, ratio, pass: c.bound === 'min' ? ratio >= c.limit : ratio <= c.limit })
    }
  }
  for (const c of group.criteria) {
    if (c.metric === 'rate' || c.metric === 'p99') {
      const pick = (side: Side | undefined): number | undefined => side === undefined ? undefined : c.metric === 'rate' ? side.rate : side.p99Ms
      for (const s of scenarios) verdict(c, s.name, pick(s.targets[group.subject]), pick(s.targets[c.yardstick]))
    } else if (c.metric === 'idleRss') {
      verdict(c, undefined, idleRss?.[group.subject]?.rssKiB, idleRss?.[c.yardstick]?.rssKiB)
    } else {
      verdict(c, undefined, memory?.targets[group.subject]?.perConnectionKiB, memory?.targets[c.yardstick]?.perConnectionKiB)
    }
  }
  return verdicts
}

/** The subject's CPU per operation against each yardstick of a throughput criterion: the steadier figure on a shared VM. */
function cpuRatios (group: ScenarioGroup, scenarios: ScenarioResult[]): CpuRatio[] {
  const yardsticks = [...new Set(group.criteria.filter((c) => c.metric === 'rate').map((c) => c.yardstick))]
  const out: CpuRatio[] = []
  for (const s of scenarios) {
    const subject = s.targets[group.subject]
    for (const y of yardsticks) {
      const other = s.targets[y]
      if (subject !== undefined && other !== undefined) out.push({ scenario: s.name, yardstick: y, ratio: subject.serverCpuUsPerOp / other.serverCpuUsPerOp })
    }
  }
  return out
}

function warningsFor (group: ScenarioGroup, background: number, scenarios: ScenarioResult[]): string[] {
  const warnings: string[] = []
  const busyLimit = BUSY_WARNING * CORES
  if (background > busyLimit) {
    warnings.push(`other processes kept ${background.toFixed(2)} of ${CORES} cores busy before the servers started; rerun on an idle machine before trusting the ratios`)
  }
  for (const s of scenarios) {
    const rounds = Object.values(s.targets).flatMap((side) => side.rounds)
    const noisy = rounds.filter((r) => r.otherCores + r.stealCores > busyLimit)
    if (noisy.length > 0) {
      const worst = (pick: (r: Round) => number): string => Math.max(...noisy.map(pick)).toFixed(2)
      warnings.push(`${s.name}: other processes used up to ${worst((r) => r.otherCores)} cores and the hypervisor took up to ` +
        `${worst((r) => r.stealCores)} in ${noisy.length} of ${rounds.length} measurements; the rates and latencies are suspect, CPU per ${group.op} much less so`)
    }
    for (const [label, side] of Object.entries(s.targets)) {
      if (side.loadCores >= LOAD_SATURATED || side.loadCpuUsPerOp >= LOAD_COST_SHARE * side.serverCpuUsPerOp) {
        warnings.push(`${s.name}, ${label}: the load generator (one process) spent ${side.loadCpuUsPerOp.toFixed(1)} µs CPU ` +
          `per ${group.op} to the server's ${side.serverCpuUsPerOp.toFixed(1)} (${side.loadCores.toFixed(2)} vs ` +
          `${side.serverCores.toFixed(2)} cores): it cannot saturate this server, so ${group.unit} is partly the client's ` +
          'limit and rate ratios with it are squeezed toward 1; the CPU ratio is the sounder figure here')
      }
    }
  }
  return warnings
}

async function runGroup (group: ScenarioGroup, settings: Settings, only: string[] | undefined): Promise<GroupResult> {
  const targets = group.targets.filter((t) => selected(t.label, only))
  if (targets.length === 0) throw new Error(`BENCH_ONLY=${only!.join(',')} selects none of ${group.targets.map((t) => t.label).join(', ')}`)
  await selfCheck(group, targets)
  const background = await backgroundCores()
  const scenarios = await runScenarios(group, settings, targets)
  const idleRss = await runIdleRss(group, settings, targets)
  const memory = await runMemory(group, targets)
  return {
    name: group.name,
    unit: group.unit,
    op: group.op,
    subject: group.subject,
    targets: targets.map(({ label, command }) => ({ label, command })),
    criteria: group.criteria,
    notes: group.notes ?? [],
    backgroundCores: background,
    scenarios,
    idleRss,
    memory,
    verdicts: judge(group, scenarios, idleRss, memory),
    cpuRatios: cpuRatios(group, scenarios),
    warnings: warningsFor(group, background, scenarios)
  }
}

// --- output ----------------------------------------------------------------------------------------

const fmtMs = (value: number): string => value.toFixed(2)
const fmtRatio = (value: number | undefined): string => value === undefined ? '-' : value.toFixed(2)
const fmtSpread = (share: number): string => `±${Math.round(share * 100)}%`
const fmtMiB = (kib: number): string => (kib / 1024).toFixed(1)

/** `left` columns are text (left-aligned), the rest figures. */
function renderTable (header: string[], rows: string[][], left = 2): string {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col].length)))
  const line = (cells: string[]): string =>
    cells.map((cell, col) => col < left ? cell.padEnd(widths[col]) : cell.padStart(widths[col])).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function renderScenarios (result: GroupResult): string {
  const rows = result.scenarios.flatMap((s) => result.targets.map(({ label }) => {
    const x = s.targets[label]
    return [s.name, label, `${fmtInt(x.rate)} ${fmtSpread(x.rateSpread)}`, fmtMs(x.p50Ms), `${fmtMs(x.p99Ms)} ${fmtSpread(x.p99Spread)}`,
      `${x.serverCpuUsPerOp.toFixed(1)} ${fmtSpread(x.cpuSpread)}`]
  }))
  return renderTable(['scenario', 'target', result.unit, 'p50 ms', 'p99 ms', `CPU µs/${result.op}`], rows)
}

function renderIdleRss (result: GroupResult): string {
  const rss = result.idleRss!
  const rows = result.targets.map(({ label }) => [label, `${fmtMiB(rss[label].rssKiB)} ${fmtSpread(rss[label].spread)}`])
  return renderTable(['target', 'idle RSS MiB'], rows, 1)
}

function renderMemory (result: GroupResult): string {
  const m = result.memory!
  const rows = result.targets.map(({ label }) => {
    const x = m.targets[label]
    return [m.name, label, `${fmtMiB(x.rssBeforeKiB)} → ${fmtMiB(x.rssAfterKiB)}`, x.perConnectionKiB.toFixed(2), x.openSec.toFixed(1)]
  })
  return renderTable(['memory', 'target', 'RSS MiB', 'KiB/connection', 'open s'], rows)
}

const METRIC_TEXT: Record<Criterion['metric'], string> = { rate: 'rate', p99: 'p99', idleRss: 'idle RSS', rssPerConnection: 'RSS per connection' }

function renderVerdict (result: GroupResult, v: Verdict): string {
  const c = result.criteria.find((x) => x.name === v.criterion && x.yardstick === v.yardstick)!
  const what = c.metric === 'rate' ? result.unit : METRIC_TEXT[c.metric]
  const where = v.scenario === undefined ? result.name : `${result.name} ${v.scenario}`
  const text = `${where} ${v.criterion}: ${v.subject}/${v.yardstick} ${what}`
  const target = `target ${v.bound === 'min' ? '≥' : '≤'} ${v.limit}`
  if (v.ratio === undefined) return `SKIP ${text} ${v.skipped ?? 'not compared'} (${target})`
  return `${v.pass === true ? 'PASS' : 'FAIL'} ${text} = ${fmtRatio(v.ratio)} (${target})`
}

function render (result: GroupResult, settings: Settings): string {
  const labels = result.targets.map((t) => t.label)
  const out = [
    `== ${result.name} ==`,
    ...result.notes,
    ...result.targets.map((t) => `  ${t.label}: ${t.command}`),
    `figures are medians of ${settings.rounds} interleaved rounds (${labels.join(', ')}, ...; the order rotated each round; ` +
      `a fresh process each) of ${settings.durationSec} s after ${settings.warmupSec} s of warm-up; ± is half the range over the rounds; ` +
      `CPU is the server process's own (utime+stime) per ${result.op}`,
    '',
    renderScenarios(result)
  ]
  if (result.idleRss !== undefined) {
    out.push(`idle RSS: VmRSS of a fresh process after ${settings.warmupSec} s of each scenario's load and ${settings.idleSettleSec} s idle, median of ${settings.rounds} rounds`,
      '', renderIdleRss(result))
  }
  if (result.memory !== undefined) out.push('', renderMemory(result))
  out.push('', ...result.verdicts.map((v) => renderVerdict(result, v)))
  for (const r of result.cpuRatios) {
    out.push(`info ${result.name} ${r.scenario}: CPU per ${result.op} ${result.subject}/${r.yardstick} = ${fmtRatio(r.ratio)} (not judged)`)
  }
  const judged = result.verdicts.filter((v) => v.pass !== undefined)
  out.push(`${result.name}: ${judged.filter((v) => v.pass === true).length} of ${judged.length} criteria PASS` +
    (judged.length < result.verdicts.length ? `, ${result.verdicts.length - judged.length} skipped` : ''))
  for (const warning of result.warnings) out.push(`WARNING: ${warning}`)
  return out.join('\n')
}

function writeResults (result: GroupResult, settings: Settings, tool: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${result.name}-latest.json`)
  const doc = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: CPU_MODEL,
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
  const coalescing = readFlag('BENCH_COALESCING')
  const httpTool = pickHttpTool(process.env.BENCH_TOOL)
  const echoscopeEntry = resolve(process.env.BENCH_ECHOSCOPE_ENTRY || join(ROOT, 'dist', 'src', 'cli.js'))
  const wsEchoscopeEntry = resolve(process.env.BENCH_WS_ECHOSCOPE_ENTRY || echoscopeEntry)
  const groups: [ScenarioGroup, string][] = [
    [httpGroup({ settings, tool: httpTool, echoscopeEntry, coalescing }), httpTool.name],
    [wsGroup({ settings, echoscopeEntry: wsEchoscopeEntry }), 'ws']
  ]
  if (only !== undefined) {
    const known = new Set(['bare', ...groups.flatMap(([g]) => g.targets.map((t) => t.label))])
    const unknown = only.filter((name) => !known.has(name))
    if (unknown.length > 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY}: unknown target ${unknown.join(', ')}; expected some of ${[...known].join(', ')}`)
  }
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
  log(`${settings.rounds} interleaved rounds × ${settings.durationSec} s per target and scenario, after ${settings.warmupSec} s of warm-up each`)
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
