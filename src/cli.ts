#!/usr/bin/env node
// The `echoscope` command: options from flags and environment, then run. Every failure a user can cause
// ends as one line on stderr and a non-zero exit, never a stack trace.
// First: it must run before the first full garbage collection (see the module).
import './perf/pin-next-tick.ts'
import { ConfigError, helpText, loadOptions } from './config/options.ts'
import { VERSION } from './echo/identity.ts'

function fail (message: string, code: number): never {
  process.stderr.write(`echoscope: ${message}\n`)
  process.exit(code)
}

async function main (argv: string[]): Promise<void> {
  if (argv[0] === 'diff') {
    const { runDiff } = await import('./diff/command.ts')
    const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
    process.exitCode = await runDiff(argv.slice(1), {
      out: text => process.stdout.write(text + '\n'),
      err: text => process.stderr.write(text + '\n'),
      color
    })
    return
  }
  if (argv[0] === 'test') {
    const { runTest } = await import('./contract/command.ts')
    process.exitCode = await runTest(argv.slice(1), {
      out: text => process.stdout.write(text + '\n'),
      err: text => process.stderr.write(text + '\n'),
      color: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
      env: process.env
    })
    return
  }
  if (argv[0] === 'probe') {
    const { runProbe } = await import('./probe/command.ts')
    process.exitCode = await runProbe(argv.slice(1), {
      out: text => process.stdout.write(text + '\n'),
      err: text => process.stderr.write(text + '\n')
    })
    return
  }
  if (argv[0] === 'healthcheck') {
    // The same probe as the container's HEALTHCHECK, reading the options exactly as the server does.
    const { healthcheck } = await import('./healthcheck.ts')
    process.exitCode = await healthcheck(argv.slice(1), process.env)
    return
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText() + '\n')
    return
  }
  if (argv.includes('--version')) {
    process.stdout.write(VERSION + '\n')
    return
  }
  const opts = loadOptions(argv, process.env)
  // Loaded only now: a bad option, --help and `diff` answer without loading the server's dependencies.
  const { startServer } = await import('./server.ts')
  await startServer(opts)
}

main(process.argv.slice(2)).catch((err: NodeJS.ErrnoException) => {
  if (err instanceof ConfigError) fail(err.message, 2)
  if (err.code === 'EADDRINUSE') fail(`cannot listen: address already in use (${err.message.replace(/^.*EADDRINUSE: address already in use /, '')}); choose another --port`, 1)
  if (err.code === 'EACCES') fail(`cannot listen: permission denied (${err.message}); ports below 1024 need privileges`, 1)
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') fail(`cannot listen on that --host: ${err.message}`, 1)
  fail(err.message, 1)
})
