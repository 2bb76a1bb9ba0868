// `npm run bench`: echoscope against the floor Node allows, one server at a time, load generated
// from this process (or wrk) while the server runs in its own.
//
// Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 3), BENCH_CONNECTIONS (default 50),
// BENCH_PIPELINING (default 1), BENCH_TOOL (wrk|autocannon; default wrk when on PATH),
// BENCH_ONLY (bare|echoscope: run only the baselines or only echoscope),
// BENCH_ECHOSCOPE_ENTRY (script started in echoscope's slot, default dist/src/cli.js).
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { httpGroup } from './http-group.ts'
import { pickHttpTool } from './http-load.ts'
import type { Measurement, ScenarioGroup, Settings, TargetSpec } from './types.ts'

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
    durationSec: positiveInt('BENCH_DURATION', 10),
    warmupSec: positiveInt('BENCH_WARMUP', 3),
    connections: positiveInt('BENCH_CONNECTIONS', 50),
    pipelining: positiveInt('BENCH_PIPELINING', 1)
  }
}

type Role = 'baseline' | 'subject'

function readOnly (): Role | undefined {
  const only = process.env.BENCH_ONLY
  if (only === undefined || only === '') return undefined
  if (only === 'bare') return 'baseline'
  if (only === 'echoscope') return 'subject'
  throw new Error(`BENCH_ONLY=${only}: expected bare or echoscope`)
}

interface ScenarioResult {
  name: string
  baseline?: Measurement
  subject?: Measurement
  /** subject rate / baseline rate, when both ran */
  ratio?: number
  meetsTarget?: boolean
}

interface GroupResult {
  name: string
  unit: string
  target: number
  baselineLabel: string
  subjectLabel: string
  /** share of all cores other processes kept busy just before each server started, 0..1 */
  backgroundCpu: Record<string, number>
  scenarios: ScenarioResult[]
}

/** Above this, someone else is competing for the cores and the ratio says little. */
const BUSY_WARNING = 0.15

function log (line: string): void {
  process.stderr.write(line + '\n')
}

function cpuTimes (): { busy: number, total: number } {
  let busy = 0
  let total = 0
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle
    total += all
    busy += all - times.idle
  }
  return { busy, total }
}

/** CPU share used while nothing of ours runs: on a shared 2-core box this decides whether numbers mean anything. */
async function backgroundCpu (ms = 1000): Promise<number> {
  const before = cpuTimes()
  await sleep(ms)
  const after = cpuTimes()
  const total = after.total - before.total
  return total > 0 ? (after.busy - before.busy) / total : 0
}

/** Starts the server, and per scenario: probe, warm up, measure. The server is stopped whatever happens. */
async function measureTarget (group: ScenarioGroup, spec: TargetSpec, settings: Settings, background: Record<string, number>): Promise<Measurement[]> {
  const busy = await backgroundCpu()
  background[spec.label] = busy
  if (busy > BUSY_WARNING) log(`WARNING: other processes used ${Math.round(busy * 100)}% of the CPU before ${spec.label} started; results will be noisy`)
  log(`[${group.name}] starting ${spec.label}`)
  const target = await spec.start()
  try {
    const out: Measurement[] = []
    for (const scenario of group.scenarios) {
      await scenario.probe(target)
      log(`[${group.name}] ${spec.label} ${scenario.name}: warm-up ${settings.warmupSec} s`)
      await scenario.measure(target, settings.warmupSec)
      log(`[${group.name}] ${spec.label} ${scenario.name}: measuring ${settings.durationSec} s`)
      out.push(await scenario.measure(target, settings.durationSec))
    }
    return out
  } finally {
    await target.stop()
  }
}

