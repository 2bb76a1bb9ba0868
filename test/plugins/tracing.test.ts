// OTEL_* set: spans for HTTP requests and WebSocket messages reach an OTLP/HTTP receiver (a real one on
// loopback, in this test). Unset: nothing is exported and the SDK is not even loaded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import WebSocket from 'ws'
import { spawnServer, waitFor } from '../helper.ts'
import { tracingWanted } from '../../src/plugins/tracing.ts'

interface Span { name: string, traceId: string, attributes: Array<{ key: string, value: Record<string, unknown> }> }

async function receiver (t: import('node:test').TestContext) {
  const spans: Span[] = []
  const resources: unknown[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', d => { body += d })
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body)
        for (const rs of payload.resourceSpans ?? []) {
          resources.push(rs.resource)
          for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans)
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  return { port: (server.address() as { port: number }).port, spans, resources }
}

test('tracing is on only when OTEL_* asks for it', () => {
  assert.equal(tracingWanted({}), false)
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true)
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true)
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' }), false)
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none' }), false)
})

test('with OTEL_EXPORTER_OTLP_ENDPOINT, HTTP requests and WebSocket messages are exported as spans', async (t) => {
  const otlp = await receiver(t)
  const { child, port } = await spawnServer([], {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`,
    OTEL_SERVICE_NAME: 'echoscope-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '100'
  })
  t.after(() => child.kill('SIGKILL'))
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  await (await fetch(`http://127.0.0.1:${port}/traced/path`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })).arrayBuffer()
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
  await once(ws, 'open')
  ws.send('traced message')
  await once(ws, 'message')
  ws.close()
  await waitFor(() => otlp.spans.some(s => s.name === 'websocket message') && otlp.spans.some(s => s.traceId === traceId), 10000)

  const http = otlp.spans.filter(s => s.traceId === traceId)
  assert.ok(http.length > 0, 'the incoming traceparent is continued')
  const wsSpan = otlp.spans.find(s => s.name === 'websocket message')!
  const attrs = Object.fromEntries(wsSpan.attributes.map(a => [a.key, Object.values(a.value)[0]]))
  assert.equal(attrs['url.path'], '/ws')
  assert.equal(attrs['websocket.message.size'], 14)
  assert.ok(JSON.stringify(otlp.resources).includes('echoscope-under-test'))
  child.kill('SIGTERM')
  assert.equal((await once(child, 'exit'))[0], 0)
})

test('without OTEL_* nothing is exported', async (t) => {
  const otlp = await receiver(t)
  const { child, port } = await spawnServer([], { OTEL_SERVICE_NAME: 'x' })
  t.after(() => child.kill('SIGKILL'))
  await (await fetch(`http://127.0.0.1:${port}/not-traced`)).arrayBuffer()
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.equal(otlp.spans.length, 0)
})
