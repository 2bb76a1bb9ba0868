// The WebSocket scenario group: echoscope's /ws echo against a bare `ws` echo server, on closed-loop
// 64-byte text and 1 KiB binary messages, plus the memory each idle connection holds.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { nodeServer } from './servers.ts'
import type { Scenario, ScenarioGroup, Settings } from './types.ts'
import { closedLoop, idleMemory, probeWsEcho, wsReady, wsUrl } from './ws-load.ts'
import type { WsMessage } from './ws-load.ts'

const TARGET_RATE_RATIO = 0.9
const TARGET_MEMORY_RATIO = 1.25
/** echoscope's path; the bare server echoes on any path, so both are driven at the same URL. */
const WS_PATH = '/ws'

/** A text message of exactly `size` ASCII bytes, shaped like a small JSON event. */
export function textOfSize (size: number): string {
  const head = '{"type":"tick","payload":"'
  const tail = '"}'
  const padding = size - head.length - tail.length
  if (padding < 0) throw new Error(`textOfSize: ${size} bytes is too small`)
  return head + 'x'.repeat(padding) + tail
}

export const TEXT_64: WsMessage = { bytes: Buffer.from(textOfSize(64)), binary: false }
// Random bytes: what binary payloads usually look like, and no gift to a compressor.
export const BINARY_1K: WsMessage = { bytes: randomBytes(1024), binary: true }

function wsScenario (name: string, message: WsMessage, settings: Settings): Scenario {
  return {
    name,
    probe: (target) => probeWsEcho(wsUrl(target.baseUrl, WS_PATH), message),
    measure: (target, durationSec, meter) =>
      closedLoop(wsUrl(target.baseUrl, WS_PATH), message, settings.wsClients, durationSec, meter)
  }
}

export interface WsGroupOptions {
  settings: Settings
  /** script started in echoscope's slot; dist/bench/bare-ws.js there checks the harness itself */
  echoscopeEntry: string
}

/**
 * echoscope's per-connection message-rate limit (default 1000/s) would close a fast benchmark
 * client with 1008, and the per-client rate limit on upgrades (6000/min) would refuse the idle
 * crowd; raised out of reach, both still run their checks, so their cost is measured.
 */
export const ECHOSCOPE_WS_ARGS = ['--rate-limit-max', '100000000', '--rate-limit-allow', '', '--ws-max-message-rate', '1000000']

export function wsGroup ({ settings, echoscopeEntry }: WsGroupOptions): ScenarioGroup {
  const ready = wsReady(WS_PATH)
  return {
    name: 'ws',
    unit: 'msg/s',
    op: 'msg',
    targets: [
      nodeServer('bare', fileURLToPath(new URL('./bare-ws.js', import.meta.url)), ready),
      nodeServer('echoscope', echoscopeEntry, ready, { args: ECHOSCOPE_WS_ARGS })
    ],
    subject: 'echoscope',
    scenarios: [
      wsScenario('text 64 B', TEXT_64, settings),
      wsScenario('binary 1 KiB', BINARY_1K, settings)
    ],
    criteria: [
      { name: 'throughput', metric: 'rate', yardstick: 'bare', bound: 'min', limit: TARGET_RATE_RATIO },
      { name: `RSS per connection, ${settings.wsIdle} idle`, metric: 'rssPerConnection', yardstick: 'bare', bound: 'max', limit: TARGET_MEMORY_RATIO }
    ],
    memory: {
      name: `${settings.wsIdle} idle connections`,
      measure: (target) => idleMemory(wsUrl(target.baseUrl, WS_PATH), settings.wsIdle, target.pid)
    },
    notes: [
      `echoscope runs with its defaults except ${ECHOSCOPE_WS_ARGS.map((a) => a === '' ? "''" : a).join(' ')} (the defaults, 6000 upgrades/min per client and ` +
        '1000 msg/s per connection, would refuse or close the benchmark\'s clients; both checks still run)',
      `load: ${settings.wsClients} closed-loop clients (send, await the echo, send again) in one Node process using the ws package; ` +
        'clients offer permessage-deflate like browsers do'
    ]
  }
}
