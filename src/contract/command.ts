// `echoscope test FILE`: route contracts checked through a gateway, from a YAML or JSON file of cases. Exit 0
// when every case met its expectations, 1 when one did not, 2 when the file or the command line is wrong or a
// case could not run at all (nothing listening, no answer in time).
import { writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { parseDuration } from '../config/options.ts'
import { readTestFile, TestFileError } from './load.ts'
import { runPlan } from './run.ts'
import { renderJson, renderJunit, renderRun } from './report.ts'
import { jsonSchema } from './schema.ts'
import type { Io } from '../diff/command.ts'

export const TEST_HELP = `Usage: echoscope test FILE [options]

Runs the cases of FILE (YAML or JSON) through a gateway in front of an echoscope server, and checks, for each,
what arrived upstream (method, path, query, headers, body, protocol), what came back to the client (status,
headers, body), who answered (echoscope or the gateway itself) and, with repeat, how many replicas did.
Every unmet expectation is named with what was seen, followed by the diff of what the gateway changed.

Options:
      --gateway URL          the gateway's base URL (overrides the file's gateway)
      --junit FILE           also write a JUnit XML report to FILE
      --json                 print the results as JSON instead of text
      --concurrency N        cases run at the same time (default 4; the repeats of a case go one by one)
      --timeout MS           how long one request may take, unless the file says (default 10000)
      --total-timeout D      how long the whole run may take (like 2m; overrides the file's timeout)
  -k, --insecure             accept any TLS certificate
      --print-schema         print the file's JSON Schema (for editors) and exit
  -h, --help                 this help

Exit status: 0 every case passed, 1 an expectation unmet, 2 a bad file or option, or a case that could not run.`

class UsageError extends Error {}

export async function runTest (argv: string[], io: Io & { env: NodeJS.ProcessEnv }): Promise<number> {
  let values
  let positionals
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        gateway: { type: 'string' },
        junit: { type: 'string' },
        json: { type: 'boolean' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        'total-timeout': { type: 'string' },
        insecure: { type: 'boolean', short: 'k' },
        'print-schema': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    io.err(`echoscope test: ${(err as Error).message.split('. ')[0]} (see echoscope test --help)`)
    return 2
  }
  if (values.help === true) {
    io.out(TEST_HELP)
    return 0
  }
  if (values['print-schema'] === true) {
    io.out(JSON.stringify(jsonSchema(), null, 2))
    return 0
  }
  try {
    if (positionals.length !== 1) throw new UsageError('give exactly one test file, e.g. echoscope test gateway.yaml')
    const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency)
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError(`invalid --concurrency ${JSON.stringify(values.concurrency)}: must be a whole number from 1 to 256`)
    const timeoutMs = values.timeout === undefined ? 10000 : parseDuration(values.timeout)
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`invalid --timeout ${JSON.stringify(values.timeout)}: must be a positive number of milliseconds (or like 5s)`)
    const total = values['total-timeout'] === undefined ? null : parseDuration(values['total-timeout'])
    if (total !== null && (!Number.isInteger(total) || total <= 0)) throw new UsageError(`invalid --total-timeout ${JSON.stringify(values['total-timeout'])}: must be a duration like 90s or 2m`)
    if (values.gateway !== undefined && (!URL.canParse(values.gateway) || !/^(https?|wss?):$/.test(new URL(values.gateway).protocol))) {
      throw new UsageError(`invalid --gateway ${JSON.stringify(values.gateway)}: must be an http(s) or ws(s) URL`)
    }
    const file = positionals[0]
    const plan = readTestFile(file, { gateway: values.gateway, insecure: values.insecure, timeoutMs, env: io.env })
    const started = new Date()
    const run = await runPlan(plan, concurrency, total)
    if (values.junit !== undefined) {
      try {
        writeFileSync(values.junit, renderJunit(run, basename(file), started))
      } catch (err) {
        io.err(`echoscope test: cannot write --junit ${values.junit}: ${(err as Error).message}`)
        return 2
      }
    }
    io.out(values.json === true ? renderJson(run, file) : renderRun(run, { color: io.color }))
    return run.errors > 0 ? 2 : run.failed > 0 ? 1 : 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`echoscope test: ${err.message}`)
      return 2
    }
    if (err instanceof TestFileError) {
      for (const p of err.problems) io.err(p)
      return 2
    }
    throw err
  }
}
