// The floor for the WebSocket echo: the `ws` package with its defaults and nothing else (no limits,
// no logging, no keepalive). echoscope's WebSocket numbers are measured against this.
// The same start-up fix echoscope has (src/perf/pin-next-tick.ts), so both sides get Node's fast nextTick.
import '../src/perf/pin-next-tick.ts'
import { parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'

// strict: false so this can stand in echoscope's slot (BENCH_WS_ECHOSCOPE_ENTRY), which passes
// echoscope's own flags along.
const { values } = parseArgs({
  strict: false,
  options: { port: { type: 'string' }, host: { type: 'string' } }
})
const port = Number(values.port ?? process.env.PORT ?? 8080)
const host = String(values.host ?? process.env.HOST ?? '127.0.0.1')

new WebSocketServer({ port, host }).on('connection', (ws) => {
  // Protocol errors are emitted as 'error'; unhandled, one bad client would take the floor down.
  ws.on('error', () => {})
  ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary }))
})
