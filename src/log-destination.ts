// Where JSON log lines go: pino's own destination (sonic-boom on stdout), fed in batches of at most
// BATCH_MS or BATCH_BYTES, whichever comes first.
//
// Why batches: each sonic-boom write is an fs.write handed to libuv's thread pool and back. At one write per
// event-loop turn (about one per 50 requests under load) those hand-offs and the thread switches and
// wake-ups around them cost ~6 µs per request on the 2-vCPU development VM, more than formatting the lines;
// at one write per 50 ms they cost ~1.5 µs. sonic-boom also measures the UTF-8 length of each line and of its
// pending buffer on every write, which a joined batch pays once. sonic-boom still does the writing, so its
// asynchronous writes, EAGAIN retries on a non-blocking pipe and synchronous flush stay. A line reaches stdout
// at most BATCH_MS after it was logged; everything pending is written synchronously on exit.
import pino from 'pino'

interface Boom {
  write: (data: string) => boolean
  flush: (cb?: (err?: Error) => void) => void
  flushSync: () => void
}

/** Longest a line waits before it is written. */
export const BATCH_MS = 50
/** Pending characters that trigger a write at once, so a burst never holds much memory. */
export const BATCH_BYTES = 64 * 1024

export class BatchedDestination {
  #out: Boom
  #lines: string[] = []
  #size = 0
  #timer: NodeJS.Timeout | null = null

  constructor (out: Boom) {
    this.#out = out
  }

  /** Called by pino with one line; written out within BATCH_MS. */
  write (line: string): boolean {
    this.#lines.push(line)
    this.#size += line.length
    if (this.#size >= BATCH_BYTES) this.#drain()
    else if (this.#timer === null) this.#timer = setTimeout(this.#drain, BATCH_MS).unref()
    return true
  }

  #drain = (): void => {
    if (this.#timer !== null) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    const lines = this.#lines
    if (lines.length === 0) return
    this.#lines = []
    this.#size = 0
    this.#out.write(lines.length === 1 ? lines[0] : lines.join(''))
  }

  flush (cb?: (err?: Error) => void): void {
    this.#drain()
    this.#out.flush(cb)
  }

  /** Writes everything pending before returning (used on exit, so no line is lost). */
  flushSync (): void {
    this.#drain()
    this.#out.flushSync()
  }
}

let stdout: BatchedDestination | undefined

/** The process's one stdout destination, flushed on exit (made on first use; every server shares it). */
export function stdoutDestination (): BatchedDestination {
  if (stdout === undefined) {
    const dest = new BatchedDestination(pino.destination({ dest: 1, sync: false }) as unknown as Boom)
    process.on('exit', () => {
      try {
        dest.flushSync()
      } catch {
        // stdout is gone (closed pipe): nothing left to write to
      }
    })
    stdout = dest
  }
  return stdout
}
