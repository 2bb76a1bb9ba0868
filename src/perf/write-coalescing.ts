// Responses finished in one event-loop turn reach the kernel together, at the end of that turn.
//
// Opt-in, with --coalesce-writes (off by default): it overrides `_writeRaw`, an internal method of
// node:http's ServerResponse, so server.ts imports this module only when the option is on, and without it
// every server uses node:http's own ServerResponse. Nothing outside this module calls into it.
//
// Why: on a virtual machine, a write to a loopback or same-host peer that is asleep wakes it with an
// inter-processor interrupt, which the writing vCPU pays for (a VM exit). Written one by one as they are
// finished, every response of a busy server pays that wake-up: on a 2-vCPU VM it was a quarter of
// all CPU per request, in the kernel, under `sock_def_readable`. Written back to back, the first wakes the
// peer and the others find it awake. This is the case of a gateway or sidecar on the same node, and of the
// benchmark. A bare node:http echo serves ~35% more requests per second with the same change.
//
// Only the first response of a turn goes out at once, so a lone request (a developer's curl, a client with
// one connection) waits for nothing; later ones wait at most until the turn's I/O callbacks are done, and
// under load their latency falls, not rises (less CPU per response, shorter queues).
//
// How: ServerResponse's end() runs unchanged (the response is finished and Fastify sees it sent, with the
// same state as ever); only its writes to the socket, which end() makes synchronously, are held. Node calls
// `_writeRaw` for them (the header and body, then an empty write carrying the 'finish' callback), so
// 'finish', keep-alive handling and the request log line all come when the bytes really went out.
import { ServerResponse, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Server as HttpsServer } from 'node:https'
import { Server as TlsServer } from 'node:tls'

type WriteRaw = (this: ServerResponse, data: unknown, encoding: unknown, callback: unknown, size: unknown) => boolean

const writeRaw = (ServerResponse.prototype as unknown as { _writeRaw?: WriteRaw })._writeRaw

/** Held writes, five slots each: response, data, encoding, callback, size. */
let held: unknown[] = []
/** The response whose end() opened this turn (its writes go straight out), or null between turns. */
let opener: ServerResponse | null = null
let heldTotal = 0

function endTurn (): void {
  opener = null
  const writes = held
  held = []
  let corked: Socket | null = null
  for (let i = 0; i < writes.length; i += 5) {
    const res = writes[i] as ServerResponse
    // One response's writes leave as one writev, as they would have from end().
    const socket = res.socket
    if (socket !== corked) {
      corked?.uncork()
      corked = socket
      corked?.cork()
    }
    writeRaw!.call(res, writes[i + 1], writes[i + 2], writes[i + 3], writes[i + 4])
  }
  corked?.uncork()
}

/**
 * Writes every held response now. node:http's closeIdleConnections() (also run by server.close()) destroys
 * sockets whose response is finished, which a held one is: call this first (coalesceServer does).
 */
export function flushHeldWrites (): void {
  if (held.length > 0) endTurn()
}

/**
 * Makes a server safe for held writes. closeIdleConnections (which server.close runs) writes them before it
 * destroys sockets with a finished response. And a client's end of stream, which node:http answers with
 * socket.end(), writes them first too: libuv reads an end of stream in the same turn as the request
 * before it when the request's last read filled its buffer exactly (a 64 KiB request, then FIN), and a held
 * response would then come after the socket's end and be lost. And so does a parse error later in the
 * same read (a request, then garbage): the error answer (Fastify's clientError handler writes a 400 and
 * destroys the socket) must come after the responses before it.
 */
export function coalesceServer (server: Server | HttpsServer): void {
  const closeIdle = server.closeIdleConnections
  server.closeIdleConnections = function closeIdleConnections (this: Server | HttpsServer) {
    flushHeldWrites()
    closeIdle.call(this)
  }
  // node:http listens to the socket it parses: the TLS socket on an HTTPS server.
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection'
  server.on(event, (socket: Socket) => { socket.prependListener('end', flushHeldWrites) })
  server.prependListener('clientError', flushHeldWrites)
}

/** How many response writes have been held to the end of their turn since start (for tests). */
export function heldWrites (): number {
  return heldTotal
}

/**
 * node:http's ServerResponse with end-of-turn write coalescing, for `http.createServer({ ServerResponse })`.
 * Where this Node has no `_writeRaw` (an internal method), it behaves exactly as ServerResponse.
 */
export class CoalescingResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  #ending = false

  override end (chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    this.#ending = true
    // @ts-expect-error end()'s overloads: the arguments are passed on exactly as they came
    return super.end(chunk, encoding, callback)
  }

  _writeRaw (data: unknown, encoding: unknown, callback: unknown, size: unknown): boolean {
    const socket = this.socket
    // Anything but the writes of a finishing response that owns a live socket goes the usual way.
    if (!this.#ending || socket === null || socket.destroyed || (socket as Socket & { _httpMessage?: unknown })._httpMessage !== this) {
      return writeRaw!.call(this, data, encoding, callback, size)
    }
    if (opener === null) {
      opener = this
      setImmediate(endTurn)
    }
    if (opener === this) return writeRaw!.call(this, data, encoding, callback, size)
    held.push(this, data, encoding, callback, size)
    heldTotal++
    return true
  }
}

/** The ServerResponse class to give node:http: the coalescing one where this Node allows it. */
export const coalescingResponse: typeof ServerResponse = typeof writeRaw === 'function' ? CoalescingResponse : ServerResponse
