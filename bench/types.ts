// Shapes the benchmark harness is built from. A scenario group compares one baseline (the floor
// Node allows) with one subject (echoscope) over the same scenarios, so WebSocket, TCP or anything
// else can be added as another group without touching the runner.

export interface Settings {
  /** seconds per measurement */
  durationSec: number
  /** seconds of throw-away load before each measurement, so both servers are measured JIT-warm */
  warmupSec: number
  connections: number
  pipelining: number
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
}

/** A running server under test. */
export interface Target {
  /** e.g. http://127.0.0.1:41234 */
  baseUrl: string
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
  measure(target: Target, durationSec: number): Promise<Measurement>
}

export interface ScenarioGroup {
  /** short name, also the results file: bench/results/<name>-latest.json */
  name: string
  /** unit of Measurement.rate, for the table */
  unit: string
  baseline: TargetSpec
  subject: TargetSpec
  scenarios: Scenario[]
  /** minimum subject/baseline rate ratio */
  target: number
}
