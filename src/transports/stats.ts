// Counters and gauges of the non-HTTP transports, kept in one place so the metrics plugin can expose them
// (connections open, messages and bytes each way, closes by code or reason, limit hits). Plain numbers
// and maps: incrementing must cost nothing on the message path.

export type Transport = 'ws' | 'tcp' | 'udp'

export interface TransportStats {
  /** connections open now (for UDP: source addresses tracked by the rate limiter) */
  open: number
  /** connections accepted since start */
  accepted: number
  messagesIn: number
  messagesOut: number
  bytesIn: number
  bytesOut: number
  /** close code (WebSocket) or reason (TCP: 'end', 'idle', 'error', 'frame-too-large', ...) → count */
  closes: Map<string, number>
  /** limit name ('max-connections', 'message-size', 'rate', 'backpressure', 'datagram-size', ...) → count */
  limitHits: Map<string, number>
}

function empty (): TransportStats {
  return { open: 0, accepted: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, closes: new Map(), limitHits: new Map() }
}

export interface Stats {
  ws: TransportStats
  tcp: TransportStats
  udp: TransportStats
}

export function createStats (): Stats {
  return { ws: empty(), tcp: empty(), udp: empty() }
}

export function bump (map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by)
}

let ids = 0
/** Short, unique-per-process connection id for log lines: `ws-1f`, `tcp-20`, ... */
export function connectionId (transport: Transport): string {
  ids++
  return `${transport}-${ids.toString(36)}`
}
