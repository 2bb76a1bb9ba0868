// The human summary of a diff: what a person reads in a terminal, coloured when it is one.
import type { DiffResult, GatewayAnswer } from './compare.ts'

export interface Style { color: boolean }

const codes = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const
type Color = keyof typeof codes

export function render (d: DiffResult, url: string, style: Style): string {
  const c = (color: Color, text: string) => style.color ? `\x1b[${codes[color]}m${text}\x1b[0m` : text
  const same = (a: string, b: string) => a === b
  const lines: string[] = []
  const srv = d.server
  const where = [srv.instance, srv.pod && `pod ${srv.pod}`, srv.namespace && `ns ${srv.namespace}`, srv.node && `node ${srv.node}`].filter(Boolean).join(', ')
  lines.push(`${c('bold', `${d.method.sent} ${url}`)} → ${d.status} from ${where} (echoscope ${srv.version})`)
  const row = (label: string, sent: string, received: string, show = (v: string) => v) =>
    lines.push(`${label.padEnd(8)} ${same(sent, received) ? c('dim', `${show(sent)} (unchanged)`) : `${c('red', show(sent))} → ${c('green', show(received))}`}`)
  row('method', d.method.sent, d.method.received)
  row('path', d.path.sent, d.path.received)
  row('query', d.query.sent, d.query.received, v => v === '' ? '(none)' : '?' + v)

  const { added, removed, changed, reordered } = d.headers
  const n = Object.keys(added).length + Object.keys(removed).length + Object.keys(changed).length + (reordered === undefined ? 0 : 1)
  lines.push(`headers  ${n === 0 ? c('dim', 'no change') : `${n} change${n === 1 ? '' : 's'}`}`)
  for (const [name, value] of Object.entries(added)) lines.push(`  ${c('green', `+ ${name}: ${value}`)}`)
  for (const [name, value] of Object.entries(removed)) lines.push(`  ${c('red', `- ${name}: ${value}`)}`)
  for (const [name, ch] of Object.entries(changed)) {
    if (ch.caseOnly) lines.push(`  ${c('yellow', `~ ${ch.sentName} → ${ch.receivedName}`)} ${c('dim', '(name case only)')}`)
    else if (ch.sentLines !== undefined) lines.push(`  ${c('yellow', `~ ${name}: ${ch.sentLines.length} line(s) ${JSON.stringify(ch.sentLines)} → ${ch.receivedLines?.length} line(s) ${JSON.stringify(ch.receivedLines)}`)}`)
    else lines.push(`  ${c('yellow', `~ ${name}: ${ch.sent} → ${ch.received}`)}`)
  }
  if (reordered !== undefined) lines.push(`  ${c('yellow', `↕ order: ${reordered.sent.join(', ')} → ${reordered.received.join(', ')}`)}`)
  const back = d.response
  if (back !== undefined) {
    const { added: ra, removed: rr, changed: rc } = back.headers
    const m = Object.keys(ra).length + Object.keys(rr).length + Object.keys(rc).length
    const st = back.status.sent === back.status.received ? c('dim', `${back.status.sent} (unchanged)`) : `${c('red', String(back.status.sent))} → ${c('green', String(back.status.received))}`
    lines.push(`way back status ${st}, headers ${m === 0 ? c('dim', 'no change') : `${m} change${m === 1 ? '' : 's'}`}`)
    for (const [name, value] of Object.entries(ra)) lines.push(`  ${c('green', `+ ${name}: ${value}`)}`)
    for (const [name, value] of Object.entries(rr)) lines.push(`  ${c('red', `- ${name}: ${value}`)}`)
    for (const [name, ch] of Object.entries(rc)) lines.push(`  ${c('yellow', `~ ${name}: ${ch.sent} → ${ch.received}`)}`)
  }
  const b = d.body
  lines.push(`body     ${b.same ? c('dim', `same (${b.sentBytes} bytes)`) : c('red', `changed: ${b.sentBytes} bytes sent, ${b.receivedBytes} received`)}`)
  const p = d.proxy
  if (p !== undefined) {
    if (p.gateways.length > 0) lines.push(`gateway  ${p.gateways.map(g => `${g.name} (${g.evidence.join(', ')})`).join('; ')}`)
    if (p.hops.length > 0) lines.push(`hops     ${p.hops.map(h => h.address ?? h.via ?? h.source).join(' → ')}`)
    for (const w of p.warnings) lines.push(`${c('yellow', 'warning')}  ${w}`)
  }
  return lines.join('\n')
}

/** A response echoscope did not make: what the gateway answered itself. */
export function renderGatewayAnswer (g: GatewayAnswer, method: string, url: string, style: Style): string {
  const c = (color: Color, text: string) => style.color ? `\x1b[${codes[color]}m${text}\x1b[0m` : text
  const lines = [`${c('bold', `${method} ${url}`)} → ${g.status} ${c('yellow', 'made by the gateway')}: the response has no x-echoscope header, so the request did not reach echoscope (or its answer was replaced)`]
  for (const [name, value] of Object.entries(g.headers)) lines.push(`  ${name}: ${value}`)
  if (g.bodyBytes > 0) {
    const shown = g.bodyStart.replace(/\s+/g, ' ').trim()
    lines.push(`body     ${g.bodyBytes} bytes: ${JSON.stringify(shown)}${g.bodyBytes > Buffer.byteLength(g.bodyStart) ? ' …' : ''}`)
  } else {
    lines.push('body     (empty)')
  }
  return lines.join('\n')
}
