// Shapes the benchmark harness is built from. A scenario group measures several targets (echoscope and
// the yardsticks it is judged against) over the same scenarios and judges the subject by criteria, each
// naming its yardstick, so WebSocket, TCP or anything else can be added as another group without
// touching the runner.

export interface Settings {
  /** seconds per measurement */
  durationSec: number
  /** seconds of throw-away load before each measurement, so every server is measured JIT-warm */
  warmupSec: number
  /** measurements per target per scenario, interleaved in time; the median is reported */
  rounds: number
  /** HTTP connections */
  connections: number
  pipelining: number
  /** closed-loop WebSocket clients */
  wsClients: number
  /** idle WebSocket connections for the memory check */
  wsIdle: number
  /** seconds a warmed-up server is left alone before its idle RSS is read */
  idleSettleSec: number
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

/**
 * What a target's answers contain, for the probe: 'full' is echoscope's core fields (method, url, path,
 * query, headers, the parsed body, its size and SHA-256, requestId ...), 'minimal' only method, url,
 * headers and the body as text.
 */
export type EchoShape = 'full' | 'minimal'

export interface TargetSpec {
  /** row label in the tables and key in the JSON results */
  label: string
  /** how it is started, for the results: the script (relative to the repository) and its arguments */
  command: string
  echo: EchoShape
  start(): Promise<Target>
}

export interface Scenario {
  name: string
  /** sends one request and throws unless the answer is a real echo of it: a 2xx from a catch-all is not */
  probe(target: Target, spec: TargetSpec): Promise<void>
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

/** Memory held per idle connection, measured once per target on a freshly started one. */
export interface MemoryCheck {
  name: string
  measure(target: Target): Promise<MemoryMeasurement>
}

/**
 * One judged figure: the subject's metric divided by the yardstick's. Per scenario for rate and p99,
 * once per group for the memory figures.
 */
export interface Criterion {
  /** e.g. 'throughput' */
  name: string
  metric: 'rate' | 'p99' | 'idleRss' | 'rssPerConnection'
  /** label of the target the subject is divided by */
  yardstick: string
  /** 'min': the ratio must be at least limit; 'max': at most */
  bound: 'min' | 'max'
  limit: number
}

export interface ScenarioGroup {
  /** short name, also the results file: bench/results/<name>-latest.json */
  name: string
  /** unit of Measurement.rate, for the table */
  unit: string
  /** one operation, for "CPU µs per <op>" */
  op: string
  /** every target, in the order of the first round */
  targets: TargetSpec[]
  /** label of the judged target */
  subject: string
  scenarios: Scenario[]
  criteria: Criterion[]
  /** read each target's RSS on a fresh process after warming it up with every scenario and letting it idle */
  idleRss?: boolean
  memory?: MemoryCheck
  /** lines printed above the table: how the servers were started, and anything that bends the comparison */
  notes?: string[]
}
