// request.log without a pino child logger per request. Fastify makes `logger.child({ reqId })` for every
// request (~0.7 µs on a 2-vCPU VM: bindings serialised, an object per child), yet an echo that
// succeeds never logs through it: its one line is written by the log controller (request-log.ts). This
// logger stands in for the child and makes it, with the same bindings and options, the first time
// something does log through it (an error, a plugin's warning), so those lines carry the request id as before.
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino'

type Pino = FastifyBaseLogger & { isLevelEnabled: (level: string) => boolean }

export class LazyRequestLogger {
  #parent: Pino
  #bindings: Bindings
  #opts: ChildLoggerOptions
  #child: Pino | undefined

  constructor (parent: Pino, bindings: Bindings, opts: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#opts = opts
  }

  /** The child logger, made on first use. */
  real (): Pino {
    if (this.#child === undefined) this.#child = this.#parent.child(this.#bindings, this.#opts) as Pino
    return this.#child
  }

  /** Whether the child was made (for the test). */
  get materialised (): boolean {
    return this.#child !== undefined
  }

  get level (): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level
  }

  set level (level: LevelWithSilentOrString) {
    this.real().level = level
  }

  /** Answered by the parent until a child exists: same level, nothing made for a check. */
  isLevelEnabled (level: string): boolean {
    const log = this.#child ?? this.#parent
    return typeof log.isLevelEnabled === 'function' && log.isLevelEnabled(level)
  }

  // Prototype methods, not arrow-function fields: nothing but the object itself is allocated per request.
  fatal (...args: unknown[]): void { forward(this.real(), 'fatal', args) }
  error (...args: unknown[]): void { forward(this.real(), 'error', args) }
  warn (...args: unknown[]): void { forward(this.real(), 'warn', args) }
  info (...args: unknown[]): void { forward(this.real(), 'info', args) }
  debug (...args: unknown[]): void { forward(this.real(), 'debug', args) }
  trace (...args: unknown[]): void { forward(this.real(), 'trace', args) }
  silent (..._args: unknown[]): void {}

  child (bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, opts)
  }

  bindings (): Bindings {
    return { ...(this.#parent as unknown as { bindings: () => Bindings }).bindings(), ...this.#bindings }
  }
}

function forward (log: Pino, level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
  (log[level] as (...a: unknown[]) => void).apply(log, args)
}

/** Fastify's childLoggerFactory: a LazyRequestLogger per request. */
export function lazyChildLoggerFactory (logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger as Pino, bindings, opts) as unknown as FastifyBaseLogger
}
