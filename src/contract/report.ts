// What `echoscope test` prints: a line per case, and for a case that failed what was unmet and the diff of
// what the gateway changed (diff's renderer); JUnit XML for CI systems; JSON for scripts.
import { render, renderGatewayAnswer, type Style } from '../diff/render.ts'
import { formatDuration } from '../config/options.ts'
import type { CaseResult, RunResult } from './run.ts'

const indent = (text: string, prefix: string) => text.split('\n').map(l => prefix + l).join('\n')

/** The diff (or the gateway's own answer) of a case, as diff prints it. */
function detail (r: CaseResult, style: Style): string | null {
  if (r.diff !== undefined) return render(r.diff, r.url, style)
  if (r.gateway !== undefined) return renderGatewayAnswer(r.gateway, r.method, r.url, style)
  return null
}

const counts = (answered: Record<string, number>) => Object.entries(answered).sort((a, b) => b[1] - a[1]).map(([i, n]) => `${i} ${n}`).join(', ')

function answered (r: CaseResult): string | null {
  if (r.answered === undefined) return null
  const sticky = r.sticky === undefined ? '' : `; with cookie ${r.sticky.cookie.split('=')[0]}: ${counts(r.sticky.answered)}`
  return `answered by ${counts(r.answered)}${sticky}`
}

export function renderRun (run: RunResult, style: Style): string {
  const c = (code: number, text: string) => style.color ? `\x1b[${code}m${text}\x1b[0m` : text
  const lines: string[] = []
  for (const r of run.cases) {
    const who = answered(r)
    const took = c(2, `(${formatDuration(r.durationMs)}${who !== null ? `, ${who}` : ''})`)
    if (r.status === 'passed') {
      lines.push(`${c(32, '✔')} ${r.name} ${took}`)
      continue
    }
    lines.push(`${c(31, r.status === 'error' ? '!' : '✘')} ${r.name} ${took}`)
    if (r.error !== undefined) lines.push(`    ${c(31, 'error')}: ${r.error}`)
    for (const u of r.unmet) lines.push(`    ${c(31, 'unmet')}: ${u}`)
    const d = detail(r, style)
    if (d !== null) lines.push(indent(d, '    │ '))
  }
  const parts = [`${run.passed} passed`, `${run.failed} failed`, ...(run.errors > 0 ? [`${run.errors} could not run`] : [])]
  lines.push('', `${run.cases.length} case${run.cases.length === 1 ? '' : 's'}: ${parts.join(', ')} in ${formatDuration(run.durationMs)}`)
  return lines.join('\n')
}

/** Text that XML 1.0 can carry: the markup characters escaped, control characters it forbids dropped. */
function xml (text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const seconds = (ms: number) => (ms / 1000).toFixed(3)

/** JUnit XML as Jenkins, GitLab, GitHub test reporters and the rest read it: one testcase per case. */
export function renderJunit (run: RunResult, suite: string, timestamp: Date): string {
  const plain = { color: false }
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="echoscope test" tests="${run.cases.length}" failures="${run.failed}" errors="${run.errors}" time="${seconds(run.durationMs)}">`,
    `  <testsuite name="${xml(suite)}" tests="${run.cases.length}" failures="${run.failed}" errors="${run.errors}" skipped="0" time="${seconds(run.durationMs)}" timestamp="${timestamp.toISOString().replace(/\.\d+Z$/, '')}">`
  ]
  for (const r of run.cases) {
    const open = `    <testcase name="${xml(r.name)}" classname="${xml(suite)}" time="${seconds(r.durationMs)}"`
    const d = detail(r, plain)
    const body: string[] = []
    if (r.status === 'error') body.push(`      <error message="${xml(r.error ?? 'could not run')}" type="error">${xml([r.error ?? '', ...r.unmet].join('\n'))}</error>`)
    else if (r.status === 'failed') body.push(`      <failure message="${xml(r.unmet[0])}" type="unmet">${xml(r.unmet.join('\n'))}</failure>`)
    const who = answered(r)
    const sysout = [who, r.status !== 'passed' ? d : null].filter(s => s !== null).join('\n')
    if (sysout !== '') body.push(`      <system-out>${xml(sysout)}</system-out>`)
    out.push(body.length === 0 ? `${open}/>` : [`${open}>`, ...body, '    </testcase>'].join('\n'))
  }
  out.push('  </testsuite>', '</testsuites>', '')
  return out.join('\n')
}

export function renderJson (run: RunResult, file: string): string {
  return JSON.stringify({ file, passed: run.passed, failed: run.failed, errors: run.errors, durationMs: run.durationMs, cases: run.cases }, null, 2)
}
