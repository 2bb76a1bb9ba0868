// The echo as a Server-Sent Events stream: the echo first, then a tick a second, so a user can see
// whether a proxy passes events through as they happen or holds them back.
import { PassThrough } from 'node:stream'

export interface SseStream {
  stream: PassThrough
  /** stops the ticks early (client went away, server closing) */
  stop: () => void
}

export function sseEcho (echoJson: string, seconds: number, onEnd: () => void): SseStream {
  const stream = new PassThrough()
  let n = 0
  let timer: NodeJS.Timeout | undefined
  let ended = false
  const finish = () => {
    if (ended) return
    ended = true
    if (timer !== undefined) clearInterval(timer)
    onEnd()
  }
  stream.write(`retry: 2000\nevent: echo\nid: 0\ndata: ${echoJson}\n\n`)
  if (seconds <= 0) {
    // finish() runs on 'close', once the reply has read it all.
    stream.end('event: end\ndata: {"ticks":0}\n\n')
  } else {
    timer = setInterval(() => {
      n++
      stream.write(`event: tick\nid: ${n}\ndata: ${JSON.stringify({ tick: n, of: seconds, at: new Date().toISOString() })}\n\n`)
      if (n >= seconds) {
        stream.end(`event: end\ndata: ${JSON.stringify({ ticks: n })}\n\n`)
        finish()
      }
    }, 1000)
  }
  stream.on('close', finish)
  return {
    stream,
    stop: () => { finish(); stream.end() }
  }
}