async function runGroup (group: ScenarioGroup, settings: Settings, only: Role | undefined): Promise<GroupResult> {
  const background: Record<string, number> = {}
  const baseline = only === 'subject' ? undefined : await measureTarget(group, group.baseline, settings, background)
  const subject = only === 'baseline' ? undefined : await measureTarget(group, group.subject, settings, background)
  return {
    name: group.name,
    unit: group.unit,
    target: group.target,
    baselineLabel: group.baseline.label,
    subjectLabel: group.subject.label,
    backgroundCpu: background,
    scenarios: group.scenarios.map((scenario, i) => {
      const b = baseline?.[i]
      const s = subject?.[i]
      const ratio = b !== undefined && s !== undefined ? s.rate / b.rate : undefined
      return { name: scenario.name, baseline: b, subject: s, ratio, meetsTarget: ratio === undefined ? undefined : ratio >= group.target }
    })
  }
}

// --- output ----------------------------------------------------------------------------------------

const fmtRate = (m: Measurement | undefined): string => m === undefined ? '-' : Math.round(m.rate).toLocaleString('en-US')
const fmtMs = (value: number | undefined): string => value === undefined ? '-' : value.toFixed(2)

function renderTable (result: GroupResult): string {
  const b = result.baselineLabel
  const s = result.subjectLabel
  const header = ['scenario', `${b} ${result.unit}`, `${b} p50 ms`, `${b} p99 ms`,
    `${s} ${result.unit}`, `${s} p50 ms`, `${s} p99 ms`, `${s}/${b}`]
  const rows = result.scenarios.map((r) => [
    r.name,
    fmtRate(r.baseline), fmtMs(r.baseline?.p50Ms), fmtMs(r.baseline?.p99Ms),
    fmtRate(r.subject), fmtMs(r.subject?.p50Ms), fmtMs(r.subject?.p99Ms),
    r.ratio === undefined ? '-' : r.ratio.toFixed(2)
  ])
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col].length)))
  const line = (cells: string[]): string =>
    cells.map((cell, col) => col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col])).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function renderVerdicts (result: GroupResult): string[] {
  return result.scenarios.map((r) => {
    const what = `${result.name} ${r.name}: ${result.subjectLabel}/${result.baselineLabel} ${result.unit}`
    if (r.ratio === undefined) return `SKIP ${what} not measured (BENCH_ONLY)`
    const verdict = r.meetsTarget === true ? 'PASS' : 'MISS'
    return `${verdict} ${what} = ${r.ratio.toFixed(2)} (target ≥ ${result.target})`
  })
}

function writeResults (result: GroupResult, settings: Settings, tool: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${result.name}-latest.json`)
  const doc = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    tool,
    settings,
    ...result
  }
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n')
  return file
}

async function main (): Promise<void> {
  const settings = readSettings()
  const only = readOnly()
  const tool = pickHttpTool(process.env.BENCH_TOOL)
  const echoscopeEntry = resolve(process.env.BENCH_ECHOSCOPE_ENTRY || join(ROOT, 'dist', 'src', 'cli.js'))
  const groups: ScenarioGroup[] = [httpGroup({ settings, tool, echoscopeEntry })]

  log(`load generator: ${tool.name}; ${settings.connections} connections, pipelining ${settings.pipelining}, ` +
    `${settings.warmupSec} s warm-up + ${settings.durationSec} s per measurement`)
  if (process.env.BENCH_ECHOSCOPE_ENTRY) log(`echoscope slot runs ${echoscopeEntry}`)

  for (const group of groups) {
    const result = await runGroup(group, settings, only)
    const file = writeResults(result, settings, tool.name)
    console.log(`\n${renderTable(result)}\n`)
    for (const verdict of renderVerdicts(result)) console.log(verdict)
    const busy = Object.entries(result.backgroundCpu).filter(([, share]) => share > BUSY_WARNING)
    if (busy.length > 0) {
      console.log(`WARNING: the machine was busy with other work (${busy.map(([label, share]) => `${Math.round(share * 100)}% before ${label}`).join(', ')}); rerun on an idle machine before trusting the ratio`)
    }
    console.log(`results: ${file}`)
  }
}

try {
  await main()
} catch (err) {
  console.error(`\nBENCHMARK FAILED: ${(err as Error).message}`)
  process.exitCode = 1
}
