// Shapes the benchmark harness is built from. A scenario group compares one baseline (the floor
// Node allows) with one subject (echoscope) over the same scenarios, so WebSocket, TCP or anything
// else can be added as another group without touching the runner.

export interface Settings {
  /** seconds per measurement */
  durationSec: number
  /** seconds of throw-away load before each scenario's first round, so both servers are measured JIT-warm */
  warmupSec: number
  /** measurements per server per scenario, interleaved in time; the median is reported */
  rounds: number
  /** HTTP connections */
  connections: number
  pipelining: number
  /** closed-loop WebSocket clients */
  wsClients: number
  /** idle WebSocket connections for the memory check */
  wsIdle: number
}

export interface Measurement {
  /** completed operations per second (requests, or echoed messages for WebSocket) */
  rate: number
  p50Ms: number
  p99Ms: number
  /** operations completed during the measurement */
  completed: number
  durationSec: number
  /** load generator that produced the numbers */
  tool: string
  /** anything the load generator learned that a reader should see, e.g. the negotiated WebSocket extensions */
  note?: string
}

/**
 * Brackets the interval the load actually ran, so the runner's CPU readings cover that and nothing
 * else (not connection setup, not teardown). A scenario calls start() once and stop() once.
 */
export interface Meter {
  start(): void
  stop(): void
}

/** A running server under test. */
export interface Target {
  /** e.g. http://127.0.0.1:41234 */
  baseUrl: string
  /** the server process, for its CPU time and RSS */
  pid: number
  stop(): Promise<void>
}

export interface TargetSpec {
  /** column heading in the table and key in the JSON results */
  label: string
  start(): Promise<Target>
}

export interface Scenario {
  name: string
  /** sends one request and throws unless the answer is a real echo: a 2xx from a catch-all is not */
  probe(target: Target): Promise<void>
  /** runs the load for durationSec and throws when any operation failed */
  measure(target: Target, durationSec: number, meter: Meter): Promise<Measurement>
}

export interface MemoryMeasurement {
  connections: number
  rssBeforeKiB: number
  rssAfterKiB: number
  /** (after - before) / connections */
  perConnectionKiB: number
  /** time it took to open them all */
  openSec: number
}

/** Memory held per idle connection, measured once per server on a freshly started one. */
export interface MemoryCheck {
  name: string
  measure(target: Target): Promise<MemoryMeasurement>
  /** maximum subject/baseline ratio of perConnectionKiB */
  target: number
}

export interface ScenarioGroup {
  /** short name, also the results file: bench/results/<name>-latest.json */
  name: string
  /** unit of Measurement.rate, for the table */
  unit: string
  /** one operation, for "CPU µs per <op>" */
  op: string
  baseline: TargetSpec
  subject: TargetSpec
  /**
   * measured in the same rounds and shown beside, never judged: e.g. the baseline with a technique the
   * subject uses, so a reader sees how much of the ratio that technique makes
   */
  reference?: TargetSpec
  scenarios: Scenario[]
  /** minimum subject/baseline ratio of the median rates */
  target: number
  memory?: MemoryCheck
  /** lines printed above the table: how the servers were started, and anything that bends the comparison */
  notes?: string[]
}
