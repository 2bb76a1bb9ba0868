// Fastify's logger options: pino's JSON on stdout through pino's own destination (sonic-boom), or
// pino-pretty when asked (and on a TTY by default).
//
// Why batches (sonic-boom's minLength, with periodicFlush for quiet times): a write per line costs a
// syscall per request; one write per BATCH_BYTES (some twenty request lines) costs a twentieth of that.
//
// Why synchronous writes (`sync: true`; pino's own default is asynchronous): an asynchronous write still
// queued in libuv's thread pool when the process exits is lost or lands after the lines flushed at exit,
// and nothing can tell how much of it did. Written synchronously, a batch is on stdout when the write
// returns, and the exit handler writes whatever is still buffered. It also bounds memory: when stdout is
// not read, the server waits for it instead of queueing log bytes without limit.
import pino from 'pino'
import type { FastifyServerOptions } from 'fastify'
import type { Options } from '../config/options.ts'

/** Longest a line waits before it is written. */
export const BATCH_MS = 50
/** Bytes buffered before a write (sonic-boom's minLength, pino's documented example; below maxWrite, 16 KiB). */
export const BATCH_BYTES = 4096

let stdout: pino.DestinationStream & { flushSync: () => void } | undefined

/** The process's one stdout destination, flushed on exit (made on first use; every server shares it). */
export function stdoutDestination (): pino.DestinationStream & { flushSync: () => void } {
  if (stdout === undefined) {
    const dest = pino.destination({ dest: 1, sync: true, minLength: BATCH_BYTES, periodicFlush: BATCH_MS })
    // pino flushes asynchronous destinations on exit by itself, not synchronous ones.
    process.on('exit', flushStdout)
    stdout = dest
  }
  return stdout
}

/** Writes the lines still buffered, before returning (on close and on exit, so none is lost). */
export function flushStdout (): void {
  try {
    stdout?.flushSync()
  } catch {
    // stdout is gone (closed pipe): nothing left to write to
  }
}

export function prettyLogs (opts: Options): boolean {
  return opts.logFormat === 'pretty' || (opts.logFormat === 'auto' && process.stdout.isTTY === true)
}

/** Fastify's `logger` option for these options (false for --log-level silent). */
export function loggerOptions (opts: Options): FastifyServerOptions['logger'] {
  if (opts.logLevel === 'silent') return false
  // Redaction only matters when headers are logged, and it costs on every line, so it is set up only then.
  const redact = opts.logHeaders ? opts.redactHeaders.map(h => `headers[${JSON.stringify(h.toLowerCase())}]`) : []
  return {
    level: opts.logLevel,
    ...(redact.length > 0 ? { redact: { paths: redact, censor: '[redacted]' } } : {}),
    ...(prettyLogs(opts)
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : { stream: stdoutDestination() })
  }
}
