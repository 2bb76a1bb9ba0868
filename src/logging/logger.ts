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
import pinoPretty from 'pino-pretty'
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

/**
 * pino-pretty in this thread rather than as a transport: a logged body (--log-bodies) is printed as its own
 * lines, which needs a prettifier function, and functions cannot be handed to a transport's worker.
 * Pretty output is for people at a terminal, where a worker's throughput does not matter.
 */
function prettyStream (): pino.DestinationStream {
  return pinoPretty({
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    customPrettifiers: {
      body: (value, _key, log) => {
        if (typeof value !== 'string' || (log as { bodyEncoding?: unknown }).bodyEncoding !== 'utf8') return JSON.stringify(value)
        // The text as sent, each line indented under the field name; a cut body says so at its end.
        const cut = (log as { bodyTruncated?: unknown }).bodyTruncated === true ? '\n  … (cut at --log-body-limit)' : ''
        // Control characters (a terminal's escape sequences among them) are shown as \uXXXX, never sent to the terminal.
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        const safe = value.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, c => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
        return '\n' + safe.split('\n').map(line => '  ' + line).join('\n') + cut
      }
    }
  })
}

/** Fastify's `logger` option for these options (false for --log-level silent). */
export function loggerOptions (opts: Options): FastifyServerOptions['logger'] {
  if (opts.logLevel === 'silent') return false
  // Redaction only matters when headers are logged, and it costs on every line, so it is set up only then.
  const redact = opts.logHeaders || opts.logBodies ? opts.redactHeaders.map(h => `headers[${JSON.stringify(h.toLowerCase())}]`) : []
  return {
    level: opts.logLevel,
    ...(redact.length > 0 ? { redact: { paths: redact, censor: '[redacted]' } } : {}),
    ...(prettyLogs(opts) ? { stream: prettyStream() } : { stream: stdoutDestination() })
  }
}
