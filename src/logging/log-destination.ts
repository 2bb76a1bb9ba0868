// Where JSON log lines go: pino's own destination (sonic-boom on stdout), fed in batches of at most
// BATCH_BYTES, written at most BATCH_MS after their first line.
//
// Why batches: a write per line (or per event-loop turn, about one per 50 requests under load) costs a
// syscall, or with an asynchronous destination a hand-off to libuv's thread pool and back, each time; the
// hand-offs and the thread switches around them cost ~6 µs per request on a 2-vCPU VM, more
// than formatting the lines. One write per batch (a few dozen a second at full load) costs almost nothing.
//
// Why synchronous writes (sonic-boom `sync: true`, pino's default): an asynchronous write still in the
// thread pool when the process exits is lost, and nothing can tell how much of it landed (CI lost a whole
// batch this way), so lines written just before an exit could vanish. Written synchronously, a batch is on
// stdout when write returns, and the exit handler writes whatever is still pending. It also bounds memory:
// when stdout is not read, the server waits for it, as Fastify's default logger does, instead of queueing
// log bytes without limit.
//
// Why bytes: lines are encoded into the batch's buffer as they come. A request line can then be written
// straight into it (request-log.ts) without ever being a JavaScript string, and a batch of pino's lines
// never holds hundreds of small strings (and, for lines built by concatenation, their pieces) until the
// next write. sonic-boom still does the writing, so its EAGAIN retries on a non-blocking pipe stay.
import pino from 'pino'

interface Boom {
  write: (data: Buffer) => boolean
  flush: (cb?: (err?: Error) => void) => void
  flushSync: () => void
}

/** Longest a line waits before it is written. */
export const BATCH_MS = 50
/** Size of a batch: pending bytes never exceed it, and a line that would is written in the next batch. */
export const BATCH_BYTES = 64 * 1024

/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3

export class BatchedDestination {
  #out: Boom
  #buf = Buffer.allocUnsafeSlow(BATCH_BYTES)
  #end = 0
  #timer: NodeJS.Timeout | null = null

  constructor (out: Boom) {
    this.#out = out
  }

  /** Called by pino with one line; written out within BATCH_MS. */
  write (line: string): boolean {
    const max = line.length * MAX_UTF8_PER_UNIT
    const buf = this.reserve(max)
    if (buf === null) {
      // Bigger than a whole batch (a huge error, say): after what is pending, on its own.
      this.#drain()
      this.#out.write(Buffer.from(line))
      return true
    }
    this.commit(this.#end + buf.write(line, this.#end))
    return true
  }

  /**
   * Room for up to `max` more bytes, to be written into the returned buffer from `end`, then `commit`ted.
   * Null when `max` is more than one batch holds.
   */
  reserve (max: number): Buffer | null {
    if (max > BATCH_BYTES) return null
    if (max > BATCH_BYTES - this.#end) this.#drain()
    return this.#buf
  }

  /** Where the next byte goes. */
  get end (): number {
    return this.#end
  }

  /** The bytes before `end` are lines; they are written within BATCH_MS. */
  commit (end: number): void {
    this.#end = end
    if (this.#timer === null) this.#timer = setTimeout(this.#drain, BATCH_MS).unref()
  }

  #drain = (): void => {
    if (this.#timer !== null) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    if (this.#end === 0) return
    // The destination may keep the bytes (sonic-boom does after EAGAIN), so the next batch gets a buffer of its own.
    const batch = this.#buf.subarray(0, this.#end)
    this.#buf = Buffer.allocUnsafeSlow(BATCH_BYTES)
    this.#end = 0
    this.#out.write(batch)
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
    const dest = new BatchedDestination(pino.destination({ dest: 1, sync: true, contentMode: 'buffer' }) as unknown as Boom)
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
